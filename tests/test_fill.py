import numpy as np
import pytest

import dlcore
from tests.conftest import assert_close, run_threads_bitwise
from tests.reference import fill as ref


@pytest.mark.parametrize("shape", [(), (0,), (1,), (3, 31), (33, 65), (70000,)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_full_matches_reference(isa, shape, dtype):
    got = run_threads_bitwise(lambda: dlcore.full(shape, 3, dtype=dtype).numpy().copy())
    assert_close(got, ref.fill(shape, 3, dtype))


def test_fill_strided_view_writes_through_numpy():
    a = np.zeros((4, 6), np.float32)
    dlcore.ops.fill_(a[:, 1::2], 5.0)
    expected = np.zeros((4, 6), np.float32)
    expected[:, 1::2] = 5
    assert_close(a, expected)


def test_fill_read_only_raises():
    a = np.zeros(3, np.float32)
    a.setflags(write=False)
    with pytest.raises(ValueError, match="^fill_: "):
        dlcore.ops.fill_(a, 1.0)

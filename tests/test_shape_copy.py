"""The blocked transpose copy behind contiguous() and copy_ (csrc/ops/shape_copy_cpu.cpp):
permuted views of every dtype at odd sizes, strided destinations, ISAs and threads."""
import numpy as np
import pytest

import dlcore
from dlcore import ops
from tests.conftest import assert_close, run_threads_bitwise
from tests.reference import shape_copy as ref
from tests.test_shape import DTYPES, rand, strided


# ---- contiguous: the blocked transpose ---------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,perm", [
    ((33, 65), (1, 0)), ((31, 1), (1, 0)), ((0, 5), (1, 0)), ((64, 96), (1, 0)),
    ((3, 33, 31), (0, 2, 1)), ((5, 40, 3), (2, 0, 1)), ((2, 3, 4, 5), (3, 1, 0, 2)), ((65, 2, 70), (2, 1, 0)),
])
def test_contiguous_of_permuted_views(isa, dtype, shape, perm):
    a = rand(shape, dtype)
    for layout in ("contig", "stepped"):
        x = strided(a, layout)
        got = ops.contiguous(ops.permute(x, perm))
        assert got.flags.c_contiguous
        assert_close(got, ref.permuted_copy(a, perm))


@pytest.mark.parametrize("dtype", ["float32", "float64", "bool"])
def test_copy_into_transposed_destination(isa, dtype):
    src = rand((70, 45), dtype)
    dst = np.zeros((45, 70), dtype)
    ops.copy_(dst.T, src)  # dst is strided along its innermost dim
    assert_close(dst, ref.permuted_copy(src, (1, 0)))


def test_transpose_threads_bitwise():
    a = rand((4, 130, 300))
    got = run_threads_bitwise(lambda: ops.contiguous(ops.permute(a, (0, 2, 1))).copy())
    assert_close(got, ref.permuted_copy(a, (0, 2, 1)))


def test_tensor_contiguous_uses_the_same_path():
    a = rand((40, 50))
    t = dlcore.from_numpy(a)
    c = ops.transpose(t, 0, 1).contiguous()
    assert c.is_contiguous()
    assert_close(c.numpy(), ref.permuted_copy(a, (1, 0)))

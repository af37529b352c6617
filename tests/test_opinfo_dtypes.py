"""Result dtypes on the integer and bool samples of the registry (tests/opinfo.py).

The generic layout tests compare values only (an int64 result where torch gives int8 would pass
them); here every sample with an integer or bool array argument must give its reference's dtype
exactly: promotion (int8 with uint8 -> int16), cast targets, prod/cumsum widening to int64,
comparisons and all/any to bool, copies keeping the input dtype."""
from __future__ import annotations

import numpy as np
import pytest

from tests.opinfo import REGISTRY
from tests.test_opinfo import _apply, _as_tuple, _call


def _has_int(v):
    if isinstance(v, (list, tuple)):
        return any(_has_int(e) for e in v)
    return isinstance(v, np.ndarray) and v.dtype.kind in "biu" and v.ndim > 0


def _int_samples(info):
    # Index arguments (int64 positions, masks) are integer too: only count the data argument(s).
    data = info.wrt if info.grad is not None else (0,)
    return [s for s in info.samples(3) if any(_has_int(s.args[p]) for p in data if p < len(s.args))]


CASES = [n for n, i in sorted(REGISTRY.items()) if i.ref is not None and not i.seeded and _int_samples(i)]


def test_the_integer_samples_cover_the_new_dtypes():
    seen = {str(a.dtype) for n in CASES for s in _int_samples(REGISTRY[n]) for a in s.args if isinstance(a, np.ndarray)}
    assert {"int32", "int16", "int8", "uint8", "bool"} <= seen, seen
    assert {"bitwise_and", "floor_divide", "remainder", "cast", "add", "eq", "where", "cat", "index"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_integer_samples_give_the_reference_dtype(name):
    info = REGISTRY[name]
    for sample in _int_samples(info):
        args, kwargs = _apply(info, sample, "contiguous")
        want = _as_tuple(info.ref(*[np.array(a) if isinstance(a, np.ndarray) else a for a in args], **kwargs))
        got = _as_tuple(_call(info, args, kwargs))
        for g, w in zip(got, want):
            if w.dtype.kind == "f" and g.dtype.kind == "f":
                continue  # references compute floats in float64; the precision is the layout tests' job
            assert g.dtype == w.dtype, f"{name}{tuple(type(a).__name__ for a in args)} {kwargs}: {g.dtype} != {w.dtype}"

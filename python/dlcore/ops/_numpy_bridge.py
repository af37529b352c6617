"""For the array-level ops that compute on NumPy (sorting, clamp/norm/prod, rearranging copies):
the input as a NumPy array without a copy, and a NumPy result back in the caller's currency."""
from __future__ import annotations

import numpy as np

from ._util import _core, unwrap, wrap


def as_numpy(x, op):
    """x (array-like, Tensor or TensorImpl) as a NumPy array viewing its memory; CPU only
    (TypeError naming op for a CUDA tensor)."""
    t = unwrap(x)
    if type(t) is _core.TensorImpl:
        if t.device != "cpu":
            raise TypeError(f"{op}: expected a CPU tensor, got one on {t.device}")
        return _core.to_numpy(t)
    a = np.asarray(t)
    if a.dtype.kind not in "biuf":  # None, a string, a mixed list: refuse here rather than in as_tensor
        raise TypeError(f"{op}: expected a numeric array or number, got {type(x).__name__} ({a.dtype})")
    return a


def result(a, *inputs):
    """NumPy result `a` returned as the inputs' kind (TensorImpl, Tensor or NumPy); 0-d stays 0-d."""
    return wrap(_core.as_tensor(np.asarray(a, order="C")), *inputs)


def as_impl(x):
    """x as a TensorImpl (a Tensor's own, or a zero-copy wrap of an array), for kernels that
    take TensorImpls directly."""
    t = unwrap(x)
    return t if type(t) is _core.TensorImpl else _core.as_tensor(np.asarray(t))

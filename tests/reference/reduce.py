"""NumPy references for the reduce family's reductions (sum, mean, var, max/min, arg*).

Written for clarity (float64 math, explicit formulas), following torch semantics where NumPy and
torch differ (NaN is the max, var's `correction`, cross-entropy's weighted mean)."""
import builtins

import numpy as np


def _ax(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))) if ndim else ()


def sum(x, axis=None, keepdims=False):
    x = np.asarray(x)
    dt = np.int64 if x.dtype.kind in "bi" else x.dtype
    return np.sum(x.astype(np.float64) if dt != np.int64 else x, axis=_ax(axis, x.ndim), keepdims=keepdims).astype(dt)


def mean(x, axis=None, keepdims=False):
    n = np.prod([x.shape[a] for a in _ax(axis, x.ndim)], dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.sum(x.astype(np.float64), axis=_ax(axis, x.ndim), keepdims=keepdims) / n).astype(x.dtype)


def var(x, axis=None, correction=1, keepdims=False):
    ax = _ax(axis, x.ndim)
    n = np.prod([x.shape[a] for a in ax], dtype=np.int64)
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.sum(x64, axis=ax, keepdims=True) / n
        return (np.sum((x64 - m) ** 2, axis=ax, keepdims=keepdims) / builtins.max(n - correction, 0)).astype(x.dtype)


def max(x, axis=None, keepdims=False):
    return np.max(x, axis=_ax(axis, x.ndim), keepdims=keepdims)  # NumPy's max propagates NaN too


def min(x, axis=None, keepdims=False):
    return np.min(x, axis=_ax(axis, x.ndim), keepdims=keepdims)


def argmax(x, axis=None, keepdims=False):
    return np.argmax(x, axis=axis, keepdims=keepdims)  # first occurrence; NaN wins, like torch


def argmin(x, axis=None, keepdims=False):
    return np.argmin(x, axis=axis, keepdims=keepdims)


def var_backward(grad, x, axis=None, correction=1, keepdims=False):
    ax = _ax(axis, x.ndim)
    n = np.prod([x.shape[a] for a in ax], dtype=np.int64)
    g = grad if keepdims else np.expand_dims(grad, ax)
    return g * 2 * (x - x.mean(axis=ax, keepdims=True)) / builtins.max(n - correction, 0)


def max_backward(grad, indices, input_shape, axis, keepdims=False):
    g = grad if keepdims else np.expand_dims(grad, axis)
    i = indices if keepdims else np.expand_dims(indices, axis)
    out = np.zeros(input_shape, grad.dtype)
    np.put_along_axis(out, i, g, axis=axis)
    return out

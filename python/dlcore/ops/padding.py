"""Padding (array level): ``pad`` and ``pad_backward`` with ``torch.nn.functional.pad``'s semantics.

`pad` lists (before, after) pairs from the last dim backwards: ``(left, right)`` pads the last dim,
``(left, right, top, bottom)`` the last two, and so on.  Modes: ``"constant"`` (negative pads
crop), ``"reflect"`` (mirror without repeating the edge; each pad < that dim's size),
``"replicate"`` (repeat the edge), ``"circular"`` (wrap around; each pad <= the size).  An index
gather per padded dim; the backward sums the gradient back through the same indices in index
order (deterministic).
"""
from __future__ import annotations

import numbers

import numpy as np

from ._util import _core, unwrap, wrap

__all__ = ["pad", "pad_backward"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _as_array(x, op):
    """A NumPy view of x (ndarray, Tensor, TensorImpl or any array-like)."""
    v = unwrap(x)
    if isinstance(v, np.ndarray):
        return v
    if isinstance(v, _core.TensorImpl):
        return _core.to_numpy(v)
    try:
        return np.asarray(_core.to_numpy(_core.as_tensor(v)))
    except Exception as e:  # noqa: BLE001 - anything that is not an array
        raise TypeError(f"{op}: expected an array, got {type(x).__name__}") from e


def _check(ndim, pad, mode, op):
    if mode not in _MODES:
        raise ValueError(f"{op}: expected mode 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if not isinstance(pad, (tuple, list)) or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool)
                                                    for p in pad):
        raise TypeError(f"{op}: expected pad to be a tuple of ints, got {pad!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) > 2 * ndim:
        raise ValueError(f"{op}: Padding length must be divisible by 2 and at most twice the number of dimensions "
                         f"of the input ({ndim}), got {len(pad)}")
    if mode != "constant":
        k = len(pad) // 2
        if not 1 <= k <= 3 or ndim not in (k + 1, k + 2):
            raise ValueError(f"{op}: {mode} padding pads the last 1, 2 or 3 dims of an input with a leading "
                             f"(N, C) or (C,) dim; got pad of length {len(pad)} for an input of {ndim} dims")
        if any(p < 0 for p in pad):
            raise ValueError(f"{op}: {mode} padding needs pads >= 0, got {pad}")
    return pad


def _index(n, lo, hi, mode, op, dim, shape, pad_pair):
    """Source index of each output position along one dim (of size n, padded by lo, hi)."""
    i = np.arange(-lo, n + hi)
    if mode == "reflect":
        if lo >= n or hi >= n:
            raise ValueError(f"{op}: Argument #4: Padding size should be less than the corresponding input "
                             f"dimension, but got: padding {pad_pair} at dimension {dim} of input {list(shape)}")
        i = np.abs(i)
        i = np.where(i >= n, 2 * (n - 1) - i, i)
    elif mode == "replicate":
        if n == 0:
            raise ValueError(f"{op}: replicate padding needs a non-empty dimension {dim}, input {list(shape)}")
        i = np.clip(i, 0, n - 1)
    else:  # circular
        if lo > n or hi > n:
            raise ValueError(f"{op}: Padding value causes wrapping around more than once (padding {pad_pair} at "
                             f"dimension {dim} of input {list(shape)})")
        i = np.mod(i, n) if n else i
    return i


def _pairs(pad, ndim):
    """(dim, before, after) for each padded dim, last dim first."""
    return [(ndim - 1 - k, pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)]


def pad(x, pad, mode="constant", value=0.0):  # noqa: A002 - torch's argument name
    """``torch.nn.functional.pad``: pad the last ``len(pad) // 2`` dims of x (pairs from the last dim
    backwards) with `mode` ``"constant"`` (fill `value`; negative pads crop), ``"reflect"``,
    ``"replicate"`` or ``"circular"``.  Raises ValueError for a reflect pad >= the dim's size, a
    circular pad > the size, or a pad tuple of odd length or longer than 2 * x.ndim."""
    op = "pad"
    a = _as_array(x, op)
    p = _check(a.ndim, pad, mode, op)
    if mode == "constant":
        if not isinstance(value, numbers.Number):
            raise TypeError(f"{op}: expected a number for value, got {type(value).__name__}")
        shape = list(a.shape)
        src, dst = [slice(None)] * a.ndim, [slice(None)] * a.ndim
        for d, lo, hi in _pairs(p, a.ndim):
            n = a.shape[d]
            new = n + lo + hi
            if new < 0:
                raise ValueError(f"{op}: the padded size of dimension {d} is negative ({new}): input {list(a.shape)}, "
                                 f"pad {p}")
            shape[d] = new
            s0, s1 = max(0, -lo), n - max(0, -hi)
            src[d] = slice(s0, max(s0, s1))
            dst[d] = slice(max(0, lo), max(0, lo) + max(0, s1 - s0))
        out = np.full(shape, value, dtype=a.dtype)
        out[tuple(dst)] = a[tuple(src)]
    else:
        out = a
        for d, lo, hi in _pairs(p, a.ndim):
            out = np.take(out, _index(a.shape[d], lo, hi, mode, op, d, a.shape, (lo, hi)), axis=d)
        out = np.ascontiguousarray(out)
    return wrap(_core.as_tensor(out), x)


def pad_backward(grad_out, input_shape, pad, mode="constant"):  # noqa: A002 - torch's argument name
    """Gradient of `pad` with respect to its input of shape `input_shape`: the padded positions'
    gradients summed back onto the input elements they copied (in index order: deterministic);
    for ``"constant"`` the inner block of grad_out (zeros where the pad cropped)."""
    op = "pad_backward"
    g = _as_array(grad_out, op)
    shape = tuple(int(s) for s in input_shape)
    p = _check(len(shape), pad, mode, op)
    want = list(shape)
    for d, lo, hi in _pairs(p, len(shape)):
        want[d] = shape[d] + lo + hi
    if list(g.shape) != want:
        raise ValueError(f"{op}: expected grad_out of shape {tuple(want)} for input shape {shape} and pad {p}, "
                         f"got {tuple(g.shape)}")
    if mode == "constant":
        out = np.zeros(shape, dtype=g.dtype)
        src, dst = [slice(None)] * len(shape), [slice(None)] * len(shape)
        for d, lo, hi in _pairs(p, len(shape)):
            n = shape[d]
            s0, s1 = max(0, -lo), n - max(0, -hi)
            dst[d] = slice(s0, max(s0, s1))
            src[d] = slice(max(0, lo), max(0, lo) + max(0, s1 - s0))
        out[tuple(dst)] = g[tuple(src)]
    else:
        out = g
        for d, lo, hi in reversed(_pairs(p, len(shape))):
            idx = _index(shape[d], lo, hi, mode, op, d, shape, (lo, hi))
            moved = np.moveaxis(out, d, 0)
            acc = np.zeros((shape[d],) + moved.shape[1:], dtype=g.dtype)
            np.add.at(acc, idx, moved)
            out = np.moveaxis(acc, 0, d)
        out = np.ascontiguousarray(out)
    return wrap(_core.as_tensor(out), grad_out)

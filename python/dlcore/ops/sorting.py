"""Sorting and sampling (array level): ``sort``, ``argsort``, ``topk`` with the gradient of their
values, and ``multinomial``.  NumPy in -> NumPy out, Tensor in -> Tensor out.

These are not training hot paths, so they run on NumPy: ``sort``/``argsort``/``topk`` use
NumPy's stable sort along the dim (one copy of the input), ``multinomial`` draws its uniforms
from dlcore's global counter-based generator (``ops.uniform``), so it is reproducible after
``dlcore.manual_seed`` and independent of the thread count.  Gradients (``sort_backward``) go
through the C++ ``scatter`` kernel.

Conventions (torch's): the sort is always stable (ties keep their input order, descending
included); NaN sorts as the largest value; indices are int64.  ``topk`` returns the first k of
that stable order, so among equal values the lowest indices come first (torch does not promise
an order among ties).
"""
from __future__ import annotations

import numbers

import numpy as np

from ._numpy_bridge import as_impl, as_numpy as _np, result as _out
from ._util import _core, as_bool, as_ints, kernel_errors, unwrap, wrap
from .random import uniform

__all__ = ["sort", "argsort", "topk", "sort_backward", "topk_backward", "multinomial"]


def _dim(dim, nd, op):
    n = max(nd, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {nd} dimension(s)")
    return dim % n


def _argsort(a, dim, descending):
    if a.ndim == 0:
        return np.zeros((), np.int64)
    if not descending:
        return np.argsort(a, axis=dim, kind="stable").astype(np.int64)
    # Stable descending: sort the reversed array ascending, then read that order backwards; ties
    # then come out in increasing original index, and NaN (largest) first.
    n = a.shape[dim]
    rev = np.flip(a, axis=dim)
    order = np.argsort(rev, axis=dim, kind="stable")
    return (n - 1 - np.flip(order, axis=dim)).astype(np.int64)


def argsort(x, dim=-1, descending=False):
    """``torch.argsort(x, dim, descending, stable=True)``: int64 indices that sort x along dim."""
    a = _np(x, "argsort")
    return _out(_argsort(a, _dim(dim, a.ndim, "argsort"), as_bool(descending, "argsort", "descending")), x)


def sort(x, dim=-1, descending=False):
    """``torch.sort(x, dim, descending, stable=True)``: (values, int64 indices) along dim."""
    a = _np(x, "sort")
    d = _dim(dim, a.ndim, "sort")
    idx = _argsort(a, d, as_bool(descending, "sort", "descending"))
    vals = a.copy() if a.ndim == 0 else np.take_along_axis(a, idx, axis=d)
    return _out(vals, x), _out(idx, x)


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - torch's argument name
    """``torch.topk``: the k largest (smallest with ``largest=False``) values along dim and their
    int64 indices, in sorted order (``sorted=False`` returns the same order).  Raises ValueError
    when k is negative or larger than the dim (RuntimeError in torch)."""
    a = _np(x, "topk")
    d = _dim(dim, a.ndim, "topk")
    n = a.shape[d] if a.ndim else 1
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__}")
    if not 0 <= k <= n:
        raise ValueError(f"topk: k ({k}) is out of range for a dimension of size {n}")
    idx = _argsort(a, d, as_bool(largest, "topk", "largest"))
    as_bool(sorted, "topk", "sorted")
    if a.ndim:
        idx = np.take(idx, np.arange(k), axis=d)
        vals = np.take_along_axis(a, idx, axis=d)
    else:
        vals = a.copy()  # a 0-d input is one element: k is 0 or 1, torch returns it 0-d
    return _out(vals, x), _out(idx, x)


@kernel_errors("scatter", "as_tensor", "zeros", "reshape")
def sort_backward(grad, dim, indices, input_shape):
    """Gradient of ``sort``/``topk`` values w.r.t. the input: zeros of `input_shape` with grad
    scattered to `indices` along dim (the indices are distinct along dim, so this is a scatter)."""
    g = as_impl(grad)
    input_shape = as_ints(input_shape, "sort_backward", "input_shape")
    if len(input_shape) == 0:
        return wrap(_core.reshape(g, ()), grad)
    zeros = _core.zeros(input_shape, str(g.dtype), "cpu")
    return wrap(_core.scatter(zeros, dim, unwrap(indices), g, False), grad)


topk_backward = kernel_errors("sort_backward", op="topk_backward")(sort_backward)


@kernel_errors("uniform")
def multinomial(probs, num_samples, replacement=False):
    """``torch.multinomial``: int64 category indices drawn from the rows of `probs` (1-d (C,) or
    2-d (N, C) non-negative weights, not necessarily normalised) -> (num_samples,) or
    (N, num_samples).

    With replacement each sample inverts the row's CDF at a uniform draw; without replacement it
    is an exponential race (the categories with the smallest ``E_i / p_i``, ``E_i ~ Exp(1)``), which
    draws the same distribution as torch's sequential sampling without replacement.  Uniforms
    come from dlcore's generator (NumPy's float64 arithmetic on them), so results repeat after
    ``dlcore.manual_seed``.  Raises ValueError for negative, inf or NaN weights, a row summing to
    zero, ``num_samples <= 0``, or more samples than non-zero categories without replacement;
    TypeError for non-float input."""
    a = _np(probs, "multinomial")
    if a.dtype.kind != "f":
        raise TypeError(f"multinomial: expected float32 or float64 probabilities, got {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"multinomial: expected a 1-d or 2-d probability tensor, got {a.ndim} dimension(s)")
    if not isinstance(num_samples, numbers.Integral) or isinstance(num_samples, bool):
        raise TypeError(f"multinomial: num_samples must be an int, got {type(num_samples).__name__}")
    replacement = as_bool(replacement, "multinomial", "replacement")
    if num_samples <= 0:
        raise ValueError(f"multinomial: cannot sample num_samples <= 0 samples, got {num_samples}")
    p = np.atleast_2d(a).astype(np.float64)
    rows, c = p.shape
    if c == 0:
        raise ValueError("multinomial: the probability tensor has no categories")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("multinomial: probabilities must be finite and non-negative")
    total = p.sum(axis=1)
    if (total <= 0).any():
        raise ValueError("multinomial: every row of probabilities must have a positive sum")
    if not replacement and ((p > 0).sum(axis=1) < num_samples).any():
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from a row with "
                         "fewer non-zero categories")
    if replacement:
        u = uniform((rows, num_samples), dtype="float64")
        cdf = np.cumsum(p, axis=1) / total[:, None]
        out = np.empty((rows, num_samples), np.int64)
        last = c - 1 - np.argmax((p > 0)[:, ::-1], axis=1)  # the last category with weight
        for r in range(rows):
            # The first category whose CDF exceeds u; zero-weight categories never qualify.
            out[r] = np.minimum(np.searchsorted(cdf[r], u[r], side="right"), last[r])
    else:
        u = uniform((rows, c), dtype="float64")
        with np.errstate(divide="ignore"):
            keys = -np.log1p(-u) / p  # Exp(1) / p; +inf for zero weights, never chosen
        out = np.argsort(keys, axis=1, kind="stable")[:, :num_samples].astype(np.int64)
    if a.ndim == 1:
        out = out[0]
    return _out(out, probs)

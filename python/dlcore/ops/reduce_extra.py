"""More reductions and elementwise bounds (array level, forward and backward): ``clamp``,
``std``, ``norm``, ``prod``, ``all``, ``any``.  NumPy in -> NumPy out, Tensor in -> Tensor out.

``std`` is ``sqrt(var)`` on dlcore's deterministic ``var`` kernel.  ``clamp``, ``norm``, ``prod``,
``all`` and ``any`` are not training hot paths and run on NumPy (single-threaded, so the result
does not depend on the thread count); they keep torch's dtype rules: ``prod`` of int64/bool is
int64, ``all``/``any`` return bool, ``norm`` needs float input.

Gradients follow torch's subgradient conventions: ``clamp`` passes the gradient where
``min <= x <= max`` (boundaries included) and gives it to a tensor bound where x is strictly
outside it; ``norm`` gives zero at a zero norm (p=2 and general p), ``sign(x)`` for p=1 (zero at
0) and, for p=inf, shares the gradient equally among the elements that attain the maximum;
``prod`` is exact with zeros (the product of the other elements, computed without division).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._numpy_bridge import as_impl, as_numpy as _np, result as _out
from ._util import _core, as_bool, as_float, kernel_errors, unwrap, wrap

__all__ = [
    "clamp", "clamp_backward", "std", "std_backward", "norm", "norm_backward", "prod", "prod_backward",
    "all", "any",
]


def _axes(dim, nd, op):
    """None -> every axis; int or sequence -> a tuple of non-negative axes (no repeats)."""
    if dim is None:
        return tuple(range(nd))
    try:
        dims = (dim,) if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool) else tuple(dim)
    except TypeError:  # not iterable (a float): tuple()'s message would not name the op
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {type(dim).__name__}") from None
    n = max(nd, 1)
    out = []
    for d in dims:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {type(d).__name__}")
        if not -n <= d < n:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor of {nd} dimension(s)")
        out.append(d % n)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim} appears more than once")
    return tuple(a for a in out if a < nd)  # dim 0 of a 0-d tensor reduces nothing


def _keepdim(keepdim, op):
    return as_bool(keepdim, op, "keepdim")


def _grad_like(g, shape, op, what="grad"):
    """g (a gradient or a forward result) must have the reduced `shape`: ValueError naming op,
    instead of NumPy's broadcast or AxisError further down."""
    if g.shape != tuple(shape):
        raise ValueError(f"{op}: {what} has shape {g.shape}, expected {tuple(shape)}")
    return g


def _reduced(shape, axes, keepdim):
    return tuple(1 if i in axes else s for i, s in enumerate(shape) if keepdim or i not in axes)


def _keep(r, axes, nd, keepdim):
    """r reduced over axes with keepdims=True -> the requested keepdim form."""
    return r if keepdim else np.squeeze(r, axis=axes) if axes else r.reshape(r.shape)


# ---- clamp ----------------------------------------------------------------------------------

def _bound(b, op):
    if b is None:
        return None
    t = unwrap(b)
    if type(t) is _core.TensorImpl or isinstance(t, np.ndarray):
        return _np(t, op)
    if isinstance(b, numbers.Integral) and not isinstance(b, bool) and not -2**63 <= b < 2**63:
        raise ValueError(f"{op}: the bound {b} does not fit in int64")
    if isinstance(b, numbers.Number) and not isinstance(b, bool):
        return b
    raise TypeError(f"{op}: min and max must be numbers or tensors, got {type(b).__name__}")


def _clamp_dtype(a, lo, hi):
    # torch: a float bound makes an integer tensor float (float32 for a Python float, the bound's
    # dtype for a tensor); a dimensioned float tensor bound promotes a float input's width.
    dt = a.dtype
    for b in (lo, hi):
        if b is None:
            continue
        if isinstance(b, np.ndarray):
            if b.dtype.kind == "f" and (dt.kind != "f" or b.ndim > 0):
                dt = np.promote_types(dt, b.dtype) if dt.kind == "f" else b.dtype
        elif isinstance(b, float) and dt.kind != "f":
            dt = np.dtype(np.float32)
    return dt


def clamp(x, min=None, max=None):  # noqa: A002 - torch's argument names
    """``torch.clamp(x, min, max)``: ``minimum(maximum(x, min), max)`` (so ``min > max`` gives max).
    min/max: numbers or arrays that broadcast with x; one may be None, not both (ValueError).
    NaN in x propagates.  An integer x with a float bound gives a float result (float32 for a
    Python float), as in torch."""
    a = _np(x, "clamp")
    lo, hi = _bound(min, "clamp"), _bound(max, "clamp")
    if lo is None and hi is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if a.dtype == np.bool_:
        raise TypeError("clamp: bool tensors are not supported")
    try:
        np.broadcast_shapes(a.shape, np.shape(lo), np.shape(hi))
    except ValueError:
        raise ValueError(f"clamp: min {np.shape(lo)} and max {np.shape(hi)} do not broadcast with x {a.shape}") from None
    dt = _clamp_dtype(a, lo, hi)
    r = a.astype(dt, copy=False)
    if lo is not None:
        r = np.maximum(r, np.asarray(lo).astype(dt, copy=False))
    if hi is not None:
        r = np.minimum(r, np.asarray(hi).astype(dt, copy=False))
    return _out(np.asarray(r, dtype=dt), x, min, max)


def clamp_backward(grad, x, min=None, max=None):  # noqa: A002
    """Gradients of ``clamp``: (for x, for min, for max), each of the broadcast shape (reduce to the
    operand's shape with a sum): x gets grad where ``min <= x <= max``; min where ``x < min`` and
    ``min < max``; max where ``x > max`` or ``max < min`` (torch's rules).  A number bound gets
    None."""
    g = _np(grad, "clamp_backward")
    a = _np(x, "clamp_backward")
    lo, hi = _bound(min, "clamp_backward"), _bound(max, "clamp_backward")
    try:
        shape = np.broadcast_shapes(a.shape, np.shape(lo), np.shape(hi))
    except ValueError:
        raise ValueError(f"clamp_backward: min {np.shape(lo)} and max {np.shape(hi)} do not broadcast with x "
                         f"{a.shape}") from None
    _grad_like(g, shape, "clamp_backward")
    zero = np.zeros((), g.dtype)
    keep = np.ones(g.shape, bool)
    if lo is not None:
        keep = keep & (a >= lo)
    if hi is not None:
        keep = keep & (a <= hi)
    gx = np.where(keep, g, zero)
    gmin = gmax = None
    if isinstance(lo, np.ndarray):
        m = a < lo
        if hi is not None:
            m = m & (lo < hi)
        gmin = _out(np.where(m, g, zero), grad)
    if isinstance(hi, np.ndarray):
        m = a > hi
        if lo is not None:
            m = m | (hi < lo)
        gmax = _out(np.where(m, g, zero), grad)
    return _out(gx, grad), gmin, gmax


# ---- std ------------------------------------------------------------------------------------

def _axis_arg(dim):
    return tuple(dim) if isinstance(dim, list) else dim


@kernel_errors("var")
def std(x, axis=None, correction=1, keepdims=False):
    """``torch.std``: ``sqrt(var(x, axis, correction))``, dividing by ``max(N - correction, 0)``."""
    v = _core.var(unwrap(x), _axis_arg(axis), as_float(correction, "std", "correction"), keepdims)
    return wrap(_core.sqrt(v), x)


@kernel_errors("var_backward", "as_tensor", "div", "mul", "where", "eq")
def std_backward(grad, x, result, axis=None, correction=1, keepdims=False):
    """Gradient of ``std`` from its result: ``var_backward(grad / (2 std))``, with zero gradient
    where the standard deviation is 0 (torch's convention, rather than 0/0)."""
    g, r = as_impl(grad), as_impl(result)
    scaled = _core.where(_core.eq(r, 0.0), 0.0, _core.div(g, _core.mul(r, 2.0)))
    c = as_float(correction, "std_backward", "correction")
    return wrap(_core.var_backward(scaled, unwrap(x), _axis_arg(axis), c, keepdims), grad, x)


# ---- norm -----------------------------------------------------------------------------------

def _p(p, op):
    if isinstance(p, str) and p == "fro":
        return 2.0
    if isinstance(p, str) or not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise ValueError(f"{op}: p must be a number >= 1, inf or 'fro', got {p!r}")
    if math.isinf(p) and p > 0:
        return math.inf
    if not p >= 1:
        raise ValueError(f"{op}: p must be a number >= 1, inf or 'fro', got {p!r}")
    return float(p)


def norm(x, p="fro", dim=None, keepdim=False):
    """``torch.norm`` / ``torch.linalg.vector_norm``: the p-norm over `dim` (None: every element).
    p: 'fro' or 2 (Euclidean), 1, inf (max |x|) or any real >= 1.  float32/float64 input only
    (TypeError otherwise); ValueError for another p ('nuc', p < 1)."""
    a = _np(x, "norm")
    if a.dtype.kind != "f":
        raise TypeError(f"norm: expected a float32 or float64 tensor, got {a.dtype}")
    q = _p(p, "norm")
    axes = _axes(dim, a.ndim, "norm")
    keepdim = _keepdim(keepdim, "norm")
    ab = np.abs(a)
    if q == math.inf:
        r = np.max(ab, axis=axes, keepdims=True) if ab.size else np.zeros(
            tuple(1 if i in axes else s for i, s in enumerate(a.shape)), a.dtype)
    elif q == 2.0:
        r = np.sqrt(np.sum(a * a, axis=axes, keepdims=True))
    elif q == 1.0:
        r = np.sum(ab, axis=axes, keepdims=True)
    else:
        r = np.power(np.sum(np.power(ab, q), axis=axes, keepdims=True), 1.0 / q)
    return _out(_keep(r.astype(a.dtype, copy=False), axes, a.ndim, keepdim), x)


def norm_backward(grad, x, result, p="fro", dim=None, keepdim=False):
    """Gradient of ``norm`` from its result (torch's conventions, see the module docstring)."""
    a = _np(x, "norm_backward")
    q = _p(p, "norm_backward")
    axes = _axes(dim, a.ndim, "norm_backward")
    keepdim = _keepdim(keepdim, "norm_backward")
    shape = _reduced(a.shape, axes, keepdim)
    g = _grad_like(_np(grad, "norm_backward"), shape, "norm_backward")
    r = _grad_like(_np(result, "norm_backward"), shape, "norm_backward", "result")
    if not keepdim:
        g, r = np.expand_dims(g, axes), np.expand_dims(r, axes)
    with np.errstate(divide="ignore", invalid="ignore"):
        if q == 1.0:
            out = np.sign(a) * g
        elif q == math.inf:
            mask = (np.abs(a) == r)
            out = np.sign(a) * mask * (g / np.sum(mask, axis=axes, keepdims=True))
        elif q == 2.0:
            out = a * np.where(r == 0, 0, g / r)
        else:
            out = np.sign(a) * np.power(np.abs(a), q - 1) * np.where(r == 0, 0, g / np.power(r, q - 1))
    return _out(np.broadcast_to(out, a.shape).astype(a.dtype), grad)


# ---- prod -----------------------------------------------------------------------------------

def prod(x, dim=None, keepdim=False):
    """``torch.prod``: product over `dim` (an int, or None for every element -> 0-d); int64 for
    bool and integer input."""
    a = _np(x, "prod")
    if a.dtype.kind in "biu":  # bool and every integer type multiply in int64, as in torch
        a = a.astype(np.int64)
    if dim is None:
        return _out(np.asarray(np.prod(a), dtype=a.dtype), x)
    axes = _axes(dim, a.ndim, "prod")
    keepdim = _keepdim(keepdim, "prod")
    return _out(np.asarray(np.prod(a, axis=axes, keepdims=keepdim), dtype=a.dtype), x)


def _exclusive_prod(a, axis):
    """prod of every element but the i-th along axis, without division (exact with zeros)."""
    n = a.shape[axis]
    ones = np.ones_like(np.take(a, [0], axis=axis))
    left = np.cumprod(np.concatenate([ones, np.take(a, range(n - 1), axis=axis)], axis=axis), axis=axis)
    rev = np.flip(a, axis=axis)
    right = np.flip(np.cumprod(np.concatenate([ones, np.take(rev, range(n - 1), axis=axis)], axis=axis),
                               axis=axis), axis=axis)
    return left * right


def prod_backward(grad, x, dim=None, keepdim=False):
    """Gradient of ``prod``: grad times the product of the other elements of the slice (so one zero
    gets the product of the rest and the other elements 0, two zeros give 0 everywhere)."""
    a = _np(x, "prod_backward")
    g = _np(grad, "prod_backward")
    keepdim = _keepdim(keepdim, "prod_backward")
    axes = tuple(range(a.ndim)) if dim is None else _axes(dim, a.ndim, "prod_backward")
    if dim is not None and a.ndim and len(axes) != 1:
        raise ValueError(f"prod_backward: dim must be a single dim or None, got {dim!r}")
    _grad_like(g, () if dim is None else _reduced(a.shape, axes, keepdim), "prod_backward")
    if a.ndim == 0:
        return _out(np.asarray(g, dtype=a.dtype).reshape(()), grad)
    if dim is None:
        flat = a.reshape(-1)
        return _out((_exclusive_prod(flat, 0) * g.reshape(())).reshape(a.shape).astype(a.dtype), grad)
    (ax,) = axes
    if a.shape[ax] == 0:
        return _out(np.zeros(a.shape, a.dtype), grad)
    if not keepdim:
        g = np.expand_dims(g, ax)
    return _out((_exclusive_prod(a, ax) * g).astype(a.dtype), grad)


# ---- all / any ------------------------------------------------------------------------------

def _logical(fn, name):
    def op(x, dim=None, keepdim=False):
        a = _np(x, name)
        axes = _axes(dim, a.ndim, name)
        keepdim_ = _keepdim(keepdim, name)
        return _out(np.asarray(fn(a.astype(bool), axis=axes, keepdims=keepdim_)), x)

    op.__name__ = name
    op.__doc__ = (f"``torch.{name}``: whether {'every' if name == 'all' else 'any'} element over `dim` (an int, a "
                  "tuple, or None for all) is non-zero; a bool result.")
    return op


all = _logical(np.all, "all")  # noqa: A001
any = _logical(np.any, "any")  # noqa: A001

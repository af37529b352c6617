"""Gather/scatter, cumsum and boolean-mask / integer-row indexing (array level, forward and
backward), on the C++ ``index_ops`` kernels.  NumPy in -> NumPy out, Tensor in -> Tensor out.

Semantics are PyTorch's (``torch.gather``, ``torch.scatter``, ``torch.scatter_add``,
``torch.cumsum``, ``x[mask]``, ``x[mask] = v``, ``index_put_``), with these guarantees:

* Deterministic: scatters and puts give every output line to one thread, which applies the
  contributions in index order, so results are bitwise identical for any thread count.  Where
  torch leaves the result of repeated indices unspecified (``scatter`` and ``index_put_`` without
  accumulate), the last write in C order wins, as in a serial loop.
* Indices are int64; gather/scatter indices must lie in ``[0, size)`` (IndexError otherwise, as in
  torch); row indices of ``index_put_rows_`` may be negative (counted from the end).
* Inputs of any strides are read through their strides or copied once.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._tensor import Tensor
from ._numpy_bridge import as_impl, as_numpy as _to_np, result as _out
from ._util import _core, as_bool, as_int, as_ints, kernel_errors, unwrap, wrap

__all__ = [
    "gather", "gather_backward", "scatter", "scatter_add", "scatter_backward", "scatter_add_backward",
    "cumsum", "cumsum_backward", "masked_select", "masked_select_backward", "mask_select_rows", "mask_select_rows_backward",
    "masked_put_", "index_put_rows_", "one_hot",
]


def _idx(index, op):
    """Index arguments: Tensors and arrays pass through (the kernel checks their dtype); lists
    become int64 arrays; anything else (None, a list with a non-integer) is a TypeError naming op."""
    if isinstance(index, (list, tuple)):
        try:  # floats are refused, not truncated (torch needs an int64 index too)
            a = np.asarray(index)
            if a.size == 0 or a.dtype.kind in "iu":
                return np.asarray(a, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            pass
        raise TypeError(f"{op}: expected index to be an int64 tensor or a list of ints, got {index!r:.60}")
    t = unwrap(index)
    if not hasattr(t, "shape") and not hasattr(t, "__dlpack__"):
        raise TypeError(f"{op}: expected index to be an int64 tensor or a list of ints, got {type(index).__name__}")
    return t


@kernel_errors("as_tensor")
def gather(x, dim, index):
    """``torch.gather(x, dim, index)``: ``out[i][j][k] = x[i][index[i][j][k]][k]`` for dim=1.

    index: int64 with x's number of dims and ``index.size(d) <= x.size(d)`` for ``d != dim``; the
    output has index's shape and x's dtype (any dtype).  Raises IndexError for an index outside
    ``[0, x.size(dim))`` or a bad dim, ValueError for mismatched shapes, TypeError for a non-int64
    index."""
    return wrap(_core.gather(unwrap(x), dim, _idx(index, "gather")), x, index)


@kernel_errors("scatter_add", "as_tensor", "zeros")
def gather_backward(grad, dim, index, input_shape, dtype=None):
    """Gradient of ``gather`` w.r.t. x: zeros of `input_shape` with `grad` scatter-added at
    `index` (repeated indices accumulate, in index order)."""
    g = as_impl(grad)
    zeros = _core.zeros(as_ints(input_shape, "gather_backward", "input_shape"), str(dtype or g.dtype), "cpu")
    return wrap(_core.scatter(zeros, dim, _idx(index, "gather_backward"), g, True), grad)


def _src(x, src, op):
    """A scalar src becomes a tensor of x's dtype broadcast to index's shape later (C++ reads
    only the index-shaped corner, so a full-size fill is not needed: a 0-d value is expanded)."""
    if isinstance(src, (Tensor, np.ndarray)) or type(src) is _core.TensorImpl or hasattr(src, "__dlpack__"):
        return unwrap(src)
    return _in_dtype_of(x, src, op, "src")


def _in_dtype_of(x, v, op, what):
    """v (a number or a nested list) as an array of x's dtype; a non-numeric v is a TypeError, a
    number that the dtype cannot hold (300 or inf for int8, NaN for int64) a ValueError, naming op
    (NumPy's OverflowError and messages would not)."""
    dt = np.dtype(str(unwrap(x).dtype if type(unwrap(x)) is _core.TensorImpl else np.asarray(x).dtype))
    try:
        return np.asarray(v, dtype=dt)
    except (TypeError, ValueError, OverflowError) as e:
        if isinstance(v, numbers.Number) and not isinstance(e, TypeError):
            raise ValueError(f"{op}: {what} {v!r} cannot be stored in {dt}") from None
        raise TypeError(f"{op}: expected {what} to be a tensor or a number, got {type(v).__name__}") from None


def _expand_src(x, index, src):
    """A 0-d src (a value) expanded (stride 0) to the shape of index (as _idx returns it)."""
    if getattr(src, "ndim", 1) == 0:
        ishape = tuple(index.shape)
        return _core.expand(_core.as_tensor(np.asarray(src, order="C")) if isinstance(src, np.ndarray) else src,
                            ishape)
    return src


@kernel_errors("as_tensor")
def scatter(x, dim, index, src):
    """``torch.scatter(x, dim, index, src)``: a copy of x with ``out[i][index[i][j][k]][k] =
    src[i][j][k]`` (dim=1).  src is a tensor (only its index-shaped corner is read) or a number.
    Repeated indices: the last in C order wins (torch leaves this unspecified)."""
    idx = _idx(index, "scatter")
    s = _expand_src(x, idx, _src(x, src, "scatter"))
    return wrap(_core.scatter(unwrap(x), dim, idx, s, False), x, index, src)


@kernel_errors("as_tensor")
def scatter_add(x, dim, index, src):
    """``torch.scatter_add``: a copy of x with src's entries added at index along dim (repeated
    indices accumulate, in index order; deterministic).  float32, float64 or int64."""
    idx = _idx(index, "scatter_add")
    s = _expand_src(x, idx, _src(x, src, "scatter_add"))
    return wrap(_core.scatter(unwrap(x), dim, idx, s, True), x, index, src)


@kernel_errors("gather", "as_tensor", "zeros", "index_put_")
def scatter_add_backward(grad, dim, index, src_shape):
    """Gradients of ``scatter_add``: (grad for x, grad for src) = (grad, grad gathered at index,
    zero-padded to `src_shape` where src is larger than index)."""
    g = as_impl(grad)
    gs = _core.gather(g, dim, _idx(index, "scatter_add_backward"))
    return wrap(g, grad), wrap(_pad_to(gs, as_ints(src_shape, "scatter_add_backward", "src_shape")), grad)


@kernel_errors("scatter", "gather", "as_tensor", "zeros", "index_put_")
def scatter_backward(grad, dim, index, src_shape):
    """Gradients of ``scatter``: (grad with the overwritten positions zeroed, grad gathered at
    index for src, zero-padded to `src_shape`).  As in torch, a src entry whose write was
    overwritten by a repeated index still receives the gradient of that position."""
    g = as_impl(grad)
    src_shape = as_ints(src_shape, "scatter_backward", "src_shape")
    idx = _idx(index, "scatter_backward")
    zero = _core.expand(_core.zeros((), g.dtype, "cpu"), tuple(idx.shape))
    gx = _core.scatter(g, dim, idx, zero, False)
    gs = _core.gather(g, dim, idx)
    return wrap(gx, grad), wrap(_pad_to(gs, src_shape), grad)


def _pad_to(t, shape):
    if tuple(t.shape) == shape:
        return t
    out = _core.zeros(shape, t.dtype, "cpu")
    _core.index_put_(out, tuple(slice(0, s) for s in t.shape), t)
    return out


@kernel_errors("as_tensor")
def cumsum(x, dim, dtype=None):
    """``torch.cumsum(x, dim)``: inclusive prefix sums along dim.  bool and integer input give int64
    (torch's rule); float32/float64 keep their dtype; `dtype` converts the input first."""
    t = unwrap(x)
    if not hasattr(t, "dtype"):  # a list, a number, None: as NumPy (a TypeError naming cumsum if not numeric)
        t = _to_np(t, "cumsum")
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except (TypeError, ValueError):
            raise TypeError(f"cumsum: expected a dtype for dtype, got {dtype!r:.40}") from None
        t = _core.as_tensor(np.asarray(_to_np(t, "cumsum").astype(dtype), order="C"))
    elif np.dtype(str(t.dtype)).kind in "biu" and str(t.dtype) != "int64":  # bool and narrower ints: int64
        t = _core.as_tensor(np.asarray(_to_np(t, "cumsum").astype(np.int64), order="C"))
    return wrap(_core.cumsum(t, dim, False), x)


def cumsum_backward(grad, dim):
    """Gradient of ``cumsum``: the reverse cumulative sum of grad along dim (suffix sums)."""
    return wrap(_core.cumsum(unwrap(grad), dim, True), grad)


def masked_select(x, mask):
    """``torch.masked_select``: the elements of x where the bool `mask` (broadcast with x) is True,
    as a 1-d array in C order."""
    xi, mi = unwrap(x), unwrap(mask)
    if not hasattr(xi, "shape"):  # a list, a number, None: as NumPy (a TypeError naming masked_select if not numeric)
        xi = _to_np(xi, "masked_select")
    if not hasattr(mi, "shape"):
        raise TypeError(f"masked_select: expected a bool tensor mask, got {type(mask).__name__}")
    try:
        shape = np.broadcast_shapes(tuple(xi.shape), tuple(mi.shape))
    except ValueError:
        raise ValueError(f"masked_select: the mask {tuple(mi.shape)} does not broadcast with x {tuple(xi.shape)}") from None
    xb = _core.broadcast_to(xi, shape) if tuple(xi.shape) != shape else xi
    mb = _core.broadcast_to(mi, shape) if tuple(mi.shape) != shape else mi
    return wrap(_core.masked_rows(xb, mb), x, mask)


@kernel_errors("masked_put_", "as_tensor", "zeros")
def masked_select_backward(grad, mask, input_shape):
    """Gradient of ``masked_select`` w.r.t. x: grad's elements put where the (broadcast) mask is
    True in zeros of the broadcast shape, then summed over the dims x was broadcast along, so the
    result has `input_shape`."""
    g = as_impl(grad)
    mi = as_impl(mask)
    input_shape = as_ints(input_shape, "masked_select_backward", "input_shape")
    try:
        shape = np.broadcast_shapes(input_shape, tuple(mi.shape))
    except (ValueError, TypeError):
        raise ValueError(f"masked_select_backward: the mask {tuple(mi.shape)} does not broadcast with input_shape "
                         f"{input_shape}") from None
    full = _core.zeros(shape, str(g.dtype), "cpu")
    _core.masked_put_(full, _core.contiguous(_core.broadcast_to(mi, shape)), g)
    out = _to_np(full, "masked_select_backward")
    lead = len(shape) - len(input_shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(input_shape) if s == 1 and shape[lead + i] != 1)
    return _out(out.sum(axis=axes).reshape(tuple(input_shape)) if axes else out, grad)


@kernel_errors("masked_select")
def mask_select_rows(x, mask):
    """``x[mask]`` with a bool `mask` of the shape of x's leading ``mask.ndim`` dims: the selected
    rows, shape ``(nnz,) + x.shape[mask.ndim:]``.  IndexError when the shapes do not match."""
    return wrap(_core.masked_rows(unwrap(x), unwrap(mask)), x, mask)


@kernel_errors("masked_put_", "as_tensor", "zeros")
def mask_select_rows_backward(grad, mask, input_shape):
    """Gradient of ``mask_select_rows``: zeros of `input_shape` with grad's rows put where mask is
    True."""
    g = as_impl(grad)
    out = _core.zeros(as_ints(input_shape, "mask_select_rows_backward", "input_shape"), g.dtype, "cpu")
    _core.masked_put_(out, unwrap(mask), g)
    return wrap(out, grad)


def masked_put_(x, mask, values):
    """``x[mask] = values`` in place (mask: bool, the shape of x's leading dims); values (a number
    or an array of x's dtype) broadcast to ``(nnz,) + x.shape[mask.ndim:]``.  Returns x."""
    _core.masked_put_(unwrap(x), unwrap(mask), _values(x, values, "masked_put_"))
    return x


@kernel_errors("index_put_")
def index_put_rows_(x, lead, rows, values, accumulate=False):
    """``x[rows] = values`` (or ``+=`` with accumulate, like ``index_put_(..., accumulate=True)``) in
    place, with x seen as ``prod(x.shape[:lead])`` rows of shape ``x.shape[lead:]`` and `rows` a 1-d
    int64 array of row numbers (negative counts from the end).  values broadcast to
    ``(len(rows),) + x.shape[lead:]``.  Repeated rows: accumulate adds every contribution in order;
    without it the last one wins.  Returns x."""
    op = "index_put_rows_"
    _core.index_put_rows_(unwrap(x), as_int(lead, op, "lead"), _idx(rows, op), _values(x, values, op),
                          as_bool(accumulate, op, "accumulate"))
    return x


def _values(x, values, op):
    if isinstance(values, Tensor) or type(values) is _core.TensorImpl:
        return unwrap(values)
    return _in_dtype_of(x, values, op, "values")


def one_hot(x, num_classes=-1):
    """``torch.nn.functional.one_hot``: int64 class indices of any shape -> int64 array of shape
    ``x.shape + (num_classes,)``; ``num_classes=-1`` uses ``max(x) + 1``.  Raises TypeError for a
    non-int64 input and ValueError (RuntimeError in torch) for negative classes or classes
    ``>= num_classes``."""
    t = unwrap(x)
    if str(getattr(t, "dtype", "")) != "int64":
        raise TypeError(f"one_hot: expected an int64 tensor of class indices, got {getattr(t, 'dtype', type(x))}")
    a = _to_np(t, "one_hot")
    if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool):
        raise TypeError(f"one_hot: num_classes must be an int, got {type(num_classes).__name__}")
    if a.size and a.min() < 0:
        raise ValueError("one_hot: class values must be non-negative")
    if num_classes == -1:
        if a.size == 0:
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor")
        num_classes = int(a.max()) + 1
    elif num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 or non-negative, got {num_classes}")
    elif a.size and a.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes ({num_classes}), got {a.max()}")
    try:
        out = np.zeros(a.shape + (num_classes,), np.int64)
    except (ValueError, MemoryError) as e:  # NumPy's "Maximum allowed dimension exceeded", too large
        raise type(e)(f"one_hot: cannot allocate a result of shape {a.shape + (num_classes,)} ({e})") from None
    np.put_along_axis(out, a[..., None], 1, axis=-1)
    return _out(out, x)

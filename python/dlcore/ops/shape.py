"""Shape and memory ops (array level): views, copies that materialise them, cat/stack/split,
indexing, gathers (index_select, embedding) with deterministic backwards, pad and masked_fill.

Semantics follow PyTorch (names, argument order, ``dim`` conventions) and NumPy for indexing
keys.  NumPy in -> NumPy out, dlcore.Tensor in -> Tensor out.

Views
    ``reshape`` (when the strides allow), ``view``, ``flatten`` (idem), ``squeeze``, ``unsqueeze``,
    ``transpose``, ``permute``, ``expand``, ``broadcast_to``, ``narrow``, ``index`` and ``split``
    return views: the result shares memory with the input, NumPy inputs included (writing through
    the result writes the input).  ``contiguous`` materialises a view with a cache-blocked
    transpose kernel when the view reads its input against the grain.

Dtypes
    Every op takes float32, float64, int64 and bool; backward kernels take float32/float64.
    ``cat``/``stack`` require one dtype for all inputs (TypeError otherwise; unlike torch.cat
    there is no implicit promotion: convert first).

Determinism
    ``index_select_backward``, ``embedding_backward`` and ``pad_backward`` never use atomics:
    each output row is summed by one chunk in index order, so results are bitwise identical for
    any thread count.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ._util import _core, as_float, as_int, as_tuple, unwrap, wrap

__all__ = [
    "reshape", "view", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "contiguous",
    "expand", "broadcast_to", "narrow", "cat", "concatenate", "stack", "split", "tensor_split",
    "index", "slice_copy", "index_put_", "index_select", "index_select_backward", "pad",
    "pad_backward", "embedding", "embedding_backward", "masked_fill", "masked_fill_",
]


def _shape_arg(shape):
    return tuple(shape) if isinstance(shape, (list, tuple)) else shape


def _pads(pad, op):
    return as_tuple(pad, op, "pad")


def _array_list(tensors, op):
    """The list of arrays `cat`/`stack` join.  One array is refused rather than iterated (NumPy
    would join its rows; torch raises), as are non-sequences."""
    if isinstance(tensors, (str, bytes)) or hasattr(tensors, "shape") or hasattr(tensors, "__dlpack__") \
            or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{op}: expected a sequence (list or tuple) of arrays, got {type(tensors).__name__}")
    return list(tensors)


# ---- views ----------------------------------------------------------------------------------

def reshape(x, shape):
    """``torch.reshape``: one entry may be -1; a view when the strides allow it, else a copy."""
    return wrap(_core.reshape(unwrap(x), _shape_arg(shape)), x)


def view(x, shape):
    """``torch.Tensor.view``: always a view; ValueError when the strides make it impossible."""
    return wrap(_core.view(unwrap(x), _shape_arg(shape)), x)


def flatten(x, start_dim=0, end_dim=-1):
    """``torch.flatten``: merges dims start_dim..end_dim (a view when possible)."""
    if getattr(x, "ndim", None) == 0:  # a 0-d input flattens to (1,), with dims in [-1, 0] as in torch
        for d in (start_dim, end_dim):
            if isinstance(d, int) and not -1 <= d <= 0:
                raise IndexError(f"flatten: dim {d} is out of range for a 0-dimensional tensor (expected -1 or 0)")
    return wrap(_core.flatten(unwrap(x), start_dim, end_dim), x)


def squeeze(x, dim=None):
    """``torch.squeeze``: drops size-1 dims (all, or those in `dim` that have size 1)."""
    if isinstance(dim, (tuple, list)):  # a repeated dim is an error (torch: "dim 0 appears multiple times")
        nd = getattr(x, "ndim", None)
        seen = set()
        for d in dim:
            if not isinstance(d, int):  # not a dim at all: the kernel says so
                break
            key = d % nd if nd and -nd <= d < nd else d
            if key in seen:
                raise ValueError(f"squeeze: dim {d} appears more than once in {tuple(dim)}")
            seen.add(key)
    return wrap(_core.squeeze(unwrap(x), dim), x)


def unsqueeze(x, dim):
    """``torch.unsqueeze``: inserts a size-1 dim at `dim` (view)."""
    return wrap(_core.unsqueeze(unwrap(x), dim), x)


def transpose(x, dim0, dim1):
    """``torch.transpose``: swaps two dims (view)."""
    return wrap(_core.transpose(unwrap(x), dim0, dim1), x)


def permute(x, dims):
    """``torch.permute``: reorders dims (view)."""
    return wrap(_core.permute(unwrap(x), as_tuple(dims, "permute", "dims")), x)


def contiguous(x):
    """A C-contiguous array with x's values: x itself when already contiguous, else a copy."""
    return wrap(_core.contiguous(unwrap(x)), x)


def expand(x, shape):
    """``torch.Tensor.expand``: broadcast view (stride 0 on expanded dims); -1 keeps a dim."""
    return wrap(_core.expand(unwrap(x), _shape_arg(shape)), x)


def broadcast_to(x, shape):
    """``torch.broadcast_to`` / ``np.broadcast_to`` (a view; write-sharing like torch)."""
    return wrap(_core.broadcast_to(unwrap(x), _shape_arg(shape)), x)


def narrow(x, dim, start, length):
    """``torch.narrow``: x[..., start:start+length, ...] along dim (view).  A negative `start`
    counts from the end (start in ``[-size, size]``, else IndexError); a negative `length` or one
    that runs past the end raises ValueError."""
    return wrap(_core.narrow(unwrap(x), dim, start, length), x)


# ---- cat / stack / split ------------------------------------------------------------------------

def cat(tensors, axis=0):
    """``torch.cat``: concatenate along `axis`; inputs may have any strides but one dtype.
    Shape mismatches raise ValueError naming the offending index."""
    tensors = _array_list(tensors, "cat")
    return wrap(_core.cat([unwrap(t) for t in tensors], axis), *tensors)


concatenate = cat


def stack(tensors, axis=0):
    """``torch.stack``: join same-shaped arrays along a new axis."""
    tensors = _array_list(tensors, "stack")
    return wrap(_core.stack([unwrap(t) for t in tensors], axis), *tensors)


def split(x, split_size_or_sections, axis=0):
    """``torch.split``: an int is the size of each piece (the last may be smaller); a list gives
    every piece's size.  Returns a tuple of views."""
    s = split_size_or_sections
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
        try:  # any array (DLPack too), and a TypeError that names split
            shape = tuple(_core.as_tensor(unwrap(x)).shape)
        except (TypeError, ValueError) as e:  # as_tensor's message names as_tensor
            raise type(e)(f"split: expected an array (numpy, dlcore, DLPack) for x, got {type(x).__name__}") from None
        if len(shape) == 0:
            raise ValueError("split: cannot split a zero-dimensional tensor")
        axis = as_int(axis, "split", "axis")
        ax = axis + len(shape) if axis < 0 else axis
        if not 0 <= ax < len(shape):
            raise ValueError(f"split: axis {axis} is out of range for a tensor of {len(shape)} dimension(s)")
        n = shape[ax]
        if s <= 0 and not (s == 0 and n == 0):
            raise ValueError(f"split: split_size must be positive, got {s}")
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if n else [0]
    else:
        sizes = list(as_tuple(s, "split", "split_size_or_sections"))
    return tuple(wrap(p, x) for p in _core.split(unwrap(x), sizes, axis))


def tensor_split(x, sections, axis=0):
    """``torch.tensor_split`` with an int: `sections` pieces, the first len % sections one
    element longer.  Returns a tuple of views."""
    return tuple(wrap(p, x) for p in _core.tensor_split(unwrap(x), sections, axis))


# ---- indexing --------------------------------------------------------------------------------

def index(x, key):
    """NumPy basic indexing ``x[key]`` as a view: ints, slices (any step, negative included),
    None and Ellipsis.  Out-of-range ints raise IndexError.  For integer-array indexing along
    one axis use ``index_select``."""
    return wrap(_core.index(unwrap(x), key), x)


def slice_copy(x, key):
    """``x[key]`` (basic indexing) as a new contiguous array."""
    return wrap(_core.slice_copy(unwrap(x), key), x)


def index_put_(x, key, value):
    """``x[key] = value`` for basic keys; value broadcasts to the view and is cast to x's dtype
    when it is a Python scalar or NumPy array.  Returns x."""
    if not isinstance(value, Tensor):
        target = x.dtype if isinstance(x, Tensor) else np.asarray(x).dtype
        try:
            value = np.asarray(value, dtype=target)
        except (TypeError, ValueError) as e:
            raise TypeError(f"index_put_: cannot convert the value to {target}: {e}") from None
    _core.index_put_(unwrap(x), key, unwrap(value))
    return x


def index_select(x, axis, indices):
    """``torch.index_select`` (NumPy ``take`` along an axis): gathers entries `indices` (int64,
    0-d or 1-d; negative counts from the end like NumPy) of `axis` into a new array."""
    return wrap(_core.index_select(unwrap(x), axis, unwrap(indices)), x, indices)


def index_select_backward(grad, axis, indices, input_shape):
    """Gradient of ``index_select``: scatter-adds grad's slices into zeros of input_shape
    (deterministic; repeated indices accumulate)."""
    return wrap(_core.index_select_backward(unwrap(grad), axis, unwrap(indices),
                                                   as_tuple(input_shape, "index_select_backward", "input_shape")), grad)


# ---- pad ------------------------------------------------------------------------------------

def pad(x, pad, mode="constant", value=0.0):
    """``torch.nn.functional.pad``: `pad` = (left, right) pairs from the last dim backwards.
    constant pads with `value` (negative pads crop); reflect (pad < size), replicate and
    circular (pad <= size) pad the last 1, 2 or 3 dims of a 2-3-d, 3-4-d or 4-5-d input."""
    return wrap(_core.pad(unwrap(x), _pads(pad, "pad"), mode, as_float(value, "pad", "value")), x)


def pad_backward(grad_out, input_shape, pad, mode="constant"):
    """Gradient of ``pad`` w.r.t. its input: every output position adds its grad to the input
    element it read (edges accumulate for reflect/replicate/circular; deterministic)."""
    return wrap(_core.pad_backward(unwrap(grad_out), as_tuple(input_shape, "pad_backward", "input_shape"),
                                   _pads(pad, "pad_backward"), mode), grad_out)


# ---- embedding --------------------------------------------------------------------------------

def embedding(weight, indices, padding_idx=None):
    """``torch.nn.functional.embedding``: rows of `weight` (num, dim) at int64 `indices` of any
    shape -> indices.shape + (dim,).  Out-of-range indices raise IndexError."""
    return wrap(_core.embedding(unwrap(weight), unwrap(indices), padding_idx), weight, indices)


def embedding_backward(grad_out, indices, num_embeddings, padding_idx=None):
    """Gradient of ``embedding`` w.r.t. weight: (num_embeddings, dim) scatter-add of grad_out
    rows; the padding_idx row gets zero (as in torch).  Deterministic."""
    return wrap(_core.embedding_backward(unwrap(grad_out), unwrap(indices), num_embeddings, padding_idx), grad_out)


# ---- masked_fill ------------------------------------------------------------------------------

def masked_fill(x, mask, value):
    """``torch.masked_fill``: a new array with x's values and `value` where the bool `mask`
    (broadcast to x's shape) is True."""
    return wrap(_core.masked_fill(unwrap(x), unwrap(mask), as_float(value, "masked_fill", "value"), False), x)


def masked_fill_(x, mask, value):
    """In-place ``masked_fill``; returns x."""
    _core.masked_fill(unwrap(x), unwrap(mask), as_float(value, "masked_fill_", "value"), True)
    return x

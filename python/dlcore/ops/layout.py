"""Copies that rearrange elements (array level, forward and backward): ``repeat``, ``flip``,
``roll``, ``tril``, ``triu`` and ``chunk``.  NumPy in -> NumPy out, Tensor in -> Tensor out.

``repeat``, ``flip``, ``roll``, ``tril`` and ``triu`` are not training hot paths: they are
NumPy's ``tile``, ``flip``, ``roll``, ``tril``/``triu`` (one contiguous copy of the result, any
input strides, every dtype), with torch's argument conventions; each backward is the matching
rearrangement of the gradient (``repeat_backward`` sums the tiles).  ``chunk`` returns views
(``ops.split``).
"""
from __future__ import annotations

import numpy as np

from ._numpy_bridge import as_numpy as _np, result as _out
from ._util import as_int, as_ints, kernel_errors, unwrap
from .shape import split

__all__ = ["repeat", "repeat_backward", "flip", "roll", "roll_backward", "tril", "triu", "chunk", "chunk_sizes"]


def _ints(v, op, what):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    for i in v:
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"{op}: {what} must be integers, got {type(i).__name__}")
        if not -2**63 <= i < 2**63:  # NumPy would raise OverflowError, naming no op
            raise ValueError(f"{op}: {what} {int(i)} does not fit in int64")
    return tuple(int(i) for i in v)


def _dims(dims, nd, op):
    out = []
    n = max(nd, 1)
    for d in _ints(dims, op, "dims"):
        if not -n <= d < n:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor of {nd} dimension(s)")
        out.append(d % n)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dims {tuple(dims)} has a repeated dim")
    return tuple(d for d in out if d < nd)


def repeat(x, sizes):
    """``torch.Tensor.repeat(*sizes)``: tiles x `sizes[i]` times along dim i; ``len(sizes)`` must be
    at least x.ndim (new leading dims are added), sizes non-negative (ValueError otherwise)."""
    a = _np(x, "repeat")
    sizes = _ints(sizes, "repeat", "sizes")
    if len(sizes) < a.ndim:
        raise ValueError(f"repeat: the number of repeat dims ({len(sizes)}) cannot be smaller than the number of "
                         f"tensor dims ({a.ndim})")
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: sizes must be non-negative, got {sizes}")
    return _out(np.tile(a.reshape((1,) * (len(sizes) - a.ndim) + a.shape), sizes), x)


def repeat_backward(grad, input_shape, sizes):
    """Gradient of ``repeat``: the sum of grad's tiles, shape `input_shape`."""
    g = _np(grad, "repeat_backward")
    sizes = _ints(sizes, "repeat_backward", "sizes")
    input_shape = as_ints(input_shape, "repeat_backward", "input_shape")
    if len(sizes) < len(input_shape) or any(s < 0 for s in sizes + input_shape):
        raise ValueError(f"repeat_backward: sizes {sizes} do not fit input_shape {input_shape}")
    shape = (1,) * (len(sizes) - len(input_shape)) + input_shape
    if g.shape != tuple(s * n for s, n in zip(sizes, shape)):
        raise ValueError(f"repeat_backward: grad has shape {g.shape}, expected input_shape {input_shape} repeated "
                         f"{sizes} times")
    inter = []
    for s, n in zip(sizes, shape):
        inter += [s, n]
    r = g.reshape(inter).sum(axis=tuple(range(0, 2 * len(sizes), 2)))
    return _out(r.reshape(input_shape).astype(g.dtype, copy=False), grad)


def flip(x, dims):
    """``torch.flip(x, dims)``: a copy with the order of the entries along `dims` reversed.  Its own
    gradient (flip the gradient along the same dims)."""
    a = _np(x, "flip")
    return _out(np.flip(a, axis=_dims(dims, a.ndim, "flip")), x)


def roll(x, shifts, dims=None):
    """``torch.roll``: entries shifted by `shifts` along `dims` (wrapping around); with dims None the
    flattened array is rolled and the shape restored.  shifts and dims: ints or equal-length tuples."""
    return _roll(x, shifts, dims, "roll")


def _roll(x, shifts, dims, op):
    a = _np(x, op)
    sh = _ints(shifts, op, "shifts")
    if dims is None:
        if len(sh) != 1:
            raise ValueError(f"{op}: with dims=None, shifts must be a single int, got {shifts}")
        return _out(np.roll(a.reshape(-1), sh[0]).reshape(a.shape), x)
    ds = _dims(dims, a.ndim, op) if a.ndim else ()
    if len(sh) != len(_ints(dims, op, "dims")):
        raise ValueError(f"{op}: shifts and dims must have the same length, got {shifts} and {dims}")
    return _out(np.roll(a, sh, axis=ds) if ds else a.copy(), x)


def roll_backward(grad, shifts, dims=None):
    """Gradient of ``roll``: the gradient rolled back by ``-shifts`` (errors name roll_backward)."""
    sh = _ints(shifts, "roll_backward", "shifts")
    return _roll(grad, tuple(-s for s in sh) if len(sh) != 1 or dims is not None else -sh[0], dims, "roll_backward")


def _tri(fn, name):
    def op(x, diagonal=0):
        a = _np(x, name)
        if a.ndim < 2:
            raise ValueError(f"{name}: expected a tensor with at least 2 dimensions, got {a.ndim}")
        (d,) = _ints(as_int(diagonal, name, "diagonal"), name, "diagonal")
        lim = a.shape[-2] + a.shape[-1]  # same result; NumPy's k +/- 1 would overflow at the int64 ends
        d = max(-lim, min(lim, d))
        return _out(fn(a, d), x)

    op.__name__ = name
    op.__doc__ = (f"``torch.{name}(x, diagonal)``: a copy of the last two dims' {'lower' if name == 'tril' else 'upper'} "
                  "triangle (diagonal 0 is the main diagonal, > 0 above it, < 0 below), the rest 0; batched over "
                  "leading dims.  Its own gradient.  ValueError for fewer than 2 dims.")
    return op


tril = _tri(np.tril, "tril")
triu = _tri(np.triu, "triu")


def chunk_sizes(n, chunks):
    """The piece sizes of ``torch.chunk`` for a dim of size n: ceil(n / chunks) each, the last
    smaller, so there may be fewer than `chunks` pieces.  n: a non-negative int, chunks: a
    positive int (ValueError otherwise; TypeError for a non-integer)."""
    n = as_int(n, "chunk_sizes", "n")
    if n < 0:
        raise ValueError(f"chunk_sizes: n must be non-negative, got {n}")
    return _chunk_sizes(n, chunks, "chunk_sizes")


def _chunk_sizes(n, chunks, op):
    if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool):
        raise TypeError(f"{op}: chunks must be an int, got {type(chunks).__name__}")
    if chunks <= 0:
        raise ValueError(f"{op}: chunks must be positive, got {chunks}")
    size = -(-n // chunks)
    if n == 0:
        return [0] * chunks  # torch returns `chunks` empty pieces
    return [size] * (n // size) + ([n % size] if n % size else [])


@kernel_errors("split")
def chunk(x, chunks, dim=0):
    """``torch.chunk``: x split into at most `chunks` views along dim (see ``chunk_sizes``)."""
    shape = tuple(unwrap(x).shape) if hasattr(unwrap(x), "shape") else np.shape(x)
    if len(shape) == 0:
        raise ValueError("chunk: cannot chunk a zero-dimensional tensor")
    dim = as_int(dim, "chunk", "dim")
    n = max(len(shape), 1)
    if not -n <= dim < n:
        raise IndexError(f"chunk: dim {dim} is out of range for a tensor of {len(shape)} dimension(s)")
    return split(x, _chunk_sizes(shape[dim], chunks, "chunk"), dim)

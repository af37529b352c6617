"""Tensor methods with PyTorch's names for issue 21: clamp/clip (and in place), std, norm, prod,
cumsum, sort/argsort/topk, all/any, chunk/split, gather/scatter/scatter_add (and in place),
repeat, flip, roll, tril/triu, multinomial, masked_select, index_put_, and the indexing forms
``x[mask]``, ``x[mask] = v``, ``x[rows, cols]`` and ``x[idx] = v``.

Indexing extends the basic/one-array ``__getitem__``/``__setitem__`` of tensor_methods.py: a key
this module does not handle is passed on to them unchanged.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _core, ops
from .._tensor import Tensor
from . import functions_indexing as FI
from .inplace import _apply_inplace
from .tensor_methods import _dims, _ValuesIndices

_T = _core.TensorImpl


def _impl(v):
    return v._impl if isinstance(v, Tensor) else v


# ---- clamp ------------------------------------------------------------------------------------
def clamp(self, min=None, max=None):  # noqa: A002 - torch's names
    """``torch.clamp``: elements below `min` become min, above `max` become max (min > max gives
    max everywhere).  min/max: numbers or tensors that broadcast (tensor bounds get gradients);
    one may be None, not both (ValueError).  Gradient passes where ``min <= x <= max``."""
    return FI.Clamp.apply(self, min, max)


def clamp_(self, min=None, max=None):  # noqa: A002
    """In-place ``clamp`` (the in-place rules of dlcore.autograd.inplace: the result must be
    castable to self's dtype, RuntimeError otherwise, as in torch); returns self."""
    return _apply_inplace(self, "clamp_", clamp, (min, max))


# ---- reductions --------------------------------------------------------------------------------
def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``torch.std``: the standard deviation over `dim` (None: all elements), dividing by
    ``N - correction`` (default 1; ``unbiased=False`` means 0).  Float input only."""
    if isinstance(dim, bool):  # torch's std(unbiased) overload
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return FI.Std.apply(self, tuple(dim) if isinstance(dim, list) else dim, correction, keepdim)


def norm(self, p="fro", dim=None, keepdim=False):
    """``torch.norm``: the vector p-norm over `dim` (None: all elements); p is 'fro'/2, 1, inf or a
    real >= 1.  Float input only.  Gradient: see ``dlcore.ops.norm_backward``."""
    return FI.Norm.apply(self, p, dim, keepdim)


def prod(self, dim=None, keepdim=False):
    """``torch.prod``: the product of all elements (0-d) or over one `dim`; int64 for int64/bool.
    The gradient is exact with zeros."""
    return FI.Prod.apply(self, dim, keepdim)


def cumsum(self, dim):
    """``torch.cumsum``: running sums along `dim` (int64 for int64/bool input)."""
    return FI.Cumsum.apply(self, dim)


def all(self, dim=None, keepdim=False):  # noqa: A001
    """``torch.all``: bool, whether every element (over `dim`) is non-zero."""
    return Tensor(ops.all(self._impl, dim, keepdim))


def any(self, dim=None, keepdim=False):  # noqa: A001
    """``torch.any``: bool, whether some element (over `dim`) is non-zero."""
    return Tensor(ops.any(self._impl, dim, keepdim))


# ---- sorting ----------------------------------------------------------------------------------
def sort(self, dim=-1, descending=False, stable=False):
    """``torch.sort``: (values, indices) along `dim`, always stable (ties keep input order, so
    ``stable`` is accepted and has no effect); ``.values`` / ``.indices`` as in torch."""
    return _ValuesIndices(FI.Sort.apply(self, dim, descending, None))


def argsort(self, dim=-1, descending=False, stable=False):
    """``torch.argsort``: int64 indices that sort along `dim` (stable)."""
    return Tensor(ops.argsort(self._impl, dim, descending))


def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """``torch.topk``: the k largest (or smallest) values along `dim` and their indices, sorted;
    among equal values the lowest index comes first.  ValueError when k exceeds the dim."""
    return _ValuesIndices(FI.Sort.apply(self, dim, largest, k))


# ---- split ------------------------------------------------------------------------------------
def split(self, split_size_or_sections=None, dim=0, *, split_size=None):
    """``torch.split``: views of `split_size` along `dim` (the last may be smaller) or of the sizes
    in a list (which must sum to the dim).  ``split_size=`` is Tensor.split's keyword.
    Differentiable."""
    s = split_size_or_sections if split_size is None else split_size
    if s is None:
        raise TypeError("split: missing split_size_or_sections")
    if isinstance(s, numbers.Integral) and not isinstance(s, bool):
        if self.ndim == 0:
            raise ValueError("split: cannot split a zero-dimensional tensor")
        n = self.shape[dim]
        if s <= 0 and not (s == 0 and n == 0):
            raise ValueError(f"split: split_size must be positive, got {s}")
        s = [s] * (n // s) + ([n % s] if n % s else []) if n else [0]
    return FI.Split.apply(self, tuple(s), dim)


def chunk(self, chunks, dim=0):
    """``torch.chunk``: at most `chunks` views along `dim`, each ceil(size / chunks) long."""
    if self.ndim == 0:
        raise ValueError("chunk: cannot chunk a zero-dimensional tensor")
    n = self.ndim
    if not -n <= dim < n:
        raise IndexError(f"chunk: dim {dim} is out of range for a tensor of {n} dimension(s)")
    return FI.Split.apply(self, tuple(ops.layout._chunk_sizes(self.shape[dim], chunks, "chunk")), dim)


# ---- gather / scatter ---------------------------------------------------------------------------
def gather(self, dim, index):
    """``torch.gather``: ``out[i][j][k] = self[i][index[i][j][k]][k]`` (dim=1); int64 index with
    self's number of dims.  Gradient: a scatter-add into zeros."""
    return FI.Gather.apply(self, dim, index)


def scatter(self, dim, index, src=None, value=None, reduce=None):
    """``torch.scatter``: a copy of self with src (a tensor, or a number given as src or value)
    written at `index` along `dim`.  Repeated indices: the last write wins (deterministic).
    ``reduce`` (deprecated in torch) is not supported: use scatter_add."""
    if reduce is not None:
        raise ValueError("scatter: reduce= is not supported; use scatter_add for 'add'")
    if src is None:
        if value is None:
            raise TypeError("scatter: expected src or value")
        src = value
    return FI.Scatter.apply(self, dim, index, src, False)


def scatter_add(self, dim, index, src):
    """``torch.scatter_add``: a copy of self with src's entries added at `index` along `dim`
    (repeated indices accumulate in index order; deterministic).  Gradient: (grad, grad gathered)."""
    return FI.Scatter.apply(self, dim, index, src, True)


def _inplace_from(name, fn):
    def method(self, *args, **kw):
        return _apply_inplace(self, name, lambda s, *a: fn(s, *a, **kw), args)

    method.__name__ = name
    method.__doc__ = f"In-place ``{fn.__name__}``; returns self."
    return method


# ---- rearranging copies -------------------------------------------------------------------------
def repeat(self, *sizes):
    """``torch.Tensor.repeat``: tiles self sizes[i] times along dim i (extra leading sizes add dims)."""
    return FI.Repeat.apply(self, _dims(sizes))


def flip(self, *dims):
    """``torch.flip``: a copy with the entries along `dims` reversed."""
    return FI.Flip.apply(self, _dims(dims))


def roll(self, shifts, dims=None):
    """``torch.roll``: entries shifted (wrapping around) by `shifts` along `dims` (None: flattened)."""
    return FI.Roll.apply(self, shifts, dims)


def tril(self, diagonal=0):
    """``torch.tril``: the lower triangle of the last two dims (above `diagonal` set to 0)."""
    return FI.Tri.apply(self, diagonal, False)


def triu(self, diagonal=0):
    """``torch.triu``: the upper triangle of the last two dims (below `diagonal` set to 0)."""
    return FI.Tri.apply(self, diagonal, True)


def multinomial(self, num_samples, replacement=False):
    """``torch.multinomial``: int64 samples of category indices from the rows of self (weights);
    drawn from dlcore's seeded generator.  See ``dlcore.ops.multinomial``."""
    return Tensor(ops.multinomial(self._impl, num_samples, replacement))


def masked_select(self, mask):
    """``torch.masked_select``: a 1-d tensor of the elements where `mask` (broadcast) is True."""
    m = mask if isinstance(mask, Tensor) else Tensor(_core.as_tensor(np.asarray(mask)))
    if tuple(m.shape) != self.shape:
        shape = np.broadcast_shapes(self.shape, tuple(m.shape))
        x = self.expand(shape) if shape != self.shape else self
        m = Tensor(ops.contiguous(ops.broadcast_to(m._impl, shape)))
        return FI.MaskSelect.apply(x, m)
    return FI.MaskSelect.apply(self, m).reshape(-1)


for _name, _fn in list(globals().items()):
    if _name in ("clamp", "clamp_", "std", "norm", "prod", "cumsum", "all", "any", "sort", "argsort", "topk",
                 "split", "chunk", "gather", "scatter", "scatter_add", "repeat", "flip", "roll", "tril", "triu",
                 "multinomial", "masked_select"):
        setattr(Tensor, _name, _fn)
Tensor.clip = clamp
Tensor.clip_ = clamp_
Tensor.scatter_ = _inplace_from("scatter_", scatter)
Tensor.scatter_add_ = _inplace_from("scatter_add_", scatter_add)

"""Advanced indexing on top of tensor_methods' basic ``__getitem__`` / ``__setitem__``:

* ``x[mask]`` with a bool tensor (or NumPy array) `mask` of the shape of x's leading dims:
  the selected rows, ``(nnz,) + x.shape[mask.ndim:]`` (differentiable);
* ``x[mask] = v``: v a number or a tensor broadcastable to ``(nnz,) + x.shape[mask.ndim:]``;
* ``x[i0, i1, ...]`` and ``x[i0, i1, ...] = v`` with integer arrays (or ints) for adjacent dims,
  optionally after and before full slices ``:``: the arrays broadcast to one shape B and the
  result is ``x.shape[:p] + B + x.shape[p+k:]`` (NumPy's rule for adjacent advanced indices);
  reading is differentiable;
* ``Tensor.index_put_(indices, values, accumulate=False)`` / ``index_put``: torch's method for
  integer-array puts.  With ``accumulate=True`` repeated indices add up (in index order,
  deterministic); without it the last write wins (torch leaves that case unspecified).

Keys mixing arrays with ints-and-slices in other patterns, non-adjacent arrays, or masks inside
a tuple are not supported (TypeError naming ``index``); a basic key or a single integer array
between full slices is passed on unchanged.  Assignment into a tensor that requires grad is
recorded in the graph when the target is a non-leaf that requires grad or the value requires grad
(the target then becomes the output of a ``PutRows`` node, as in torch); a leaf that requires
grad is refused under grad mode, and so is ``index_put_`` on any tensor in the graph.
"""
from __future__ import annotations

import numpy as np

from .. import _core, ops
from .._tensor import Tensor
from . import functions as F
from . import functions_indexing as FI
from .grad_mode import is_grad_enabled
from .tensor_methods_indexing import _needs_graph, _rebase

_base_getitem = Tensor.__getitem__
_base_setitem = Tensor.__setitem__


def _is_mask(k):
    if isinstance(k, list):  # a list of bools is a mask, as in torch
        return len(k) > 0 and np.asarray(k).dtype == np.bool_
    return (isinstance(k, Tensor) and k.dtype == np.bool_) or (isinstance(k, np.ndarray) and k.dtype == np.bool_)


def _is_array(k):
    return isinstance(k, (list, np.ndarray, Tensor)) and not _is_mask(k)


def _full(k):
    return isinstance(k, slice) and k == slice(None)


def _mask_impl(k):
    return k._impl if isinstance(k, Tensor) else _core.as_tensor(np.asarray(k, order="C"))


def _array_block(self, key):
    """(p, [int64 arrays], B) when key is full slices, >= 1 integer arrays/ints (at least one
    array) for adjacent dims p.., then full slices; else None."""
    keys = key if isinstance(key, tuple) else (key,)
    pos = [i for i, k in enumerate(keys) if _is_array(k)]
    if not pos:
        return None
    def in_block(k):  # ints next to the arrays join the block (NumPy broadcasts them as 0-d arrays)
        return _is_array(k) or (isinstance(k, (int, np.integer)) and not isinstance(k, bool))

    p = pos[0]
    while p > 0 and in_block(keys[p - 1]):
        p -= 1
    q = pos[0]
    while q < len(keys) and in_block(keys[q]):
        q += 1
    if any(not _full(k) for k in keys[:p] + keys[q:]) or any(_is_array(k) for k in keys[q:]):
        raise TypeError("index: integer-array indices must be adjacent and combined only with full slices ':'")
    if q > self.ndim:
        raise IndexError(f"index: too many indices for a tensor of dimension {self.ndim}")
    arrays = []
    for d, k in zip(range(p, q), keys[p:q]):
        a = k.numpy() if isinstance(k, Tensor) else np.asarray(k)
        if a.dtype.kind not in "iu":
            raise TypeError(f"index: expected integer (int64) or bool index tensors, got {a.dtype}")
        n = self.shape[d]
        if a.size and (a.min() < -n or a.max() >= n):
            bad = a.min() if a.min() < -n else a.max()
            raise IndexError(f"index: index {bad} is out of bounds for dimension {d} with size {n}")
        arrays.append(np.where(a < 0, a + n, a).astype(np.int64))
    try:
        b = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise IndexError("index: shape mismatch: indexing arrays could not be broadcast together with shapes "
                         + ", ".join(str(a.shape) for a in arrays)) from None
    return p, q, arrays, b


def _rows(self, p, q, arrays, b):
    """Row numbers into self with dims p..q-1 moved to the front and merged."""
    lin = np.zeros(b, np.int64)
    for d, a in zip(range(p, q), arrays):
        lin = lin * self.shape[d] + a
    return lin.reshape(-1)


def _front(p, q, nd):
    return tuple(range(p, q)) + tuple(range(p)) + tuple(range(q, nd))


def _getitem(self, key):
    if _is_mask(key):
        return FI.MaskSelect.apply(self, Tensor(_mask_impl(key)))
    keys = key if isinstance(key, tuple) else (key,)
    n_arrays = sum(1 for k in keys if _is_array(k))
    if n_arrays == 0 or (n_arrays == 1 and all(_is_array(k) or _full(k) for k in keys)):
        return _base_getitem(self, key)  # basic indexing, or one array between full slices
    p, q, arrays, b = _array_block(self, key)
    rows = Tensor(_core.as_tensor(_rows(self, p, q, arrays, b)))
    moved = self.permute(_front(p, q, self.ndim)) if p else self
    rest = moved.shape[q - p:]
    flat = moved.reshape((-1,) + rest)
    out = F.IndexSelect.apply(flat, 0, rows._impl).reshape(b + rest)
    if p:  # NumPy puts the broadcast block where the arrays were
        nb = len(b)
        out = out.permute(tuple(range(nb, nb + p)) + tuple(range(nb)) + tuple(range(nb + p, out.ndim)))
    return out


def _value(self, value):
    if isinstance(value, Tensor):
        return value._impl if value.dtype == self.dtype else value.to(dtype=self.dtype)._impl
    return _core.as_tensor(np.asarray(value, dtype=self.dtype, order="C"))


def _check_grad(self):
    if self.requires_grad and is_grad_enabled():
        raise RuntimeError("setitem: in-place assignment into a tensor that requires grad is not supported; "
                           "use dlcore.no_grad() or where/masked_fill")


def _put(self, key, value, accumulate):
    p, q, arrays, b = _array_block(self, key)
    v = _value(self, value)
    target = self.shape[:p] + b + self.shape[q:]
    nb = len(b)
    if len(v.shape) > len(self.shape[q:]) or p:
        # Values that vary along the block: broadcast to the indexed shape, move the block first.
        v = ops.broadcast_to(v, target)
        if p:
            v = ops.permute(v, tuple(range(p, p + nb)) + tuple(range(p)) + tuple(range(p + nb, len(target))))
        v = ops.reshape(ops.contiguous(v), (-1,) + tuple(v.shape[nb:]))
    x = ops.permute(self._impl, _front(p, q, self.ndim)) if p else self._impl
    ops.index_put_rows_(x, q - p, _rows(self, p, q, arrays, b), v, accumulate)


def _graph_put(self, lead, rows, b, value):
    """x[rows] = value recorded in the graph (self a non-leaf that requires grad, or value
    requiring grad), as torch does: self becomes the output of a PutRows node."""
    self._check_inplace("setitem")
    rest = self.shape[lead:]
    v = value if isinstance(value, Tensor) else Tensor(_value(self, value))
    if v.dtype != self.dtype:
        raise TypeError(f"setitem: expected a value of dtype {self.dtype}, got {v.dtype}")
    if v.ndim > len(rest):  # one value per selected row: (n,) + rest, through the graph
        v = v.expand(b + rest).reshape((-1,) + rest)
    out = FI.PutRows.apply(self, lead, Tensor(_core.as_tensor(rows)), v, False)
    _rebase(self, "setitem", out)


def _setitem(self, key, value):
    if _is_mask(key):
        mask = _mask_impl(key)
        if _needs_graph(self, (value,)):
            if tuple(mask.shape) != self.shape[:mask.ndim]:
                raise IndexError(f"setitem: the shape of the mask {tuple(mask.shape)} does not match the shape "
                                 f"of the indexed tensor {self.shape}")
            rows = np.flatnonzero(_core.to_numpy(mask)).astype(np.int64)
            return _graph_put(self, mask.ndim, rows, (len(rows),), value)
        ops.masked_put_(self._impl, mask, _value(self, value))
        self._bump_version()
        return
    keys = key if isinstance(key, tuple) else (key,)
    if not any(_is_array(k) for k in keys):
        return _base_setitem(self, key, value)
    if _needs_graph(self, (value,)):
        p, q, arrays, b = _array_block(self, key)
        if p:
            raise RuntimeError("setitem: integer-array assignment after ':' into a tensor in the graph is not "
                               "supported; index the leading dims or use dlcore.no_grad()")
        return _graph_put(self, q, _rows(self, p, q, arrays, b), b, value)
    _put(self, key, value, False)
    self._bump_version()


def index_put_(self, indices, values, accumulate=False):
    """``torch.Tensor.index_put_``: ``self[indices] = values`` in place, `indices` a tuple of int64
    tensors for the leading dims (broadcast together) or one bool mask; with ``accumulate=True``
    the values are added, repeated indices accumulating in index order.  Returns self."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put_: indices must be a tuple of tensors, got {type(indices).__name__}")
    self._check_inplace("index_put_")
    _check_grad(self)
    if len(indices) == 1 and _is_mask(indices[0]):
        if accumulate:
            rows = np.flatnonzero(np.asarray(indices[0]))
            ops.index_put_rows_(self._impl, indices[0].ndim, rows, _value(self, values), True)
        else:
            ops.masked_put_(self._impl, _mask_impl(indices[0]), _value(self, values))
    else:
        _put(self, tuple(indices), values, bool(accumulate))
    self._bump_version()
    return self


def index_put(self, indices, values, accumulate=False):
    """Out-of-place ``index_put_``: a copy of self with the values put (no gradient)."""
    out = Tensor(self.detach()._impl.clone())
    return index_put_(out, indices, values, accumulate)


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem
Tensor.index_put_ = index_put_
Tensor.index_put = index_put

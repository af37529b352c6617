"""Operators and methods of dlcore.Tensor, each a differentiable Function from functions.py (or a
non-differentiable kernel call for comparisons and in-place updates)."""
from __future__ import annotations

import numpy as np

from .. import _core, ops
from .._tensor import Tensor
from . import functions as F
from .grad_mode import is_grad_enabled

_T = _core.TensorImpl


def _dims(args):
    """Accept f(1, 2) and f((1, 2)) like torch."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _axis(dim):
    return tuple(dim) if isinstance(dim, list) else dim


# ---- arithmetic operators ----------------------------------------------------------------------
def _binary(fn, reflected=False):
    if reflected:
        return lambda self, other: fn.apply(other, self)
    return lambda self, other: fn.apply(self, other)


Tensor.__add__ = _binary(F.Add)
Tensor.__radd__ = _binary(F.Add, True)
Tensor.__sub__ = _binary(F.Sub)
Tensor.__rsub__ = _binary(F.Sub, True)
Tensor.__mul__ = _binary(F.Mul)
Tensor.__rmul__ = _binary(F.Mul, True)
Tensor.__truediv__ = _binary(F.Div)
Tensor.__rtruediv__ = _binary(F.Div, True)
Tensor.__pow__ = _binary(F.Pow)
Tensor.__rpow__ = _binary(F.Pow, True)
Tensor.__matmul__ = _binary(F.MatMul)
Tensor.__rmatmul__ = _binary(F.MatMul, True)
Tensor.__neg__ = lambda self: F.Neg.apply(self)
Tensor.__pos__ = lambda self: self
Tensor.add = Tensor.__add__
Tensor.sub = Tensor.__sub__
Tensor.mul = Tensor.__mul__
Tensor.div = Tensor.__truediv__
Tensor.pow = Tensor.__pow__
Tensor.matmul = Tensor.__matmul__
Tensor.neg = Tensor.__neg__


def _compare(op):
    def method(self, other):
        return Tensor(op(self._impl, other._impl if isinstance(other, Tensor) else other))

    return method


Tensor.__eq__ = _compare(ops.eq)
Tensor.__ne__ = _compare(ops.ne)
Tensor.__lt__ = _compare(ops.lt)
Tensor.__le__ = _compare(ops.le)
Tensor.__gt__ = _compare(ops.gt)
Tensor.__ge__ = _compare(ops.ge)
Tensor.eq, Tensor.ne, Tensor.lt = Tensor.__eq__, Tensor.__ne__, Tensor.__lt__
Tensor.le, Tensor.gt, Tensor.ge = Tensor.__le__, Tensor.__gt__, Tensor.__ge__
Tensor.__hash__ = object.__hash__  # tensors are hashable by identity, as in torch


# ---- integer-style operators and dtype-aware methods (//, %, &, |, ^, ~) --------------------------
# floor_divide and the bitwise ops have no gradient (as in torch); remainder and fmod do.
from .functions_dtype import Fmod as _Fmod, Remainder as _Remainder  # noqa: E402


def _plain(op, reflected=False):
    def method(self, other):
        o = other._impl if isinstance(other, Tensor) else other
        return Tensor(op(o, self._impl) if reflected else op(self._impl, o))

    return method


Tensor.__floordiv__ = _plain(ops.floor_divide)
Tensor.__rfloordiv__ = _plain(ops.floor_divide, True)
Tensor.__mod__ = _binary(_Remainder)
Tensor.__rmod__ = _binary(_Remainder, True)
Tensor.__and__ = _plain(ops.bitwise_and)
Tensor.__rand__ = _plain(ops.bitwise_and, True)
Tensor.__or__ = _plain(ops.bitwise_or)
Tensor.__ror__ = _plain(ops.bitwise_or, True)
Tensor.__xor__ = _plain(ops.bitwise_xor)
Tensor.__rxor__ = _plain(ops.bitwise_xor, True)
Tensor.__invert__ = lambda self: Tensor(ops.bitwise_not(self._impl))
Tensor.floor_divide = Tensor.__floordiv__
Tensor.remainder = Tensor.__mod__
Tensor.fmod = _binary(_Fmod)
Tensor.bitwise_and = Tensor.__and__
Tensor.bitwise_or = Tensor.__or__
Tensor.bitwise_xor = Tensor.__xor__
Tensor.bitwise_not = Tensor.__invert__
for _name, _doc in (("floor_divide", "self // other, rounded toward -inf (torch.floor_divide); no gradient"),
                    ("remainder", "self % other with the sign of other (torch.remainder); differentiable"),
                    ("fmod", "C's fmod(self, other), the sign of self (torch.fmod); differentiable"),
                    ("bitwise_and", "self & other (integer or bool tensors; TypeError for floats)"),
                    ("bitwise_or", "self | other (integer or bool tensors; TypeError for floats)"),
                    ("bitwise_xor", "self ^ other (integer or bool tensors; TypeError for floats)"),
                    ("bitwise_not", "~self (integer or bool tensors; TypeError for floats)")):
    try:
        getattr(Tensor, _name).__doc__ = (f"{_doc}.  Promotion as dlcore.ops (torch.result_type); see "
                                          f"dlcore.ops.{_name} for the errors.")
    except AttributeError:  # a shared lambda/function object: documented once is enough
        pass
del _name, _doc


def _no_bool(self):
    if self.numel() != 1:
        raise RuntimeError(f"bool: the truth value of a tensor with {self.numel()} elements is ambiguous")
    return bool(self.item())


Tensor.__bool__ = _no_bool
def _scalar(name, cast):
    def method(self):
        if self.numel() != 1:
            raise RuntimeError(f"{name}: a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return cast(self.item())

    method.__name__ = name
    method.__doc__ = (f"{cast.__name__}(t) of a one-element tensor; RuntimeError for any other size, as in torch.")
    return method


Tensor.__float__ = _scalar("__float__", float)
Tensor.__int__ = _scalar("__int__", int)


# ---- elementwise functions ---------------------------------------------------------------------
Tensor.exp = lambda self: F.Exp.apply(self)
Tensor.log = lambda self: F.Log.apply(self)
Tensor.sqrt = lambda self: F.Sqrt.apply(self)
Tensor.rsqrt = lambda self: F.Rsqrt.apply(self)
Tensor.tanh = lambda self: F.Tanh.apply(self)
Tensor.sigmoid = lambda self: F.Sigmoid.apply(self)
Tensor.relu = lambda self: F.Relu.apply(self)
Tensor.abs = lambda self: F.Abs.apply(self)
Tensor.__abs__ = Tensor.abs
Tensor.softmax = lambda self, dim: F.Softmax.apply(self, dim)
Tensor.log_softmax = lambda self, dim: F.LogSoftmax.apply(self, dim)


def _gelu(self, approximate="none"):
    return F.Gelu.apply(self, approximate)


Tensor.gelu = _gelu


# ---- reductions -----------------------------------------------------------------------------------
def _sum(self, dim=None, keepdim=False):
    return F.Sum.apply(self, _axis(dim), keepdim)


def _mean(self, dim=None, keepdim=False):
    return F.Mean.apply(self, _axis(dim), keepdim)


def _var(self, dim=None, correction=1, keepdim=False, unbiased=None):
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return F.Var.apply(self, _axis(dim), correction, keepdim)


class _ValuesIndices(tuple):
    """(values, indices) with .values / .indices, like torch.return_types.max."""

    __slots__ = ()

    def __new__(cls, pair):
        return tuple.__new__(cls, pair)

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


def _max_min(is_min):
    def method(self, dim=None, keepdim=False):
        if dim is None:
            return F.MaxAll.apply(self, is_min)
        return _ValuesIndices(F.MaxDim.apply(self, dim, keepdim, is_min))

    return method


Tensor.sum = _sum
Tensor.mean = _mean
Tensor.var = _var
Tensor.max = _max_min(False)
Tensor.min = _max_min(True)
Tensor.argmax = lambda self, dim=None, keepdim=False: Tensor(ops.argmax(self._impl, axis=dim, keepdims=keepdim))
Tensor.argmin = lambda self, dim=None, keepdim=False: Tensor(ops.argmin(self._impl, axis=dim, keepdims=keepdim))


# ---- shape ------------------------------------------------------------------------------------------
def _reshape(self, *shape):
    return F.Reshape.apply(self, _dims(shape))


def _flatten(self, start_dim=0, end_dim=-1):
    # The new shape from the kernel, which checks the dims (a modulo here wrapped flatten(5) around)
    return F.Reshape.apply(self, tuple(ops.flatten(self._impl, start_dim, end_dim).shape))


def _squeeze(self, dim=None):
    return F.Reshape.apply(self, tuple(ops.squeeze(self._impl, dim).shape))


def _unsqueeze(self, dim):
    return F.Reshape.apply(self, tuple(ops.unsqueeze(self._impl, dim).shape))


def _expand(self, *shape):
    return F.Expand.apply(self, _dims(shape))


def _view(self, *shape):
    """``torch.Tensor.view``: a view with the new shape; RuntimeError (as in torch, pointing to
    reshape) when the strides make a view impossible, where reshape would copy."""
    try:
        return F.View.apply(self, _dims(shape))
    except ValueError as e:
        if "spans across two contiguous subspaces" not in str(e):
            raise
        raise RuntimeError(f"view: size {_dims(shape)} is not compatible with the input's size {self.shape} and "
                           f"stride {self.stride()} (at least one dimension spans across two contiguous "
                           "subspaces). Use .reshape(...) instead.") from None


Tensor.reshape = _reshape
Tensor.view = _view
Tensor.flatten = _flatten
Tensor.squeeze = _squeeze
Tensor.unsqueeze = _unsqueeze
Tensor.permute = lambda self, *dims: F.Permute.apply(self, _dims(dims))
Tensor.transpose = lambda self, d0, d1: F.Transpose.apply(self, d0, d1)
Tensor.t = lambda self: F.Transpose.apply(self, 0, 1) if self.ndim == 2 else self
Tensor.T = property(lambda self: F.Permute.apply(self, tuple(range(self.ndim - 1, -1, -1))))
Tensor.expand = _expand
Tensor.expand_as = lambda self, other: F.Expand.apply(self, other.shape)
Tensor.contiguous = lambda self: self if self._impl.is_contiguous() else F.Contiguous.apply(self)
Tensor.clone = lambda self: F.Clone.apply(self)
Tensor.masked_fill = lambda self, mask, value: F.MaskedFill.apply(self, mask, value)


# ---- indexing ---------------------------------------------------------------------------------------
def _is_index_array(k):
    return isinstance(k, (list, np.ndarray, Tensor)) and not isinstance(k, bool)


def _as_index(k):
    if isinstance(k, Tensor):
        k = k._impl
    else:
        k = np.asarray(k)
        if k.dtype == np.bool_:
            raise TypeError("index: boolean mask indexing is not supported; use masked_fill or where")
        k = k.astype(np.int64, copy=False)
    if k.dtype == "bool":
        raise TypeError("index: boolean mask indexing is not supported; use masked_fill or where")
    return k


def _getitem(self, key):
    keys = key if isinstance(key, tuple) else (key,)
    arrays = [i for i, k in enumerate(keys) if _is_index_array(k)]
    if not arrays:
        return F.Index.apply(self, key)
    if len(arrays) > 1:
        raise TypeError("index: only one integer-array index per expression is supported")
    pos = arrays[0]
    if any(not (isinstance(k, slice) and k == slice(None)) for i, k in enumerate(keys) if i != pos) or \
            any(k is Ellipsis or k is None for k in keys):
        raise TypeError("index: an integer-array index can only be combined with full slices ':'")
    idx = _as_index(keys[pos])
    ishape = tuple(idx.shape)
    flat = ops.reshape(idx, (-1,)) if len(ishape) != 1 else idx
    out = F.IndexSelect.apply(self, pos, flat)
    if len(ishape) != 1:
        out = out.reshape(self.shape[:pos] + ishape + self.shape[pos + 1:])
    return out


def _setitem(self, key, value):
    if is_grad_enabled() and (self._requires_grad or getattr(value, "_requires_grad", False)) and not any(
            _is_index_array(k) for k in (key if isinstance(key, tuple) else (key,))):
        F.Index.apply(self, key).copy_(value)  # recorded like torch's CopySlices: see inplace.py
        return
    if self.requires_grad and is_grad_enabled():
        raise RuntimeError("setitem: in-place assignment into a tensor that requires grad is not supported; "
                           "use dlcore.no_grad() or where/masked_fill")
    # The value is converted to self's dtype like a cast (bfloat16 included; 300 into uint8 wraps as in torch).
    _core.index_put_(self._impl, key, _core.cast(value._impl if isinstance(value, Tensor) else np.asarray(value),
                                               self._impl.dtype))
    self._bump_version()


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem

# In-place updates (add_, +=, copy_, ...) live in inplace.py.

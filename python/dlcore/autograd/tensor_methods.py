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
Tensor.__float__ = lambda self: float(self.item())
Tensor.__int__ = lambda self: int(self.item())


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
    nd = self.ndim
    if nd == 0:
        return F.Reshape.apply(self, (1,))
    s, e = start_dim % nd, end_dim % nd
    shape = self.shape
    new = shape[:s] + (int(np.prod(shape[s:e + 1], dtype=np.int64)),) + shape[e + 1:]
    return F.Reshape.apply(self, new)


def _squeeze(self, dim=None):
    return F.Reshape.apply(self, tuple(ops.squeeze(self._impl, dim).shape))


def _unsqueeze(self, dim):
    return F.Reshape.apply(self, tuple(ops.unsqueeze(self._impl, dim).shape))


def _expand(self, *shape):
    return F.Expand.apply(self, _dims(shape))


Tensor.reshape = _reshape
Tensor.view = _reshape
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
    if self.requires_grad and is_grad_enabled():
        raise RuntimeError("setitem: in-place assignment into a tensor that requires grad is not supported; "
                           "use dlcore.no_grad() or where/masked_fill")
    # The value is converted to self's dtype like a cast (bfloat16 included; 300 into uint8 wraps as in torch).
    _core.index_put_(self._impl, key, _core.cast(value._impl if isinstance(value, Tensor) else np.asarray(value),
                                               self._impl.dtype))
    self._bump_version()


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem


# ---- in-place updates ----------------------------------------------------------------------------
# Outside the graph (no grad mode, or nothing involved requires grad) they run the kernel into
# self's memory.  When a gradient must flow through them (self is a non-leaf that requires grad,
# or an operand requires grad) they run the out-of-place Function, copy the result into self's
# memory and make self the output of that node, as torch does.  Views are refused in that case:
# their base's graph would not see the change.  Every path bumps the version counter, so a node
# that saved the old contents refuses to backward.
def _needs_graph(self, args):
    if not is_grad_enabled():
        return False
    return self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)


def _rebase(self, name, out):
    if self._is_view:
        raise RuntimeError(f"{name}: in-place operation on a view of a tensor that requires grad (or with an "
                           "operand that requires grad) is not supported; use the out-of-place form")
    ops.copy_(self._impl, out._impl)
    self._bump_version()
    self.grad_fn = out.grad_fn
    self._output_nr = out._output_nr
    self._requires_grad = out._requires_grad
    return self


def _inplace_arith(name, fn, kernel, saves_self=False):
    def method(self, other, *extra, **kw):
        self._check_inplace(name)
        if _needs_graph(self, (other,)):
            src = self
            if saves_self and isinstance(other, Tensor) and other._requires_grad:
                src = F.Clone.apply(self)  # the node keeps self's old contents, which the copy overwrites
            return _rebase(self, name, fn(src, other, *extra, **kw))
        kernel(self._impl, other._impl if isinstance(other, Tensor) else other, *extra, **kw)
        self._bump_version()
        return self

    method.__name__ = name
    return method


def _inplace(name, kernel):
    def method(self, *args):
        self._check_inplace(name)
        if _needs_graph(self, args):
            raise RuntimeError(f"{name}: in-place operation on a tensor that requires grad (or with an operand "
                               "that requires grad) is not supported under grad mode; use dlcore.no_grad() or an "
                               "out-of-place operation")
        kernel(self._impl, *[a._impl if isinstance(a, Tensor) else a for a in args])
        self._bump_version()
        return self

    method.__name__ = name
    return method


def _copy_into(dst, src):
    if type(src) is not _T:
        src = _core.as_tensor(np.asarray(src, dtype=np.dtype(dst.dtype)))
    if tuple(src.shape) != tuple(dst.shape):
        src = ops.contiguous(ops.broadcast_to(src, tuple(dst.shape)))
    ops.copy_(dst, src)


def _add_out(t, o, alpha=1.0):
    return F.Add.apply(t, o if alpha == 1.0 else F.Mul.apply(o, alpha))


def _sub_out(t, o, alpha=1.0):
    return F.Sub.apply(t, o if alpha == 1.0 else F.Mul.apply(o, alpha))


Tensor.zero_ = _inplace("zero_", lambda t: ops.fill_(t, 0.0))
Tensor.fill_ = _inplace("fill_", lambda t, v: ops.fill_(t, v))
Tensor.copy_ = _inplace("copy_", _copy_into)
Tensor.add_ = _inplace_arith("add_", _add_out, lambda t, o, alpha=1.0: ops.copy_(
    t, ops.add(t, o if alpha == 1.0 else ops.mul(o, alpha))))
Tensor.sub_ = _inplace_arith("sub_", _sub_out, lambda t, o, alpha=1.0: ops.copy_(
    t, ops.sub(t, o if alpha == 1.0 else ops.mul(o, alpha))))
Tensor.mul_ = _inplace_arith("mul_", F.Mul.apply, lambda t, o: ops.copy_(t, ops.mul(t, o)), saves_self=True)
Tensor.div_ = _inplace_arith("div_", F.Div.apply, lambda t, o: ops.copy_(t, ops.div(t, o)))
Tensor.masked_fill_ = _inplace("masked_fill_", lambda t, m, v: ops.masked_fill_(t, m, v))

"""In-place updates of dlcore.Tensor: ``add_``/``sub_``/``mul_``/``div_``, the augmented
assignments (``+= -= *= /= @= **= //= %= &= |= ^=``), ``zero_``, ``fill_``, ``copy_`` and
``masked_fill_``.

The rules are PyTorch's:

* ``x += y`` changes x's memory, so every other name for it (``y = x``, views of x, a
  Parameter's optimizer entry) sees the change; the operator returns x itself.
* A leaf that requires grad may only be updated under ``dlcore.no_grad()`` (the hand-written
  SGD step ``p -= lr * p.grad``); outside it the update raises RuntimeError.
* Every update bumps the tensor's version counter, which its views (and ``detach()``) share,
  so a node that saved the old contents for backward raises instead of using the new ones.
* The result's dtype must be castable to x's dtype under torch's rule (no float -> integer,
  nothing -> bool but bool): ``int_tensor += 1.5`` raises; ``float32 += float64`` is fine.
  The result's shape must be x's shape (``x += y`` may broadcast y, never x).
* In grad mode, when x is a non-leaf that requires grad or an operand does, the update is
  recorded: the out-of-place operation runs (on a clone of x's old contents when the
  operation saves them for backward), its result is copied into x's memory and x becomes that
  node's output (x.grad_fn is rebased, as in torch).  When x is a view (indexing, view,
  transpose, permute, reshape without a copy) its base is updated instead, through a
  CopySlices node, and x becomes the view of the updated base: torch's CopySlices, so
  ``h[1] *= w`` and ``h[0] = v`` (``__setitem__`` in grad mode) give torch's gradients.  A
  detached tensor or an expanded view raises RuntimeError in that case.

Each operator is the out-of-place operator of the same name (looked up when called, so
operators attached later, such as ``//`` or ``&``, work at once) followed by a copy.
"""
from __future__ import annotations

import numpy as np

from .. import _core, ops
from .._tensor import Tensor
from . import functions as F
from .function import Function, _NoCtx
from .grad_mode import is_grad_enabled

_T = _core.TensorImpl


def _needs_graph(self, args):
    if not is_grad_enabled():
        return False
    return self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)


def _rebase(self, name, out):
    """Writes `out` (a graph node's output of self's shape and dtype) into self's memory and
    makes self that node's output: the recorded form of an in-place update (see above)."""
    if self._is_view:
        raise RuntimeError(f"{name}: in-place operation on a view (or a detached tensor) with a tensor that "
                           "requires grad is not supported in grad mode; use the out-of-place form")
    ops.copy_(self._impl, out._impl)
    self._bump_version()
    self.grad_fn = out.grad_fn
    self._output_nr = out._output_nr
    self._requires_grad = out._requires_grad
    return self


def _can_cast(src, dst) -> bool:
    """torch.can_cast: within or up the kinds bool < integer < float; nothing else to bool."""
    order = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
    return order.get(src.kind, 2) <= order.get(dst.kind, 2)  # other kinds (bfloat16's 'V') are floats


def _saves(out, t) -> bool:
    """Whether the node that produced `out` saved `t`'s memory for backward."""
    fn = out.grad_fn
    return fn is not None and any(box is t._version for box in fn.ctx._sources)


class CopySlices(Function):
    """``base`` with the view ``cls(base, *view_args)`` replaced by ``value`` (torch's
    CopySlices): the graph of an in-place update of a view, seen from its base."""

    @staticmethod
    def forward(ctx, base, value, cls, view_args):
        ctx.view = (cls, view_args)
        out = base.clone()
        ops.copy_(cls.forward(_NoCtx, out, *view_args), value)
        return out

    @staticmethod
    def backward(ctx, g):
        cls, view_args = ctx.view
        g_base = g.clone()
        ops.fill_(cls.forward(_NoCtx, g_base, *view_args), 0.0)  # the view's old contents are gone
        return g_base, ops.contiguous(cls.forward(_NoCtx, g, *view_args)), None, None


_REPLAYABLE = (F.Index, F.View, F.Transpose, F.Permute, F.Reshape)  # not Expand: its elements overlap


def _replayable_view(self):
    """(base, cls, view_args) when the update of view `self` can be replayed on its base."""
    info = self._view_of
    if info is None or info[1] not in _REPLAYABLE:
        return None
    if info[1] is F.Reshape and self._impl.data_ptr != info[0]._impl.data_ptr:
        return None  # reshape had to copy: self is not a view of the base's memory
    return info


def _update_view(self, name, out):
    """In-place update of a view in the graph: the base gets a CopySlices node (recursively, if
    the base is itself a view) and self becomes the view of the updated base, as in torch."""
    base, cls, view_args = _replayable_view(self)
    _apply_inplace(base, name, lambda b, v: CopySlices.apply(b, v, cls, view_args), (out,))
    fresh = cls.apply(base, *view_args)
    self.grad_fn, self._output_nr, self._requires_grad = fresh.grad_fn, fresh._output_nr, fresh._requires_grad
    return self


def _apply_inplace(self, name, op, args):
    """Runs ``op(self, *args)`` (an out-of-place Tensor operation) and stores the result in
    self's memory, with the checks and graph rebase described in the module docstring."""
    self._check_inplace(name)
    graph = _needs_graph(self, args)
    if graph and self._is_view and _replayable_view(self) is None:
        raise RuntimeError(f"{name}: in-place operation on a detached tensor (or an expanded view) with a tensor "
                           "that requires grad is not supported in grad mode; use the out-of-place form")
    out = op(self, *args)
    if out is NotImplemented:
        return out
    if graph and _saves(out, self):
        # The node kept self's memory to compute a gradient; the copy below would overwrite it.
        old = F.Clone.apply(self)
        out = op(old, *[old if a is self else a for a in args])
    if out.shape != self.shape:
        raise RuntimeError(f"{name}: output with shape {self.shape} doesn't match the broadcast shape {out.shape}")
    if out.dtype != self.dtype:
        if not _can_cast(out.dtype, self.dtype):
            raise RuntimeError(f"{name}: result type {out.dtype} can't be cast to the desired output type "
                               f"{self.dtype}")
        if graph and out._requires_grad:
            raise RuntimeError(f"{name}: an in-place operation whose result ({out.dtype}) needs a cast to "
                               f"{self.dtype} is not supported in grad mode; convert the operand first")
        out = Tensor(_core.as_tensor(out.cpu().numpy().astype(self.dtype))).to(self.device)
    if graph and self._is_view:
        return _update_view(self, name, out)
    ops.copy_(self._impl, out._impl)
    self._bump_version()
    if graph:
        self.grad_fn = out.grad_fn
        self._output_nr = out._output_nr
        self._requires_grad = out._requires_grad
    return self


def _method(name, op):
    def method(self, *args):
        return _apply_inplace(self, name, op, args)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"``{name}``: the out-of-place result written into self's memory (see "
                      "dlcore.autograd.inplace for the rules); returns self.  Raises RuntimeError for a "
                      "leaf that requires grad outside no_grad, a result dtype that cannot be cast to "
                      "self's, or a result shape other than self's.")
    return method


def _dunder(name, binop):
    """``__iadd__`` etc.: NotImplemented (Python then raises TypeError) when the out-of-place
    operator is not defined for these operands."""

    def op(self, other):
        fn = getattr(type(self), binop, None)
        return NotImplemented if fn is None else fn(self, other)

    return _method(name, op)


for _name, _binop in (("add", "__add__"), ("sub", "__sub__"), ("mul", "__mul__"), ("truediv", "__truediv__"),
                      ("matmul", "__matmul__"), ("pow", "__pow__"), ("floordiv", "__floordiv__"),
                      ("mod", "__mod__"), ("and", "__and__"), ("or", "__or__"), ("xor", "__xor__"),
                      ("lshift", "__lshift__"), ("rshift", "__rshift__")):
    setattr(Tensor, f"__i{_name}__", _dunder(f"__i{_name}__", _binop))
del _name, _binop


def _add_(self, other, alpha=1):
    """``torch.Tensor.add_(other, alpha=1)``: self += alpha * other; returns self."""
    return _apply_inplace(self, "add_", lambda s, o: s + (o if alpha == 1 else o * alpha), (other,))


def _sub_(self, other, alpha=1):
    """``torch.Tensor.sub_(other, alpha=1)``: self -= alpha * other; returns self."""
    return _apply_inplace(self, "sub_", lambda s, o: s - (o if alpha == 1 else o * alpha), (other,))


Tensor.add_ = _add_
Tensor.sub_ = _sub_
Tensor.mul_ = _dunder("mul_", "__mul__")
Tensor.div_ = _dunder("div_", "__truediv__")
Tensor.pow_ = _dunder("pow_", "__pow__")


# ---- fills and copies ----------------------------------------------------------------------------
# Outside the graph they run their kernel straight into self's memory (no temporary).  In the
# graph they go through _apply_inplace like the arithmetic: the new contents come from a
# masked_fill / where over an all-true mask, so the old contents get a zero gradient and a
# copied Tensor source gets its gradient, as in torch (FillBackward0 / CopyBackwards).
def _all_true(t):
    return Tensor(_core.full(t.shape, 1.0, "bool", t._impl.device))


def _kernel_inplace(name, kernel, graph_op):
    def method(self, *args):
        if _needs_graph(self, args):
            return _apply_inplace(self, name, graph_op, args)
        self._check_inplace(name)
        kernel(self._impl, *[a._impl if isinstance(a, Tensor) else a for a in args])
        self._bump_version()
        return self

    method.__name__ = method.__qualname__ = name
    return method


def _copy_into(dst, src):
    if type(src) is not _T:
        src = _core.as_tensor(np.asarray(src, dtype=np.dtype(dst.dtype)))
    if tuple(src.shape) != tuple(dst.shape):
        src = ops.contiguous(ops.broadcast_to(src, tuple(dst.shape)))
    ops.copy_(dst, src)


Tensor.zero_ = _kernel_inplace("zero_", lambda t: ops.fill_(t, 0.0), lambda s: s.masked_fill(_all_true(s), 0.0))
Tensor.fill_ = _kernel_inplace("fill_", lambda t, v: ops.fill_(t, v),
                               lambda s, v: s.masked_fill(_all_true(s), float(v)))
Tensor.copy_ = _kernel_inplace("copy_", _copy_into, lambda s, src: F.Where.apply(_all_true(s), src, s))
Tensor.masked_fill_ = _kernel_inplace("masked_fill_", lambda t, m, v: ops.masked_fill_(t, m, v),
                                      lambda s, m, v: s.masked_fill(m, v))
Tensor.zero_.__doc__ = "Fills self with zeros; returns self (recorded in grad mode like the arithmetic updates)."
Tensor.fill_.__doc__ = "Fills self with a scalar value; returns self (recorded in grad mode)."
Tensor.copy_.__doc__ = ("Copies src (broadcast to self's shape) into self's memory; returns self.  In grad mode "
                        "a src that requires grad receives the gradient.")
Tensor.masked_fill_.__doc__ = ("Writes value where the bool mask (broadcast to self's shape) is True; returns self "
                               "(recorded in grad mode).")

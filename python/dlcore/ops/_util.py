"""The bridge between array-level ops and the C++ bindings.

Inputs may be NumPy arrays, dlcore Tensors, DLPack producers (PyTorch, JAX, CuPy), Python
scalars or lists; they reach C++ without copies (the binding does the conversion).  Results come
back as dlcore Tensors when any input was a Tensor (or the result lives on a GPU), else as NumPy
arrays that view the result's memory.  TensorImpl inputs (dlcore's internal C++ tensors, as
the autograd layer passes them) give TensorImpl results, with no wrapping at all.
"""
from __future__ import annotations


from .. import _core
from .._tensor import Tensor

_TensorImpl = _core.TensorImpl


def unwrap(x):
    """The TensorImpl of a dlcore Tensor; anything else passes through to the binding.  A Tensor
    that requires grad, in grad mode, raises _GradRequired (see install_autograd)."""
    if isinstance(x, Tensor):
        if x._requires_grad and _grad_state.enabled:
            raise _GradRequired("dlcore.ops: a Tensor that requires grad needs the autograd version of this op; "
                                "call it through dlcore.ops.<name>, a Tensor method or dlcore.nn.functional")
        return x._impl
    return x


def wrap(impl, *inputs):
    """Return `impl` in the caller's currency: Tensor if any input was one, else NumPy."""
    if impl is None:
        return None
    if inputs and type(inputs[0]) is _TensorImpl:  # the autograd layer's calls: no wrapping
        return impl
    if isinstance(impl, tuple):
        return tuple(wrap(i, *inputs) for i in impl)
    internal = False
    for i in inputs:
        if isinstance(i, Tensor):
            return Tensor(impl)
        internal = internal or isinstance(i, _TensorImpl)
    if internal:
        return impl
    if impl.device != "cpu":
        return Tensor(impl)
    return _core.to_numpy(impl)  # a view that keeps the memory alive; faster than np.asarray


def wants_tensor(*inputs) -> bool:
    return any(isinstance(i, Tensor) for i in inputs)


class _GradRequired(RuntimeError):
    """Raised by unwrap() for a Tensor that requires grad in grad mode; the op's wrapper (see
    install_autograd) catches it and runs the autograd version instead."""


class _GradOff:
    enabled = False  # until install_autograd hands over the real grad-mode state


_grad_state = _GradOff()


def _autograd_op(name, kernel, grad_op, non_differentiable):
    """`kernel` as it is, unless one of its Tensor arguments requires grad in grad mode (unwrap
    raises _GradRequired): then `grad_op` (same signature) runs, the kernel runs without the
    graph (non_differentiable) or RuntimeError says what to use instead."""

    def op(*args, **kwargs):
        try:
            return kernel(*args, **kwargs)
        except _GradRequired:
            pass
        if grad_op is not None:
            return grad_op(*args, **kwargs)
        if non_differentiable:
            prev, _grad_state.enabled = _grad_state.enabled, False
            try:
                return kernel(*args, **kwargs)
            finally:
                _grad_state.enabled = prev
        raise RuntimeError(
            f"{name}: dlcore.ops.{name} does not record autograd, and a Tensor that requires grad was passed "
            f"in grad mode; use the Tensor method or dlcore.nn.functional (which record it), or call it on "
            f".detach()ed tensors / under dlcore.no_grad()")

    op.__name__ = op.__qualname__ = name
    op.__doc__ = kernel.__doc__
    op.__module__ = kernel.__module__
    op.__wrapped__ = kernel  # inspect.signature shows the kernel's arguments
    return op


def install_autograd(namespace, grad_ops, non_differentiable, state):
    """Makes every public op of `namespace` (the dlcore.ops package) autograd-aware, in this one
    place rather than per function.  Given a Tensor that requires grad while grad mode is on,
    ``namespace.<name>`` runs ``grad_ops[name]`` (the matching autograd Function, so gradients
    equal those of the Tensor methods and dlcore.nn.functional); runs the kernel unchanged when
    `name` is in `non_differentiable` (comparisons, argmax: no gradient in torch either); and
    raises RuntimeError naming the op otherwise.  The check lives in unwrap(), which every op
    already calls on its arguments, so NumPy inputs, TensorImpls (the autograd layer's own
    calls), plain Tensors and no_grad mode cost nothing beyond the wrapper's call.  Idempotent."""
    global _grad_state
    _grad_state = state
    for name in dir(namespace):
        fn = getattr(namespace, name)
        if name.startswith("_") or not callable(fn) or isinstance(fn, type) or \
                not getattr(fn, "__module__", "").startswith("dlcore.ops.") or \
                fn.__module__ == __name__ or hasattr(fn, "__wrapped__"):
            continue
        setattr(namespace, name, _autograd_op(name, fn, grad_ops.get(name), name in non_differentiable))


__all__ = ["unwrap", "wrap", "wants_tensor", "install_autograd", "_core"]

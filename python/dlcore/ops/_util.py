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
    """The TensorImpl of a dlcore Tensor; anything else passes through to the binding."""
    return x._impl if isinstance(x, Tensor) else x


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


__all__ = ["unwrap", "wrap", "wants_tensor", "_core"]

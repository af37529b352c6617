"""dlcore-level functional forms of the differentiable ops (``dlcore.cat``, ``dlcore.exp``, ...),
with torch's names and arguments.  Each is the matching Function on Tensors (or values that
convert to one), so gradients flow through them exactly as through the Tensor methods."""
from __future__ import annotations

from .._tensor import Tensor
from . import functions as F

__all__ = ["cat", "concat", "concatenate", "stack", "matmul", "exp", "log", "sqrt", "tanh", "sigmoid",
           "relu", "softmax", "log_softmax", "sum", "mean", "where"]


def _check(name, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}: expected a sequence of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{name}: expected a non-empty sequence of Tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected a sequence of Tensors, got an element of type {type(t).__name__}")
    return tuple(tensors)


def cat(tensors, dim=0):
    """``torch.cat``: joins tensors along an existing dim (sizes of the other dims must match)."""
    return F.Cat.apply(*_check("cat", tensors), dim)


concat = concatenate = cat


def stack(tensors, dim=0):
    """``torch.stack``: joins same-shaped tensors along a new dim."""
    return F.Stack.apply(*_check("stack", tensors), dim)


def matmul(input, other):  # noqa: A002 - torch's argument names
    """``torch.matmul`` (1-D operands promoted and squeezed back, batch dims broadcast)."""
    return F.MatMul.apply(input, other)


def exp(input):  # noqa: A002
    return F.Exp.apply(input)


def log(input):  # noqa: A002
    return F.Log.apply(input)


def sqrt(input):  # noqa: A002
    return F.Sqrt.apply(input)


def tanh(input):  # noqa: A002
    return F.Tanh.apply(input)


def sigmoid(input):  # noqa: A002
    return F.Sigmoid.apply(input)


def relu(input):  # noqa: A002
    return F.Relu.apply(input)


def softmax(input, dim):  # noqa: A002
    """``torch.softmax(input, dim)``."""
    return F.Softmax.apply(input, dim)


def log_softmax(input, dim):  # noqa: A002
    """``torch.log_softmax(input, dim)``."""
    return F.LogSoftmax.apply(input, dim)


def _axis(dim):
    return tuple(dim) if isinstance(dim, list) else dim


def sum(input, dim=None, keepdim=False):  # noqa: A001,A002
    """``torch.sum``: all elements (a 0-d tensor) or over `dim` (an int or a tuple)."""
    return F.Sum.apply(input, _axis(dim), keepdim)


def mean(input, dim=None, keepdim=False):  # noqa: A002
    """``torch.mean``."""
    return F.Mean.apply(input, _axis(dim), keepdim)


def where(condition, input, other):  # noqa: A002
    """``torch.where(condition, input, other)``: input where condition is true, else other
    (broadcasting; either branch may be a Python scalar).  No gradient for the condition."""
    return F.Where.apply(condition, input, other)

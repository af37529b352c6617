"""Differentiable dtype conversion and the integer-style arithmetic ops (remainder, fmod) of
the Tensor API; floor_divide and the bitwise ops have no gradient (as in PyTorch) and are plain
kernel calls in tensor_methods.py."""
from __future__ import annotations

from .. import _core, ops
from .function import Function
from .functions import _shape, reduce_to


class Cast(Function):
    """x converted to a floating dtype; the gradient is converted back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        if ctx.recording:
            ctx.src = x.dtype
        return _core.cast(x, dtype)

    @staticmethod
    def backward(ctx, g):
        return _core.cast(g, ctx.src), None


def _division_like(name, op, quotient, doc):
    """A Function for out = a - q(a, b) * b (q an integer-valued quotient): d/da = 1, d/db = -q."""

    def forward(ctx, a, b):
        if ctx.recording:
            ctx.shapes = (_shape(a), _shape(b))
            ctx.save_for_backward(a, b)
        return op(a, b)

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        gb = reduce_to(ops.neg(ops.mul(g, quotient(a, b))), sb) if ctx.needs_input_grad[1] else None
        return reduce_to(g, sa), gb

    return type(name, (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward),
                                    "__doc__": doc})


Remainder = _division_like("Remainder", ops.remainder, ops.floor_divide,
                           "a - floor(a / b) * b: d/da = 1, d/db = -floor_divide(a, b) (torch.remainder).")
# a - fmod(a, b) is an exact multiple of b, so the division gives trunc(a / b) exactly.
Fmod = _division_like("Fmod", ops.fmod, lambda a, b: ops.div(ops.sub(a, ops.fmod(a, b)), b),
                      "a - trunc(a / b) * b: d/da = 1, d/db = -trunc(a / b) (torch.fmod).")

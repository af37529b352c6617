"""Gradient clipping (torch.nn.utils.clip_grad_norm_ and clip_grad_value_).

Both work in place on the ``.grad`` of each parameter that has one, with dlcore's kernels: the
norm is a deterministic reduction (fixed chunks), so it is the same for every thread count.
"""
from __future__ import annotations

import math

from .. import ops
from .._tensor import Tensor, tensor
from ..autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_value_"]

from . import utils_rnn as rnn  # noqa: E402,F401  nn.utils.rnn: pad/pack helpers (issue 26)


def zero_grads(parameters, set_to_none=True):
    """Reset each parameter's .grad: to None, or to zeros in place (Module.zero_grad and
    Optimizer.zero_grad)."""
    for p in parameters:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            with no_grad():
                p.grad.zero_()


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _vector_norm(x, norm_type):
    """torch.linalg.vector_norm(x, norm_type) of a whole tensor, as a 0-d tensor of x's dtype."""
    if x.numel() == 0:
        return ops.sum(x)  # 0 for every order, including inf (torch's max of nothing would raise)
    if norm_type == math.inf:
        return ops.max(ops.abs(x))
    if norm_type == 2.0:
        return ops.sqrt(ops.sum(ops.mul(x, x)))
    if norm_type == 1.0:
        return ops.sum(ops.abs(x))
    return ops.pow(ops.sum(ops.pow(ops.abs(x), norm_type)), 1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients so their total norm is at most `max_norm`; returns the total norm before
    clipping (a 0-d Tensor).

    The total norm is the `norm_type`-norm of all gradients seen as one vector (the norm of the
    per-gradient norms).  As in torch, every gradient is multiplied by
    ``min(max_norm / (total + 1e-6), 1)``, computed in the norm's dtype.  `norm_type` is a
    positive number or ``inf``; ``foreach`` is accepted for compatibility and ignored.
    """
    op = "clip_grad_norm_"
    norm_type = float(norm_type)
    if not (norm_type > 0):
        raise ValueError(f"{op}: norm_type must be positive or inf, got {norm_type}")
    grads = _grads(parameters)
    if not grads:
        return tensor(0.0)
    norms = [_vector_norm(g, norm_type) for g in grads]
    dtype = "float64" if any(n.dtype == "float64" for n in norms) else "float32"
    total = _vector_norm(ops.stack([n.to(dtype=dtype) for n in norms]), norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f"{op}: The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale the gradients by "
                           "the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = ops.minimum(ops.div(float(max_norm), ops.add(total, 1e-6)), 1.0)
    with no_grad():
        for g in grads:
            g.copy_(ops.mul(g, coef.to(dtype=g.dtype)))
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient into [-clip_value, clip_value] in place (NaN stays NaN)."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.copy_(ops.minimum(ops.maximum(g, -clip_value), clip_value))

"""SGD with momentum, dampening, Nesterov momentum and weight decay (torch.optim.SGD)."""
from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, torch's update (for each parameter with a gradient g)::

        g = -g if maximize;  g = g + weight_decay * p
        b = g on the first step, else b = momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b          (with momentum != 0)
        p = p - lr * g

    ``foreach`` and ``fused`` are accepted for compatibility and ignored: every step is one fused
    kernel per group.  State: ``"momentum_buffer"`` (with momentum != 0).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    _nonnegative = {"lr": "learning rate", "momentum": "momentum value", "weight_decay": "weight_decay value"}
    _unsupported = ("differentiable",)

    def _validate(self, o):
        super()._validate(o)
        if o["nesterov"] and (o["momentum"] <= 0 or o["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")

    def _step_group(self, group, params):
        momentum = group["momentum"]
        buffers = [self.state[p].get("momentum_buffer") for p in params] if momentum != 0 else None
        ops.sgd_step(params, [p.grad for p in params], buffers, lr=group["lr"], momentum=momentum,
                     dampening=group["dampening"], weight_decay=group["weight_decay"], nesterov=group["nesterov"],
                     maximize=group["maximize"])
        if buffers is not None:  # new buffers were stored into the list
            for p, buf in zip(params, buffers):
                self.state[p]["momentum_buffer"] = buf

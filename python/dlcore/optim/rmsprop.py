"""RMSprop (torch.optim.RMSprop)."""
from __future__ import annotations

from .. import ops
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton), torch's update::

        g = -g if maximize;  g = g + weight_decay * p
        s = alpha * s + (1 - alpha) * g * g
        a = sqrt(s - m * m) + eps, with m = lerp(m, g, 1 - alpha)   if centered
        a = sqrt(s) + eps                                           otherwise
        b = momentum * b + g / a;  p = p - lr * b                   if momentum > 0
        p = p - lr * g / a                                          otherwise

    ``foreach`` is accepted for compatibility and ignored (every step is one fused kernel per
    group); ``capturable`` and ``differentiable`` must stay False.  State: ``"step"`` (a float),
    ``"square_avg"``, ``"momentum_buffer"`` (momentum > 0) and ``"grad_avg"`` (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    _nonnegative = {"lr": "learning rate", "eps": "epsilon value", "momentum": "momentum value",
                    "weight_decay": "weight_decay value", "alpha": "alpha value"}
    _unsupported = ("capturable", "differentiable")

    def _step_group(self, group, params):
        momentum, centered = group["momentum"], group["centered"]
        ops.rmsprop_step(params, [p.grad for p in params], [self._buffer(p, "square_avg") for p in params],
                         [self._buffer(p, "momentum_buffer") for p in params] if momentum > 0 else None,
                         [self._buffer(p, "grad_avg") for p in params] if centered else None,
                         lr=group["lr"], alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                         momentum=momentum, centered=centered, maximize=group["maximize"])
        for p in params:  # torch counts steps here too, though the update does not use them
            s = self.state[p]
            s["step"] = s.get("step", 0.0) + 1.0

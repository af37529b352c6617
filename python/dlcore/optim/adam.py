"""Adam and AdamW (torch.optim.Adam, torch.optim.AdamW)."""
from __future__ import annotations

from .. import ops
from .optimizer import Optimizer, check_range


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction, torch's update (t = this parameter's step)::

        g = -g if maximize
        p = p * (1 - lr * weight_decay)   if decoupled_weight_decay (AdamW)
        g = g + weight_decay * p          otherwise
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        v_hat = max(v_max, v) if amsgrad else v   (v_max keeps the running maximum)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)

    ``foreach`` and ``fused`` are accepted for compatibility and ignored (every step is one fused
    kernel per group); ``capturable`` and ``differentiable`` must stay False.  State: ``"step"``
    (a float), ``"exp_avg"``, ``"exp_avg_sq"`` and, with amsgrad, ``"max_exp_avg_sq"``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    _nonnegative = {"lr": "learning rate", "eps": "epsilon value", "weight_decay": "weight_decay value"}
    _unsupported = ("capturable", "differentiable")

    def _validate(self, o):
        super()._validate(o)
        name = type(self).__name__
        if len(o["betas"]) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {o['betas']!r}")
        for i, beta in enumerate(o["betas"]):
            check_range(name, f"beta parameter at index {i}", beta, high=1.0)

    def _step_group(self, group, params):
        amsgrad = group["amsgrad"]
        steps = [self.state[p].get("step", 0.0) + 1.0 for p in params]
        beta1, beta2 = group["betas"]
        ops.adam_step(params, [p.grad for p in params], [self._buffer(p, "exp_avg") for p in params],
                      [self._buffer(p, "exp_avg_sq") for p in params],
                      [self._buffer(p, "max_exp_avg_sq") for p in params] if amsgrad else None,
                      steps=steps, lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                      weight_decay=group["weight_decay"], amsgrad=amsgrad, maximize=group["maximize"],
                      decoupled_weight_decay=group["decoupled_weight_decay"])
        for p, step in zip(params, steps):  # counted only once the update went through
            self.state[p]["step"] = step


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``Adam(...,
    decoupled_weight_decay=True)`` with torch.optim.AdamW's default weight_decay of 1e-2."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        """As Optimizer.load_state_dict; groups stay decoupled even if the saved ones (Adam's) were not."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

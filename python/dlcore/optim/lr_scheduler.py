"""Learning-rate schedulers (torch.optim.lr_scheduler): StepLR, ExponentialLR, CosineAnnealingLR,
LinearLR and LambdaLR.

As in torch they are chainable: each ``step()`` computes a group's new lr from its current lr (the
recursive forms), so a change made to ``group["lr"]`` by hand or by another scheduler carries on,
and the values equal torch's ``get_last_lr()`` exactly (same float operations in the same order).
LambdaLR is the exception: it always scales the initial lr.

Constructing a scheduler records ``group["initial_lr"]`` (with ``last_epoch=-1``) and takes the
first step, to epoch 0.  Call ``scheduler.step()`` after ``optimizer.step()``, once per epoch (or
per iteration).  To resume, build the optimizer and the scheduler, then load the optimizer's
state_dict and the scheduler's (in that order: building a scheduler takes a step, which would
overwrite loaded lrs).  torch's deprecated ``step(epoch)`` form is not supported.
"""
from __future__ import annotations

import math
import types

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "LambdaLR"]


def _positive_int(name, what, value):
    # A period: 0 would divide by zero at the first step, a float or bool is a mistake.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}: {what} must be a positive integer, got {value!r}")
    return value


class LRScheduler:
    """Base class: subclasses implement ``get_lr()``, the lrs of the epoch ``last_epoch``."""

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: {type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group in groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{name}: param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                                   "with last_epoch >= 0 (load the optimizer's state_dict first)")
        self.base_lrs = [group["initial_lr"] for group in groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        # The constructor's step is "initial": recursive schedules keep the lr they find.
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        raise NotImplementedError

    def get_last_lr(self):
        """The lrs the last step() set, one per group."""
        return list(self._last_lr)

    def step(self, epoch=None):
        """Advance one epoch and set every group's lr."""
        if epoch is not None:
            raise TypeError(f"{type(self).__name__}.step: the epoch argument (deprecated in torch) is not "
                            "supported; call step() once per epoch")
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Every attribute but the optimizer (as torch)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiplies the lr by `gamma` every `step_size` epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _positive_int("StepLR", "step_size", step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """Multiplies the lr by `gamma` every epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial lr to `eta_min` over `T_max` epochs (SGDR without
    restarts: past T_max the cosine climbs back), in torch's recursive form

        lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max))

    which equals the closed form eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2 up to
    rounding when nothing else changes the lr.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):  # noqa: N803 (torch's name)
        self.T_max = _positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, period, low = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:
            # First step after resuming with last_epoch > 0: nothing to recurse from.
            return [low + (base - low) * (1 + math.cos(t * math.pi / period)) / 2 for base in self.base_lrs]
        if (t - 1 - period) % (2 * period) == 0:
            # Leaving a minimum, where the recursion's denominator 1 + cos(pi) is 0.
            return [lr + (base - low) * (1 - math.cos(math.pi / period)) / 2
                    for lr, base in zip(self._current_lrs(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (lr - low) + low for lr in self._current_lrs()]


class LinearLR(LRScheduler):
    """Warm-up (or decay): scales the lr by a factor going linearly from `start_factor` at epoch 0
    to `end_factor` at epoch `total_iters`, then keeps it."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("LinearLR: Starting multiplicative factor expected to be greater than 0 and less or "
                             "equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("LinearLR: Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, start, end = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [lr * start for lr in self._current_lrs()]
        if self._is_initial or t > self.total_iters:
            return self._current_lrs()
        # factor(t) / factor(t-1), with factor(t) = start + (end - start) t / total_iters.
        growth = 1.0 + (end - start) / (self.total_iters * start + (t - 1) * (end - start))
        return [lr * growth for lr in self._current_lrs()]


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch); one function for every group, or a list of one per group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else []
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(groups):
                raise ValueError(f"LambdaLR: Expected {len(groups)} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(groups)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        """As LRScheduler's, with `lr_lambdas` replaced by the attributes of callable objects
        (functions and lambdas are not saved: None)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [])
        self.__dict__.update(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)

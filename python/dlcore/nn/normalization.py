"""Normalisation modules: BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm1d/2d (torch.nn's
constructor arguments, defaults, parameter and buffer names, so PyTorch state_dicts load)."""
from __future__ import annotations

import numpy as np

from .. import _core
from ..autograd.grad_mode import no_grad
from .._tensor import Tensor
from . import functional_norm as F
from . import init
from .module import Module
from .parameter import Parameter


def _tensor(shape, dtype, fill):
    t = Tensor(_core.empty(tuple(shape), str(dtype or "float32"), "cpu"))
    with no_grad():
        t.fill_(fill)
    return t


def _finish(module, device):
    if device is not None and str(device) != "cpu":
        module.to(device)


class _NormBase(Module):
    """Shared state of batch and instance norm: affine weight/bias (ones/zeros) and, with
    track_running_stats, the buffers running_mean (zeros), running_var (ones) and
    num_batches_tracked (int64 0-d)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None):
        super().__init__()
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(_tensor((self.num_features,), dtype, 1.0))
            self.bias = Parameter(_tensor((self.num_features,), dtype, 0.0))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _tensor((self.num_features,), dtype, 0.0))
            self.register_buffer("running_var", _tensor((self.num_features,), dtype, 1.0))
            self.register_buffer("num_batches_tracked", Tensor(_core.as_tensor(np.zeros((), np.int64))))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        _finish(self, device)

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        """Running statistics reset; weight 1, bias 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    _dims = ()

    def forward(self, input):
        """Normalise with batch statistics while training (updating the running ones; momentum
        None gives their cumulative average), with the running statistics in eval mode."""
        if input.ndim not in self._dims:
            raise ValueError(f"{type(self).__name__}: expected {' or '.join(f'{d}D' for d in self._dims)} input, "
                             f"got {input.ndim}D input")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input (torch.nn.BatchNorm1d)."""
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input (torch.nn.BatchNorm2d)."""
    _dims = (4,)


class _InstanceNorm(_NormBase):
    _dims = 0

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input):
        """Per-instance statistics (training, or without running stats), else the running ones;
        unbatched input (one dim fewer) is normalised as a batch of one."""
        if input.ndim not in (self._dims, self._dims + 1):
            raise ValueError(f"{type(self).__name__}: expected {self._dims}D (unbatched) or {self._dims + 1}D "
                             f"(batched) input, got {input.ndim}D input")
        unbatched = input.ndim == self._dims
        x = input.unsqueeze(0) if unbatched else input
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L) or unbatched (C, L) input (torch.nn.InstanceNorm1d)."""
    _dims = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W) or unbatched (C, H, W) input (torch.nn.InstanceNorm2d)."""
    _dims = 3


class LayerNorm(Module):
    """Normalisation over the trailing normalized_shape dims with elementwise weight (ones) and
    bias (zeros) when elementwise_affine (torch.nn.LayerNorm; bias=False drops the bias)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_tensor(self.normalized_shape, dtype, 1.0))
            if bias:
                self.bias = Parameter(_tensor(self.normalized_shape, dtype, 0.0))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        _finish(self, device)

    def reset_parameters(self):
        """Weight 1, bias 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        """``F.layer_norm(input, normalized_shape, weight, bias, eps)``."""
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalisation over groups of num_channels / num_groups channels with per-channel weight
    (ones) and bias (zeros) when affine (torch.nn.GroupNorm)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = int(num_groups)
        self.num_channels = int(num_channels)
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(_tensor((self.num_channels,), dtype, 1.0))
            self.bias = Parameter(_tensor((self.num_channels,), dtype, 0.0))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        _finish(self, device)

    def reset_parameters(self):
        """Weight 1, bias 0."""
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input):
        """``F.group_norm(input, num_groups, weight, bias, eps)``."""
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"

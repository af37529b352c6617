"""SyncBatchNorm: batch norm whose statistics cover the whole data-parallel batch (every rank of
``dlcore.distributed``), and ``convert_sync_batchnorm``.

Forward (training): each rank sums x and x^2 per channel (float64) and counts its values; one
all-reduce gives the global mean and biased variance used to normalise, and the unbiased variance
the running statistics are updated with (PyTorch's rule). Backward: each rank sums grad and
grad * xhat per channel; one all-reduce gives the global sums, and
    grad_x = weight * rstd * (grad - sum(grad) / n - xhat * sum(grad * xhat) / n)
with n the global count: the gradient of every rank's loss with respect to this rank's x (the
statistics depend on every rank's input). Weight and bias gradients are the local sums, which
DistributedDataParallel then averages like every other gradient. In eval mode, or in a world of
one, it is plain batch norm.
"""
from __future__ import annotations

import numpy as np

from .. import _core
from .. import distributed as dist
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from .normalization import _BatchNorm


def _arr(impl):
    return np.asarray(Tensor(impl))


def _allreduce(a):
    dist.all_reduce(a)
    return a


class _SyncBN(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps):
        a = _arr(x)
        c = a.shape[1]
        flat = np.moveaxis(a.reshape(a.shape[0], c, -1), 1, 0).reshape(c, -1)
        stats = np.concatenate([flat.sum(1, dtype=np.float64), np.square(flat, dtype=np.float64).sum(1),
                                [float(flat.shape[1])]])
        _allreduce(stats)
        n = stats[-1]
        if n <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel when training, got {int(n)} "
                             "over all ranks")
        mean = stats[:c] / n
        var = np.maximum(stats[c:2 * c] / n - mean * mean, 0.0)
        rstd = 1.0 / np.sqrt(var + eps)
        shape = (1, c) + (1,) * (a.ndim - 2)
        xhat = (a - mean.reshape(shape).astype(a.dtype)) * rstd.reshape(shape).astype(a.dtype)
        y = xhat
        if weight is not None:
            y = y * _arr(weight).reshape(shape) + _arr(bias).reshape(shape)
        if running_mean is not None:
            with no_grad():
                rm, rv = _arr(running_mean), _arr(running_var)
                rm[...] = (1 - momentum) * rm + momentum * mean
                rv[...] = (1 - momentum) * rv + momentum * var * n / (n - 1)
        ctx.save_for_backward(weight)
        ctx.xhat, ctx.rstd, ctx.n, ctx.shape = xhat, rstd, n, shape
        return _core.as_tensor(np.ascontiguousarray(y, dtype=a.dtype))

    @staticmethod
    def backward(ctx, g):
        (weight,) = ctx.saved_tensors
        ga = _arr(g)
        xhat, rstd, n, shape = ctx.xhat, ctx.rstd, ctx.n, ctx.shape
        c = ga.shape[1]
        axes = (0,) + tuple(range(2, ga.ndim))
        local = np.concatenate([ga.sum(axes, dtype=np.float64), (ga * xhat).sum(axes, dtype=np.float64)])
        sums = _allreduce(local.copy())
        w = _arr(weight).astype(np.float64) if weight is not None else np.ones(c)
        k = (w * rstd).reshape(shape)
        gx = k * (ga - (sums[:c] / n).reshape(shape) - xhat * (sums[c:] / n).reshape(shape))
        gx = _core.as_tensor(np.ascontiguousarray(gx, dtype=ga.dtype))
        if weight is None:
            return gx, None, None, None, None, None, None
        dt = ga.dtype
        return (gx, _core.as_tensor(local[c:].astype(dt)), _core.as_tensor(local[:c].astype(dt)),
                None, None, None, None)


class SyncBatchNorm(_BatchNorm):
    """``torch.nn.SyncBatchNorm``: batch norm over (N, C, *) input with statistics all-reduced over
    the process group while training (see the module docstring); same arguments, parameters and
    buffers as BatchNorm2d, so state_dicts carry over."""

    _dims = (2, 3, 4, 5)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        if process_group is not None:
            raise NotImplementedError("SyncBatchNorm: only the default process group (every rank) is supported")

    def forward(self, input):
        if not self.training or not dist.is_initialized() or dist.get_world_size() == 1:
            return super().forward(input)
        if input.ndim not in self._dims:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input, got {input.ndim}D input")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        track = self.track_running_stats
        return _SyncBN.apply(input, self.weight, self.bias, self.running_mean if track else None,
                             self.running_var if track else None, factor, self.eps)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """A copy-free conversion: every BatchNorm1d/2d in ``module`` (or module itself) is replaced
        by a SyncBatchNorm holding the same parameters and buffers; returns the converted module."""
        from .normalization import BatchNorm1d, BatchNorm2d

        if isinstance(module, (BatchNorm1d, BatchNorm2d)):
            new = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
            if module.affine:
                new.weight, new.bias = module.weight, module.bias
            if module.track_running_stats:
                new.running_mean, new.running_var = module.running_mean, module.running_var
                new.num_batches_tracked = module.num_batches_tracked
            new.train(module.training)
            return new
        for name, child in list(module._modules.items()):
            if child is not None:
                setattr(module, name, cls.convert_sync_batchnorm(child, process_group))
        return module

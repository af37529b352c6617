"""Normalisation and channel dropout for dlcore.nn.functional: batch_norm, layer_norm, group_norm,
instance_norm (autograd Functions over the fused dlcore.ops kernels) and dropout1d / dropout2d
(whole channels zeroed from dlcore's seeded generator).  torch.nn.functional's names, arguments
and semantics; re-exported by nn/functional.py."""
from __future__ import annotations

from .. import _core
from .. import ops as _ops
from .._tensor import Tensor
from ..autograd import functions as _AF
from ..autograd.function import Function

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "dropout1d", "dropout2d"]


def _t(x, op, name="input"):
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{op}: expected {name} to be a dlcore.Tensor, got {type(x).__name__}")


def _opt(x, op, name):
    return None if x is None else _t(x, op, name)


def _mask(ctx):
    return tuple(bool(v) for v in ctx.needs_input_grad[:3])


class BatchNorm(Function):
    """Batch norm with (x, weight, bias) differentiable; running stats are updated in forward."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        y, mean, rstd = _ops.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps,
                                        return_stats=True)
        ctx.training = training
        ctx.save_for_backward(x, weight, mean, rstd)
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, mean, rstd = ctx.saved_tensors
        gx, gw, gb = _ops.batch_norm_backward(g, x, weight, mean, rstd, ctx.training, _mask(ctx))
        return gx, gw, gb, None, None, None, None, None


class LayerNorm(Function):
    """Layer norm over the trailing normalized_shape dims; (x, weight, bias) differentiable."""

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_shape, eps):
        y, mean, rstd = _ops.layer_norm(x, normalized_shape, weight, bias, eps, return_stats=True)
        ctx.shape = normalized_shape
        ctx.save_for_backward(x, weight, mean, rstd)
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, mean, rstd = ctx.saved_tensors
        gx, gw, gb = _ops.layer_norm_backward(g, x, ctx.shape, mean, rstd, weight, _mask(ctx))
        return gx, gw, gb, None, None


class GroupNorm(Function):
    """Group norm with per-channel affine; (x, weight, bias) differentiable."""

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups, eps):
        y, mean, rstd = _ops.group_norm(x, num_groups, weight, bias, eps, return_stats=True)
        ctx.groups = num_groups
        ctx.save_for_backward(x, weight, mean, rstd)
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, mean, rstd = ctx.saved_tensors
        gx, gw, gb = _ops.group_norm_backward(g, x, ctx.groups, mean, rstd, weight, _mask(ctx))
        return gx, gw, gb, None, None


class InstanceNorm(Function):
    """Instance norm (input or running statistics); (x, weight, bias) differentiable."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, use_input_stats, momentum, eps):
        y, mean, rstd = _ops.instance_norm(x, running_mean, running_var, weight, bias, use_input_stats, momentum,
                                           eps, return_stats=True)
        ctx.use_input_stats = use_input_stats
        ctx.save_for_backward(x, weight, mean, rstd)
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, mean, rstd = ctx.saved_tensors
        gx, gw, gb = _ops.instance_norm_backward(g, x, weight, mean, rstd, ctx.use_input_stats, _mask(ctx))
        return gx, gw, gb, None, None, None, None, None


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """``torch.nn.functional.batch_norm``: per-channel normalisation of (N, C, *) input with the
    batch statistics (training; running_mean/var updated in place when given) or the running ones."""
    op = "batch_norm"
    return BatchNorm.apply(_t(input, op), _opt(weight, op, "weight"), _opt(bias, op, "bias"),
                           _opt(running_mean, op, "running_mean"), _opt(running_var, op, "running_var"),
                           bool(training), float(momentum), float(eps))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """``torch.nn.functional.layer_norm``: normalisation over the trailing normalized_shape dims."""
    op = "layer_norm"
    shape = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    return LayerNorm.apply(_t(input, op), _opt(weight, op, "weight"), _opt(bias, op, "bias"), shape, float(eps))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """``torch.nn.functional.group_norm``: normalisation over groups of C / num_groups channels."""
    op = "group_norm"
    return GroupNorm.apply(_t(input, op), _opt(weight, op, "weight"), _opt(bias, op, "bias"), num_groups, float(eps))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """``torch.nn.functional.instance_norm``: per-(sample, channel) normalisation over the spatial
    dims, or with the running statistics when use_input_stats is False."""
    op = "instance_norm"
    return InstanceNorm.apply(_t(input, op), _opt(weight, op, "weight"), _opt(bias, op, "bias"),
                              _opt(running_mean, op, "running_mean"), _opt(running_var, op, "running_var"),
                              bool(use_input_stats), float(momentum), float(eps))


def _channel_dropout(x, p, training, op, mask_dims):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    # One draw per (sample, channel), broadcast over the spatial dims: whole channels drop.
    shape = tuple(x.shape[:mask_dims]) + (1,) * (x.ndim - mask_dims)
    mask = _core.as_tensor(_ops.dropout_mask(shape, p, dtype=str(x.dtype)))
    if x.is_cuda:
        mask = mask.to(x._impl.device)
    return _AF.Mul.apply(x, mask)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """``torch.nn.functional.dropout1d``: zeroes whole channels of (N, C, L) or unbatched (C, L)
    input with probability p (kept ones scaled by 1/(1-p)); the identity when not training."""
    x = _t(input, "dropout1d")
    if x.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected 2D or 3D input, but received a {x.ndim}D input. Note that dropout1d "
                         "exists to provide channel-wise dropout on inputs with 1 spatial dimension")
    return _channel_dropout(x, p, training, "dropout1d", x.ndim - 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """``torch.nn.functional.dropout2d``: zeroes whole channels of (N, C, H, W) input with
    probability p (kept ones scaled by 1/(1-p)).  A 3-D input is read as (N, C, L), as torch does
    (with a warning there); the identity when not training."""
    x = _t(input, "dropout2d")
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected 3D or 4D input (N, C, H, W), but received a {x.ndim}D input")
    return _channel_dropout(x, p, training, "dropout2d", 2)

"""dlcore.nn.functional's pooling, unpooling and upsampling (torch.nn.functional's names,
arguments and defaults), each an autograd Function over the dlcore.ops kernels of
python/dlcore/ops/pool.py, whose docstrings give the semantics."""
from __future__ import annotations

import numpy as _np

from .. import _core
from .. import ops as _ops
from .._tensor import Tensor
from ..autograd.function import Function

__all__ = [
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "max_unpool2d", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
    "pixel_shuffle", "pixel_unshuffle",
]


def _tensor(x, op):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, _np.ndarray):
        return Tensor(_core.as_tensor(x))
    if hasattr(x, "__dlpack__"):
        return Tensor(_core.from_dlpack(x))
    raise TypeError(f"{op}: expected input to be a dlcore.Tensor, got {type(x).__name__}")


# ---- autograd Functions --------------------------------------------------------------------------

class _MaxPool(Function):
    """max_pool1d/2d; the indices are computed whenever a gradient may be needed (saved for the
    scatter of the backward) or asked for."""

    @staticmethod
    def forward(ctx, x, spatial, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
        fwd = _ops.max_pool2d if spatial == 2 else _ops.max_pool1d
        args = (kernel_size, stride, padding, dilation, ceil_mode)
        if not (ctx.recording or return_indices):
            return fwd(x, *args)
        out, idx = fwd(x, *args, return_indices=True)
        ctx.args = (spatial, args)
        ctx.save_for_backward(x, idx)
        return (out, idx) if return_indices else out

    @staticmethod
    def backward(ctx, g, *_):
        x, idx = ctx.saved_tensors
        spatial, args = ctx.args
        bwd = _ops.max_pool2d_backward if spatial == 2 else _ops.max_pool1d_backward
        return (bwd(g, x, idx, *args),) + (None,) * 7


class _AvgPool(Function):
    @staticmethod
    def forward(ctx, x, spatial, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        ctx.args = (spatial, args)
        ctx.save_for_backward(x)
        return (_ops.avg_pool2d if spatial == 2 else _ops.avg_pool1d)(x, *args)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        spatial, args = ctx.args
        bwd = _ops.avg_pool2d_backward if spatial == 2 else _ops.avg_pool1d_backward
        return (bwd(g, x, *args),) + (None,) * 7


class _AdaptiveAvgPool(Function):
    @staticmethod
    def forward(ctx, x, spatial, output_size):
        ctx.spatial = spatial
        ctx.save_for_backward(x)
        return (_ops.adaptive_avg_pool2d if spatial == 2 else _ops.adaptive_avg_pool1d)(x, output_size)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        bwd = _ops.adaptive_avg_pool2d_backward if ctx.spatial == 2 else _ops.adaptive_avg_pool1d_backward
        return bwd(g, x), None, None


class _AdaptiveMaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, output_size, return_indices):
        out, idx = _ops.adaptive_max_pool2d(x, output_size, return_indices=True)
        ctx.save_for_backward(x, idx)
        return (out, idx) if return_indices else out

    @staticmethod
    def backward(ctx, g, *_):
        x, idx = ctx.saved_tensors
        return _ops.adaptive_max_pool2d_backward(g, x, idx), None, None


class _MaxUnpool2d(Function):
    @staticmethod
    def forward(ctx, x, indices, kernel_size, stride, padding, output_size):
        ctx.save_for_backward(indices)
        return _ops.max_unpool2d(x, indices, kernel_size, stride, padding, output_size)

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        return (_ops.max_unpool2d_backward(g, indices),) + (None,) * 5


class _Interpolate(Function):
    @staticmethod
    def forward(ctx, x, size, scale_factor, mode, align_corners, recompute_scale_factor):
        ctx.args = (tuple(x.shape), size, scale_factor, mode, align_corners, recompute_scale_factor)
        return _ops.interpolate(x, size, scale_factor, mode, align_corners, recompute_scale_factor)

    @staticmethod
    def backward(ctx, g):
        return (_ops.interpolate_backward(g, *ctx.args),) + (None,) * 5


class _PixelShuffle(Function):
    @staticmethod
    def forward(ctx, x, factor, up):
        ctx.args = (factor, up)
        return _ops.pixel_shuffle(x, factor) if up else _ops.pixel_unshuffle(x, factor)

    @staticmethod
    def backward(ctx, g):
        factor, up = ctx.args
        return (_ops.pixel_shuffle_backward(g, factor) if up else _ops.pixel_unshuffle_backward(g, factor)), None, None


# ---- the functional API --------------------------------------------------------------------------

def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """``torch.nn.functional.max_pool1d`` with autograd (see dlcore.ops.max_pool1d)."""
    return _MaxPool.apply(_tensor(input, "max_pool1d"), 1, kernel_size, stride, padding, dilation, ceil_mode,
                          return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """``torch.nn.functional.max_pool2d`` with autograd (see dlcore.ops.max_pool2d)."""
    return _MaxPool.apply(_tensor(input, "max_pool2d"), 2, kernel_size, stride, padding, dilation, ceil_mode,
                          return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """``torch.nn.functional.avg_pool1d`` with autograd (see dlcore.ops.avg_pool1d)."""
    return _AvgPool.apply(_tensor(input, "avg_pool1d"), 1, kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """``torch.nn.functional.avg_pool2d`` with autograd (see dlcore.ops.avg_pool2d)."""
    return _AvgPool.apply(_tensor(input, "avg_pool2d"), 2, kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override)


def adaptive_avg_pool1d(input, output_size):
    """``torch.nn.functional.adaptive_avg_pool1d`` with autograd."""
    return _AdaptiveAvgPool.apply(_tensor(input, "adaptive_avg_pool1d"), 1, output_size)


def adaptive_avg_pool2d(input, output_size):
    """``torch.nn.functional.adaptive_avg_pool2d`` with autograd (None in output_size keeps that
    input size)."""
    return _AdaptiveAvgPool.apply(_tensor(input, "adaptive_avg_pool2d"), 2, output_size)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """``torch.nn.functional.adaptive_max_pool2d`` with autograd; (output, indices) with
    ``return_indices``."""
    return _AdaptiveMaxPool2d.apply(_tensor(input, "adaptive_max_pool2d"), output_size, return_indices)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """``torch.nn.functional.max_unpool2d`` with autograd (the gradient flows to `input`)."""
    if isinstance(indices, Tensor):
        indices = indices._impl
    return _MaxUnpool2d.apply(_tensor(input, "max_unpool2d"), indices, kernel_size, stride, padding, output_size)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """``torch.nn.functional.interpolate`` with autograd: modes 'nearest', 'nearest-exact',
    'linear' (3-D input) and 'bilinear' (4-D input); ``antialias`` is not supported."""
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    return _Interpolate.apply(_tensor(input, "interpolate"), size, scale_factor, mode, align_corners,
                              recompute_scale_factor)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """``torch.nn.functional.upsample`` (an old name of interpolate)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """``torch.nn.functional.upsample_nearest``: interpolate(mode='nearest')."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """``torch.nn.functional.upsample_bilinear``: interpolate(mode='bilinear', align_corners=True)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input, upscale_factor):
    """``torch.nn.functional.pixel_shuffle`` with autograd."""
    return _PixelShuffle.apply(_tensor(input, "pixel_shuffle"), upscale_factor, True)


def pixel_unshuffle(input, downscale_factor):
    """``torch.nn.functional.pixel_unshuffle`` with autograd."""
    return _PixelShuffle.apply(_tensor(input, "pixel_unshuffle"), downscale_factor, False)

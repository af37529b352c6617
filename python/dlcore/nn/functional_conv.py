"""dlcore.nn.functional's convolutions and padding with autograd: conv1d, conv2d,
conv_transpose1d, conv_transpose2d and pad, with torch.nn.functional's names and arguments
(conv1d/conv2d also take ``padding_mode`` and a fused ``activation``, as dlcore.ops does).
Re-exported by dlcore.nn.functional."""
from __future__ import annotations

from .. import ops as _ops
from ..autograd.function import Function

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "pad"]


class ConvNd(Function):
    """y = act(conv(x, weight) + bias) for conv1d (nd = 1) and conv2d (nd = 2).  ReLU stays fused
    (its derivative reads the output); GELU's derivative needs the pre-activation, so it runs
    after an unfused convolution."""

    @staticmethod
    def forward(ctx, x, weight, bias, nd, stride, padding, dilation, groups, padding_mode, activation):
        fwd = _ops.conv1d if nd == 1 else _ops.conv2d
        ctx.args = (nd, stride, padding, dilation, groups, padding_mode)
        ctx.activation, ctx.has_bias = activation, bias is not None
        if activation == "gelu":
            pre = fwd(x, weight, bias, stride, padding, dilation, groups, padding_mode)
            ctx.save_for_backward(x, weight, pre)
            return _ops.gelu(pre)
        out = fwd(x, weight, bias, stride, padding, dilation, groups, padding_mode, activation)
        ctx.save_for_backward(x, weight, out if activation == "relu" else None)
        return out

    @staticmethod
    def backward(ctx, g):
        """Gradients for x, weight and bias (None for the other arguments)."""
        x, weight, out = ctx.saved_tensors
        if ctx.activation == "relu":
            g = _ops.relu_backward(g, out)
        elif ctx.activation == "gelu":
            g = _ops.gelu_backward(g, out)
        nd, stride, padding, dilation, groups, padding_mode = ctx.args
        need = ctx.needs_input_grad
        bwd = _ops.conv1d_backward if nd == 1 else _ops.conv2d_backward
        gx, gw, gb = bwd(g, x, weight, stride, padding, dilation, groups, padding_mode,
                         (need[0], need[1], ctx.has_bias and need[2]))
        return gx, gw, gb, None, None, None, None, None, None, None


class ConvTransposeNd(Function):
    """y = conv_transpose(x, weight) + bias for nd = 1, 2."""

    @staticmethod
    def forward(ctx, x, weight, bias, nd, stride, padding, output_padding, groups, dilation):
        fwd = _ops.conv_transpose1d if nd == 1 else _ops.conv_transpose2d
        ctx.args = (nd, stride, padding, output_padding, groups, dilation)
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x, weight)
        return fwd(x, weight, bias, stride, padding, output_padding, groups, dilation)

    @staticmethod
    def backward(ctx, g):
        """Gradients for x, weight and bias (None for the other arguments)."""
        x, weight = ctx.saved_tensors
        nd, stride, padding, output_padding, groups, dilation = ctx.args
        need = ctx.needs_input_grad
        bwd = _ops.conv_transpose1d_backward if nd == 1 else _ops.conv_transpose2d_backward
        gx, gw, gb = bwd(g, x, weight, stride, padding, output_padding, groups, dilation,
                         (need[0], need[1], ctx.has_bias and need[2]))
        return gx, gw, gb, None, None, None, None, None, None


class Pad(Function):
    """y = pad(x, pad, mode, value); backward sums the gradient back onto the copied elements."""

    @staticmethod
    def forward(ctx, x, pad, mode, value):
        ctx.args = (tuple(x.shape), pad, mode)
        return _ops.pad(x, pad, mode, value)

    @staticmethod
    def backward(ctx, g):
        """Gradient for x (None for the other arguments)."""
        shape, pad, mode = ctx.args
        return _ops.pad_backward(g, shape, pad, mode), None, None, None


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
           activation=None):
    """``torch.nn.functional.conv2d`` with autograd (see :func:`dlcore.ops.conv2d` for the arguments)."""
    return ConvNd.apply(input, weight, bias, 2, stride, padding, dilation, groups, padding_mode, activation)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
           activation=None):
    """``torch.nn.functional.conv1d`` with autograd (see :func:`dlcore.ops.conv1d`)."""
    return ConvNd.apply(input, weight, bias, 1, stride, padding, dilation, groups, padding_mode, activation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``torch.nn.functional.conv_transpose2d`` with autograd (see :func:`dlcore.ops.conv_transpose2d`)."""
    return ConvTransposeNd.apply(input, weight, bias, 2, stride, padding, output_padding, groups, dilation)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``torch.nn.functional.conv_transpose1d`` with autograd (see :func:`dlcore.ops.conv_transpose1d`)."""
    return ConvTransposeNd.apply(input, weight, bias, 1, stride, padding, output_padding, groups, dilation)


def pad(input, pad, mode="constant", value=None):  # noqa: A002 - torch's argument names
    """``torch.nn.functional.pad`` with autograd (see :func:`dlcore.ops.pad`); value None means 0."""
    return Pad.apply(input, tuple(pad), mode, 0.0 if value is None else value)

"""Convolutions (array level): conv1d, conv2d, conv_transpose1d, conv_transpose2d and their
backwards, with ``torch.nn.functional``'s arguments and PyTorch's weight layouts.

One C++ engine (csrc/ops/conv*.cpp) runs every op: conv1d is conv2d over a height of 1, a
transposed convolution is a convolution's backward-data pass.  Algorithms: ``implicit_gemm``
(patches packed tile by tile into the GEMM's panels, no im2col buffer), ``gemm_1x1`` (1x1,
stride 1, no padding: a GEMM over NCHW), ``depthwise`` (groups == in == out channels),
``winograd`` (F(2x2, 3x3): 3x3, stride 1, dilation 1, groups 1; forward; the default from 128
channels in and out) and ``direct`` (plain loops, the reference).  The choice is made in one place, recorded by
``dlcore.kernel_log()`` and forceable with ``dlcore.force_algorithm("<op>", "<algorithm>")``
(ValueError when the forced one does not apply).  Results are bitwise identical for any thread
count.  ``padding_mode`` other than ``"zeros"`` pads explicitly (as PyTorch's modules do) with
:func:`dlcore.ops.pad`.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._util import _core, unwrap, wrap
from .shape import pad, pad_backward

__all__ = ["conv1d", "conv2d", "conv1d_backward", "conv2d_backward", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose1d_backward", "conv_transpose2d_backward"]

_PAD_MODES = ("zeros", "reflect", "replicate", "circular")


def _int(v, name, op):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{op}: expected an int for {name}, got {type(v).__name__}")
    return int(v)


def _tuple(v, nd, name, op):
    """An int or a sequence of nd ints -> tuple of nd ints (values checked by the kernel)."""
    if isinstance(v, (tuple, list)):
        if len(v) != nd:
            raise ValueError(f"{op}: expected {name} to be an int or {nd} ints, got {tuple(v)}")
        return tuple(_int(e, name, op) for e in v)
    return (_int(v, name, op),) * nd


def _impl(x, op, name):
    v = unwrap(x)
    if isinstance(v, (np.ndarray, _core.TensorImpl)):
        return v
    try:
        return _core.as_tensor(v)
    except Exception as e:  # noqa: BLE001 - anything that is not an array
        raise TypeError(f"{op}: expected {name} to be an array, got {type(x).__name__}") from e


def _rank(v, ranks, op, name):
    if v.ndim not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise ValueError(f"{op}: expected {name} of {want} dimensions, got shape {tuple(v.shape)}")


class _Setup:
    """Arguments of one call, brought to the 4-D form the C++ ops take."""

    def __init__(self, op, nd, x, weight, stride, padding, dilation, groups, transposed=False, output_padding=0,
                 padding_mode="zeros"):
        self.op, self.nd = op, nd
        xi, wi = _impl(x, op, "input"), _impl(weight, op, "weight")
        _rank(xi, (nd + 1, nd + 2), op, "input")
        _rank(wi, (nd + 2,), op, "weight")
        self.x_shape, self.w_shape = tuple(xi.shape), tuple(wi.shape)
        self.unbatched = xi.ndim == nd + 1
        xs = ((1,) if self.unbatched else ()) + self.x_shape
        ws = self.w_shape
        if nd == 1:
            xs, ws = xs[:2] + (1,) + xs[2:], ws[:2] + (1,) + ws[2:]
        self.x4_shape, self.w4_shape = xs, ws
        self.x = _core.reshape(xi, xs) if xs != self.x_shape else xi
        self.w = _core.reshape(wi, ws) if ws != self.w_shape else wi
        self.groups = _int(groups, "groups", op)
        s, d = _tuple(stride, nd, "stride", op), _tuple(dilation, nd, "dilation", op)
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"{op}: expected padding_mode 'zeros', 'reflect', 'replicate' or 'circular', "
                             f"got {padding_mode!r}")
        k = self.w_shape[2:]
        if isinstance(padding, str):
            if transposed or padding not in ("same", "valid"):
                raise ValueError(f"{op}: expected padding to be an int, a tuple"
                                 f"{'' if transposed else ', ' + repr('same') + ' or ' + repr('valid')}, "
                                 f"got {padding!r}")
            if padding == "same":
                if any(e != 1 for e in s):
                    raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
                lohi = []
                for de, ke in zip(d, k):
                    total = de * (ke - 1)
                    lohi.append((total // 2, total - total // 2))
            else:
                lohi = [(0, 0)] * nd
        else:
            lohi = [(e, e) for e in _tuple(padding, nd, "padding", op)]
            if any(e < 0 for e, _ in lohi):
                raise ValueError(f"{op}: expected padding >= 0, got {padding}")
        if nd == 1:
            s, d, lohi = (1,) + s, (1,) + d, [(0, 0)] + lohi
        self.stride, self.dilation = s, d
        self.output_padding = (0, 0)
        if transposed:
            op_ = _tuple(output_padding, nd, "output_padding", op)
            self.output_padding = ((0,) + op_) if nd == 1 else op_
        self.mode = padding_mode
        # torch pads explicitly for the other modes: pad's (before, after) pairs, last dim first
        self.explicit = None
        if padding_mode != "zeros" and any(v for p in lohi for v in p):
            self.explicit = tuple(v for lo_hi in reversed(lohi) for v in lo_hi)
            lohi = [(0, 0)] * 2
        self.pad4 = (lohi[0][0], lohi[0][1], lohi[1][0], lohi[1][1])

    def padded_x(self):
        if self.explicit is None:
            return self.x
        try:
            return unwrap(pad(self.x, self.explicit, self.mode))
        except ValueError as e:
            raise ValueError(f"{self.op}: {str(e).split(': ', 1)[1]}") from None

    def unpad_grad(self, g):
        if self.explicit is None or g is None:
            return g
        return pad_backward(g, self.x4_shape, self.explicit, self.mode)

    def out(self, y4):
        """A 4-D result in the caller's rank (drop the height of 1, the batch of an unbatched call)."""
        shape = tuple(y4.shape)
        if self.nd == 1:
            shape = shape[:2] + shape[3:]
        if self.unbatched:
            shape = shape[1:]
        return _core.reshape(y4, shape) if shape != tuple(y4.shape) else y4

    def grad_out(self, g):
        gi = _impl(g, self.op, "grad_out")
        shape = tuple(gi.shape)
        if self.unbatched:
            shape = (1,) + shape
        if self.nd == 1 and len(shape) == 3:
            shape = shape[:2] + (1,) + shape[2:]
        if len(shape) != 4:
            raise ValueError(f"{self.op}: expected grad_out of {self.nd + 1 + (not self.unbatched)} dimensions, "
                             f"got shape {tuple(gi.shape)}")
        return _core.reshape(gi, shape) if shape != tuple(gi.shape) else gi


def _act(activation, op):
    if activation is None:
        return ""
    if not isinstance(activation, str):
        raise TypeError(f"{op}: expected activation None or a str, got {type(activation).__name__}")
    return activation


def _mask(output_mask, op):
    m = tuple(bool(v) for v in output_mask)
    if len(m) != 3:
        raise ValueError(f"{op}: expected output_mask of 3 bools, got {output_mask}")
    return m


def _forward(op, nd, x, weight, bias, stride, padding, dilation, groups, padding_mode, activation):
    st = _Setup(op, nd, x, weight, stride, padding, dilation, groups, padding_mode=padding_mode)
    b = None if bias is None else _impl(bias, op, "bias")
    y = _core.conv2d(st.padded_x(), st.w, b, st.stride, st.pad4, st.dilation, st.groups, _act(activation, op), op)
    return wrap(st.out(y), x, weight)


def _backward(op, nd, grad_out, x, weight, stride, padding, dilation, groups, padding_mode, output_mask):
    st = _Setup(op, nd, x, weight, stride, padding, dilation, groups, padding_mode=padding_mode)
    gx, gw, gb = _core.conv2d_backward(st.grad_out(grad_out), st.padded_x(), st.w, st.stride, st.pad4, st.dilation,
                                       st.groups, _mask(output_mask, op), op)
    gx = st.unpad_grad(gx)
    gx = None if gx is None else _core.reshape(unwrap(gx), st.x_shape)
    gw = None if gw is None else _core.reshape(gw, st.w_shape)
    return tuple(wrap(g, grad_out, x, weight) for g in (gx, gw, gb))


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", activation=None):
    """``torch.nn.functional.conv2d`` (plus ``padding_mode`` and a fused ``activation``).
    x (N, C, H, W) or unbatched (C, H, W); weight (K, C / groups, kh, kw); bias (K,) or None.
    stride, dilation: int or pair; padding: int, pair, ``"same"`` (stride 1; the extra pixel of an
    odd total goes after, as PyTorch) or ``"valid"``; padding_mode ``"zeros"``, ``"reflect"``,
    ``"replicate"`` or ``"circular"``; activation None, ``"relu"`` or ``"gelu"`` (fused into the
    GEMM epilogue).  Returns (N, K, OH, OW) (or (K, OH, OW))."""
    return _forward("conv2d", 2, x, weight, bias, stride, padding, dilation, groups, padding_mode, activation)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", activation=None):
    """``torch.nn.functional.conv1d``: x (N, C, L) or (C, L), weight (K, C / groups, k); the other
    arguments as :func:`conv2d` with ints (or 1-tuples).  Runs as conv2d over a height of 1."""
    return _forward("conv1d", 1, x, weight, bias, stride, padding, dilation, groups, padding_mode, activation)


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
                    output_mask=(True, True, True)):
    """Gradients of :func:`conv2d` (without activation) for grad_out (its output's shape): returns
    ``(grad_x, grad_weight, grad_bias)``, None where `output_mask` is False.  grad_x runs as a
    transposed convolution, grad_weight as a GEMM over packed patches, grad_bias as a fixed-order
    sum: bitwise identical for any thread count."""
    return _backward("conv2d_backward", 2, grad_out, x, weight, stride, padding, dilation, groups, padding_mode,
                     output_mask)


def conv1d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
                    output_mask=(True, True, True)):
    """Gradients of :func:`conv1d`: ``(grad_x, grad_weight, grad_bias)`` as :func:`conv2d_backward`."""
    return _backward("conv1d_backward", 1, grad_out, x, weight, stride, padding, dilation, groups, padding_mode,
                     output_mask)


def _transpose(op, nd, x, weight, bias, stride, padding, output_padding, groups, dilation):
    st = _Setup(op, nd, x, weight, stride, padding, dilation, groups, transposed=True, output_padding=output_padding)
    b = None if bias is None else _impl(bias, op, "bias")
    y = _core.conv_transpose2d(st.x, st.w, b, st.stride, st.pad4, st.output_padding, st.dilation, st.groups, op)
    return wrap(st.out(y), x, weight)


def _transpose_backward(op, nd, grad_out, x, weight, stride, padding, output_padding, groups, dilation, output_mask):
    st = _Setup(op, nd, x, weight, stride, padding, dilation, groups, transposed=True, output_padding=output_padding)
    gx, gw, gb = _core.conv_transpose2d_backward(st.grad_out(grad_out), st.x, st.w, st.stride, st.pad4,
                                                 st.output_padding, st.dilation, st.groups, _mask(output_mask, op), op)
    gx = None if gx is None else _core.reshape(gx, st.x_shape)
    gw = None if gw is None else _core.reshape(gw, st.w_shape)
    return tuple(wrap(g, grad_out, x, weight) for g in (gx, gw, gb))


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``torch.nn.functional.conv_transpose2d``: x (N, Cin, H, W) or (Cin, H, W), weight
    (Cin, Cout / groups, kh, kw) (PyTorch's layout), bias (Cout,) or None.  Output size
    ``(H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1``; output_padding
    must be smaller than the stride or the dilation.  The backward-data pass of conv2d."""
    return _transpose("conv_transpose2d", 2, x, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``torch.nn.functional.conv_transpose1d``: x (N, Cin, L) or (Cin, L), weight (Cin, Cout / groups, k);
    otherwise as :func:`conv_transpose2d`."""
    return _transpose("conv_transpose1d", 1, x, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d_backward(grad_out, x, weight, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                              output_mask=(True, True, True)):
    """Gradients of :func:`conv_transpose2d`: ``(grad_x, grad_weight, grad_bias)`` (None where
    `output_mask` is False); grad_x is conv2d(grad_out, weight)."""
    return _transpose_backward("conv_transpose2d_backward", 2, grad_out, x, weight, stride, padding, output_padding,
                               groups, dilation, output_mask)


def conv_transpose1d_backward(grad_out, x, weight, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                              output_mask=(True, True, True)):
    """Gradients of :func:`conv_transpose1d`: ``(grad_x, grad_weight, grad_bias)``."""
    return _transpose_backward("conv_transpose1d_backward", 1, grad_out, x, weight, stride, padding, output_padding,
                               groups, dilation, output_mask)

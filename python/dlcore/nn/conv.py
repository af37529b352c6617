"""Convolution modules with torch.nn's constructor arguments, parameter names (weight, bias),
layouts and default initialisation: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d.  A
PyTorch state_dict (converted to NumPy) loads and gives the same outputs."""
from __future__ import annotations

import math

from . import functional_conv as FC
from . import init
from .layers import _empty, _finish
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]


def _ntuple(v, nd, name, cls):
    if isinstance(v, (tuple, list)):
        if len(v) != nd:
            raise ValueError(f"{cls}: expected {name} to be an int or {nd} ints, got {tuple(v)}")
        return tuple(int(e) for e in v)
    return (int(v),) * nd


class _ConvNd(Module):
    """Shared constructor: checks channels against groups, creates weight (and bias) and
    initialises them as torch does (kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in), ...))."""

    nd, transposed = 2, False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                 output_padding, device, dtype):
        super().__init__()
        cls, nd = type(self).__name__, self.nd
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        if self.groups < 1 or self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{cls}: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        self.kernel_size = _ntuple(kernel_size, nd, "kernel_size", cls)
        self.stride = _ntuple(stride, nd, "stride", cls)
        self.dilation = _ntuple(dilation, nd, "dilation", cls)
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self.transposed:
                raise ValueError(f"{cls}: invalid padding string {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{cls}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, nd, "padding", cls)
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{cls}: padding_mode must be one of 'zeros', 'reflect', 'replicate' or 'circular', "
                             f"got {padding_mode!r}")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f"{cls}: only 'zeros' padding mode is supported for {cls}")
        self.padding_mode = padding_mode
        self.output_padding = _ntuple(output_padding, nd, "output_padding", cls)
        shape = ((self.in_channels, self.out_channels // self.groups) if self.transposed else
                 (self.out_channels, self.in_channels // self.groups)) + self.kernel_size
        self.weight = Parameter(_empty(shape, dtype))
        if bias:
            self.bias = Parameter(_empty((self.out_channels,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        _finish(self, device)

    def reset_parameters(self):
        """torch's default: weight kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        """The constructor arguments that differ from the defaults, as torch prints them."""
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.transposed and self.output_padding != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """``torch.nn.Conv2d``: weight (out, in / groups, kh, kw), bias (out,); input (N, C, H, W) or (C, H, W)."""

    nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, 0, device, dtype)

    def forward(self, input):
        """The convolution of input (padding_mode applied as torch does)."""
        return FC.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                         self.padding_mode)


class Conv1d(_ConvNd):
    """``torch.nn.Conv1d``: weight (out, in / groups, k), bias (out,); input (N, C, L) or (C, L)."""

    nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, 0, device, dtype)

    def forward(self, input):
        """The convolution of input."""
        return FC.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                         self.padding_mode)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def _output_padding(self, input, output_size):
        """output_padding, or the one that gives `output_size` (torch's rule: it must lie between the
        smallest size and that plus stride - 1)."""
        if output_size is None:
            return self.output_padding
        nd, cls = self.nd, type(self).__name__
        size = tuple(int(s) for s in output_size)
        if len(size) == nd + 2 or (len(size) == nd + 1 and input.ndim == nd + 1):
            size = size[-nd:]
        if len(size) != nd:
            raise ValueError(f"{cls}: output_size must have {nd} or {nd + 2} elements (got {len(output_size)})")
        out = []
        for d in range(nd):
            n_in = input.shape[input.ndim - nd + d]
            lo = ((n_in - 1) * self.stride[d] - 2 * self.padding[d] + self.dilation[d] * (self.kernel_size[d] - 1)
                  + 1)
            hi = lo + self.stride[d] - 1
            if not lo <= size[d] <= hi:
                raise ValueError(f"{cls}: requested an output size of {size}, but valid sizes range from {lo} to "
                                 f"{hi} (for an input of {tuple(input.shape[-nd:])})")
            out.append(size[d] - lo)
        return tuple(out)


class ConvTranspose2d(_ConvTransposeNd):
    """``torch.nn.ConvTranspose2d``: weight (in, out / groups, kh, kw); ``forward(input, output_size=None)``."""

    nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device, dtype)

    def forward(self, input, output_size=None):
        """The transposed convolution; `output_size` picks the output_padding as torch does."""
        return FC.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                   self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """``torch.nn.ConvTranspose1d``: weight (in, out / groups, k); ``forward(input, output_size=None)``."""

    nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device, dtype)

    def forward(self, input, output_size=None):
        """The transposed convolution; `output_size` picks the output_padding as torch does."""
        return FC.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                   self._output_padding(input, output_size), self.groups, self.dilation)

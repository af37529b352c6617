"""Padding modules (torch.nn names and arguments): ZeroPad1d/2d, ConstantPad1d/2d,
ReflectionPad1d/2d, ReplicationPad1d/2d, CircularPad1d/2d."""
from __future__ import annotations

from . import functional_conv as FC
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
           "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d"]


class _PadNd(Module):
    """Pads the last nd dims: `padding` an int (every side) or a (left, right[, top, bottom]) tuple."""

    mode, nd = "constant", 1

    def __init__(self, padding, value=0.0):
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.nd)
        self.padding = tuple(int(p) for p in padding)
        if len(self.padding) != 2 * self.nd:
            raise ValueError(f"{type(self).__name__}: expected padding of {2 * self.nd} ints, got {padding}")
        self.value = float(value)

    def forward(self, input):
        """The padded input."""
        return FC.pad(input, self.padding, self.mode, self.value)

    def extra_repr(self):
        """The padding (and the fill value of constant padding)."""
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


def _constant(nd, name, doc):
    class ConstantPad(_PadNd):
        __doc__ = doc

        def __init__(self, padding, value):
            super().__init__(padding, value)

    ConstantPad.nd = nd
    ConstantPad.__name__ = ConstantPad.__qualname__ = name
    return ConstantPad


class ZeroPad1d(_PadNd):
    """Pads the last dim with zeros (``torch.nn.ZeroPad1d``)."""

    nd = 1


class ZeroPad2d(_PadNd):
    """Pads the last two dims with zeros (``torch.nn.ZeroPad2d``): padding (left, right, top, bottom)."""

    nd = 2


ConstantPad1d = _constant(1, "ConstantPad1d", "Pads the last dim with `value` (``torch.nn.ConstantPad1d``).")
ConstantPad2d = _constant(2, "ConstantPad2d", "Pads the last two dims with `value` (``torch.nn.ConstantPad2d``).")


class ReflectionPad1d(_PadNd):
    """Mirror padding of the last dim, edge not repeated (``torch.nn.ReflectionPad1d``)."""

    mode, nd = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Mirror padding of the last two dims (``torch.nn.ReflectionPad2d``)."""

    mode, nd = "reflect", 2


class ReplicationPad1d(_PadNd):
    """Edge-repeating padding of the last dim (``torch.nn.ReplicationPad1d``)."""

    mode, nd = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Edge-repeating padding of the last two dims (``torch.nn.ReplicationPad2d``)."""

    mode, nd = "replicate", 2


class CircularPad1d(_PadNd):
    """Wrap-around padding of the last dim (``torch.nn.CircularPad1d``)."""

    mode, nd = "circular", 1


class CircularPad2d(_PadNd):
    """Wrap-around padding of the last two dims (``torch.nn.CircularPad2d``)."""

    mode, nd = "circular", 2

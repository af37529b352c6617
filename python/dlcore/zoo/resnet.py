"""Pre-activation residual networks (He et al., 2016, "Identity Mappings in Deep Residual
Networks") for small images, and the plain network of the same depth.

A block is BN -> ReLU -> conv 3x3 (stride s) -> BN -> ReLU -> conv 3x3, added to a shortcut that
is the identity, or a 1x1 strided convolution (a projection) where the width or resolution
changes. The network: a 3x3 stem convolution, ``len(widths)`` stages of ``blocks`` blocks (the
first block of every stage after the first halves the resolution), BN -> ReLU, global average
pooling and a Linear classifier. ``depth=20, widths=(16, 32, 64)`` is ResNet-20 of the paper
(the default, for 28x28 and 32x32 inputs): depth = 6 * blocks + 2.

``plain=True`` removes every shortcut (the same layers otherwise), so the effect of residual
connections can be measured. Convolutions get He (Kaiming normal, fan_out) initialisation;
``zero_init_residual=True`` sets the scale of each block's last BN to zero, so every residual
block starts as the identity.
"""
from __future__ import annotations

from .. import nn


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3(stride)-BN-ReLU-conv3x3 plus a shortcut (identity or 1x1 projection; none
    when ``plain``)."""

    def __init__(self, in_channels, out_channels, stride=1, plain=False):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.plain = bool(plain)
        self.shortcut = None
        if not plain and (stride != 1 or in_channels != out_channels):
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x):
        pre = self.bn1(x).relu()
        out = self.conv1(pre)
        out = self.conv2(self.bn2(out).relu())
        if self.plain:
            return out
        # The projection sees the pre-activated input, as in the paper's full pre-activation unit.
        return out + (self.shortcut(pre) if self.shortcut is not None else x)


class ResNet(nn.Module):
    """A pre-activation ResNet (or its plain twin) for ``in_channels`` images and ``num_classes``;
    see the module docstring."""

    def __init__(self, num_classes=10, in_channels=1, depth=20, widths=(16, 32, 64), plain=False,
                 zero_init_residual=False):
        super().__init__()
        if (int(depth) - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"ResNet: depth must be 6 * blocks + 2 (8, 14, 20, 32, 44, 56, ...), got {depth}")
        widths = tuple(int(w) for w in widths)
        if not widths or min(widths) < 1:
            raise ValueError(f"ResNet: widths must be positive, got {widths}")
        blocks = (int(depth) - 2) // 6
        self.config = {"num_classes": int(num_classes), "in_channels": int(in_channels), "depth": int(depth),
                       "widths": list(widths), "plain": bool(plain), "zero_init_residual": bool(zero_init_residual)}
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        layers, c = [], widths[0]
        for i, w in enumerate(widths):
            for j in range(blocks):
                layers.append(PreActBlock(c, w, stride=2 if (i > 0 and j == 0) else 1, plain=plain))
                c = w
        self.layers = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(c)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if zero_init_residual:
            for m in self.layers:
                nn.init.zeros_(m.bn2.weight)

    def forward(self, x):
        h = self.layers(self.stem(x))
        h = self.pool(self.bn(h).relu())
        return self.fc(h.flatten(1))

"""LeNet-5 (LeCun et al., 1998): conv 5x5 -> pool -> conv 5x5 -> pool -> 120 -> 84 -> classes.

``variant="modern"`` (default): ReLU and max pooling, as the architecture is trained today.
``variant="classic"``: tanh and average pooling, as in the paper (without its sparse connection
table between the two conv layers and its RBF output layer, which no one uses).

The paper's input is 32x32; on 28x28 images (Fashion-MNIST, MNIST) the first convolution pads by
2, which gives the paper's 28x28 -> 14x14 -> 10x10 -> 5x5 feature maps. Smaller images (the 8x8
digits) pad the second convolution too, so every size from 8 up works. The submodules are named
so that the same ``torch.nn`` model's state_dict loads: ``features.0`` (conv1),
``features.3`` (conv2), ``classifier.0/2/4`` (the three Linear layers).
"""
from __future__ import annotations

from .. import nn


class LeNet5(nn.Module):
    """LeNet-5 for ``in_channels`` x ``input_size`` x ``input_size`` images and ``num_classes``
    classes (see the module docstring for the variants and the padding rule).

    ``penultimate(x)`` gives the 84 features before the output layer (used by the generative
    models' Fréchet LeNet distance)."""

    def __init__(self, num_classes=10, in_channels=1, input_size=28, variant="modern"):
        super().__init__()
        if variant not in ("modern", "classic"):
            raise ValueError(f"LeNet5: variant must be 'modern' or 'classic', got {variant!r}")
        if int(input_size) < 8:
            raise ValueError(f"LeNet5: input_size must be at least 8, got {input_size}")
        self.config = {"num_classes": int(num_classes), "in_channels": int(in_channels),
                       "input_size": int(input_size), "variant": variant}
        act = nn.ReLU if variant == "modern" else nn.Tanh
        pool = (lambda: nn.MaxPool2d(2)) if variant == "modern" else (lambda: nn.AvgPool2d(2))
        pad2 = 0 if input_size >= 28 else 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), act(), pool(),
            nn.Conv2d(6, 16, 5, padding=pad2), act(), pool())
        side = int(input_size) // 2
        side = (side + 2 * pad2 - 4) // 2
        self.classifier = nn.Sequential(
            nn.Linear(16 * side * side, 120), act(), nn.Linear(120, 84), act(), nn.Linear(84, num_classes))

    def penultimate(self, x):
        """The 84 activations before the output layer, (N, 84)."""
        h = self.features(x).flatten(1)
        for layer in list(self.classifier)[:-1]:
            h = layer(h)
        return h

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))

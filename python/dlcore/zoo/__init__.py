"""The model zoo: architectures and their training recipes.

- :class:`MLP` (shallow or deep), :class:`Perceptron` (Rosenblatt's rule)
- :class:`HeteroscedasticMLP` with :func:`train_heteroscedastic` (mean and variance heads,
  Gaussian NLL on a 1-D function with input-dependent noise)
- :func:`train_digits_mlp`: the main job (``dlcore train mlp``)
- CNNs: :class:`LeNet5`, :class:`ResNet` (pre-activation, or plain), :class:`UNet`, trained by
  :func:`train_cnn` (``dlcore train lenet|resnet|unet``) on Fashion-MNIST or the digits
"""
from __future__ import annotations

from .cnn_recipes import evaluate_checkpoint, train_cnn
from .digits_mlp import train_digits_mlp
from .lenet import LeNet5
from .mlp import MLP, Perceptron, make_activation
from .regression import HeteroscedasticMLP, noise_std, noisy_sine, train_heteroscedastic
from .resnet import ResNet
from .unet import UNet

__all__ = ["MLP", "Perceptron", "make_activation", "HeteroscedasticMLP", "noisy_sine", "noise_std",
           "train_heteroscedastic", "train_digits_mlp", "LeNet5", "ResNet", "UNet", "train_cnn", "evaluate_checkpoint"]

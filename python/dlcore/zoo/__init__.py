"""The model zoo: architectures and their training recipes.

- :class:`MLP` (shallow or deep), :class:`Perceptron` (Rosenblatt's rule)
- :class:`HeteroscedasticMLP` with :func:`train_heteroscedastic` (mean and variance heads,
  Gaussian NLL on a 1-D function with input-dependent noise)
- :func:`train_digits_mlp`: the main job (``dlcore train mlp``)
"""
from __future__ import annotations

from .digits_mlp import train_digits_mlp
from .mlp import MLP, Perceptron, make_activation
from .regression import HeteroscedasticMLP, noise_std, noisy_sine, train_heteroscedastic

__all__ = ["MLP", "Perceptron", "make_activation", "HeteroscedasticMLP", "noisy_sine", "noise_std",
           "train_heteroscedastic", "train_digits_mlp"]

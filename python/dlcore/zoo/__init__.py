"""The model zoo: architectures and their training recipes.

- :class:`MLP` (shallow or deep), :class:`Perceptron` (Rosenblatt's rule)
- :class:`HeteroscedasticMLP` with :func:`train_heteroscedastic` (mean and variance heads,
  Gaussian NLL on a 1-D function with input-dependent noise)
- :func:`train_digits_mlp`: the main job (``dlcore train mlp``)
- :class:`GPT` / :class:`GPTConfig`: a decoder-only Transformer with KV-cache generation;
  :func:`train_gpt` (``dlcore train gpt``) and :func:`generate_from_checkpoint` (``dlcore generate``)
"""
from __future__ import annotations

from .digits_mlp import train_digits_mlp
from .mlp import MLP, Perceptron, make_activation
from .regression import HeteroscedasticMLP, noise_std, noisy_sine, train_heteroscedastic

__all__ = ["MLP", "Perceptron", "make_activation", "HeteroscedasticMLP", "noisy_sine", "noise_std",
           "train_heteroscedastic", "train_digits_mlp"]

from .gpt import GPT, GPTConfig  # noqa: E402
from .gpt_recipe import generate_from_checkpoint, train_gpt  # noqa: E402

__all__ += ["GPT", "GPTConfig", "train_gpt", "generate_from_checkpoint"]

"""The model zoo: architectures and their training recipes.

- :class:`MLP` (shallow or deep), :class:`Perceptron` (Rosenblatt's rule)
- :class:`HeteroscedasticMLP` with :func:`train_heteroscedastic` (mean and variance heads,
  Gaussian NLL on a 1-D function with input-dependent noise)
- :func:`train_digits_mlp`: the main job (``dlcore train mlp``)
- :class:`CharRNN` with :func:`train_charrnn` (``dlcore train charrnn``) and
  :func:`generate_from_checkpoint` (``dlcore generate``)
"""
from __future__ import annotations

from .digits_mlp import train_digits_mlp
from .mlp import MLP, Perceptron, make_activation
from .char_rnn import CharRNN, CharVocab, sample_text
from .char_rnn_train import load_charrnn, train_charrnn
from .generate import generate_from_checkpoint, register_generator
from .regression import HeteroscedasticMLP, noise_std, noisy_sine, train_heteroscedastic

__all__ = ["MLP", "Perceptron", "make_activation", "HeteroscedasticMLP", "noisy_sine", "noise_std",
           "train_heteroscedastic", "train_digits_mlp"]
__all__ += ["CharRNN", "CharVocab", "sample_text", "train_charrnn", "load_charrnn", "generate_from_checkpoint",
            "register_generator"]

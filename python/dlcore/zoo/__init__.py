"""The model zoo: architectures and their training recipes.

- :class:`MLP` (shallow or deep), :class:`Perceptron` (Rosenblatt's rule)
- :class:`HeteroscedasticMLP` with :func:`train_heteroscedastic` (mean and variance heads,
  Gaussian NLL on a 1-D function with input-dependent noise)
- :func:`train_digits_mlp`: the main job (``dlcore train mlp``)
- CNNs: :class:`LeNet5`, :class:`ResNet` (pre-activation, or plain), :class:`UNet`, trained by
  :func:`train_cnn` (``dlcore train lenet|resnet|unet``) on Fashion-MNIST or the digits
- generative models: :class:`VAE`, :class:`GAN` (MLP, DCGAN, conditional), :class:`DDPM`, trained
  by :func:`train_generative` (``dlcore train vae|gan|dcgan|cgan|ddpm``), scored by
  :mod:`dlcore.zoo.metrics` (Fréchet LeNet distance), sampled by ``dlcore sample``
- :class:`CharRNN` with :func:`train_charrnn` (``dlcore train charrnn``) and
  :func:`generate_from_checkpoint` (``dlcore generate``)
- :class:`GPT` / :class:`GPTConfig`: a decoder-only Transformer with KV-cache generation;
  :func:`train_gpt` (``dlcore train gpt``) and :func:`generate_from_checkpoint` (``dlcore generate``)
- :class:`Seq2SeqTransformer` / :class:`Seq2SeqConfig`: the encoder-decoder Transformer with
  greedy and beam-search decoding on a KV cache; :func:`train_seq2seq` (``dlcore train seq2seq``:
  numbers to English words) and ``dlcore translate``
- :class:`BERT` (MLM + NSP pre-training), :class:`BertModel`, :class:`BertForSequenceClassification`,
  :class:`BertForTokenClassification`; :func:`train_bert` (``dlcore train bert``)
"""
from __future__ import annotations

from . import metrics
from .cnn_recipes import evaluate_checkpoint, train_cnn
from .diffusion import DDPM, EMA, NoiseSchedule
from .gan import GAN
from .gen_recipes import sample_from_checkpoint, train_generative
from .digits_mlp import train_digits_mlp
from .lenet import LeNet5
from .mlp import MLP, Perceptron, make_activation
from .char_rnn import CharRNN, CharVocab, sample_text
from .char_rnn_train import load_charrnn, train_charrnn
from .generate import generate_from_checkpoint, register_generator
from .regression import HeteroscedasticMLP, noise_std, noisy_sine, train_heteroscedastic
from .resnet import ResNet
from .unet import UNet
from .vae import VAE

__all__ = ["MLP", "Perceptron", "make_activation", "HeteroscedasticMLP", "noisy_sine", "noise_std",
           "train_heteroscedastic", "train_digits_mlp", "LeNet5", "ResNet", "UNet", "train_cnn", "evaluate_checkpoint",
           "VAE", "GAN", "DDPM", "EMA", "NoiseSchedule", "train_generative", "sample_from_checkpoint", "metrics"]
__all__ += ["CharRNN", "CharVocab", "sample_text", "train_charrnn", "load_charrnn", "generate_from_checkpoint",
            "register_generator"]

from .gpt import GPT, GPTConfig  # noqa: E402
from .gpt_recipe import train_gpt  # noqa: E402  (its streaming generate_from_checkpoint: zoo.gpt_recipe)

__all__ += ["GPT", "GPTConfig", "train_gpt"]

from .seq2seq import Seq2SeqConfig, Seq2SeqTransformer  # noqa: E402  (issue 19: encoder-decoder, beam search)
from .seq2seq_recipe import train_seq2seq  # noqa: E402

__all__ += ["Seq2SeqConfig", "Seq2SeqTransformer", "train_seq2seq"]
from .bert import BERT, BertConfig, BertForSequenceClassification, BertForTokenClassification, BertModel  # noqa: E402
from .bert_recipe import train_bert  # noqa: E402  (issue 19: dlcore train bert)

__all__ += ["BERT", "BertConfig", "BertModel", "BertForSequenceClassification", "BertForTokenClassification",
            "train_bert"]

"""U-Net (Ronneberger et al., 2015): an encoder-decoder with skip connections by concatenation.

Each level is two (conv 3x3 -> norm -> ReLU) layers. Going down: 2x2 max pooling
(``down="maxpool"``) or a strided 3x3 convolution (``down="conv"``); coming up: a 2x2 transposed
convolution (``up="transpose"``) or bilinear 2x interpolation followed by a 1x1 convolution
(``up="bilinear"``); the up-sampled map is concatenated with the encoder's map of the same level.
Norms: GroupNorm (``norm="group"``, 8 groups or fewer where the width is smaller) or BatchNorm.
Odd sizes work: an up-sampled map is cropped or padded to its skip's size (28 -> 14 -> 7 -> 14).

As a denoiser (``dlcore train unet``) the network predicts the noise and returns the noisy input
minus it (``residual=True``). The diffusion model reuses the same network as its noise predictor
(``residual=False``, ``time_dim``: a sinusoidal embedding of the timestep, passed through a small
MLP, is added to every level's feature maps, and each block adds its input to its output, see
DoubleConv).
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from .._tensor import from_numpy
from ..autograd.api import cat
from ..nn import functional as F


def _norm(kind, channels):
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.GroupNorm(min(8, channels), channels)


class DoubleConv(nn.Module):
    """(conv 3x3 -> norm -> ReLU) twice; with ``time_dim``, a projection of the time embedding is
    added to every channel after the first norm (how the diffusion model conditions on t), and the
    block's input is added to its output (through a 1x1 convolution where the widths differ).

    Why the residual path for the diffusion model: a GroupNorm right after each convolution makes a
    level nearly blind to shifts and scales of its input, so a noise predictor built only of such
    blocks cannot see the overall brightness of x_t, and the sampler's drift in it is never
    corrected (measured: samples with grey instead of black backgrounds, FLD 212).  DDPM's U-Net
    keeps an un-normalised residual stream for the same reason."""

    def __init__(self, in_channels, out_channels, norm="group", time_dim=None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.norm1 = _norm(norm, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = _norm(norm, out_channels)
        self.time = nn.Linear(time_dim, out_channels) if time_dim else None
        self.skip = nn.Conv2d(in_channels, out_channels, 1, bias=False) \
            if time_dim and in_channels != out_channels else None

    def forward(self, x, temb=None):
        h = self.norm1(self.conv1(x))
        if self.time is not None:
            h = h + self.time(temb).reshape(temb.shape[0], -1, 1, 1)
        out = self.norm2(self.conv2(h.relu())).relu()
        if self.time is None:
            return out
        return out + (self.skip(x) if self.skip is not None else x)


def timestep_embedding(t, dim):
    """The Transformer's sinusoidal encoding of integer timesteps t (N,) -> (N, dim) float32:
    [sin(t * f_k), cos(t * f_k)] with f_k = 10000^(-k / (dim/2)), k < dim/2 (an odd dim gets a
    zero last column)."""
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    half = dim // 2
    freqs = np.exp(-math.log(10000.0) * np.arange(half) / max(half, 1))
    args = t[:, None] * freqs[None, :]
    emb = np.concatenate([np.sin(args), np.cos(args), np.zeros((len(t), dim - 2 * half))], axis=1)
    return emb.astype(np.float32)


def _match(x, like):
    """Crop or zero-pad x's last two dims to those of `like` (odd sizes halve and double unevenly)."""
    dh, dw = like.shape[-2] - x.shape[-2], like.shape[-1] - x.shape[-1]
    if dh == 0 and dw == 0:
        return x
    return F.pad(x, (0, dw, 0, dh))


class UNet(nn.Module):
    """U-Net with ``len(widths)`` levels (see the module docstring); input (N, in_channels, H, W),
    output (N, out_channels, H, W)."""

    def __init__(self, in_channels=1, out_channels=1, widths=(32, 64, 128), down="maxpool", up="transpose",
                 norm="group", residual=True, time_dim=None):
        super().__init__()
        for name, value, allowed in (("down", down, ("maxpool", "conv")), ("up", up, ("transpose", "bilinear")),
                                     ("norm", norm, ("group", "batch"))):
            if value not in allowed:
                raise ValueError(f"UNet: {name} must be one of {allowed}, got {value!r}")
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"UNet: widths needs at least two positive widths, got {widths}")
        if residual and in_channels != out_channels:
            raise ValueError("UNet: residual=True needs in_channels == out_channels")
        self.config = {"in_channels": int(in_channels), "out_channels": int(out_channels), "widths": list(widths),
                       "down": down, "up": up, "norm": norm, "residual": bool(residual), "time_dim": time_dim}
        self.time_dim = int(time_dim) if time_dim else None
        td = self.time_dim
        if td:  # sinusoidal features -> MLP, shared by every level (DDPM's design)
            self.time_mlp = nn.Sequential(nn.Linear(td, td), nn.SiLU(), nn.Linear(td, td))
        self.residual = bool(residual)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        c = in_channels
        for i, w in enumerate(widths):
            self.encoders.append(DoubleConv(c, w, norm, td))
            c = w
            if i < len(widths) - 1:
                self.downs.append(nn.MaxPool2d(2) if down == "maxpool" else nn.Conv2d(w, w, 3, stride=2, padding=1))
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for w in reversed(widths[:-1]):
            if up == "transpose":
                self.ups.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            else:
                self.ups.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                              nn.Conv2d(c, w, 1)))
            self.decoders.append(DoubleConv(2 * w, w, norm, td))
            c = w
        self.head = nn.Conv2d(c, out_channels, 1)
        if residual:  # start as the identity: an untrained denoiser returns its input unchanged
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x, t=None):
        """x (N, in_channels, H, W); t (N,) integer timesteps when built with ``time_dim``."""
        temb = None
        if self.time_dim:
            if t is None:
                raise ValueError("UNet: this network was built with time_dim and needs timesteps t")
            temb = self.time_mlp(from_numpy(timestep_embedding(t, self.time_dim)))
        skips, h = [], x
        for i, enc in enumerate(self.encoders):
            h = enc(h, temb)
            if i < len(self.downs):
                skips.append(h)
                h = self.downs[i](h)
        for up, dec in zip(self.ups, self.decoders):
            skip = skips.pop()
            h = dec(cat([skip, _match(up(h), skip)], dim=1), temb)
        out = self.head(h)
        return x - out if self.residual else out

"""Variational autoencoders (Kingma & Welling, 2014) with MLP or convolutional networks.

Encoder: q(z | x) = N(mu(x), diag(exp(logvar(x)))); a sample is drawn by the reparameterisation
trick z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) (from dlcore's seeded generator), so the
gradient flows through mu and logvar. Prior p(z) = N(0, I). Decoder p(x | z):
- ``"bernoulli"``: per-pixel Bernoulli with logits f(z); -log p(x | z) is the binary
  cross-entropy summed over pixels (pixels in [0, 1] used as soft targets, as is customary);
- ``"gaussian"``: N(f(z), sigma^2 I) with one learned log sigma for all pixels;
  -log p = sum_i (x_i - f_i)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2.
ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z)), KL in closed form:
0.5 * sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j). Reported per image in nats (one z sample).
"""
from __future__ import annotations

import math

from .. import nn
from .._random import randn
from .._tensor import zeros
from ..nn import functional as F


class VAE(nn.Module):
    """A VAE for (N, C, S, S) images in [0, 1]: ``kind`` "mlp" (hidden widths) or "conv" (two
    stride-2 convolutions down, two transposed ones up; S divisible by 4), ``latent_dim``, decoder
    ``likelihood`` "bernoulli" or "gaussian" (see the module docstring)."""

    def __init__(self, latent_dim=16, kind="mlp", likelihood="bernoulli", in_channels=1, image_size=28,
                 hidden=(512, 256)):
        super().__init__()
        if kind not in ("mlp", "conv"):
            raise ValueError(f"VAE: kind must be 'mlp' or 'conv', got {kind!r}")
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"VAE: likelihood must be 'bernoulli' or 'gaussian', got {likelihood!r}")
        if kind == "conv" and image_size % 4:
            raise ValueError(f"VAE: the conv VAE needs an image size divisible by 4, got {image_size}")
        self.config = {"latent_dim": int(latent_dim), "kind": kind, "likelihood": likelihood,
                       "in_channels": int(in_channels), "image_size": int(image_size), "hidden": list(hidden)}
        c, s = int(in_channels), int(image_size)
        self.shape = (c, s, s)
        if kind == "mlp":
            dims, layers = [c * s * s] + list(hidden), []
            for a, b in zip(dims[:-1], dims[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            self.encoder = nn.Sequential(nn.Flatten(), *layers)
            feat = dims[-1]
            rdims, layers = [latent_dim] + list(hidden)[::-1], []
            for a, b in zip(rdims[:-1], rdims[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            self.decoder = nn.Sequential(*layers, nn.Linear(rdims[-1], c * s * s))
        else:
            q = s // 4
            self.encoder = nn.Sequential(nn.Conv2d(c, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
                                         nn.Flatten(), nn.Linear(64 * q * q, 256), nn.ReLU())
            feat = 256
            self.decoder = nn.Sequential(nn.Linear(latent_dim, 64 * q * q), nn.ReLU(), nn.Unflatten(1, (64, q, q)),
                                         nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
                                         nn.ConvTranspose2d(32, c, 4, 2, 1))
        self.mu = nn.Linear(feat, latent_dim)
        self.logvar = nn.Linear(feat, latent_dim)
        if likelihood == "gaussian":
            self.log_sigma = nn.Parameter(zeros(1))

    def encode(self, x):
        """(mu, logvar) of q(z | x), each (N, latent_dim)."""
        h = self.encoder(x)
        return self.mu(h), self.logvar(h)

    @staticmethod
    def reparameterize(mu, logvar):
        """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) from dlcore's generator."""
        return mu + (logvar * 0.5).exp() * randn(*mu.shape)

    def decode(self, z):
        """The decoder's output (logits for Bernoulli, means for Gaussian), shaped like images."""
        return self.decoder(z).reshape(z.shape[0], *self.shape)

    def mean_image(self, z):
        """E[x | z] in [0, 1]-ish: sigmoid(logits) or the Gaussian mean."""
        out = self.decode(z)
        return out.sigmoid() if self.config["likelihood"] == "bernoulli" else out

    def forward(self, x):
        """(decoder output, mu, logvar) for one reparameterised sample per image."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def negative_elbo(self, x):
        """(-ELBO, reconstruction NLL, KL), each the mean over the batch of per-image nats."""
        out, mu, logvar = self(x)
        n = x.shape[0]
        if self.config["likelihood"] == "bernoulli":
            rec = F.binary_cross_entropy_with_logits(out, x, reduction="sum") / n
        else:
            d = out.numel() // n
            ls = self.log_sigma
            rec = (((x - out) ** 2).sum() / n) * (ls * -2.0).exp()[0] * 0.5 + (ls[0] + 0.5 * math.log(2 * math.pi)) * d
        kl = F.gaussian_kl_standard_normal(mu, logvar, reduction="mean")
        return rec + kl, rec, kl

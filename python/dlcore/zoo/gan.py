"""Generative adversarial networks (Goodfellow et al., 2014): an MLP GAN, DCGAN (Radford et al.,
2016) and a conditional DCGAN (Mirza & Osindero, 2014), for (N, 1, 28, 28) images in [-1, 1].

Losses are the non-saturating ones: the discriminator minimises BCE(D(x), 1) + BCE(D(G(z)), 0) and
the generator BCE(D(G(z)), 1), both on logits. DCGAN follows the paper's rules: strided
convolutions instead of pooling, batch norm in both networks (not on the generator's output nor
the discriminator's input), ReLU in the generator with tanh last, LeakyReLU(0.2) in the
discriminator, weights ~ N(0, 0.02) (BN scales ~ N(1, 0.02)), Adam(lr 2e-4, betas (0.5, 0.999)).
The conditional model embeds the label (nn.Embedding) and feeds it to both networks: concatenated
with z for the generator, as an extra image channel (a Linear map of the embedding) for the
discriminator.
"""
from __future__ import annotations

from .. import nn
from .._creation import ones_like, zeros_like
from ..autograd.api import cat
from ..nn import functional as F


def dcgan_init(module):
    """DCGAN's initialisation: conv and linear weights ~ N(0, 0.02), BN weights ~ N(1, 0.02),
    biases zero."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> 256 -> 512 -> 1024 -> image, LeakyReLU(0.2), tanh last."""

    def __init__(self, latent_dim=64, image_size=28):
        super().__init__()
        s = self.size = image_size
        self.net = nn.Sequential(nn.Linear(latent_dim, 256), nn.LeakyReLU(0.2), nn.Linear(256, 512), nn.LeakyReLU(0.2),
                                 nn.Linear(512, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, s * s), nn.Tanh())

    def forward(self, z):
        return self.net(z).reshape(z.shape[0], 1, self.size, self.size)


class MLPDiscriminator(nn.Sequential):
    """image -> 512 -> 256 -> 1 logit, LeakyReLU(0.2)."""

    def __init__(self, image_size=28):
        super().__init__(nn.Flatten(), nn.Linear(image_size * image_size, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256),
                         nn.LeakyReLU(0.2), nn.Linear(256, 1))


class DCGenerator(nn.Module):
    """z (+ label embedding) -> Linear -> 128x7x7 -> BN ReLU -> ConvT 4/2 -> 64x14x14 -> BN ReLU
    -> ConvT 4/2 -> 1x28x28 -> tanh."""

    def __init__(self, latent_dim=100, width=64, num_classes=0, embed_dim=32):
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        zin = latent_dim + (embed_dim if num_classes else 0)
        self.project = nn.Linear(zin, 2 * width * 7 * 7, bias=False)
        self.bn0 = nn.BatchNorm2d(2 * width)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.up2 = nn.ConvTranspose2d(width, 1, 4, 2, 1)
        self.width = width

    def forward(self, z, labels=None):
        if self.embed is not None:
            z = cat([z, self.embed(labels)], dim=1)
        h = self.bn0(self.project(z).reshape(z.shape[0], 2 * self.width, 7, 7)).relu()
        return self.up2(self.bn1(self.up1(h)).relu()).tanh()


class DCDiscriminator(nn.Module):
    """image (+ label channel) -> Conv 4/2 -> 64x14x14 LeakyReLU -> Conv 4/2 -> 128x7x7 BN
    LeakyReLU -> Linear -> 1 logit."""

    def __init__(self, width=64, num_classes=0, embed_dim=32):
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        self.label_map = nn.Linear(embed_dim, 28 * 28) if num_classes else None
        self.conv1 = nn.Conv2d(2 if num_classes else 1, width, 4, 2, 1)
        self.conv2 = nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.fc = nn.Linear(2 * width * 7 * 7, 1)

    def forward(self, x, labels=None):
        if self.embed is not None:
            x = cat([x, self.label_map(self.embed(labels)).reshape(x.shape[0], 1, 28, 28)], dim=1)
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.bn2(self.conv2(h)), 0.2)
        return self.fc(h.flatten(1))


class GAN(nn.Module):
    """A generator and a discriminator: ``kind`` "mlp" or "dcgan"; ``num_classes`` > 0 makes the
    DCGAN conditional (the ConditionalGAN). ``generator(z[, labels])`` gives images in [-1, 1]."""

    def __init__(self, kind="dcgan", latent_dim=None, num_classes=0, width=64):
        super().__init__()
        if kind not in ("mlp", "dcgan"):
            raise ValueError(f"GAN: kind must be 'mlp' or 'dcgan', got {kind!r}")
        if kind == "mlp" and num_classes:
            raise ValueError("GAN: the conditional model is convolutional (kind='dcgan')")
        latent_dim = int(latent_dim or (64 if kind == "mlp" else 100))
        self.config = {"kind": kind, "latent_dim": latent_dim, "num_classes": int(num_classes), "width": int(width)}
        if kind == "mlp":
            self.generator, self.discriminator = MLPGenerator(latent_dim), MLPDiscriminator()
        else:
            self.generator = DCGenerator(latent_dim, width, num_classes)
            self.discriminator = DCDiscriminator(width, num_classes)
            dcgan_init(self)

    @property
    def conditional(self):
        """Whether the networks take labels."""
        return self.config["num_classes"] > 0

    def generate(self, z, labels=None):
        """G(z[, labels]): images (N, 1, 28, 28) in [-1, 1]."""
        return self.generator(z, labels) if self.conditional else self.generator(z)

    def discriminate(self, x, labels=None):
        """D(x[, labels]): one logit per image (N, 1)."""
        return self.discriminator(x, labels) if self.conditional else self.discriminator(x)


def discriminator_loss(real_logits, fake_logits):
    """BCE(D(x), 1) + BCE(D(G(z)), 0), each the batch mean, on logits."""
    return (F.binary_cross_entropy_with_logits(real_logits, ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, zeros_like(fake_logits)))


def generator_loss(fake_logits):
    """The non-saturating generator loss BCE(D(G(z)), 1)."""
    return F.binary_cross_entropy_with_logits(fake_logits, ones_like(fake_logits))

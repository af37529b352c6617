"""Batch transforms for image data sets: whole (N, C, H, W) float32 NumPy batches at a time, so
the data loader does no per-sample Python work. Random ones draw from dlcore's seeded generator
(one draw per batch), so after ``dlcore.manual_seed(s)`` the augmented batches are the same on
every run and thread count.

    t = Compose([RandomCrop(28, padding=2), RandomHorizontalFlip()])
    ds = dlcore.data.FashionMNIST("train", transform=t)
"""
from __future__ import annotations

import numbers

import numpy as np


def _batch(x, op):
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(f"{op}: expected a NumPy batch of shape (N, C, H, W), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    return x


def _uniform(n):
    from .._random import rand
    return rand(n).numpy() if n else np.zeros(0, np.float32)


class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {type(t).__name__}")

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return f"Compose({self.transforms!r})"


class Normalize:
    """(x - mean) / std per channel (``mean`` and ``std`` a number or one value per channel)."""

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, np.float32).reshape(-1)
        self.std = np.asarray(std, np.float32).reshape(-1)
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {std}")

    def __call__(self, x):
        x = _batch(x, "Normalize")
        c = x.shape[1]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.size not in (1, c):
                raise ValueError(f"Normalize: {name} has {v.size} values for {c} channels")
        shape = (1, -1, 1, 1)
        return ((x - self.mean.reshape(shape)) / self.std.reshape(shape)).astype(np.float32, copy=False)

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop:
    """Pad each image by ``padding`` on every side with ``fill`` and cut a ``size`` x ``size`` (or
    (h, w)) window at a uniformly random position, independently per image."""

    def __init__(self, size, padding=0, fill=0.0):
        self.size = (size, size) if isinstance(size, numbers.Integral) else tuple(size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be a positive int or (h, w), got {size}")
        if not isinstance(padding, numbers.Integral) or padding < 0:
            raise ValueError(f"RandomCrop: padding must be an int >= 0, got {padding}")
        self.padding, self.fill = int(padding), float(fill)

    def __call__(self, x):
        x = _batch(x, "RandomCrop")
        n, c, h, w = x.shape
        p, (th, tw) = self.padding, self.size
        if th > h + 2 * p or tw > w + 2 * p:
            raise ValueError(f"RandomCrop: crop {self.size} larger than the padded image {(h + 2 * p, w + 2 * p)}")
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.fill) if p else x
        u = _uniform(2 * n)
        oy = np.minimum((u[:n] * (h + 2 * p - th + 1)).astype(np.int64), h + 2 * p - th)
        ox = np.minimum((u[n:] * (w + 2 * p - tw + 1)).astype(np.int64), w + 2 * p - tw)
        rows = (oy[:, None] + np.arange(th))[:, None, :, None]
        cols = (ox[:, None] + np.arange(tw))[:, None, None, :]
        return xp[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols]

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``, independently per image."""

    def __init__(self, p=0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = float(p)

    def __call__(self, x):
        x = _batch(x, "RandomHorizontalFlip")
        flip = _uniform(x.shape[0]) < self.p
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"

"""Reference implementations for issue 21's Tensor ops (plain NumPy loops, clarity over speed)."""
import itertools

import numpy as np

from .index_ops import cumsum, cumsum_backward, gather, index_put, mask_rows, scatter  # noqa: F401


def prod_backward(x, dim, g):
    """Leave-one-out products, computed by explicit deletion (no division)."""
    x = np.moveaxis(np.asarray(x, np.float64), dim, -1)
    g = np.asarray(g, np.float64)[..., None]
    out = np.empty_like(x)
    for i in range(x.shape[-1]):
        out[..., i] = np.prod(np.delete(x, i, axis=-1), axis=-1)
    return np.moveaxis(out * g, -1, dim)


def norm(x, p, dim=None):
    a = np.abs(np.asarray(x, np.float64))
    if p == np.inf:
        return a.max(axis=dim)
    return (a ** p).sum(axis=dim) ** (1.0 / p)


def clamp_grad(x, lo, hi):
    """torch's clamp subgradient for x: 1 where lo <= x <= hi (boundaries included)."""
    return ((x >= lo) & (x <= hi)).astype(np.float64)


def sort(x, dim, descending):
    """Stable sort along dim by Python's sorted() on (key, index) pairs."""
    x = np.moveaxis(np.asarray(x), dim, -1)
    idx = np.empty(x.shape, np.int64)
    for pos in itertools.product(*(range(s) for s in x.shape[:-1])):
        row = x[pos]
        if descending:
            order = sorted(range(len(row)), key=lambda i: (-row[i], i))
        else:
            order = sorted(range(len(row)), key=lambda i: (row[i], i))
        idx[pos] = order
    vals = np.take_along_axis(x, idx, -1)
    return np.moveaxis(vals, -1, dim), np.moveaxis(idx, -1, dim)


def repeat(x, sizes):
    x = np.asarray(x).reshape((1,) * (len(sizes) - np.ndim(x)) + np.shape(x))
    for d, s in enumerate(sizes):
        x = np.concatenate([x] * s, axis=d) if s else np.take(x, [], axis=d)
    return x

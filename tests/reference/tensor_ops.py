"""Reference implementations for issue 21's Tensor ops (plain NumPy loops, clarity over speed)."""
import itertools

import numpy as np


def gather(x, dim, index):
    """out[pos] = x[pos with pos[dim] replaced by index[pos]]."""
    out = np.empty(index.shape, x.dtype)
    for pos in itertools.product(*(range(s) for s in index.shape)):
        src = list(pos)
        src[dim] = index[pos]
        out[pos] = x[tuple(src)]
    return out


def scatter(x, dim, index, src, add=False):
    """A copy of x; for each index position in C order, x[..index..] = (or +=) src[pos]."""
    out = x.copy()
    for pos in itertools.product(*(range(s) for s in index.shape)):
        dst = list(pos)
        dst[dim] = index[pos]
        if add:
            out[tuple(dst)] += src[pos]
        else:
            out[tuple(dst)] = src[pos]
    return out


def cumsum(x, dim):
    """Sequential running sums along dim (left to right)."""
    x = np.moveaxis(np.asarray(x), dim, 0)
    out = np.empty_like(x)
    acc = np.zeros_like(x[0])
    for k in range(x.shape[0]):
        acc = acc + x[k]
        out[k] = acc
    return np.moveaxis(out, 0, dim)


def cumsum_backward(g, dim):
    """Suffix sums: d/dx_k of sum_j g_j * cumsum_j = sum_{j >= k} g_j."""
    return np.flip(cumsum(np.flip(g, dim), dim), dim)


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


def mask_rows(x, mask):
    """x[mask] for a mask over the leading dims: the selected rows in C order."""
    rows = [x[pos] for pos in itertools.product(*(range(s) for s in mask.shape)) if mask[pos]]
    return np.array(rows, x.dtype).reshape((len(rows),) + x.shape[mask.ndim:])


def index_put(x, idx_arrays, values, accumulate):
    """x[i0, i1, ...] = values (+= with accumulate), position by position in C order."""
    out = x.copy()
    b = np.broadcast_arrays(*idx_arrays)
    k = len(idx_arrays)
    vals = np.broadcast_to(values, b[0].shape + x.shape[k:])
    for pos in itertools.product(*(range(s) for s in b[0].shape)):
        tgt = tuple(int(a[pos]) for a in b)
        if accumulate:
            out[tgt] += vals[pos]
        else:
            out[tgt] = vals[pos]
    return out

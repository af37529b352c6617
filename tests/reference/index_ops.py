"""References for the C++ index_ops family (csrc/ops/index_ops*): gather, scatter/scatter_add,
cumsum and its backward, boolean-mask row select and integer-array put (plain NumPy loops,
clarity over speed)."""
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

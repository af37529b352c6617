"""More references for issue 21's ops (plain NumPy, clarity over speed): the backward kernels,
clamp with torch's dtype rule, one_hot, chunk sizes and multinomial's draws.  The forward
references they build on are in tensor_ops.py."""
import math

import numpy as np

from tests.reference import random as ref_random
from tests.reference import tensor_ops as ref_t


def clamp(x, min=None, max=None):  # noqa: A002 - torch's names
    """max(x, lo) then min(., hi), in float64 for a float bound (the caller compares in the result's
    dtype) and in x's dtype otherwise."""
    x, lo, hi = np.asarray(x), min, max
    floaty = any(isinstance(b, float) or (isinstance(b, np.ndarray) and b.dtype.kind == "f") for b in (lo, hi))
    r = x.astype(np.float64) if floaty else x.copy()
    if lo is not None:
        r = np.where(r < lo, lo, r)
    if hi is not None:
        r = np.where(r > hi, hi, r)
    return r.astype(r.dtype if floaty else x.dtype)


def clamp_backward(g, x, lo, hi):
    """(grad for x, for min, for max) with array bounds: x where lo <= x <= hi, min where x < lo
    (and lo < hi), max where x > hi or hi < lo (torch's rules)."""
    g = np.asarray(g, np.float64)
    gx = g * ref_t.clamp_grad(x, lo, hi)
    gmin = np.where((x < lo) & (lo < hi), g, 0.0)
    gmax = np.where((x > hi) | (hi < lo), g, 0.0)
    return gx, gmin, gmax


def std(x, axis=None, correction=1, keepdims=False):
    """sqrt of the mean squared deviation, dividing by max(N - correction, 0)."""
    x = np.asarray(x, np.float64)
    m = x.mean(axis=axis, keepdims=True)
    n = x.size // max(m.size, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(((x - m) ** 2).sum(axis=axis, keepdims=keepdims) / max(n - correction, 0))


def norm(x, p="fro", dim=None, keepdim=False):
    """The vector p-norm (tensor_ops.norm) with torch's keepdim."""
    q = 2.0 if p == "fro" else float(p)
    if q == np.inf and np.size(x) == 0:  # max of nothing: 0, as a norm
        r = np.max(np.abs(x), axis=dim, initial=0.0)
    else:
        r = ref_t.norm(x, q, dim)
    if keepdim:
        axes = range(np.ndim(x)) if dim is None else (dim,) if isinstance(dim, int) else dim
        r = np.expand_dims(r, tuple(a % np.ndim(x) for a in axes))
    return r


def prod(x, dim=None, keepdim=False):
    x = np.asarray(x)
    if x.dtype.kind in "biu":
        x = x.astype(np.int64)
    return np.prod(x, axis=dim, keepdims=keepdim)


def scatter_into_zeros(g, dim, index, shape):
    """gather's gradient: zeros of `shape` with g added at index along dim (in C order)."""
    return ref_t.scatter(np.zeros(shape, np.float64), dim, index, np.asarray(g, np.float64), add=True)


def _padded(a, shape):
    out = np.zeros(shape, np.float64)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def scatter_backward(g, dim, index, src_shape):
    """(g with the written positions zeroed, g gathered at index zero-padded to src_shape)."""
    gx = ref_t.scatter(np.asarray(g, np.float64), dim, index, np.zeros(index.shape), add=False)
    return gx, _padded(ref_t.gather(np.asarray(g, np.float64), dim, index), src_shape)


def scatter_add_backward(g, dim, index, src_shape):
    return np.asarray(g, np.float64), _padded(ref_t.gather(np.asarray(g, np.float64), dim, index), src_shape)


def sort_backward(g, dim, indices, input_shape):
    """g put back at the (distinct along dim) positions it was sorted from, zeros elsewhere."""
    out = np.zeros(input_shape, np.float64)
    np.put_along_axis(out, np.asarray(indices), np.asarray(g, np.float64), axis=dim)
    return out


def masked_select(x, mask):
    xb, mb = np.broadcast_arrays(np.asarray(x), np.asarray(mask))
    return xb[mb]


def masked_select_backward(g, mask, input_shape):
    """g's entries put where the broadcast mask is True, summed back to input_shape."""
    shape = np.broadcast_shapes(tuple(input_shape), np.shape(mask))
    full = np.zeros(shape, np.float64)
    full[np.broadcast_to(mask, shape)] = g
    return sum_to(full, input_shape)


def sum_to(g, shape):
    """Sum a broadcast gradient back to `shape` (what autograd does after broadcasting)."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(0)
    for i, s in enumerate(shape):
        if s == 1 and g.shape[i] != 1:
            g = g.sum(i, keepdims=True)
    return g


def mask_rows_backward(g, mask, input_shape):
    out = np.zeros(input_shape, np.float64)
    out[np.asarray(mask)] = g
    return out


def put_rows(x, lead, rows, values, accumulate=False):
    """x seen as prod(x.shape[:lead]) rows; row r (negative from the end) set to (or += ) values."""
    out = np.array(x).reshape((-1,) + np.shape(x)[lead:])
    vals = np.broadcast_to(np.asarray(values, out.dtype), (len(rows),) + out.shape[1:])
    for k, r in enumerate(rows):
        out[r] = out[r] + vals[k] if accumulate else vals[k]
    return out.reshape(np.shape(x))


def repeat_backward(g, input_shape, sizes):
    """The sum of g's tiles: tile t covers [t*n, (t+1)*n) along each dim."""
    shape = (1,) * (len(sizes) - len(input_shape)) + tuple(input_shape)
    out = np.zeros(shape, np.float64)
    for tile in np.ndindex(*sizes):
        out += np.asarray(g, np.float64)[tuple(slice(t * n, (t + 1) * n) for t, n in zip(tile, shape))]
    return out.reshape(input_shape)


def chunk_sizes(n, chunks):
    """ceil(n / chunks)-sized pieces, the last one the rest; `chunks` empty pieces for n == 0."""
    if n == 0:
        return [0] * chunks
    size = math.ceil(n / chunks)
    return [min(size, n - s) for s in range(0, n, size)]


def chunk(x, chunks, dim=0):
    bounds = np.cumsum(chunk_sizes(np.shape(x)[dim], chunks))[:-1]
    return tuple(np.split(x, bounds, axis=dim))


def one_hot(x, num_classes=-1):
    k = int(np.max(x)) + 1 if num_classes == -1 else num_classes
    out = np.zeros(np.shape(x) + (k,), np.int64)
    for pos in np.ndindex(*np.shape(x)):
        out[pos + (x[pos],)] = 1
    return out


def multinomial(seed, probs, num_samples, replacement=False):
    """multinomial's draws after manual_seed(seed): with replacement the first category whose
    normalised CDF exceeds a uniform (never a zero-weight one); without, the num_samples smallest
    Exp(1)/p keys (uniforms from one draw of shape (rows, categories))."""
    p = np.atleast_2d(np.asarray(probs, np.float64))
    rows, c = p.shape
    out = np.empty((rows, num_samples), np.int64)
    u = ref_random.uniform(seed, 0, rows * (num_samples if replacement else c), 0.0, 1.0, np.float64)
    u = u.reshape(rows, num_samples if replacement else c)
    for r in range(rows):
        if replacement:
            cdf = np.cumsum(p[r]) / p[r].sum()
            last = max(j for j in range(c) if p[r, j] > 0)
            out[r] = [min(next((j for j in range(c) if cdf[j] > v), c - 1), last) for v in u[r]]
        else:
            keys = [(-math.log1p(-u[r, j]) / p[r, j] if p[r, j] > 0 else math.inf, j) for j in range(c)]
            out[r] = [j for _, j in sorted(keys)[:num_samples]]
    return out[0] if np.ndim(probs) == 1 else out

"""NumPy references of the pool family (plain loops, float64): max / average / adaptive pooling,
max unpooling, interpolation and pixel shuffle, forward and backward.  Written for clarity from
PyTorch's definitions; every function takes the public op's arguments.

Inputs are (N, C, [H,] W) or unbatched (C, [H,] W); the helpers bring them to (planes, H, W).
"""
from __future__ import annotations

import math

import numpy as np


def _pair(v, n):
    if isinstance(v, (list, tuple)):
        return tuple(v) * n if len(v) == 1 else tuple(v)
    return (v,) * n


def _planes(x, spatial):
    x = np.asarray(x, np.float64)
    lead = x.shape[:x.ndim - spatial]
    h, w = (x.shape[-2], x.shape[-1]) if spatial == 2 else (1, x.shape[-1])
    return x.reshape(-1, h, w), lead


def _back(a, lead, spatial):
    return a.reshape(lead + (a.shape[1:] if spatial == 2 else a.shape[2:]))


def out_size(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling output length."""
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    o = num // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _geom(spatial, kernel_size, stride, padding, dilation):
    k = _pair(kernel_size, spatial)
    s = k if stride is None else _pair(stride, spatial)
    p, d = _pair(padding, spatial), _pair(dilation, spatial)
    if spatial == 1:
        return (1, k[0]), (1, s[0]), (0, p[0]), (1, d[0])
    return k, s, p, d


# ---- max pooling ---------------------------------------------------------------------------------

def _max_pool(x, spatial, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    xp, lead = _planes(x, spatial)
    k, s, p, d = _geom(spatial, kernel_size, stride, padding, dilation)
    P, H, W = xp.shape
    OH, OW = out_size(H, k[0], s[0], p[0], d[0], ceil_mode), out_size(W, k[1], s[1], p[1], d[1], ceil_mode)
    out = np.zeros((P, OH, OW))
    idx = np.zeros((P, OH, OW), np.int64)
    for c in range(P):
        for i in range(OH):
            for j in range(OW):
                best, arg = -np.inf, None
                for a in range(k[0]):
                    for b in range(k[1]):
                        h, w = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]
                        if 0 <= h < H and 0 <= w < W:
                            v = xp[c, h, w]
                            if arg is None:
                                arg = h * W + w  # PyTorch starts from the first valid element
                            if v > best or np.isnan(v):  # first maximum wins; NaN propagates (the last NaN)
                                best, arg = v, h * W + w
                if arg is None:  # a window wholly in the padding: PyTorch's first position, off the plane
                    h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
                    h0, w0 = h0 + max(0, -(h0 // d[0])) * d[0], w0 + max(0, -(w0 // d[1])) * d[1]
                    arg = h0 * W + w0
                out[c, i, j], idx[c, i, j] = best, arg
    out, idx = _back(out, lead, spatial), _back(idx, lead, spatial)
    return (out, idx) if return_indices else out


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(x, 1, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(x, 2, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _scatter_backward(g, x, indices, spatial):
    xp, lead = _planes(x, spatial)
    n = int(np.prod(np.shape(g)[len(np.shape(g)) - spatial:]))
    gp = np.asarray(g, np.float64).reshape(xp.shape[0], n)
    ip = np.asarray(indices).reshape(xp.shape[0], n)
    gx = np.zeros((xp.shape[0], xp.shape[1] * xp.shape[2]))
    for c in range(xp.shape[0]):
        for t in range(gp.shape[1]):
            gx[c, ip[c, t]] += gp[c, t]
    return gx.reshape(np.shape(x))


def max_pool1d_backward(g, x, indices, *args, **kwargs):
    return _scatter_backward(g, x, indices, 1)


def max_pool2d_backward(g, x, indices, *args, **kwargs):
    return _scatter_backward(g, x, indices, 2)


# ---- average pooling -----------------------------------------------------------------------------

def _avg_windows(spatial, shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """[(i, j, h0, h1, w0, w1, divisor)] for every output position of a (H, W) plane."""
    k, s, p, _ = _geom(spatial, kernel_size, stride, padding, 1)
    H, W = shape
    OH, OW = out_size(H, k[0], s[0], p[0], 1, ceil_mode), out_size(W, k[1], s[1], p[1], 1, ceil_mode)
    wins = []
    for i in range(OH):
        for j in range(OW):
            hs, ws = i * s[0] - p[0], j * s[1] - p[1]
            he, we = min(hs + k[0], H + p[0]), min(ws + k[1], W + p[1])
            pool = (he - hs) * (we - ws)
            h0, w0, h1, w1 = max(hs, 0), max(ws, 0), min(he, H), min(we, W)
            div = divisor_override or (pool if count_include_pad else (h1 - h0) * (w1 - w0))
            wins.append((i, j, h0, h1, w0, w1, div))
    return OH, OW, wins


def _avg_pool(x, spatial, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
              divisor_override=None):
    xp, lead = _planes(x, spatial)
    OH, OW, wins = _avg_windows(spatial, xp.shape[1:], kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override)
    out = np.zeros((xp.shape[0], OH, OW))
    for i, j, h0, h1, w0, w1, div in wins:
        if h0 < h1 and w0 < w1:
            out[:, i, j] = xp[:, h0:h1, w0:w1].sum(axis=(1, 2)) / div
    return _back(out, lead, spatial)


def avg_pool1d(x, *args, **kwargs):
    return _avg_pool(x, 1, *args, **kwargs)


def avg_pool2d(x, *args, **kwargs):
    return _avg_pool(x, 2, *args, **kwargs)


def _avg_pool_backward(g, x, spatial, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                       divisor_override=None):
    xp, _ = _planes(x, spatial)
    OH, OW, wins = _avg_windows(spatial, xp.shape[1:], kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override)
    gp = np.asarray(g, np.float64).reshape(xp.shape[0], OH, OW)
    gx = np.zeros_like(xp)
    for i, j, h0, h1, w0, w1, div in wins:
        if h0 < h1 and w0 < w1:
            gx[:, h0:h1, w0:w1] += (gp[:, i, j] / div)[:, None, None]
    return gx.reshape(np.shape(x))


def avg_pool1d_backward(g, x, *args, **kwargs):
    return _avg_pool_backward(g, x, 1, *args, **kwargs)


def avg_pool2d_backward(g, x, *args, **kwargs):
    return _avg_pool_backward(g, x, 2, *args, **kwargs)


# ---- adaptive pooling ----------------------------------------------------------------------------

def _adaptive_windows(n, o):
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def _osize(output_size, x, spatial):
    vals = list(output_size) if isinstance(output_size, (list, tuple)) else [output_size] * spatial
    shape = np.shape(x)
    vals = [shape[len(shape) - spatial + i] if v is None else v for i, v in enumerate(vals)]
    return (1, vals[0]) if spatial == 1 else tuple(vals)


def _adaptive(x, output_size, spatial, is_max, return_indices=False):
    xp, lead = _planes(x, spatial)
    OH, OW = _osize(output_size, x, spatial)
    out = np.zeros((xp.shape[0], OH, OW))
    idx = np.zeros((xp.shape[0], OH, OW), np.int64)
    W = xp.shape[2]
    for i, (h0, h1) in enumerate(_adaptive_windows(xp.shape[1], OH)):
        for j, (w0, w1) in enumerate(_adaptive_windows(W, OW)):
            win = xp[:, h0:h1, w0:w1].reshape(xp.shape[0], (h1 - h0) * (w1 - w0))
            if not is_max:
                out[:, i, j] = win.mean(axis=1)
                continue
            for c in range(xp.shape[0]):
                nan = np.flatnonzero(np.isnan(win[c]))
                t = nan[-1] if nan.size else int(np.argmax(win[c]))
                out[c, i, j] = win[c, t]
                idx[c, i, j] = (h0 + t // (w1 - w0)) * W + w0 + t % (w1 - w0)
    out, idx = _back(out, lead, spatial), _back(idx, lead, spatial)
    return (out, idx) if return_indices else out


def adaptive_avg_pool1d(x, output_size):
    return _adaptive(x, output_size, 1, False)


def adaptive_avg_pool2d(x, output_size):
    return _adaptive(x, output_size, 2, False)


def adaptive_max_pool2d(x, output_size, return_indices=False):
    return _adaptive(x, output_size, 2, True, return_indices)


def _adaptive_avg_backward(g, x, spatial):
    xp, _ = _planes(x, spatial)
    g = np.asarray(g, np.float64)
    OH, OW = (g.shape[-2], g.shape[-1]) if spatial == 2 else (1, g.shape[-1])
    gp = g.reshape(xp.shape[0], OH, OW)
    gx = np.zeros_like(xp)
    for i, (h0, h1) in enumerate(_adaptive_windows(xp.shape[1], OH)):
        for j, (w0, w1) in enumerate(_adaptive_windows(xp.shape[2], OW)):
            gx[:, h0:h1, w0:w1] += (gp[:, i, j] / ((h1 - h0) * (w1 - w0)))[:, None, None]
    return gx.reshape(np.shape(x))


def adaptive_avg_pool1d_backward(g, x):
    return _adaptive_avg_backward(g, x, 1)


def adaptive_avg_pool2d_backward(g, x):
    return _adaptive_avg_backward(g, x, 2)


def adaptive_max_pool2d_backward(g, x, indices):
    return _scatter_backward(g, x, indices, 2)


# ---- max unpooling -------------------------------------------------------------------------------

def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    xp, lead = _planes(x, 2)
    k = _pair(kernel_size, 2)
    s = k if stride is None else _pair(stride, 2)
    p = _pair(padding, 2)
    if output_size is None:
        OH, OW = [(xp.shape[1 + d] - 1) * s[d] - 2 * p[d] + k[d] for d in range(2)]
    else:
        OH, OW = list(output_size)[-2:]
    flat = xp.reshape(xp.shape[0], xp.shape[1] * xp.shape[2])
    ip = np.asarray(indices).reshape(flat.shape)
    out = np.zeros((xp.shape[0], OH * OW))
    for c in range(xp.shape[0]):
        for t in range(ip.shape[1]):
            out[c, ip[c, t]] = flat[c, t]
    return out.reshape(lead + (OH, OW))


def max_unpool2d_backward(g, indices):
    g = np.asarray(g, np.float64)
    planes = int(np.prod(g.shape[:-2]))
    gp = g.reshape(planes, g.shape[-2] * g.shape[-1])
    ip = np.asarray(indices)
    flat = ip.reshape(planes, ip.shape[-2] * ip.shape[-1])
    out = np.zeros(flat.shape)
    for c in range(planes):
        out[c] = gp[c, flat[c]]
    return out.reshape(ip.shape)


# ---- interpolation -------------------------------------------------------------------------------

def _axis_matrix(n_in, n_out, scale, mode, align_corners):
    """(n_out, n_in) interpolation weights along one axis, PyTorch's source positions: nearest
    modes in float32 arithmetic (as PyTorch computes them), linear modes in float64."""
    A = np.zeros((n_out, n_in))
    for o in range(n_out):
        if mode in ("nearest", "nearest-exact"):
            sc = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
            if mode == "nearest":
                src = o if n_out == n_in else o >> 1 if n_out == 2 * n_in else int(np.floor(np.float32(o) * sc))
            else:
                src = int(np.floor(np.float32((o + 0.5) * np.float64(sc))))
            A[o, min(src, n_in - 1)] = 1.0
            continue
        if align_corners:
            real = (n_in - 1) / (n_out - 1) * o if n_out > 1 else 0.0
        else:
            sc = 1.0 / scale if scale else n_in / n_out
            real = max(sc * (o + 0.5) - 0.5, 0.0)
        i0 = min(int(math.floor(real)), n_in - 1)
        lam = min(max(real - i0, 0.0), 1.0)
        i1 = i0 + (1 if i0 < n_in - 1 else 0)
        A[o, i0] += 1.0 - lam
        A[o, i1] += lam
    return A


def _interp_matrices(shape, size, scale_factor, mode, align_corners, recompute_scale_factor):
    dim = len(shape) - 2
    if size is not None:
        out = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        scales = [None] * dim
    else:
        sf = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dim
        out = [math.floor(shape[2 + d] * float(sf[d])) for d in range(dim)]
        scales = [None] * dim if recompute_scale_factor else [float(v) for v in sf]
    return [_axis_matrix(shape[2 + d], out[d], scales[d], mode, bool(align_corners)) for d in range(dim)]


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
    x = np.asarray(x, np.float64)
    mats = _interp_matrices(x.shape, size, scale_factor, mode, align_corners, recompute_scale_factor)
    if x.ndim == 3:
        return np.einsum("ncl,ol->nco", x, mats[0])
    return np.einsum("nchw,oh,pw->ncop", x, mats[0], mats[1])


def interpolate_backward(g, input_size, size=None, scale_factor=None, mode="nearest", align_corners=None,
                         recompute_scale_factor=None):
    g = np.asarray(g, np.float64)
    mats = _interp_matrices(tuple(input_size), size, scale_factor, mode, align_corners, recompute_scale_factor)
    if g.ndim == 3:
        return np.einsum("nco,ol->ncl", g, mats[0])
    return np.einsum("ncop,oh,pw->nchw", g, mats[0], mats[1])


# ---- pixel shuffle -------------------------------------------------------------------------------

def pixel_shuffle(x, r):
    x = np.asarray(x, np.float64)
    *b, c, h, w = x.shape
    out = np.zeros((*b, c // (r * r), h * r, w * r))
    for oc in range(c // (r * r)):
        for i in range(r):
            for j in range(r):
                out[..., oc, i::r, j::r] = x[..., oc * r * r + i * r + j, :, :]
    return out


def pixel_unshuffle(x, r):
    x = np.asarray(x, np.float64)
    *b, c, h, w = x.shape
    out = np.zeros((*b, c * r * r, h // r, w // r))
    for oc in range(c):
        for i in range(r):
            for j in range(r):
                out[..., oc * r * r + i * r + j, :, :] = x[..., oc, i::r, j::r]
    return out


def pixel_shuffle_backward(g, r):
    return pixel_unshuffle(g, r)


def pixel_unshuffle_backward(g, r):
    return pixel_shuffle(g, r)

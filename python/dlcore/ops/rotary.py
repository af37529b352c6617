"""Rotary position embedding (RoPE), array level: ``rotary_embedding`` and its backward.

Layout: the "half-rotation" (GPT-NeoX / Hugging Face ``rotate_half``) convention.  With
r = cos.shape[-1], the first 2r features of the last dim of x are split into halves
x1 = x[..., :r] and x2 = x[..., r:2r], and feature i of x1 is rotated together with feature i of x2
by the angle whose cosine and sine are cos[..., i] and sin[..., i]:

    out[..., :r]   = x1 * cos - x2 * sin
    out[..., r:2r] = x2 * cos + x1 * sin
    out[..., 2r:]  = x[..., 2r:]          (partial rotary, GPT-NeoX's rotary_pct < 1)

cos and sin broadcast against x[..., :r]; typically they are (L, r) for x of shape (..., L, E).
(The interleaved GPT-J / original-paper layout pairs features 2i and 2i+1 instead; it equals this
one after permuting the features of the q and k projections, which is how checkpoints convert.)
A rotation is orthogonal, so the backward is the rotation by the opposite angle (sin -> -sin).
cos and sin are tables (buffers) and get no gradient.

NumPy computes it: the op is memory-bound (a few flops per element), any input strides are read
once, and the result does not depend on the thread count.
"""
from __future__ import annotations

import numpy as np

from ._numpy_bridge import as_numpy as _np, result as _out

__all__ = ["rotary_embedding", "rotary_embedding_backward"]


def _check(x, cos, sin, op):
    a, c, s = _np(x, op), _np(cos, op), _np(sin, op)
    for name, v in (("x", a), ("cos", c), ("sin", s)):
        if v.dtype.kind != "f":
            raise TypeError(f"{op}: expected a floating-point {name}, got {v.dtype}")
    if a.ndim == 0:
        raise ValueError(f"{op}: expected x with at least one dim, got a 0-d array")
    if c.shape != s.shape:
        raise ValueError(f"{op}: cos and sin must have the same shape, got {c.shape} and {s.shape}")
    if c.ndim == 0:
        raise ValueError(f"{op}: cos and sin need a last dim (the number of rotated pairs), got 0-d")
    r = c.shape[-1]
    if 2 * r > a.shape[-1]:
        raise ValueError(f"{op}: cos/sin rotate 2 * {r} = {2 * r} features but x's last dim is {a.shape[-1]}")
    target = a.shape[:-1] + (r,)
    try:
        fits = np.broadcast_shapes(target, c.shape) == target
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{op}: cos/sin of shape {c.shape} do not broadcast to x[..., :{r}] of shape {target}")
    return a, c, s, r


def _rotate(a, c, s, r):
    dt = np.result_type(a.dtype, c.dtype, s.dtype)
    out = np.empty(a.shape, dt)
    x1, x2 = a[..., :r], a[..., r:2 * r]
    np.subtract(x1 * c, x2 * s, out=out[..., :r], casting="unsafe")
    np.add(x2 * c, x1 * s, out=out[..., r:2 * r], casting="unsafe")
    out[..., 2 * r:] = a[..., 2 * r:]
    return out


def rotary_embedding(x, cos, sin):
    """Rotary position embedding of x (..., L, E) with the tables cos, sin (broadcastable to
    (..., L, r), 2r <= E) in the half-rotation (GPT-NeoX) layout: the first r features rotate with
    the next r, features past 2r pass through.  The result has x's shape and the promoted float
    dtype.  ValueError/TypeError naming the op for bad shapes or dtypes.  See the module docstring."""
    a, c, s, r = _check(x, cos, sin, "rotary_embedding")
    return _out(_rotate(a, c, s, r), x)


def rotary_embedding_backward(grad, cos, sin):
    """Gradient of ``rotary_embedding`` w.r.t. x: the rotation of ``grad`` by the opposite angle
    (the transpose of an orthogonal map).  cos and sin get no gradient."""
    g, c, s, r = _check(grad, cos, sin, "rotary_embedding_backward")
    return _out(_rotate(g, c, -s, r), grad)

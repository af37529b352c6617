"""NumPy reference of scaled_dot_product_attention: the plain softmax(Q K^T scale + bias) V with
its L x S matrices, and its gradient (the spec of dlcore.ops.scaled_dot_product_attention)."""
from __future__ import annotations

import numpy as np


def _expand_heads(k, hq):
    """GQA: key/value head h // (hq // hk) for query head h (torch's repeat_interleave)."""
    hk = k.shape[-3]
    return np.repeat(k, hq // hk, axis=-3) if hk != hq else k


def dropout_keep(seed, bh, L, S, p):
    """The kernel's dropout factors of flat head bh: Philox word j % 4 of counter
    (j // 4, i, lo32(bh), hi32(bh)) under key (lo32(seed), hi32(seed)); kept if >= p * 2^32."""
    from dlcore import _core
    thr = int(p * 4294967296.0)
    key = [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF]
    z = np.zeros((L, S))
    for i in range(L):
        for j4 in range(0, S, 4):
            w = _core.philox4x32_10([j4 // 4, i, bh & 0xFFFFFFFF, bh >> 32], key)
            for j in range(j4, min(S, j4 + 4)):
                z[i, j] = 1.0 / (1.0 - p) if w[j - j4] >= thr else 0.0
    return z


def _bias(q, k, attn_mask, is_causal, alibi_slopes):
    L, S = q.shape[-2], k.shape[-2]
    bias = np.zeros((L, S))
    if attn_mask is not None:
        m = np.asarray(attn_mask)
        bias = np.where(m, 0.0, -np.inf) if m.dtype == np.bool_ else m.astype(np.float64)
    if is_causal:
        bias = bias + np.where(np.tril(np.ones((L, S), bool)), 0.0, -np.inf)
    if alibi_slopes is not None:
        rel = np.arange(S)[None, :] - np.arange(L)[:, None]
        bias = bias + np.asarray(alibi_slopes, np.float64)[..., None, None] * rel
    return bias


def _dropout(seed, p, shape):
    if p == 0:
        return 1.0
    *lead, L, S = shape
    n = int(np.prod(lead, dtype=np.int64))
    return np.stack([dropout_keep(seed, bh, L, S, p) for bh in range(n)]).reshape(shape)


def forward(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False,
            alibi_slopes=None, dropout_seed=0):
    """(out, logsumexp, probabilities) in float64; fully masked rows give zeros and -inf."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    if enable_gqa:
        k, v = _expand_heads(k, q.shape[-3]), _expand_heads(v, q.shape[-3])
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale + _bias(q, k, attn_mask, is_causal, alibi_slopes)
    m = s.max(axis=-1, keepdims=True)
    empty = m == -np.inf
    e = np.where(empty, 0.0, np.exp(s - np.where(empty, 0.0, m)))
    total = e.sum(axis=-1, keepdims=True)
    p = np.where(empty, 0.0, e / np.where(empty, 1.0, total))
    z = _dropout(dropout_seed, dropout_p, p.shape)
    out = (p * z) @ v
    lse = np.where(empty, -np.inf, m + np.log(np.where(empty, 1.0, total)))[..., 0]
    return out, lse, p


def sdpa(q, k, v, **kw):
    """The output alone (float64)."""
    return forward(q, k, v, **kw)[0]


def backward(g, q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False,
             alibi_slopes=None, dropout_seed=0):
    """(grad_q, grad_k, grad_v) of sum(g * out), float64, summed back over broadcast and GQA heads."""
    qf, kf, vf = (np.asarray(x, np.float64) for x in (q, k, v))
    ke, ve = (_expand_heads(kf, qf.shape[-3]), _expand_heads(vf, qf.shape[-3])) if enable_gqa else (kf, vf)
    scale = 1.0 / np.sqrt(qf.shape[-1]) if scale is None else scale
    _, _, p = forward(qf, ke, ve, attn_mask, 0.0, is_causal, scale, False, alibi_slopes)
    z = _dropout(dropout_seed, dropout_p, p.shape)
    g = np.asarray(g, np.float64)
    gv = np.swapaxes(p * z, -1, -2) @ g
    dp = (g @ np.swapaxes(ve, -1, -2)) * z
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True)) * scale
    gq = ds @ ke
    gk = np.swapaxes(ds, -1, -2) @ qf
    if enable_gqa and kf.shape[-3] != qf.shape[-3]:
        hk, grp = kf.shape[-3], qf.shape[-3] // kf.shape[-3]
        gk = gk.reshape(gk.shape[:-3] + (hk, grp) + gk.shape[-2:]).sum(axis=-3)
        gv = gv.reshape(gv.shape[:-3] + (hk, grp) + gv.shape[-2:]).sum(axis=-3)
    return _sum_to(gq, qf.shape), _sum_to(gk, kf.shape), _sum_to(gv, vf.shape)


def _sum_to(g, shape):
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g

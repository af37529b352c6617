"""OpInfo entries of the fused attention ops (issue 25): scaled_dot_product_attention and its
backward.  Imported by tests/opinfo.py."""
from __future__ import annotations

import numpy as np

from dlcore import ops
from tests.opinfo import ErrorInput, OpInfo, S, add, arr
from tests.reference import attention as ref_attn


def _samples(n):
    q, k, v = arr(n, 2, 5, 4), arr(n, 2, 7, 4, seed=1), arr(n, 2, 7, 3, seed=2)
    mask = arr(5, 7, dtype=np.bool_, seed=3)
    mask[:, 0] = True
    return [S(q, k, v), S(q, k, v, is_causal=True), S(q, k, v, attn_mask=mask),
            S(q, k, v, attn_mask=arr(1, 5, 7, seed=4), scale=0.3),
            S(arr(n, 4, 6, 8, seed=5), arr(n, 2, 6, 8, seed=6), arr(n, 2, 6, 5, seed=7), enable_gqa=True,
              is_causal=True),
            S(q, k, v, alibi_slopes=np.array([0.5, 0.25]))]


def _grad(g, q, k, v, **kw):
    out, lse = ops.scaled_dot_product_attention(q, k, v, return_logsumexp=True, **kw)
    return ops.scaled_dot_product_attention_backward(g, q, k, v, out, lse, **kw)


def _bwd_samples(n):
    res = []
    for s in _samples(n)[:3]:
        q, k, v = s.args
        out, lse = ops.scaled_dot_product_attention(q, k, v, return_logsumexp=True, **s.kwargs)
        g = arr(*out.shape, seed=9)
        res.append(S(g, q, k, v, out, lse, **s.kwargs))
    return res


_q, _k, _v = arr(1, 2, 3, 4), arr(1, 2, 5, 4, seed=1), arr(1, 2, 5, 6, seed=2)
_ERRORS = [
    ErrorInput((_q, arr(1, 2, 5, 3), _v)),                                        # head dims differ
    ErrorInput((arr(1, 3, 3, 4), _k, _v), dict(enable_gqa=True)),                 # 3 heads over 2
    ErrorInput((arr(1, 4, 3, 4), _k, _v)),                                         # GQA without enable_gqa
    ErrorInput((_q, _k, _v), dict(attn_mask=arr(3, 4, dtype=np.bool_))),          # mask shape
    ErrorInput((_q, _k, _v), dict(attn_mask=arr(3, 5, dtype=np.int64)), TypeError),  # mask dtype
    ErrorInput((_q, _k, _v), dict(attn_mask=arr(3, 5, dtype=np.bool_), is_causal=True)),
    ErrorInput((_q, _k, _v), dict(dropout_p=1.0)),
    ErrorInput((_q, _k, _v), dict(dropout_p=-0.1)),
    ErrorInput((_q.astype(np.int64), _k, _v), exc=TypeError),
    ErrorInput((_q, _k.astype(np.float32), _v), exc=TypeError),
    ErrorInput((_q, _k, _v), dict(alibi_slopes=np.ones(3))),
]

add(OpInfo("scaled_dot_product_attention", _samples, ref=ref_attn.sdpa, grad=_grad, wrt=(0, 1, 2),
           errors=_ERRORS))

add(OpInfo("scaled_dot_product_attention_backward", _bwd_samples, grad_of="scaled_dot_product_attention",
           errors=[ErrorInput((arr(1, 2, 3, 5), _q, _k, _v, arr(1, 2, 3, 6), arr(1, 2, 3))),  # grad_out shape
                   ErrorInput((arr(1, 2, 3, 6), _q, _k, _v, arr(1, 2, 3, 6), arr(1, 2, 3)),
                              dict(dropout_p=0.5))]))                                   # no seed

"""``scaled_dot_product_attention`` for dlcore Tensors, with autograd (the fused kernel of
``dlcore.ops.scaled_dot_product_attention``; see that module for the semantics)."""
from __future__ import annotations

from .. import ops
from ..autograd.function import Function
from ..ops import attention as _attn

__all__ = ["scaled_dot_product_attention"]


class ScaledDotProductAttention(Function):
    """out = softmax(q k^T scale + mask) v, fused.  Saves out and the per-row logsumexp (O(L), not
    the L x S probabilities); the backward recomputes the probabilities tile by tile.  With dropout,
    the seed is drawn once here and handed to both kernels, so the backward's mask is the forward's."""

    @staticmethod
    def forward(ctx, q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, alibi_slopes, seed):
        out, lse = ops.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                                                    alibi_slopes, return_logsumexp=True, dropout_seed=seed)
        ctx.args = (attn_mask, dropout_p, is_causal, scale, enable_gqa, alibi_slopes, seed)
        ctx.save_for_backward(q, k, v, out, lse)
        return out

    @staticmethod
    def backward(ctx, g):
        q, k, v, out, lse = ctx.saved_tensors
        attn_mask, dropout_p, is_causal, scale, enable_gqa, alibi_slopes, seed = ctx.args
        gq, gk, gv = ops.scaled_dot_product_attention_backward(g, q, k, v, out, lse, attn_mask, dropout_p, is_causal,
                                                               scale, enable_gqa, alibi_slopes, dropout_seed=seed)
        return gq, gk, gv, None, None, None, None, None, None, None


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False, alibi_slopes=None):
    """``torch.nn.functional.scaled_dot_product_attention`` on dlcore Tensors, differentiable in
    query, key and value (not in a float attn_mask).  Extra: ``alibi_slopes`` (one per head; adds
    ``slope * (j - i)`` inside the kernel).  A fully masked query row gives zeros (torch: NaN)."""
    from .functional import _tensor
    op = "scaled_dot_product_attention"
    q, k, v = _tensor(query, op, "query"), _tensor(key, op, "key"), _tensor(value, op, "value")
    seed = _attn.draw_dropout_seed() if dropout_p and float(dropout_p) > 0 else None
    return ScaledDotProductAttention.apply(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, alibi_slopes,
                                           seed)

"""The pieces GPT takes from the layer library, each with a local stand-in.

GPT is built on ``nn.LayerNorm``, ``nn.functional.scaled_dot_product_attention`` (the fused
attention kernel) and ``nn.positional.rotary_embedding``.  Each is looked up when used; where the
library does not provide it yet, a stand-in composed of differentiable dlcore Tensor operations
computes the same function (same parameter names, same semantics as torch), so the model, its
parameter names and its checkpoints are the same either way.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core, nn
from .._tensor import Tensor
from ..nn import functional as F
from ..nn import init

__all__ = ["layer_norm", "attention", "rotary", "rope_tables", "as_index"]


class LayerNormStandIn(nn.Module):
    """torch.nn.LayerNorm over the last dim (weight, optional bias, eps 1e-5, biased variance),
    composed of Tensor operations; used when dlcore.nn has no LayerNorm."""

    def __init__(self, normalized_shape, eps=1e-5, bias=True):
        super().__init__()
        self.normalized_shape = (int(normalized_shape),)
        self.eps = float(eps)
        self.weight = nn.Parameter(Tensor(_core.empty(self.normalized_shape, "float32", "cpu")))
        if bias:
            self.bias = nn.Parameter(Tensor(_core.empty(self.normalized_shape, "float32", "cpu")))
        else:
            self.register_parameter("bias", None)
        init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        """(x - mean) / sqrt(var + eps) * weight + bias over the last dim."""
        centered = x - x.mean(-1, keepdim=True)
        var = (centered * centered).mean(-1, keepdim=True)
        y = centered * (var + self.eps).rsqrt() * self.weight
        return y + self.bias if self.bias is not None else y


def layer_norm(n, bias=True):
    """A LayerNorm module over n features (bias optional, as GPT's config.bias)."""
    cls = getattr(nn, "LayerNorm", None)
    if cls is not None:
        try:
            return cls(n, bias=bias)
        except TypeError:  # a LayerNorm without the bias switch
            if bias:
                return cls(n)
    return LayerNormStandIn(n, bias=bias)


_NEG_INF_MASKS = {}


def _causal_mask(L, S):
    """Bool (L, S) True above the diagonal (top-left aligned, torch's is_causal): the masked keys."""
    key = (L, S)
    if key not in _NEG_INF_MASKS:
        _NEG_INF_MASKS[key] = Tensor(_core.as_tensor(np.triu(np.ones((L, S), dtype=bool), 1)))
    return _NEG_INF_MASKS[key]


def attention(q, k, v, dropout_p, is_causal):
    """softmax(q k^T / sqrt(D) [+ causal mask]) v with dropout on the weights: the fused
    kernel when dlcore provides it, else explicitly (same semantics)."""
    fused = getattr(F, "scaled_dot_product_attention", None)
    if fused is not None:
        return fused(q, k, v, dropout_p=dropout_p, is_causal=is_causal)
    scores = q.matmul(k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    if is_causal:
        scores = scores.masked_fill(_causal_mask(q.shape[-2], k.shape[-2]), float("-inf"))
    weights = F.softmax(scores, -1)
    if dropout_p:
        weights = F.dropout(weights, dropout_p, True)
    return weights.matmul(v)


def rope_tables(length, head_dim, base=10000.0):
    """(cos, sin) float32 Tensors (length, head_dim / 2) of RoPE's angles p * base^(-2i/head_dim),
    computed in float64 and rounded once (as nn.RotaryEmbedding)."""
    inv = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    ang = np.arange(length, dtype=np.float64)[:, None] * inv
    as_t = lambda a: Tensor(_core.as_tensor(np.ascontiguousarray(a.astype(np.float32))))  # noqa: E731
    return as_t(np.cos(ang)), as_t(np.sin(ang))


def rotary(x, cos, sin):
    """x (..., T, D) rotated in the half-rotation (GPT-NeoX) layout: feature i of the first half
    with feature i of the second, by the angles of cos/sin (T, D/2); differentiable in x."""
    positional = getattr(nn, "positional", None)
    fn = getattr(positional, "rotary_embedding", None)
    if fn is not None:
        return fn(x, cos, sin)
    r = cos.shape[-1]
    x1, x2 = x[..., :r], x[..., r:]
    from .. import cat

    return cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)


def as_index(x, op):
    """An int64 Tensor from a Tensor, NumPy array or nested list of token ids."""
    if isinstance(x, Tensor):
        if str(x.dtype) != "int64":
            raise TypeError(f"{op}: expected int64 token ids, got {x.dtype}")
        return x
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer token ids, got {a.dtype}")
    return Tensor(_core.as_tensor(np.ascontiguousarray(a, dtype=np.int64)))

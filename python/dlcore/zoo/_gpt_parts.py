"""The pieces GPT takes from the layer library.

GPT is built on ``nn.LayerNorm``, ``nn.functional.scaled_dot_product_attention`` (the fused
attention kernel) and rotary embeddings: ``nn.positional.rotary_embedding`` where dlcore has it,
else the same half-rotation composed of differentiable Tensor operations here.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .. import _core, nn
from .._tensor import Tensor
from ..nn import functional as F

__all__ = ["layer_norm", "attention", "rotary", "rope_tables", "as_index"]


def layer_norm(n, bias=True):
    """nn.LayerNorm over n features (bias optional, as GPT's config.bias)."""
    return nn.LayerNorm(n, bias=bias)


def attention(q, k, v, dropout_p, is_causal):
    """softmax(q k^T / sqrt(D) [+ causal mask]) v with dropout on the weights: the fused kernel
    (nn.functional.scaled_dot_product_attention)."""
    return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=is_causal)


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


class ConfigDict:
    """to_dict / from_dict for the zoo's dataclass configs (what checkpoints store as JSON)."""

    def to_dict(self):
        """The fields as a plain dict (JSON-serialisable; what checkpoints store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        """A config from :meth:`to_dict`'s output (unknown keys raise ValueError)."""
        extra = set(d) - {f.name for f in dataclasses.fields(cls)}
        if extra:
            raise ValueError(f"{cls.__name__}: unknown fields {sorted(extra)}")
        return cls(**d)

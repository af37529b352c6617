"""Positional encodings: sinusoidal (Vaswani et al.'s formula), learned absolute, rotary (RoPE,
``dlcore.ops.rotary_embedding`` with autograd) and the ALiBi slopes.

    pe = nn.SinusoidalPositionalEncoding(d_model=512)        # x (L, N, E) -> x + pe[:L]
    rope = nn.RotaryEmbedding(head_dim=64)                   # q, k (..., L, 64) -> rotated q, k
    slopes = nn.alibi_slopes(8)                              # for the kernel's alibi_slopes=
    bias = nn.positional.alibi_bias(slopes, L, S)     # or as an additive float attn_mask

Relative position biases (T5-style, ALiBi) reach attention as an additive float ``attn_mask``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from .. import ops as _ops
from .._dtype import as_dtype
from .._tensor import Tensor
from ..autograd.function import Function
from . import functional as F
from . import init
from .layers import _empty
from .module import Module
from .parameter import Parameter

__all__ = ["SinusoidalPositionalEncoding", "LearnedPositionalEmbedding", "RotaryEmbedding", "rotary_embedding",
           "alibi_slopes", "alibi_bias", "sinusoidal_table"]


def _tensor(a) -> Tensor:
    return Tensor(_core.as_tensor(np.ascontiguousarray(a)))


def _impl(x):
    return x._impl if isinstance(x, Tensor) else _core.as_tensor(np.ascontiguousarray(np.asarray(x)))


class _Rotary(Function):
    """x -> ops.rotary_embedding(x, cos, sin); the gradient flows to x only (cos/sin are tables)."""

    @staticmethod
    def forward(ctx, x, cos, sin):
        ctx.save_for_backward(cos, sin)
        return _ops.rotary_embedding(x, cos, sin)

    @staticmethod
    def backward(ctx, g):
        cos, sin = ctx.saved_tensors
        return _ops.rotary_embedding_backward(g, cos, sin), None, None


def rotary_embedding(x, cos, sin):
    """Differentiable ``dlcore.ops.rotary_embedding`` (half-rotation / GPT-NeoX layout) on Tensors:
    rotates feature i of x[..., :r] with feature i of x[..., r:2r] by the angle given by
    cos[..., i], sin[..., i] (r = cos.shape[-1]).  The gradient flows to x, not to cos/sin."""
    if not isinstance(x, Tensor):
        raise TypeError(f"rotary_embedding: expected x to be a dlcore.Tensor, got {type(x).__name__}")
    return _Rotary.apply(x, _impl(cos), _impl(sin))


def sinusoidal_table(length, d_model, base=10000.0, dtype=np.float32):
    """The classic table (Vaswani et al. 2017) as a NumPy array (length, d_model):
    pe[p, 2i] = sin(p / base^(2i / d_model)), pe[p, 2i + 1] = cos(p / base^(2i / d_model)).
    Computed in float64 and rounded once.  An odd d_model drops the last cosine column."""
    if length < 0 or d_model <= 0:
        raise ValueError(f"sinusoidal_table: expected length >= 0 and d_model > 0, got {length} and {d_model}")
    pos = np.arange(length, dtype=np.float64)[:, None]
    inv = base ** (-np.arange(0, d_model, 2, dtype=np.float64) / d_model)
    pe = np.zeros((length, d_model), np.float64)
    pe[:, 0::2] = np.sin(pos * inv)
    pe[:, 1::2] = np.cos(pos * inv)[:, :d_model // 2]
    return pe.astype(dtype)


def _seq_dim(x, batch_first, op):
    if x.ndim < 2:
        raise ValueError(f"{op}: expected input (L, E), (L, N, E) or, with batch_first, (N, L, E); got {x.shape}")
    return 1 if (batch_first and x.ndim == 3) else 0


def _positions_for(x, table, seq_dim, offset, op):
    """table[offset:offset + L] shaped to broadcast against x (L, E), (L, N, E) or (N, L, E)."""
    L, E = x.shape[seq_dim], x.shape[-1]
    if E != table.shape[1]:
        raise ValueError(f"{op}: expected input's last dim {table.shape[1]} (d_model), got {E}")
    if offset < 0 or offset + L > table.shape[0]:
        raise ValueError(f"{op}: positions {offset}..{offset + L - 1} exceed max_len {table.shape[0]}")
    rows = table[offset:offset + L]
    if x.ndim == 3 and seq_dim == 0:
        rows = rows.unsqueeze(1)
    return rows


class SinusoidalPositionalEncoding(Module):
    """Adds the fixed sinusoidal encoding (``sinusoidal_table``) to x of shape (L, N, E), (N, L, E)
    with batch_first, or unbatched (L, E), then applies dropout (as in the PyTorch tutorial and the
    original paper).  The table is a non-persistent buffer ``pe`` (max_len, d_model): it is a
    function of the constructor arguments, so checkpoints do not store it.  ``offset`` shifts the
    positions (incremental decoding)."""

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=False, base=10000.0, dtype=None):
        super().__init__()
        self.d_model, self.max_len, self.batch_first, self.base = int(d_model), int(max_len), batch_first, base
        self.dropout = float(dropout)  # p, applied in forward
        table = sinusoidal_table(self.max_len, self.d_model, base, np.dtype(as_dtype(dtype) or np.float32))
        self.register_buffer("pe", _tensor(table), persistent=False)

    def forward(self, x, offset=0):
        """x + pe[offset:offset + L] along the sequence dim, then dropout."""
        rows = _positions_for(x, self.pe, _seq_dim(x, self.batch_first, "SinusoidalPositionalEncoding"), offset,
                              "SinusoidalPositionalEncoding")
        return F.dropout(x + rows, self.dropout, self.training)

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}, dropout={self.dropout}, batch_first={self.batch_first}"


class LearnedPositionalEmbedding(Module):
    """Learned absolute positions (BERT, GPT-2): a Parameter ``weight`` (max_len, d_model) ~
    N(0, init_std^2) (GPT-2 uses 0.02, the default here); forward adds weight[offset:offset + L] to
    x (L, N, E), (N, L, E) with batch_first, or (L, E), then applies dropout."""

    def __init__(self, max_len, d_model, dropout=0.0, batch_first=False, init_std=0.02, dtype=None):
        super().__init__()
        self.max_len, self.d_model, self.batch_first, self.dropout = int(max_len), int(d_model), batch_first, dropout
        self.init_std = init_std
        self.weight = Parameter(_empty((self.max_len, self.d_model), dtype))
        self.reset_parameters()

    def reset_parameters(self):
        """weight ~ N(0, init_std^2) from dlcore's seeded generator."""
        init.normal_(self.weight, 0.0, self.init_std)

    def forward(self, x, offset=0):
        """x + weight[offset:offset + L] along the sequence dim, then dropout."""
        rows = _positions_for(x, self.weight, _seq_dim(x, self.batch_first, "LearnedPositionalEmbedding"), offset,
                              "LearnedPositionalEmbedding")
        return F.dropout(x + rows, self.dropout, self.training)

    def extra_repr(self):
        return f"{self.max_len}, {self.d_model}, batch_first={self.batch_first}"


class RotaryEmbedding(Module):
    """Rotary position embedding (Su et al., RoPE) in the half-rotation (GPT-NeoX / Hugging Face)
    layout: feature i of the first half of the rotated dims pairs with feature i of the second
    half, rotated by angle p * base^(-2i / rotary_dim) at position p.

    ``rotary_dim`` (default: head_dim) may be smaller than head_dim (GPT-NeoX's rotary_pct): the
    remaining features pass through.  The caches ``cos_cached`` / ``sin_cached`` (max_len,
    rotary_dim / 2) are non-persistent buffers, computed in float64 and rounded once, grown on
    demand.  ``forward(x, offset=0)`` rotates x (..., L, head_dim) at positions offset..offset+L-1;
    apply it to queries and keys (not values) after splitting heads."""

    def __init__(self, head_dim, rotary_dim=None, max_len=2048, base=10000.0, dtype=None):
        super().__init__()
        self.head_dim = int(head_dim)
        self.rotary_dim = self.head_dim if rotary_dim is None else int(rotary_dim)
        if self.rotary_dim <= 0 or self.rotary_dim % 2 or self.rotary_dim > self.head_dim:
            raise ValueError(f"RotaryEmbedding: rotary_dim must be even, positive and <= head_dim "
                             f"({self.head_dim}), got {self.rotary_dim}")
        self.base = float(base)
        self._dtype = np.dtype(as_dtype(dtype) or np.float32)
        self._build(int(max_len))

    def _build(self, n):
        inv = self.base ** (-np.arange(0, self.rotary_dim, 2, dtype=np.float64) / self.rotary_dim)
        ang = np.arange(n, dtype=np.float64)[:, None] * inv
        self.max_len = n
        # a regrown cache keeps the dtype the module was converted to (module.double())
        dtype = np.dtype(str(self.cos_cached.dtype)) if "cos_cached" in self._buffers else self._dtype
        self.register_buffer("cos_cached", _tensor(np.cos(ang).astype(dtype)), persistent=False)
        self.register_buffer("sin_cached", _tensor(np.sin(ang).astype(dtype)), persistent=False)

    def cos_sin(self, length, offset=0):
        """(cos, sin) Tensors of shape (length, rotary_dim / 2) for positions offset..offset+length-1
        (the tables ``dlcore.ops.rotary_embedding`` takes); the cache grows if needed."""
        if offset < 0 or length < 0:
            raise ValueError(f"RotaryEmbedding: expected offset >= 0 and length >= 0, got {offset} and {length}")
        if offset + length > self.max_len:
            self._build(max(offset + length, 2 * self.max_len))
        return self.cos_cached[offset:offset + length], self.sin_cached[offset:offset + length]

    def forward(self, x, offset=0):
        """x (..., L, head_dim) rotated at positions offset..offset+L-1 (differentiable in x)."""
        if not isinstance(x, Tensor) or x.ndim < 2 or x.shape[-1] != self.head_dim:
            raise ValueError(f"RotaryEmbedding: expected a Tensor (..., L, {self.head_dim}), got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        cos, sin = self.cos_sin(x.shape[-2], offset)
        return rotary_embedding(x, cos, sin)

    def extra_repr(self):
        return f"head_dim={self.head_dim}, rotary_dim={self.rotary_dim}, base={self.base}"


def alibi_slopes(num_heads) -> Tensor:
    """ALiBi's per-head slopes (Press et al. 2022), float32 Tensor (num_heads,): for a power of two
    n, the geometric sequence 2^(-8/n), 2^(-16/n), ..., 2^(-8); otherwise the slopes of the next
    lower power of two m followed by every other slope of 2m (the paper's reference code)."""
    n = int(num_heads)
    if n <= 0:
        raise ValueError(f"alibi_slopes: num_heads must be positive, got {num_heads}")

    def power_of_2(m):
        start = 2.0 ** (-8.0 / m)
        return [start ** (i + 1) for i in range(m)]

    m = 2 ** int(math.floor(math.log2(n)))
    slopes = power_of_2(m) + power_of_2(2 * m)[0::2][:n - m]
    return _tensor(np.asarray(slopes, np.float32))


def alibi_bias(slopes, L, S, dtype=np.float32, symmetric=False) -> Tensor:
    """The additive attention bias ALiBi adds, as a float Tensor (H, L, S), query i and key j
    aligned top-left like torch's is_causal: bias[h, i, j] = slopes[h] * (j - i), what the fused
    kernel's ``alibi_slopes=`` adds (the paper's form; under a causal mask every kept entry is
    -slope * distance). ``symmetric=True`` gives -slopes[h] * |i - j| instead, the usual choice
    for an encoder that attends both ways. Pass it as ``attn_mask`` to add it explicitly."""
    s = np.asarray(slopes.numpy() if isinstance(slopes, Tensor) else slopes, np.float64).reshape(-1, 1, 1)
    rel = (np.arange(S)[None, :] - np.arange(L)[:, None]).astype(np.float64)
    return _tensor((-s * np.abs(rel) if symmetric else s * rel).astype(dtype))

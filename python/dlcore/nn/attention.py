"""Multi-head attention (torch.nn.MultiheadAttention's arguments, parameter names, init,
state_dict keys and mask semantics) and the explicit softmax attention it falls back on.

When attention weights are not requested, MultiheadAttention calls the fused kernel
``dlcore.nn.functional.scaled_dot_product_attention`` if this build has it (looked up at call
time), else ``_attention_explicit``: scores = q k^T * scale + mask, softmax, dropout, @ v, composed
from differentiable Tensor ops (each a dlcore kernel).  ``_attention_explicit`` has the kernel's
signature and semantics, so it doubles as the kernel's reference fallback:

- a bool attn_mask: True takes part (torch's scaled_dot_product_attention convention; note that
  MultiheadAttention's own bool masks use the opposite convention, True = masked out, as in torch);
- a float attn_mask is added to the scores; both broadcast to (..., L, S);
- is_causal keeps key j for query i when j <= i (aligned top-left, as torch aligns it);
- enable_gqa: Hq a multiple of Hkv, each key/value head shared by Hq / Hkv consecutive query heads;
- alibi_slopes (Hq,): adds slope[h] * (j - i), as the fused kernel does (``dlcore.nn.positional.alibi_bias``);
- a query row whose keys are all masked gives zeros (and zero gradients), where torch's math path
  gives NaN.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from .. import ops as _ops
from .._tensor import Tensor
from ..autograd.function import Function
from . import functional as F
from . import init
from .layers import Linear, _empty
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention"]

_SDPA = "scaled_dot_product_attention"
_MHA = "MultiheadAttention"


def _as_tensor(x, op, name):
    if x is None or isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray) or hasattr(x, "__dlpack__"):
        return F._tensor(x, op, name)
    raise TypeError(f"{op}: expected {name} to be a dlcore.Tensor or an array, got {type(x).__name__}")


def _check_sdpa(q, k, v, attn_mask, dropout_p, is_causal, enable_gqa, alibi_slopes):
    """The kernel's argument checks (errors name scaled_dot_product_attention)."""
    for name, t in (("query", q), ("key", k), ("value", v)):
        if t.dtype.kind != "f":
            raise TypeError(f"{_SDPA}: expected a floating-point {name}, got {t.dtype}")
        if t.ndim < 2:
            raise ValueError(f"{_SDPA}: expected {name} of shape (..., seq, features), got {t.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{_SDPA}: query and key must have the same head dim, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{_SDPA}: key and value must have the same sequence length, got {k.shape[-2]} and "
                         f"{v.shape[-2]}")
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{_SDPA}: dropout_p must be in [0, 1), got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{_SDPA}: pass either attn_mask or is_causal, not both")
    hq = q.shape[-3] if q.ndim >= 3 else 1
    hkv = k.shape[-3] if k.ndim >= 3 else 1
    if enable_gqa and hq != hkv:
        if k.ndim < 3 or v.ndim < 3 or v.shape[-3] != hkv or hq % hkv:
            raise ValueError(f"{_SDPA}: with enable_gqa the query heads ({hq}) must be a multiple of the key/value "
                             f"heads ({hkv}, {v.shape[-3] if v.ndim >= 3 else 1})")
    else:
        try:
            np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        except ValueError:
            raise ValueError(f"{_SDPA}: the leading dims of query {q.shape}, key {k.shape} and value {v.shape} do not "
                             f"broadcast (Hq != Hkv needs enable_gqa=True)") from None
    L, S = q.shape[-2], k.shape[-2]
    if attn_mask is not None:
        if attn_mask.dtype.kind not in "bf":
            raise TypeError(f"{_SDPA}: attn_mask must be bool or floating point, got {attn_mask.dtype}")
        # The mask broadcasts to the scores' shape, not beyond it (no result larger than the scores).
        target = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (L, S) if not enable_gqa else q.shape[:-1] + (S,)
        try:
            ok = attn_mask.ndim >= 2 and np.broadcast_shapes(attn_mask.shape, target) == target
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{_SDPA}: attn_mask of shape {attn_mask.shape} does not broadcast to the scores' shape "
                             f"{target}")
    if alibi_slopes is not None:
        n = int(np.prod(alibi_slopes.shape)) if hasattr(alibi_slopes, "shape") else len(alibi_slopes)
        if q.ndim < 3 or n != hq:
            raise ValueError(f"{_SDPA}: alibi_slopes needs one slope per query head ({hq}), got {n}")


def _repeat_heads(t, groups):
    """(..., Hkv, S, E) -> (..., Hkv * groups, S, E), each head repeated `groups` times in a row
    (torch's repeat_interleave on the head dim, as GQA shares heads)."""
    shape = t.shape
    t = t.unsqueeze(-3).expand(*shape[:-2], groups, *shape[-2:])
    return t.reshape(*shape[:-3], shape[-3] * groups, *shape[-2:])


class _AddConstant(Function):
    """scores + a constant additive mask: the gradient passes to the scores unchanged (no
    reduction of it onto the mask's shape, which Add's backward would compute)."""

    @staticmethod
    def forward(ctx, x, bias):
        return _ops.add(x, bias)

    @staticmethod
    def backward(ctx, g):
        return g, None


def _additive_bias(mask, is_causal, alibi_slopes, L, S, dtype):
    """One float NumPy array (0 where a key takes part, -inf where masked, plus the float mask and
    the ALiBi bias) broadcastable to (..., L, S), or None: masks are small next to the scores
    (typically (L, S) or (N, 1, 1, S)), and one add on the scores is cheaper than a masked_fill."""
    dtype = np.dtype(str(dtype))
    parts = []
    if mask is not None:
        m = mask.numpy()
        parts.append(np.where(m, 0.0, -np.inf).astype(dtype) if m.dtype == np.bool_ else m.astype(dtype, copy=False))
    if is_causal:
        parts.append(np.triu(np.full((L, S), -np.inf, dtype), 1))  # key j <= query i: top-left aligned
    if alibi_slopes is not None:
        from .positional import alibi_bias

        parts.append(alibi_bias(alibi_slopes, L, S, dtype).numpy())
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return np.ascontiguousarray(out)


def _attention_with_weights(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                            enable_gqa=False, alibi_slopes=None):
    """(output, probabilities after dropout) of the explicit path; see ``_attention_explicit``."""
    q = _as_tensor(query, _SDPA, "query")
    k = _as_tensor(key, _SDPA, "key")
    v = _as_tensor(value, _SDPA, "value")
    mask = _as_tensor(attn_mask, _SDPA, "attn_mask")
    _check_sdpa(q, k, v, mask, dropout_p, is_causal, enable_gqa, alibi_slopes)
    L, S = q.shape[-2], k.shape[-2]
    if enable_gqa and q.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        k = _repeat_heads(k, q.shape[-3] // k.shape[-3])
        v = _repeat_heads(v, q.shape[-3] // v.shape[-3])
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q * scale) @ k.transpose(-2, -1)  # scaling q costs L*E multiplications, not L*S
    if mask is not None and mask.dtype.kind == "f" and mask.requires_grad:
        scores = scores + mask  # a learned bias (relative positions): its gradient is recorded
        bias = _additive_bias(None, is_causal, alibi_slopes, L, S, scores.dtype)
        check = mask.detach().numpy() if bias is None else bias + mask.detach().numpy()
    else:
        bias = check = _additive_bias(mask, is_causal, alibi_slopes, L, S, scores.dtype)
    if bias is not None:
        scores = _AddConstant.apply(scores, _core.as_tensor(bias))
    dead = None
    if check is not None and np.isneginf(check).any():
        # Rows whose keys are all masked: softmax would give 0/0 = NaN; they give zeros instead.
        rows = np.isneginf(check).all(-1, keepdims=True)
        if rows.any():
            dead = Tensor(_core.as_tensor(np.ascontiguousarray(rows)))
            scores = scores.masked_fill(dead, 0.0)
    probs = F.softmax(scores, -1)
    if dead is not None:
        probs = probs.masked_fill(dead, 0.0)
    if dropout_p > 0.0:
        probs = F.dropout(probs, dropout_p, True)
    return probs @ v, probs


def _attention_explicit(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                        enable_gqa=False, alibi_slopes=None):
    """softmax(q k^T * scale + mask) v with the fused kernel's signature and semantics (module
    docstring), built from differentiable Tensor ops: the kernel's fallback and reference path.
    Dropout, when dropout_p > 0, is always applied (as in torch's functional form)."""
    return _attention_with_weights(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                                   alibi_slopes)[0]


def _choose_path(need_weights, device):
    """MultiheadAttention's one algorithm choice: "fused" (``nn.functional.
    scaled_dot_product_attention``, looked up per call so a build that adds the kernel switches
    over without an edit here) when weights are not requested and the kernel exists, else
    "explicit".  The choice is logged (``dlcore.kernel_log()``, op "MultiheadAttention") and can
    be forced with ``dlcore.force_algorithm("MultiheadAttention", "fused" | "explicit")``."""
    kernel = getattr(F, _SDPA, None)
    forced = _core.forced_algorithm(_MHA)
    if forced is None:
        algo = "fused" if kernel is not None and not need_weights else "explicit"
    elif forced == "explicit":
        algo = forced
    elif forced == "fused":
        if kernel is None:
            raise ValueError(f"{_MHA}: algorithm 'fused' does not apply: this build has no "
                             "nn.functional.scaled_dot_product_attention")
        if need_weights:
            raise ValueError(f"{_MHA}: algorithm 'fused' does not apply: need_weights=True needs the attention "
                             "weights, which the fused kernel does not form")
        algo = forced
    else:
        raise ValueError(f"{_MHA}: algorithm '{forced}' does not apply: the algorithms are 'fused' and 'explicit'")
    _core.log_kernel(_MHA, str(device), algo)
    return algo, kernel


def _canonical_mask(mask, name, expected, dtype):
    """A MultiheadAttention mask (bool: True = masked out; float: added) checked against the
    accepted shapes, as a Tensor."""
    m = _as_tensor(mask, _MHA, name)
    if m is None:
        return None
    if m.dtype.kind not in "bf":
        raise TypeError(f"{_MHA}: only bool and floating-point {name} are supported, got {m.dtype}")
    if m.dtype.kind == "f" and m.dtype != dtype:
        raise TypeError(f"{_MHA}: a float {name} must have the query's dtype {dtype}, got {m.dtype}")
    if tuple(m.shape) not in expected:
        raise ValueError(f"{_MHA}: {name} of shape {tuple(m.shape)} is not one of the accepted shapes "
                         f"{' or '.join(str(e) for e in expected)}")
    return m


def _merge_masks(attn_mask, key_padding_mask, N, H, L, S):
    """One mask for the kernel, shaped to broadcast to (N, H, L, S): a bool mask with True = takes
    part when both given masks are bool (cheap, and the kernel skips work on it), else an additive
    float mask where a bool True became -inf (torch merges them the same way)."""
    parts = []
    if attn_mask is not None:
        parts.append(attn_mask.reshape(1, 1, L, S) if attn_mask.ndim == 2 else attn_mask.reshape(N, H, L, S))
    if key_padding_mask is not None:
        parts.append(key_padding_mask.reshape(N, 1, 1, S))
    if not parts:
        return None
    if all(p.dtype.kind == "b" for p in parts):
        out = parts[0] if len(parts) == 1 else parts[0] | parts[1]
        return ~out
    dtype = np.dtype(str(next(p.dtype for p in parts if p.dtype.kind == "f")))
    out = None
    for p in parts:
        if p.dtype.kind == "b":  # masks carry no gradient: convert on the NumPy side
            p = Tensor(_core.as_tensor(np.where(p.numpy(), -np.inf, 0.0).astype(dtype)))
        out = p if out is None else out + p
    return out


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention: attention over ``num_heads`` heads of width embed_dim /
    num_heads.  Parameters (torch's names and init): ``in_proj_weight`` (3E, E) ~ xavier_uniform, or
    ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when kdim/vdim differ from embed_dim;
    ``in_proj_bias`` (3E) = 0; ``out_proj`` a Linear(E, E) with zero bias.  Inputs are (L, N, E)
    (or (N, L, E) with batch_first) or unbatched (L, E).  add_bias_kv and add_zero_attn are not
    supported (NotImplementedError).

    Algorithms (``dlcore.kernel_log()`` op "MultiheadAttention"; ``dlcore.force_algorithm``):
    "fused" (the fused attention kernel: weights not requested and the build has it) and
    "explicit" (scores, softmax, dropout, @ v from Tensor ops; needed for the weights)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"{_MHA}: embed_dim and num_heads must be positive, got {embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"{_MHA}: embed_dim must be divisible by num_heads, got {embed_dim} and {num_heads}")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError(f"{_MHA}: add_bias_kv and add_zero_attn are not supported")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{_MHA}: dropout must be in [0, 1), got {dropout}")
        self.embed_dim, self.num_heads, self.dropout = int(embed_dim), int(num_heads), float(dropout)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.head_dim = self.embed_dim // self.num_heads
        self.batch_first = batch_first
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(_empty((3 * E, E), dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(_empty((E, E), dtype))
            self.k_proj_weight = Parameter(_empty((E, self.kdim), dtype))
            self.v_proj_weight = Parameter(_empty((E, self.vdim), dtype))
        if bias:
            self.in_proj_bias = Parameter(_empty((3 * E,), dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        self._reset_parameters()
        if device is not None and str(device) != "cpu":
            self.to(device)

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def _project(self, query, key, value):
        """q, k, v = the input projections; one GEMM for self-attention (query is key is value)."""
        E, b = self.embed_dim, self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if not self._qkv_same_embed_dim:
            return (F.linear(query, self.q_proj_weight, bq), F.linear(key, self.k_proj_weight, bk),
                    F.linear(value, self.v_proj_weight, bv))
        w = self.in_proj_weight
        if query is key and key is value:
            qkv = F.linear(query, w, b)
            return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        if key is value:
            kv = F.linear(key, w[E:], None if b is None else b[E:])
            return F.linear(query, w[:E], bq), kv[..., :E], kv[..., E:]
        return F.linear(query, w[:E], bq), F.linear(key, w[E:2 * E], bk), F.linear(value, w[2 * E:], bv)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """(attn_output, attn_weights) as torch: attn_output (L, N, E) ((N, L, E) with batch_first,
        (L, E) unbatched); attn_weights (N, L, S) averaged over heads, or (N, H, L, S) with
        average_attn_weights=False, or None when need_weights=False.  Bool masks: True = not
        allowed to attend; float masks are added.  key_padding_mask (N, S); attn_mask (L, S) or
        (N * num_heads, L, S).  is_causal is torch's hint that attn_mask is the causal mask (it
        requires attn_mask)."""
        query, key, value = (_as_tensor(t, _MHA, n) for t, n in ((query, "query"), (key, "key"), (value, "value")))
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{_MHA}: expected query, key and value all 3-D (batched) or all 2-D (unbatched), got "
                             f"{query.shape}, {key.shape} and {value.shape}")
        batched = query.ndim == 3
        bf = self.batch_first and batched
        # Work in the input's own layout: (L, N, E) or (N, L, E); heads are split by views.
        if batched:
            N = query.shape[0 if bf else 1]
            L, S = query.shape[1 if bf else 0], key.shape[1 if bf else 0]
        else:
            N, L, S = 1, query.shape[0], key.shape[0]
        H, D, E = self.num_heads, self.head_dim, self.embed_dim
        if query.shape[-1] != E:
            raise ValueError(f"{_MHA}: expected query's last dim embed_dim={E}, got {query.shape}")
        if key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
            raise ValueError(f"{_MHA}: expected key's last dim {self.kdim} and value's {self.vdim}, got {key.shape} "
                             f"and {value.shape}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{_MHA}: key and value must agree in all but the last dim, got {key.shape} and "
                             f"{value.shape}")
        if batched and key.shape[0 if bf else 1] != N:
            raise ValueError(f"{_MHA}: query and key have different batch sizes ({N} and {key.shape[0 if bf else 1]})")
        kpm = _canonical_mask(key_padding_mask, "key_padding_mask", [(N, S)] if batched else [(S,)], query.dtype)
        am = _canonical_mask(attn_mask, "attn_mask", [(L, S), (N * H, L, S)] if batched else [(L, S), (H, L, S)],
                             query.dtype)
        if is_causal and am is None:
            raise ValueError(f"{_MHA}: need attn_mask if specifying the is_causal hint (generate it with "
                             "Transformer.generate_square_subsequent_mask)")
        use_causal = bool(is_causal) and kpm is None and not need_weights and L == S
        mask = None if use_causal else _merge_masks(am, kpm, N, H, L, S)

        q, k, v = self._project(query, key, value)

        def heads(t, n):  # (n, N, E) or (N, n, E) -> (N, H, n, D)
            if not batched:
                return t.reshape(n, H, D).transpose(0, 1).unsqueeze(0)
            return t.reshape(N, n, H, D).permute(0, 2, 1, 3) if bf else t.reshape(n, N, H, D).permute(1, 2, 0, 3)

        q, k, v = heads(q, L), heads(k, S), heads(v, S)
        p = self.dropout if self.training else 0.0
        weights = None
        algo, kernel = _choose_path(need_weights, q.device)
        if algo == "fused":
            out = kernel(q, k, v, attn_mask=mask, dropout_p=p, is_causal=use_causal)
        else:
            out, weights = _attention_with_weights(q, k, v, mask, p, use_causal)
            weights = weights if need_weights else None
        if not batched:
            out = out.squeeze(0).transpose(0, 1).reshape(L, E)
        elif bf:
            out = out.permute(0, 2, 1, 3).reshape(N, L, E)
        else:
            out = out.permute(2, 0, 1, 3).reshape(L, N, E)
        out = self.out_proj(out)
        if weights is not None:
            if average_attn_weights:
                weights = weights.mean(1)
            if not batched:
                weights = weights.squeeze(0)
        return out, weights

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")

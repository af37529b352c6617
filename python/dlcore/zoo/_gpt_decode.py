"""GPT's one-token decoding step on the array-level kernels (no autograd, no modules).

A decoding step multiplies one row per sequence by every weight matrix.  Through ``nn.Linear``
(``x @ W.T``) the GEMM would repack each (out, in) weight for every token; here the weights are
transposed once per ``generate`` call into row-major (in, out) matrices, which the GEMM's
small-product path reads in place.  The step then calls the dlcore kernels directly on arrays:
embedding, layer_norm, matmul (+ bias), rotary embedding, attention over the KV cache (two small
products and a softmax), gelu.  It computes what ``GPT.forward_cached`` computes for one new
position (the tests compare them).
"""
from __future__ import annotations

import numpy as np

from .. import _core, ops

__all__ = ["DecodePlan"]


def _a(t):
    return None if t is None else np.ascontiguousarray(t.numpy())


def _wt(linear):
    return np.ascontiguousarray(linear.weight.numpy().T), _a(linear.bias)


def _ln(mod):
    return _a(mod.weight), _a(getattr(mod, "bias", None)), float(getattr(mod, "eps", 1e-5))


class DecodePlan:
    """A snapshot of a GPT's weights laid out for :meth:`step` (take a new one after training)."""

    def __init__(self, model):
        cfg = model.config
        self.C, self.H, self.D = cfg.n_embd, cfg.n_head, cfg.n_embd // cfg.n_head
        self.scale = np.float32(1.0 / np.sqrt(self.D))
        tr = model.transformer
        self.wte = _a(tr.wte.weight)
        self.wpe = _a(tr.wpe.weight) if cfg.pos == "learned" else None
        self.rope = (_a(model.rope_cos), _a(model.rope_sin)) if cfg.pos == "rope" else None
        self.blocks = [(_ln(b.ln_1), _wt(b.attn.c_attn), _wt(b.attn.c_proj), _ln(b.ln_2), _wt(b.mlp.c_fc),
                        _wt(b.mlp.c_proj)) for b in tr.h]
        self.ln_f = _ln(tr.ln_f)
        self.head = np.ascontiguousarray(model.lm_head.weight.numpy().T)

    def _norm(self, x, p):
        return _core.layer_norm(x, (self.C,), p[0], p[1], p[2])[0]

    @staticmethod
    def _linear(x, p):
        y = _core.matmul(x, p[0])
        return y if p[1] is None else _core.add(y, p[1])

    def _rotate(self, x, pos):
        cos, sin = self.rope[0][pos:pos + 1], self.rope[1][pos:pos + 1]
        return ops.rotary_embedding(x, cos, sin) if hasattr(ops, "rotary_embedding") else _rotate(x, cos, sin)

    def step(self, ids, cache):
        """Logits (B, V) (NumPy) for the tokens ids (B,) at position cache.length, whose keys
        and values are appended to the cache (a KVCache with room for one more).

        The kernels are called through dlcore._core, not the validating ops wrappers: every
        operand is made here with the right dtype and shape, and at one row per call the
        wrappers' checks would cost more than the arithmetic."""
        pos, B, C, H, D = cache.length, len(ids), self.C, self.H, self.D
        x = _core.embedding(self.wte, np.ascontiguousarray(ids, np.int64), None)
        if self.wpe is not None:
            x = _core.add(x, self.wpe[pos])
        for i, (ln_1, c_attn, proj, ln_2, fc, mlp_proj) in enumerate(self.blocks):
            qkv = np.asarray(self._linear(self._norm(x, ln_1), c_attn)).reshape(B, 3, H, 1, D)
            q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]  # (B, H, 1, D)
            if self.rope is not None:
                q, k = np.asarray(self._rotate(q, pos)), np.asarray(self._rotate(k, pos))
            cache.k_np[i][:, :, pos:pos + 1] = k
            cache.v_np[i][:, :, pos:pos + 1] = v
            # one query row against the cache: softmax(q K^T / sqrt(D)) V as two small batched
            # products and a softmax (the fused kernel's per-call setup outweighs this work)
            keys = cache.k_np[i][:, :, :pos + 1].transpose(0, 1, 3, 2)
            scores = _core.matmul(np.asarray(_core.mul(np.ascontiguousarray(q), self.scale)), keys)
            y = _core.matmul(np.asarray(_core.softmax(scores, -1, False)), cache.v_np[i][:, :, :pos + 1])
            x = _core.add(x, self._linear(np.ascontiguousarray(y).reshape(B, C), proj))
            x = _core.add(x, self._linear(_core.gelu(self._linear(self._norm(x, ln_2), fc), "none"), mlp_proj))
        cache.length = pos + 1
        return np.asarray(_core.matmul(self._norm(x, self.ln_f), self.head))


def _rotate(x, cos, sin):
    """Half-rotation RoPE on the kernels (when dlcore.ops has no rotary_embedding)."""
    r = cos.shape[-1]
    x1, x2 = np.ascontiguousarray(x[..., :r]), np.ascontiguousarray(x[..., r:])
    return np.concatenate([ops.sub(ops.mul(x1, cos), ops.mul(x2, sin)),
                           ops.add(ops.mul(x2, cos), ops.mul(x1, sin))], axis=-1)

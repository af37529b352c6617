"""Fused softmax attention (array level, forward and backward).

``scaled_dot_product_attention`` follows ``torch.nn.functional.scaled_dot_product_attention``:

* query ``(..., Hq, L, E)``, key ``(..., Hk, S, E)``, value ``(..., Hk, S, Ev)``; the leading dims
  broadcast; ``L != S`` and any ``E``/``Ev`` are fine.  Without ``enable_gqa`` the head dims
  broadcast like the others; with it, ``Hq`` must be a multiple of ``Hk`` and query head ``h``
  reads key/value head ``h // (Hq // Hk)`` (torch's ``repeat_interleave``).
* ``attn_mask``: bool (True = the key takes part) or an additive float mask of the query's dtype,
  broadcastable to ``(..., Hq, L, S)``.  ``is_causal``: query ``i`` sees keys ``j <= i`` (the
  top-left alignment torch uses when ``L != S``); not together with ``attn_mask``.
* ``scale`` defaults to ``1 / sqrt(E)``.  ``dropout_p`` drops attention probabilities (scaling
  the rest by ``1 / (1 - p)``) with a mask drawn from a counter-based generator keyed by
  (seed, batch*head, row, column): the seed comes from dlcore's generator unless
  ``dropout_seed`` is given, and the backward regenerates the same mask from the same seed.
* ``alibi_slopes`` (one per head, shape ``(Hq,)`` or broadcastable to ``(..., Hq)``): ALiBi,
  adding ``slope * (j - i)`` to score ``(i, j)`` inside the kernel (no ``L x S`` tensor).
* A query row whose keys are all masked gives zeros (and zero gradients); torch gives NaN.

The kernel is FlashAttention-2 style (online softmax over key tiles, no ``L x S`` buffer in
forward or backward); ``dlcore.force_algorithm("scaled_dot_product_attention", "reference")``
runs the row-by-row reference instead, and ``dlcore.kernel_log()`` records which one ran.
"""
from __future__ import annotations

import math

import numpy as np

from .._tensor import Tensor
from ._util import _core, as_bool, unwrap, wants_tensor

__all__ = ["scaled_dot_product_attention", "scaled_dot_product_attention_backward"]

_OP = "scaled_dot_product_attention"


def _array(x, op, name):
    if x is None:
        return None
    x = unwrap(x)  # a Tensor that requires grad (grad mode) goes to the autograd version
    if isinstance(x, _core.TensorImpl):
        if x.device != "cpu":
            raise RuntimeError(f"{op}: expected {name} on the CPU, got a tensor on {x.device}")
        return _core.to_numpy(x)
    try:
        return np.asarray(x)
    except Exception as e:  # noqa: BLE001 - any conversion failure is a type error of the argument
        raise TypeError(f"{op}: expected an array for {name}, got {type(x).__name__}") from e


def _float_operand(x, op, name, dtype=None):
    if x is None:
        raise TypeError(f"{op}: expected an array for {name}, got None")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: expected {name} of dtype float32 or float64, got {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{op}: expected {name} of dtype {dtype} (the query's), got {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{op}: expected {name} with at least 2 dims (..., length, dim), got shape {x.shape}")
    return x


def _split(x):
    """(batch dims, heads, length, dim) of an operand; a 2-d operand has one head and no batch."""
    if x.ndim == 2:
        return (), 1, x.shape[0], x.shape[1]
    return x.shape[:-3], x.shape[-3], x.shape[-2], x.shape[-1]


def _broadcast(shapes, op, what):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"{op}: the {what} of query, key and value do not broadcast: "
                         f"{', '.join(str(s) for s in shapes)}") from None


class _Plan:
    """The canonical problem: operands folded to (B, H, length, dim) and how to map back."""

    def __init__(self, op, q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa, alibi_slopes, dropout_seed,
                 draw_seed):
        self.op = op
        q = _float_operand(q, op, "query")
        k = _float_operand(k, op, "key", q.dtype)
        v = _float_operand(v, op, "value", q.dtype)
        self.shapes = (q.shape, k.shape, v.shape)
        (bq, hq, L, E), (bk, hk, S, Ek), (bv, hv, Sv, Ev) = _split(q), _split(k), _split(v)
        if Ek != E:
            raise ValueError(f"{op}: expected key of head dim {E} (the query's), got key of shape {k.shape}")
        if Sv != S:
            raise ValueError(f"{op}: expected value of length {S} (the key's), got value of shape {v.shape}")
        batch = _broadcast([bq, bk, bv], op, "batch dims")
        is_causal, enable_gqa = as_bool(is_causal, op, "is_causal"), as_bool(enable_gqa, op, "enable_gqa")
        if enable_gqa:
            if hk != hv:
                raise ValueError(f"{op}: expected key and value with one number of heads, got {hk} and {hv}")
            if hq % hk:
                raise ValueError(f"{op}: expected the query's heads ({hq}) to be a multiple of the key's ({hk})")
            ho = hq
        else:
            try:
                ho = np.broadcast_shapes((hq,), (hk,), (hv,))[0]
            except ValueError:
                raise ValueError(f"{op}: expected query, key and value heads that broadcast, got {hq}, {hk} and {hv}; "
                                 "pass enable_gqa=True for grouped-query attention (query heads a multiple of "
                                 "the key's)") from None
            if hk != hv:
                hk = hv = ho
            # hq == 1 < ho: the query is broadcast over the heads (a copy); hk == hv == 1 < hq needs
            # none: the kernel maps every query head to the one key/value head (as GQA does)
        self.batch, self.ho, self.L, self.S, self.E, self.Ev = batch, ho, L, S, E, Ev
        self.dtype = q.dtype
        self.has_heads = max(q.ndim, k.ndim, v.ndim) > 2
        self.q4 = self._fold(q, ho)
        self.k4 = self._fold(k, hk)
        self.v4 = self._fold(v, hv)
        nb = int(np.prod(batch, dtype=np.int64))
        self.B = nb
        # mask
        self.mask = self.mask_off = None
        self.mask_rs = self.mask_cs = 0
        if attn_mask is not None:
            if is_causal:
                raise ValueError(f"{op}: expected attn_mask or is_causal, not both")
            self._set_mask(attn_mask)
        self.alibi = None
        if alibi_slopes is not None:
            a = _array(alibi_slopes, op, "alibi_slopes")
            if a.dtype not in (np.float32, np.float64):
                raise TypeError(f"{op}: expected alibi_slopes of a float dtype, got {a.dtype}")
            try:
                a = np.broadcast_to(a, batch + (ho,))
            except ValueError:
                raise ValueError(f"{op}: expected alibi_slopes of shape ({ho},) (one per head) or broadcastable "
                                 f"to {batch + (ho,)}, got {a.shape}") from None
            self.alibi = np.ascontiguousarray(a, dtype=self.dtype).reshape(-1)
        if isinstance(dropout_p, bool) or not isinstance(dropout_p, (int, float, np.floating, np.integer)):
            raise TypeError(f"{op}: expected a float dropout_p, got {type(dropout_p).__name__}")
        dropout_p = float(dropout_p)
        if not 0.0 <= dropout_p < 1.0:
            raise ValueError(f"{op}: expected dropout_p in [0, 1), got {dropout_p}")
        self.dropout_p = dropout_p
        self.causal = bool(is_causal)
        if scale is not None:
            if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating, np.integer)):
                raise TypeError(f"{op}: expected a float scale, got {type(scale).__name__}")
            scale = float(scale)
            if not math.isfinite(scale):
                raise ValueError(f"{op}: expected a finite scale, got {scale}")
        self.scale = scale
        self.seed = 0
        if dropout_p > 0:
            if dropout_seed is None:
                if not draw_seed:
                    raise ValueError(f"{op}: dropout_p > 0 needs the forward's dropout_seed to regenerate its mask")
                dropout_seed = draw_dropout_seed()
            if isinstance(dropout_seed, bool) or not isinstance(dropout_seed, (int, np.integer)):
                raise TypeError(f"{op}: expected an int dropout_seed, got {type(dropout_seed).__name__}")
            self.seed = int(dropout_seed) & ((1 << 64) - 1)

    def _fold(self, x, h):
        """(B, h, length, dim) of x, broadcast over the batch (a copy only where it broadcasts)."""
        if x.ndim == 2:
            x = x[None]
        full = self.batch + (h,) + x.shape[-2:]
        if x.shape != full:
            x = np.broadcast_to(x, full)
        return x.reshape((int(np.prod(self.batch, dtype=np.int64)),) + x.shape[-3:])

    def _set_mask(self, attn_mask):
        op = self.op
        m = attn_mask
        if m.dtype == np.bool_:
            m = np.where(m, self.dtype.type(0), self.dtype.type(-np.inf)).astype(self.dtype)
        elif m.dtype in (np.float32, np.float64):
            if m.dtype != self.dtype:
                raise TypeError(f"{op}: expected attn_mask of dtype bool or {self.dtype} (the query's), got {m.dtype}")
        else:
            raise TypeError(f"{op}: expected attn_mask of dtype bool or {self.dtype} (the query's), got {m.dtype}")
        full = self.batch + (self.ho, self.L, self.S)
        if m.ndim > len(full):
            raise ValueError(f"{op}: expected attn_mask broadcastable to {full}, got shape {m.shape}")
        try:
            view = np.broadcast_to(m, full)
        except ValueError:
            raise ValueError(f"{op}: expected attn_mask broadcastable to {full}, got shape {m.shape}") from None
        m = np.ascontiguousarray(m)
        view = np.broadcast_to(m, full)
        st = [s // m.itemsize for s in view.strides]
        lead = full[:-2]
        off = np.zeros(lead, dtype=np.int64)
        for d, n in enumerate(lead):
            shape1 = [1] * len(lead)
            shape1[d] = n
            off = off + (np.arange(n, dtype=np.int64) * st[d]).reshape(shape1)
        self.mask = m.reshape(-1) if m.size else np.zeros(1, self.dtype)
        self.mask_off = np.ascontiguousarray(off.reshape(-1))
        self.mask_rs, self.mask_cs = st[-2], st[-1]

    def core_args(self):
        return (self.mask, self.mask_off, self.mask_rs, self.mask_cs, self.alibi, self.causal, self.scale,
                self.dropout_p, self.seed)

    def unfold_out(self, x, dim):
        """(B, Ho, L, dim) -> the output's shape (..., Ho, L, dim) (or (L, dim) for 2-d operands)."""
        if not self.has_heads:
            return x.reshape(self.batch + (self.L, dim))
        return x.reshape(self.batch + (self.ho, self.L, dim))

    def reduce_grad(self, g, shape):
        """A gradient of a folded operand summed back to the operand's own shape."""
        g = g.reshape(self.batch + g.shape[1:])
        if len(shape) == 2:
            return g.sum(axis=tuple(range(g.ndim - 2))) if g.ndim > 2 else g
        lead = g.ndim - len(shape)
        if lead:
            g = g.sum(axis=tuple(range(lead)))
        axes = tuple(i for i, (n, m) in enumerate(zip(shape, g.shape)) if n == 1 and m != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        return np.ascontiguousarray(g).reshape(shape)


def draw_dropout_seed() -> int:
    """A 62-bit dropout seed drawn from dlcore's generator (``dlcore.manual_seed`` repeats it)."""
    return int(np.asarray(_core.randint(0, 1 << 62, (1,)))[0])


def _currency(*inputs):
    """"tensor" if any input is a dlcore Tensor, "impl" for the autograd layer's TensorImpls, else
    "numpy" (the ops convention: results in the caller's currency)."""
    if wants_tensor(*inputs):
        return "tensor"
    return "impl" if any(isinstance(x, _core.TensorImpl) for x in inputs) else "numpy"


def _result(x, currency):
    if currency == "numpy":
        return x
    impl = _core.as_tensor(np.ascontiguousarray(x))
    return Tensor(impl) if currency == "tensor" else impl


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False, alibi_slopes=None, return_logsumexp=False, dropout_seed=None):
    """``torch.nn.functional.scaled_dot_product_attention`` as one fused, O(L + S)-memory kernel.

    ``softmax(query @ key^T * scale + mask) @ value`` with the semantics in this module's
    docstring (broadcasting, bool or additive masks, causal, GQA, ALiBi, dropout; a fully masked
    row gives zeros).  With ``return_logsumexp=True`` returns ``(out, logsumexp)``, the per-row
    ``log(sum(exp(scores)))`` of shape ``(..., Hq, L)`` (``-inf`` for fully masked rows) that
    ``scaled_dot_product_attention_backward`` needs.
    """
    tensor = _currency(query, key, value, attn_mask)
    q, k, v = (_array(x, _OP, n) for x, n in ((query, "query"), (key, "key"), (value, "value")))
    mask = _array(attn_mask, _OP, "attn_mask")
    p = _Plan(_OP, q, k, v, mask, dropout_p, is_causal, scale, enable_gqa, alibi_slopes, dropout_seed, True)
    out, lse = _core.sdpa_forward(p.q4, p.k4, p.v4, *p.core_args())
    out = p.unfold_out(_core.to_numpy(out), p.Ev)
    if not as_bool(return_logsumexp, _OP, "return_logsumexp"):
        return _result(out, tensor)
    lse = _core.to_numpy(lse)
    lse = lse.reshape(p.batch + (p.ho, p.L)) if p.has_heads else lse.reshape(p.batch + (p.L,))
    return _result(out, tensor), _result(lse, tensor)


def scaled_dot_product_attention_backward(grad_out, query, key, value, out, logsumexp, attn_mask=None, dropout_p=0.0,
                                          is_causal=False, scale=None, enable_gqa=False, alibi_slopes=None,
                                          dropout_seed=None):
    """Gradients ``(grad_query, grad_key, grad_value)`` of ``scaled_dot_product_attention``.

    ``out`` and ``logsumexp`` are the forward's results (``return_logsumexp=True``); the
    probabilities are recomputed tile by tile from them (FlashAttention-2).  The other arguments
    are the forward's; with ``dropout_p > 0``, ``dropout_seed`` must be the forward's seed.
    Gradients of broadcast operands are summed back to the operands' shapes.
    """
    op = "scaled_dot_product_attention_backward"
    tensor = _currency(grad_out, query, key, value, out, logsumexp)
    q, k, v = (_array(x, op, n) for x, n in ((query, "query"), (key, "key"), (value, "value")))
    g, o, lse = (_array(x, op, n) for x, n in ((grad_out, "grad_out"), (out, "out"), (logsumexp, "logsumexp")))
    mask = _array(attn_mask, op, "attn_mask")
    p = _Plan(op, q, k, v, mask, dropout_p, is_causal, scale, enable_gqa, alibi_slopes, dropout_seed, False)
    full_out = (p.batch + (p.ho, p.L, p.Ev)) if p.has_heads else p.batch + (p.L, p.Ev)
    full_lse = (p.batch + (p.ho, p.L)) if p.has_heads else p.batch + (p.L,)
    for x, name, shape in ((g, "grad_out", full_out), (o, "out", full_out), (lse, "logsumexp", full_lse)):
        if tuple(x.shape) != shape:
            raise ValueError(f"{op}: expected {name} of shape {shape}, got {tuple(x.shape)}")
    B = p.B
    g4 = g.reshape(B, p.ho, p.L, p.Ev)
    o4 = o.reshape(B, p.ho, p.L, p.Ev)
    l3 = lse.reshape(B, p.ho, p.L)
    gq, gk, gv = _core.sdpa_backward(g4, p.q4, p.k4, p.v4, o4, l3, *p.core_args())
    gq, gk, gv = (_core.to_numpy(x) for x in (gq, gk, gv))
    grads = (p.reduce_grad(gq, p.shapes[0]), p.reduce_grad(gk, p.shapes[1]), p.reduce_grad(gv, p.shapes[2]))
    return tuple(_result(x, tensor) for x in grads)


def last_workspace_bytes() -> int:
    """Scratch bytes the calling thread's most recent attention kernel (forward or backward)
    allocated: a few tiles per thread, independent of L x S (the memory tests read it)."""
    return int(_core.sdpa_last_workspace_bytes())

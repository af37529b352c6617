"""Seq2SeqTransformer's decoding: a one-position decoder step on the array-level kernels with a
KV cache (:class:`DecodePlan`), and the two search procedures (:func:`greedy_search`,
:func:`beam_search`) written against a ``step(prefix) -> logits`` function, so the same search
runs on the cached step or on a full recompute of the prefix through the modules (the tests
compare the two).

The cache: per decoder layer, the self-attention keys and values of every position decoded so
far, in preallocated (rows, H, max_len, D) buffers; each step appends one position and attends
over them, so a step costs one position's work whatever the prefix length.  The cross-attention
keys and values depend on the source only: they are projected from the encoder's memory ONCE per
source (:meth:`DecodePlan.start`), repeated over the beams, and reused by every step.  Beam search
reorders the cache rows when beams are re-ranked (:meth:`DecodeState.reorder`).
"""
from __future__ import annotations

import numpy as np

from .. import _core

__all__ = ["DecodePlan", "DecodeState", "greedy_search", "beam_search", "log_softmax"]


def _a(t):
    return None if t is None else np.ascontiguousarray(t.numpy())


def _wt(weight, bias):
    """A Linear's (out, in) weight as a row-major (in, out) matrix (transposed once per plan, so
    the small one-row products read it in place) and its bias."""
    return np.ascontiguousarray(np.asarray(weight).T), None if bias is None else np.ascontiguousarray(bias)


def _ln(mod):
    if mod is None:
        return None
    return _a(mod.weight), _a(getattr(mod, "bias", None)), float(getattr(mod, "eps", 1e-5))


def log_softmax(logits):
    """float64 log-probabilities of float32 logits (..., V): the scores both searches add up."""
    x = np.asarray(logits, np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


class _Layer:
    """One decoder layer's weights laid out for the step."""

    def __init__(self, layer):
        if not isinstance(layer.activation, str):
            raise ValueError("Seq2SeqTransformer: the cached decoder supports the 'relu' and 'gelu' activations")
        E = layer.self_attn.embed_dim
        self.H, self.D = layer.self_attn.num_heads, E // layer.self_attn.num_heads
        sa, ca = layer.self_attn, layer.multihead_attn
        w, b = _a(sa.in_proj_weight), _a(sa.in_proj_bias)
        self.qkv = _wt(w, b)
        self.sa_out = _wt(_a(sa.out_proj.weight), _a(sa.out_proj.bias))
        w, b = _a(ca.in_proj_weight), _a(ca.in_proj_bias)
        self.q = _wt(w[:E], None if b is None else b[:E])
        self.kv = _wt(w[E:], None if b is None else b[E:])
        self.ca_out = _wt(_a(ca.out_proj.weight), _a(ca.out_proj.bias))
        self.ff1 = _wt(_a(layer.linear1.weight), _a(layer.linear1.bias))
        self.ff2 = _wt(_a(layer.linear2.weight), _a(layer.linear2.bias))
        self.norms = (_ln(layer.norm1), _ln(layer.norm2), _ln(layer.norm3))
        self.norm_first, self.activation = layer.norm_first, layer.activation


class DecodeState:
    """The per-search cache of :class:`DecodePlan`: self-attention buffers ``k[i]``, ``v[i]``
    (rows, H, max_len, D) with ``length`` positions filled, and the cross-attention keys/values
    ``mk[i]``, ``mv[i]`` (rows, H, S, D) with the source padding bias (rows, 1, 1, S)."""

    def __init__(self, k, v, mk, mv, bias, capacity):
        self.k, self.v, self.mk, self.mv, self.bias = k, v, mk, mv, bias
        self.capacity, self.length = capacity, 0

    def reorder(self, rows):
        """Row r of the self-attention cache becomes old row rows[r] (beam search re-ranks its
        beams; rows[r] must lie in r's block of beams, rows of one source)."""
        rows = np.asarray(rows, np.int64)
        n = self.length
        for buf in self.k + self.v:
            buf[:, :, :n] = buf[rows, :, :n]
        # mk, mv and bias stay: beams only move within their source's block of rows, and every
        # row of a block holds the same source


class DecodePlan:
    """A snapshot of a Seq2SeqTransformer's decoder weights laid out for :meth:`step` (take a
    new one after training).  Runs in float32 on dlcore's kernels; no autograd."""

    def __init__(self, model):
        cfg = model.config
        self.E, self.eos = cfg.d_model, cfg.eos_id
        # embedding rows scaled by sqrt(d_model) once, as the model's forward scales them
        self.emb = np.ascontiguousarray(_a(model.tgt_embed.weight) * np.float32(model.embed_scale))
        self.pe = _a(model.pe)
        self.layers = [_Layer(layer) for layer in model.transformer.decoder.layers]
        self.final_norm = _ln(model.transformer.decoder.norm)
        self.head = np.ascontiguousarray(_a(model.generator.weight).T)
        self.head_bias = _a(model.generator.bias)

    # ---- kernels on arrays --------------------------------------------------------------------
    def _norm(self, x, p):
        return np.asarray(_core.layer_norm(x, (self.E,), p[0], p[1], p[2])[0])

    @staticmethod
    def _linear(x, p):
        y = _core.matmul(x, p[0])
        return np.asarray(y if p[1] is None else _core.add(y, p[1]))

    @staticmethod
    def _attend(q, keys, values, bias, scale):
        """softmax(q K^T * scale [+ bias]) V for one query row per (row, head): two small batched
        products and a softmax (the fused kernel's per-call setup outweighs this work)."""
        s = _core.matmul(np.asarray(_core.mul(np.ascontiguousarray(q), scale)), keys.transpose(0, 1, 3, 2))
        if bias is not None:
            s = _core.add(s, bias)
        return np.asarray(_core.matmul(np.asarray(_core.softmax(s, -1, False)), values))

    # ---- the search API -----------------------------------------------------------------------
    def start(self, memory, src_pad, beams=1, max_len=64):
        """A :class:`DecodeState` for memory (B, S, E) (the encoder's output, float32) and the
        source padding mask src_pad (B, S) (True = padding), each source repeated `beams` times
        (rows b * beams .. b * beams + beams - 1).  The cross-attention keys and values are
        projected here, once per source."""
        memory = np.ascontiguousarray(memory, np.float32)
        B, S, E = memory.shape
        mk, mv = [], []
        for L in self.layers:
            kv = self._linear(memory.reshape(B * S, E), L.kv).reshape(B, S, 2, L.H, L.D).transpose(2, 0, 3, 1, 4)
            mk.append(np.repeat(np.ascontiguousarray(kv[0]), beams, axis=0))
            mv.append(np.repeat(np.ascontiguousarray(kv[1]), beams, axis=0))
        pad = np.asarray(src_pad, bool)
        bias = None
        if pad.any():
            bias = np.repeat(np.where(pad, np.float32(-np.inf), np.float32(0))[:, None, None, :], beams, axis=0)
        rows = B * beams
        k = [np.zeros((rows, L.H, max_len, L.D), np.float32) for L in self.layers]
        v = [np.zeros((rows, L.H, max_len, L.D), np.float32) for L in self.layers]
        return DecodeState(k, v, mk, mv, bias, max_len)

    def step(self, ids, state):
        """Logits (rows, V) for the tokens ids (rows,) at position state.length, whose self-
        attention keys and values are appended to the cache."""
        pos, N, E = state.length, len(ids), self.E
        if pos >= state.capacity:
            raise ValueError(f"Seq2SeqTransformer: the decode cache holds {state.capacity} positions")
        x = np.asarray(_core.add(_core.embedding(self.emb, np.ascontiguousarray(ids, np.int64), None), self.pe[pos]))
        for i, L in enumerate(self.layers):
            H, D = L.H, L.D
            scale = np.float32(1.0 / np.sqrt(D))
            n1, n2, n3 = L.norms

            def self_attn(h):
                qkv = self._linear(h, L.qkv).reshape(N, 3, H, 1, D)
                state.k[i][:, :, pos:pos + 1] = qkv[:, 1]
                state.v[i][:, :, pos:pos + 1] = qkv[:, 2]
                y = self._attend(qkv[:, 0], state.k[i][:, :, :pos + 1], state.v[i][:, :, :pos + 1], None, scale)
                return self._linear(np.ascontiguousarray(y).reshape(N, E), L.sa_out)

            def cross_attn(h):
                q = self._linear(h, L.q).reshape(N, H, 1, D)
                y = self._attend(q, state.mk[i], state.mv[i], state.bias, scale)
                return self._linear(np.ascontiguousarray(y).reshape(N, E), L.ca_out)

            def ff(h):
                a = self._linear(h, L.ff1)
                a = np.asarray(_core.relu(a) if L.activation == "relu" else _core.gelu(a, "none"))
                return self._linear(a, L.ff2)

            for block, norm in ((self_attn, n1), (cross_attn, n2), (ff, n3)):
                if L.norm_first:
                    x = np.asarray(_core.add(x, block(self._norm(x, norm))))
                else:
                    x = self._norm(np.asarray(_core.add(x, block(x))), norm)
        state.length = pos + 1
        if self.final_norm is not None:
            x = self._norm(x, self.final_norm)
        y = _core.matmul(x, self.head)
        return np.asarray(y if self.head_bias is None else _core.add(y, self.head_bias))


# ---- searches ------------------------------------------------------------------------------------
def greedy_search(step, batch, bos, eos, max_len):
    """Greedy decoding of `batch` sequences: step(prefix (batch, t) int64) -> logits (batch, V)
    of the next position.  Returns (tokens: list of lists without <bos>/<eos>, scores: float64
    (batch,) sums of the chosen tokens' log-probabilities, <eos> included; lengths (batch,):
    tokens scored, <eos> included).  A sequence stops at its first <eos> or at max_len tokens."""
    prefix = np.full((batch, 1), bos, np.int64)
    scores = np.zeros(batch)
    lengths = np.zeros(batch, np.int64)
    alive = np.ones(batch, bool)
    for _ in range(max_len):
        logp = log_softmax(step(prefix))
        tok = np.argmax(logp, axis=1)
        scores += np.where(alive, logp[np.arange(batch), tok], 0.0)
        lengths += alive
        tok = np.where(alive, tok, eos)
        prefix = np.concatenate([prefix, tok[:, None]], axis=1)
        alive &= tok != eos
        if not alive.any():
            break
    out = []
    for row in prefix[:, 1:]:
        ends = np.flatnonzero(row == eos)
        out.append([int(t) for t in (row[:ends[0]] if len(ends) else row)])
    return out, scores, lengths


def _normalise(raw, length, length_penalty):
    return raw / float(length) ** length_penalty


def beam_search(step, reorder, batch, beam_width, bos, eos, max_len, length_penalty=1.0, n_best=1):
    """Beam search over `batch` sources with `beam_width` beams each (rows b * K + k of the
    prefix given to step(prefix (batch * K, t)) -> logits (batch * K, V)); reorder(rows) is
    called whenever the beams are re-ranked (rows: the old row of each new row).

    A hypothesis's score is its log-probability (<eos> included) divided by length **
    length_penalty (length counts <eos>; 0: the plain log-probability; > 0 favours longer
    outputs).  Each step ranks the 2K best extensions of the K beams; an <eos> among the K best
    closes a hypothesis, the K best others go on.  A source is done when it has K closed
    hypotheses and no open beam can still beat the worst of them (an exact bound: log-
    probabilities only fall, so the best an open beam can reach is its score now divided by the
    largest length factor it could still get).  Beams reaching max_len tokens are closed as they
    are.  Returns, per source, the n_best (tokens, score) pairs, best first."""
    K, lp = int(beam_width), float(length_penalty)
    N = batch * K
    prefix = np.full((N, 1), bos, np.int64)
    scores = np.full((batch, K), -np.inf)
    scores[:, 0] = 0.0  # one live beam to start from: the others would duplicate it
    finished = [[] for _ in range(batch)]
    done = np.zeros(batch, bool)
    for t in range(1, max_len + 1):
        logp = log_softmax(step(prefix))
        V = logp.shape[1]
        cand = (scores[:, :, None] + logp.reshape(batch, K, V)).reshape(batch, K * V)
        order = np.argsort(-cand, axis=1, kind="stable")[:, :2 * K]
        parent = np.tile(np.arange(K), (batch, 1))
        new_tok = np.full((batch, K), eos, np.int64)
        new_score = np.full((batch, K), -np.inf)
        for b in np.flatnonzero(~done):
            n = 0
            for rank, c in enumerate(order[b]):
                s = cand[b, c]
                if s == -np.inf:
                    break
                k, tok = divmod(int(c), V)
                if tok == eos:
                    if rank < K:
                        finished[b].append((_normalise(s, t, lp), [int(x) for x in prefix[b * K + k, 1:]]))
                    continue
                parent[b, n], new_tok[b, n], new_score[b, n] = k, tok, s
                n += 1
                if n == K:
                    break
            finished[b].sort(key=lambda h: -h[0])
            del finished[b][K:]
            best_len = float(max_len) if lp > 0 else float(t + 1)
            if n == 0 or (len(finished[b]) >= K and
                          _normalise(new_score[b, 0], best_len, lp) <= finished[b][-1][0]):
                done[b] = True
        rows = (np.arange(batch)[:, None] * K + parent).reshape(N)
        prefix = np.concatenate([prefix[rows], new_tok.reshape(N, 1)], axis=1)
        reorder(rows)
        scores = new_score
        if done.all():
            break
    else:  # max_len reached: the open beams are closed as they are
        for b in np.flatnonzero(~done):
            for k in range(K):
                if scores[b, k] > -np.inf:
                    finished[b].append((_normalise(scores[b, k], max_len, lp),
                                        [int(x) for x in prefix[b * K + k, 1:]]))
            finished[b].sort(key=lambda h: -h[0])
    return [[(tokens, score) for score, tokens in hyps[:n_best]] for hyps in finished]

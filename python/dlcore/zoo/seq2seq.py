"""The encoder-decoder Transformer (Vaswani et al. 2017) with greedy and beam-search decoding.

    cfg = Seq2SeqConfig(src_vocab_size=45, tgt_vocab_size=45)
    model = Seq2SeqTransformer(cfg)
    logits, loss = model(src, tgt_in, tgt_out, label_smoothing=0.1)   # teacher forcing
    model.greedy(src)                                  # [[ids...], ...] without <bos>/<eos>
    model.beam_search(src, beam_width=4, length_penalty=1.0)

Architecture: source and target token embeddings (``src_embed``, ``tgt_embed``: one shared table
with ``share_embeddings=True``, for a joint vocabulary) scaled by sqrt(d_model), plus the
sinusoidal position table (a non-persistent buffer ``pe``), dropout, then ``transformer``, an
``nn.Transformer`` (batch_first, torch's names and state_dict keys, so torch.nn.Transformer
weights load into it), and the output projection ``generator`` (bias-free; its weight IS
``tgt_embed.weight`` with ``tie_output=True``, Press & Wolf 2017).  Embeddings ~ N(0, 1/d_model)
so the scaled embeddings have unit variance; the Transformer keeps torch's xavier init.

Masks: the source padding mask (src == pad_id) is the encoder's ``src_key_padding_mask`` and the
decoder's ``memory_key_padding_mask``; the target gets the causal mask and its own padding mask.
Training is teacher forcing: the decoder reads <bos> + y and is scored on y + <eos>.

Decoding (``dlcore.zoo._seq2seq_decode``): the encoder runs once per source; the decoder then
runs one position per step on a KV cache (self-attention keys/values appended per step, the
cross-attention keys/values of the memory projected once per source).  ``cache=False`` recomputes
the whole prefix through the modules every step instead (same tokens; the tests check it).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import _core, nn
from .._tensor import Tensor
from ..nn import functional as F
from ..nn import init
from ..nn.positional import sinusoidal_table
from . import _seq2seq_decode as dec
from ._gpt_parts import ConfigDict
from .gpt import GPT

__all__ = ["Seq2SeqConfig", "Seq2SeqTransformer", "pad_batch"]


@dataclasses.dataclass
class Seq2SeqConfig(ConfigDict):
    """Hyper-parameters of :class:`Seq2SeqTransformer`: vocabulary sizes, width, heads, depth,
    feed-forward width, dropout, the longest sequence (position table), the special ids,
    ``share_embeddings`` (one table for source and target: needs equal vocabulary sizes),
    ``tie_output`` (the output projection is the target embedding), ``norm_first`` (pre-LN) and
    the feed-forward ``activation`` ("relu" or "gelu")."""

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 128
    nhead: int = 4
    num_encoder_layers: int = 3
    num_decoder_layers: int = 3
    dim_feedforward: int = 512
    dropout: float = 0.1
    max_len: int = 64
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    share_embeddings: bool = False
    tie_output: bool = True
    norm_first: bool = False
    activation: str = "relu"

    def __post_init__(self):
        for name in ("src_vocab_size", "tgt_vocab_size", "d_model", "nhead", "num_encoder_layers",
                     "num_decoder_layers", "dim_feedforward", "max_len"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Seq2SeqConfig: {name} must be a positive int, got {value!r}")
        if self.d_model % self.nhead:
            raise ValueError(f"Seq2SeqConfig: d_model ({self.d_model}) must be divisible by nhead ({self.nhead})")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"Seq2SeqConfig: dropout must be in [0, 1), got {self.dropout}")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError("Seq2SeqConfig: share_embeddings needs src_vocab_size == tgt_vocab_size, got "
                             f"{self.src_vocab_size} and {self.tgt_vocab_size}")
        for name in ("pad_id", "bos_id", "eos_id"):
            if not 0 <= getattr(self, name) < min(self.src_vocab_size, self.tgt_vocab_size):
                raise ValueError(f"Seq2SeqConfig: {name} must be a token id of both vocabularies")
        if self.activation not in ("relu", "gelu"):
            raise ValueError(f"Seq2SeqConfig: activation must be 'relu' or 'gelu', got {self.activation!r}")


def pad_batch(seqs, pad_id=0, op="Seq2SeqTransformer"):
    """An int64 (B, L) array from a list of token-id lists (right-padded with pad_id), a 2-D
    integer array or an int64 Tensor."""
    if isinstance(seqs, Tensor):
        seqs = seqs.numpy()
    if isinstance(seqs, np.ndarray):
        if seqs.dtype.kind not in "iu" or seqs.ndim != 2:
            raise TypeError(f"{op}: expected a 2-D integer array of token ids, got {seqs.dtype} {seqs.shape}")
        return np.ascontiguousarray(seqs, np.int64)
    seqs = [list(s) for s in seqs]
    if not seqs or any(len(s) == 0 for s in seqs):
        raise ValueError(f"{op}: expected a non-empty batch of non-empty sequences")
    out = np.full((len(seqs), max(map(len, seqs))), pad_id, np.int64)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out


_DECODE = "Seq2SeqTransformer.decode"


def _decode_algorithm(cache):
    """The decoders' one algorithm choice: "kv_cache" (one position per step on the cache) when
    cache=True, else "recompute" (the whole prefix through the modules every step); logged
    (``dlcore.kernel_log()``, op "Seq2SeqTransformer.decode") and forceable with
    ``dlcore.force_algorithm("Seq2SeqTransformer.decode", "kv_cache" | "recompute")``."""
    forced = _core.forced_algorithm(_DECODE)
    if forced is not None and forced not in ("kv_cache", "recompute"):
        raise ValueError(f"{_DECODE}: algorithm '{forced}' does not apply: the algorithms are 'kv_cache' and "
                         "'recompute'")
    algo = forced or ("kv_cache" if cache else "recompute")
    _core.log_kernel(_DECODE, "cpu", algo)
    return algo


def _t(a):
    return Tensor(_core.as_tensor(np.ascontiguousarray(a)))


class Seq2SeqTransformer(nn.Module):
    """The encoder-decoder Transformer of the module docstring.  ``forward(src, tgt, targets=None,
    label_smoothing=0.0)`` -> ``(logits (B, T, tgt_vocab), loss or None)``: src (B, S) and tgt
    (B, T) int64 with pad_id padding; the loss is the mean cross-entropy over targets that are
    not pad_id."""

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, Seq2SeqConfig):
            raise TypeError(f"Seq2SeqTransformer: expected a Seq2SeqConfig, got {type(config).__name__}")
        self.config = c = config
        self.embed_scale = math.sqrt(c.d_model)
        self.src_embed = nn.Embedding(c.src_vocab_size, c.d_model)
        self.tgt_embed = self.src_embed if c.share_embeddings else nn.Embedding(c.tgt_vocab_size, c.d_model)
        self.register_buffer("pe", _t(sinusoidal_table(c.max_len, c.d_model)), persistent=False)
        self.dropout = nn.Dropout(c.dropout)
        self.transformer = nn.Transformer(c.d_model, c.nhead, c.num_encoder_layers, c.num_decoder_layers,
                                          c.dim_feedforward, c.dropout, c.activation, batch_first=True,
                                          norm_first=c.norm_first)
        self.generator = nn.Linear(c.d_model, c.tgt_vocab_size, bias=False)
        for emb in {id(self.src_embed): self.src_embed, id(self.tgt_embed): self.tgt_embed}.values():
            init.normal_(emb.weight, 0.0, c.d_model ** -0.5)
        if c.tie_output:
            self.generator.weight = self.tgt_embed.weight
        else:
            init.normal_(self.generator.weight, 0.0, c.d_model ** -0.5)

    # ---- teacher forcing ------------------------------------------------------------------------
    def _embed(self, table, ids, op):
        if ids.shape[1] > self.config.max_len:
            raise ValueError(f"{op}: sequences of {ids.shape[1]} tokens exceed max_len {self.config.max_len}")
        return self.dropout(table(ids) * self.embed_scale + self.pe[:ids.shape[1]])

    def _ids(self, x, vocab, op):
        a = pad_batch(x, self.config.pad_id, op)
        if a.size and (a.min() < 0 or a.max() >= vocab):
            raise IndexError(f"{op}: token ids must be in [0, {vocab}), got {a.min()}..{a.max()}")
        return a

    def encode(self, src):
        """(memory (B, S, d_model), source padding mask (B, S) bool Tensor: True = padding)."""
        a = self._ids(src, self.config.src_vocab_size, "Seq2SeqTransformer.encode")
        pad = _t(a == self.config.pad_id)
        memory = self.transformer.encoder(self._embed(self.src_embed, _t(a), "Seq2SeqTransformer.encode"),
                                          src_key_padding_mask=pad)
        return memory, pad

    def decode(self, tgt, memory, src_pad):
        """Logits (B, T, tgt_vocab) of the decoder reading tgt (B, T) (causal and padding masks)
        over the encoder's memory with its padding mask src_pad."""
        a = self._ids(tgt, self.config.tgt_vocab_size, "Seq2SeqTransformer.decode")
        T = a.shape[1]
        h = self.transformer.decoder(self._embed(self.tgt_embed, _t(a), "Seq2SeqTransformer.decode"), memory,
                                     tgt_mask=nn.Transformer.generate_square_subsequent_mask(T),
                                     tgt_key_padding_mask=_t(a == self.config.pad_id),
                                     memory_key_padding_mask=src_pad, tgt_is_causal=True)
        return self.generator(h)

    def forward(self, src, tgt, targets=None, label_smoothing=0.0):
        """Teacher forcing: (logits (B, T, V), loss) with loss = cross_entropy over the targets
        (B, T) that are not pad_id, with label smoothing; loss None without targets."""
        memory, pad = self.encode(src)
        logits = self.decode(tgt, memory, pad)
        if targets is None:
            return logits, None
        y = self._ids(targets, self.config.tgt_vocab_size, "Seq2SeqTransformer")
        if y.shape != tuple(logits.shape[:2]):
            raise ValueError(f"Seq2SeqTransformer: targets must have tgt's shape {tuple(logits.shape[:2])}, "
                             f"got {y.shape}")
        V = self.config.tgt_vocab_size
        loss = F.cross_entropy(logits.reshape(-1, V), _t(y.reshape(-1)), ignore_index=self.config.pad_id,
                               label_smoothing=float(label_smoothing))
        return logits, loss

    # ---- decoding ------------------------------------------------------------------------------
    _inference = GPT._inference  # eval mode and no graph for the duration; the caller's mode after

    def _max_len(self, max_len, op):
        m = self.config.max_len - 1 if max_len is None else int(max_len)
        if not 1 <= m < self.config.max_len:
            raise ValueError(f"{op}: max_len must be in [1, {self.config.max_len - 1}], got {max_len}")
        return m

    def _search_setup(self, src, beams, cache, max_len):
        """(step, reorder, batch) for the searches: the cached plan, or a full recompute."""
        cache = _decode_algorithm(cache) == "kv_cache"
        memory, pad = self.encode(src)
        B = memory.shape[0]
        if cache:
            plan = dec.DecodePlan(self)
            state = plan.start(memory.numpy(), pad.numpy(), beams, max_len + 1)
            return (lambda prefix: plan.step(prefix[:, -1], state)), state.reorder, B
        mem = _t(np.repeat(memory.numpy(), beams, axis=0))
        mpad = _t(np.repeat(pad.numpy(), beams, axis=0))
        return (lambda prefix: self.decode(prefix, mem, mpad)[:, -1].numpy()), (lambda rows: None), B

    def greedy(self, src, max_len=None, cache=True, return_scores=False):
        """Greedy decoding of src (token-id lists, or (B, S) int64 with pad_id padding): a list of
        B token-id lists without <bos>/<eos>, each ending at the first <eos> or after max_len
        tokens (default max_len - 1 of the config).  return_scores: also the float64 (B,) sums of
        the chosen tokens' log-probabilities (<eos> included) and the (B,) lengths they cover.
        ``cache=False`` recomputes the prefix through the modules each step (same tokens; the
        choice is logged and can be forced, see ``_decode_algorithm``)."""
        m = self._max_len(max_len, "greedy")
        with self._inference():
            step, _, B = self._search_setup(src, 1, cache, m)
            tokens, scores, lengths = dec.greedy_search(step, B, self.config.bos_id, self.config.eos_id, m)
        return (tokens, scores, lengths) if return_scores else tokens

    def beam_search(self, src, beam_width=4, length_penalty=1.0, max_len=None, n_best=1, cache=True,
                    return_scores=False):
        """Beam search (see ``dlcore.zoo._seq2seq_decode.beam_search`` for the exact rule): the
        best hypothesis per source, a token-id list without <bos>/<eos> (n_best > 1: a list of the
        n_best, best first).  A hypothesis scores log p / length ** length_penalty (length counts
        <eos>).  beam_width=1 with length_penalty=0 is greedy decoding.  return_scores: pairs
        (tokens, score) instead of tokens."""
        K, m = int(beam_width), self._max_len(max_len, "beam_search")
        if K < 1:
            raise ValueError(f"beam_search: beam_width must be >= 1, got {beam_width}")
        if int(n_best) < 1 or int(n_best) > K:
            raise ValueError(f"beam_search: n_best must be in [1, beam_width={K}], got {n_best}")
        if not math.isfinite(float(length_penalty)):
            raise ValueError(f"beam_search: length_penalty must be finite, got {length_penalty}")
        with self._inference():
            step, reorder, B = self._search_setup(src, K, cache, m)
            hyps = dec.beam_search(step, reorder, B, K, self.config.bos_id, self.config.eos_id, m,
                                   float(length_penalty), int(n_best))
        if not return_scores:
            hyps = [[t for t, _ in h] for h in hyps]
        return [h[0] for h in hyps] if n_best == 1 else hyps

    def score(self, src, hyps, length_penalty=0.0):
        """float64 (B,) scores of given outputs hyps (token-id lists without <bos>/<eos>) by
        teacher forcing: the log-probability of each hypothesis followed by <eos>, divided by
        (len + 1) ** length_penalty; the quantity beam search maximises."""
        c = self.config
        src_a = self._ids(src, c.src_vocab_size, "score")
        if len(hyps) != src_a.shape[0]:
            raise ValueError(f"score: expected {src_a.shape[0]} hypotheses, got {len(hyps)}")
        tgt_in = pad_batch([[c.bos_id] + list(h) for h in hyps], c.pad_id)
        tgt_out = pad_batch([list(h) + [c.eos_id] for h in hyps], c.pad_id)
        with self._inference():
            logp = dec.log_softmax(self(src_a, tgt_in)[0].numpy())
        lengths = np.array([len(h) + 1 for h in hyps], np.float64)
        valid = np.arange(tgt_out.shape[1])[None, :] < lengths[:, None]
        picked = np.take_along_axis(logp, tgt_out[..., None], axis=2)[..., 0]
        return np.where(valid, picked, 0.0).sum(axis=1) / lengths ** float(length_penalty)

    def num_params(self):
        """Number of parameters (a shared or tied table counted once)."""
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self.config.to_dict().items())

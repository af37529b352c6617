"""GPT: a decoder-only Transformer language model (GPT-2's architecture at any size) with KV-cache
generation.

    cfg = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
    model = GPT(cfg)
    logits, loss = model(idx, targets)            # idx, targets: int64 (B, T), T <= block_size
    out = model.generate(prompt_ids, 100, temperature=0.8, top_k=40, seed=0)

Architecture (nanoGPT's, so its checkpoints and parameter names carry over): token embeddings
``transformer.wte`` tied with the output head ``lm_head``; learned absolute positions
``transformer.wpe`` or rotary embeddings (``pos="rope"``: no position table, queries and keys
rotated per head in the half-rotation / GPT-NeoX layout); ``n_layer`` pre-LayerNorm blocks
``transformer.h.N`` of causal multi-head self-attention (``attn.c_attn`` the fused q/k/v
projection, ``attn.c_proj``) on the fused attention kernel and a GELU MLP (``mlp.c_fc``,
``mlp.c_proj``); a final ``transformer.ln_f``.  GPT-2's initialisation: every Linear and Embedding
weight ~ N(0, 0.02^2), biases 0, and the residual projections (``*.c_proj.weight``) ~
N(0, (0.02 / sqrt(2 n_layer))^2) so the residual stream's variance does not grow with depth.

Generation keeps a KV cache (``KVCache``): one preallocated (B, n_head, block_size, head_dim)
key and value buffer per layer.  The prompt is run once (prefill); each new token then runs the
network on that one position and attends over the cached keys and values, so its cost is that of
a length-1 forward plus the attention over the cache, independent of the prompt length.

The context window: the model never sees more than ``block_size`` tokens.  When the sequence
is about to outgrow the window, the context is cropped to its last ``block_size // 2`` tokens
(at least 1) and the cache refilled from them (one prefill), so the window "rolls" in half-window
steps: each token is predicted from between block_size/2 and block_size tokens of context, and
the refill costs one prefill every block_size/2 tokens.  ``cache=False`` recomputes the whole
context for every token under the same cropping rule, so the cache changes the cost, never the
tokens (tests check that greedy decoding is identical with and without it).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math

import numpy as np

from .. import _core, nn
from .._random import get_rng_state, set_rng_state
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from ..nn import init
from . import _gpt_parts as parts
from ._gpt_decode import DecodePlan

__all__ = ["GPTConfig", "GPT", "KVCache", "filter_logits", "sample_from_probs"]


@dataclasses.dataclass
class GPTConfig:
    """Hyper-parameters of :class:`GPT` (nanoGPT's names; defaults: the baby GPT of nanoGPT's
    character-level Shakespeare recipe).

    vocab_size: tokens; block_size: the longest context; n_layer, n_head, n_embd: depth, heads,
    width (n_embd divisible by n_head); dropout: on embeddings, attention weights, residual
    branches; bias: biases in the Linears and LayerNorms; pos: "learned" absolute positions or
    "rope" rotary embeddings (head_dim must then be even)."""

    vocab_size: int = 65
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    pos: str = "learned"

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout}")
        if self.pos not in ("learned", "rope"):
            raise ValueError(f"GPTConfig: pos must be 'learned' or 'rope', got {self.pos!r}")
        if self.pos == "rope" and (self.n_embd // self.n_head) % 2:
            raise ValueError(f"GPTConfig: pos='rope' needs an even head_dim, got {self.n_embd // self.n_head}")

    def to_dict(self):
        """The fields as a plain dict (JSON-serialisable; what checkpoints store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        """A config from :meth:`to_dict`'s output (unknown keys raise ValueError)."""
        names = {f.name for f in dataclasses.fields(cls)}
        extra = set(d) - names
        if extra:
            raise ValueError(f"GPTConfig: unknown fields {sorted(extra)}")
        return cls(**d)


class KVCache:
    """Per-layer key and value buffers for incremental decoding, preallocated once:
    ``k[i]``, ``v[i]`` of shape (batch, n_head, block_size, head_dim); ``length`` positions are
    filled.  :meth:`GPT.generate` makes and refills one; ``GPT.forward_cached`` appends to it."""

    def __init__(self, config, batch, dtype="float32"):
        shape = (int(batch), config.n_head, config.block_size, config.n_embd // config.n_head)
        # NumPy buffers (k_np, v_np: the one-token step writes them) and zero-copy Tensor views
        # of the same memory (k, v: the module forward writes them during a prefill)
        self.k_np = [np.zeros(shape, np.dtype(dtype)) for _ in range(config.n_layer)]
        self.v_np = [np.zeros(shape, np.dtype(dtype)) for _ in range(config.n_layer)]
        self.k = [Tensor(_core.as_tensor(a)) for a in self.k_np]
        self.v = [Tensor(_core.as_tensor(a)) for a in self.v_np]
        self.capacity = config.block_size
        self.length = 0

    def reset(self):
        """Forget the cached positions (the buffers are reused)."""
        self.length = 0


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: one fused q/k/v projection ``c_attn``, the fused
    attention kernel (is_causal), the output projection ``c_proj``; RoPE on q and k if asked."""

    def __init__(self, config):
        super().__init__()
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.head_dim = config.n_embd // config.n_head
        self.dropout = float(config.dropout)
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, rope=None, cache=None, layer=0):
        """x (B, T, C) -> (B, T, C).  rope: (cos, sin) rows for these T positions or None.
        cache: a KVCache whose first ``cache.length`` positions precede x (then x's keys and
        values are appended to it and attention runs over all of them)."""
        B, T, C = x.shape
        qkv = self.c_attn(x).view(B, T, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, H, T, D) each
        if rope is not None:
            q, k = parts.rotary(q, *rope), parts.rotary(k, *rope)
        causal = True
        if cache is not None:
            start = cache.length
            cache.k[layer][:, :, start:start + T] = k
            cache.v[layer][:, :, start:start + T] = v
            k = cache.k[layer][:, :, :start + T]
            v = cache.v[layer][:, :, :start + T]
            # a query at the cache's end sees every cached key: the mask is only needed among
            # the new positions, and they only come several at a time into an empty cache
            causal = T > 1
            if causal and start:
                raise ValueError("CausalSelfAttention: several new positions need an empty cache")
        p = self.dropout if self.training else 0.0
        y = parts.attention(q, k, v, p, causal)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Linear(C, 4C) -> GELU (exact) -> Linear(4C, C) -> dropout; the GELU is fused into the
    first GEMM's epilogue."""

    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        """(B, T, C) -> (B, T, C)."""
        return self.dropout(self.c_proj(self.c_fc._forward_activation(x, "gelu")))


class Block(nn.Module):
    """Pre-LayerNorm residual block: x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, config):
        super().__init__()
        self.ln_1 = parts.layer_norm(config.n_embd, config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = parts.layer_norm(config.n_embd, config.bias)
        self.mlp = MLP(config)

    def forward(self, x, rope=None, cache=None, layer=0):
        """(B, T, C) -> (B, T, C); rope, cache, layer as in CausalSelfAttention.forward."""
        x = x + self.attn(self.ln_1(x), rope, cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """The GPT language model (see the module docstring).  ``forward(idx, targets=None)``
    returns ``(logits, loss)``: logits (B, T, vocab_size) and, with targets, the mean
    cross-entropy over positions whose target is not -1 (else None)."""

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT: expected a GPTConfig, got {type(config).__name__}")
        self.config = config
        modules = {"wte": nn.Embedding(config.vocab_size, config.n_embd)}
        if config.pos == "learned":
            modules["wpe"] = nn.Embedding(config.block_size, config.n_embd)
        modules.update(drop=nn.Dropout(config.dropout),
                       h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                       ln_f=parts.layer_norm(config.n_embd, config.bias))
        self.transformer = nn.ModuleDict(modules)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying (Press & Wolf 2017)
        if config.pos == "rope":
            cos, sin = parts.rope_tables(config.block_size, config.n_embd // config.n_head)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self._init_weights()

    def _init_weights(self):
        std = 0.02
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                init.normal_(p, 0.0, std / math.sqrt(2 * self.config.n_layer))
            elif name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                init.ones_(p)
            elif name.endswith(".bias"):
                init.zeros_(p)
            else:  # Linear and Embedding weights (wte is lm_head's too)
                init.normal_(p, 0.0, std)

    def num_params(self, non_embedding=True):
        """Number of parameters (tied weights once); by default without the position table, as
        nanoGPT counts (the token table is the output head too, so it stays)."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding and self.config.pos == "learned":
            n -= self.transformer.wpe.weight.numel()
        return n

    def _rope(self, start, length):
        if self.config.pos != "rope":
            return None
        return self.rope_cos[start:start + length], self.rope_sin[start:start + length]

    def _hidden(self, idx, cache=None):
        B, T = idx.shape
        start = 0 if cache is None else cache.length
        if start + T > self.config.block_size:
            raise ValueError(f"GPT: cannot forward {start + T} positions, block_size is {self.config.block_size}")
        x = self.transformer.wte(idx)
        if self.config.pos == "learned":
            pos = Tensor(_core.as_tensor(np.arange(start, start + T, dtype=np.int64)))
            x = x + self.transformer.wpe(pos)
        x = self.transformer.drop(x)
        rope = self._rope(start, T)
        for i, block in enumerate(self.transformer.h):
            x = block(x, rope, cache, i)
        if cache is not None:
            cache.length = start + T
        return self.transformer.ln_f(x)

    def forward(self, idx, targets=None):
        """idx int64 (B, T) with T <= block_size -> (logits (B, T, V), loss or None)."""
        idx = parts.as_index(idx, "GPT")
        if idx.ndim != 2:
            raise ValueError(f"GPT: expected idx of shape (B, T), got {idx.shape}")
        logits = self.lm_head(self._hidden(idx))
        if targets is None:
            return logits, None
        targets = parts.as_index(targets, "GPT")
        if targets.shape != idx.shape:
            raise ValueError(f"GPT: targets must have idx's shape {idx.shape}, got {targets.shape}")
        V = self.config.vocab_size
        loss = F.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)
        return logits, loss

    def forward_cached(self, idx, cache):
        """Logits (B, V) of the last of the new positions idx (B, T), appending their keys and
        values to `cache` (a :class:`KVCache`); the cache must have room for T more."""
        idx = parts.as_index(idx, "GPT")
        h = self._hidden(idx, cache)
        return self.lm_head(h[:, -1])

    # ---- optimisation ------------------------------------------------------------------------
    def param_groups(self, weight_decay):
        """Two AdamW parameter groups: every matrix (>= 2-D: Linear and Embedding weights) with
        `weight_decay`, every vector (biases, LayerNorm gains) with none."""
        decay = [p for p in self.parameters() if p.ndim >= 2]
        no_decay = [p for p in self.parameters() if p.ndim < 2]
        return [{"params": decay, "weight_decay": float(weight_decay)},
                {"params": no_decay, "weight_decay": 0.0}]

    def configure_optimizers(self, weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.99), eps=1e-8):
        """AdamW over :meth:`param_groups` (nanoGPT's configure_optimizers)."""
        from .. import optim

        return optim.AdamW(self.param_groups(weight_decay), lr=learning_rate, betas=betas, eps=eps)

    # ---- generation --------------------------------------------------------------------------
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=None, cache=True):
        """Extend idx (B, T) int64 (or a list of ints: one sequence) by max_new_tokens tokens;
        returns an int64 Tensor (B, T + max_new_tokens).  See :meth:`generate_stream`."""
        idx = parts.as_index(idx, "generate")
        if idx.ndim == 1:
            idx = idx.view(1, -1)
        new = list(self.generate_stream(idx, max_new_tokens, temperature, top_k, top_p, seed, cache))
        if not new:
            return idx
        out = np.concatenate([idx.numpy(), np.stack(new, axis=1)], axis=1)
        return Tensor(_core.as_tensor(np.ascontiguousarray(out)))

    def generate_stream(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=None,
                        cache=True):
        """Yield max_new_tokens steps of autoregressive generation, each an int64 NumPy array (B,)
        of the new tokens (a generator: the CLI prints tokens as they come).

        temperature 0 is greedy decoding (argmax); otherwise the logits are divided by it and
        filtered by ``top_k`` (keep the k most likely) and ``top_p`` (keep the smallest set of
        most likely tokens whose probability reaches top_p) before sampling (see
        :func:`filter_logits`).  With ``seed`` the draws come from dlcore's generator at state
        (seed, 0), kept apart from the global stream (which is left untouched), so the same seed
        gives the same text; without it they come from the global generator.  ``cache`` uses
        the KV cache (see the module docstring for how the context window rolls).  The model
        runs in eval mode without recording a graph while each token is computed; between tokens
        the caller's mode and grad mode are untouched.  The weights are read once, when the
        first token is requested (train between two generators, not during one)."""
        idx = parts.as_index(idx, "generate")
        if idx.ndim == 1:
            idx = idx.view(1, -1)
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(f"generate: expected a non-empty prompt of shape (B, T), got {idx.shape}")
        max_new_tokens = int(max_new_tokens)
        if max_new_tokens < 0:
            raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
        _check_sampling(temperature, top_k, top_p)
        ids = idx.numpy().astype(np.int64)
        if ids.min() < 0 or ids.max() >= self.config.vocab_size:
            raise IndexError(f"generate: prompt tokens must be in [0, {self.config.vocab_size}), "
                             f"got {ids.min()}..{ids.max()}")
        return self._stream(ids, max_new_tokens, float(temperature), top_k, top_p, seed, bool(cache))

    def _stream(self, ids, max_new_tokens, temperature, top_k, top_p, seed, use_cache):
        block = self.config.block_size
        keep = max(1, block // 2)
        draw = _Draws(seed)
        kv = plan = None
        if use_cache:
            kv = KVCache(self.config, ids.shape[0], str(self.transformer.wte.weight.dtype))
            with self._inference():
                plan = DecodePlan(self)
        context = ids[:, -block:] if ids.shape[1] > block else ids
        fresh = True  # the cache does not hold the context yet
        for _ in range(max_new_tokens):
            if context.shape[1] > block:  # outgrew the window: roll it (module docstring)
                context, fresh = context[:, -keep:], True
            # eval mode and no graph only while computing: the caller's state is its own between
            # the tokens of this generator
            with self._inference():
                if kv is None:
                    logits = self._last_logits(context)
                elif fresh:  # (re)fill the cache from the context
                    kv.reset()
                    logits = self.forward_cached(_index(context), kv).numpy()
                    fresh = False
                else:  # one position on the kernels directly (see _gpt_decode)
                    logits = plan.step(context[:, -1], kv)
            token = _pick(logits, temperature, top_k, top_p, draw)
            context = np.concatenate([context, token[:, None]], axis=1)
            yield token

    @contextlib.contextmanager
    def _inference(self):
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                yield
        finally:
            self.train(was_training)

    def _last_logits(self, context):
        h = self._hidden(_index(context))
        return self.lm_head(h[:, -1]).numpy()

    def extra_repr(self):
        return json.dumps(self.config.to_dict())


def _index(a):
    return Tensor(_core.as_tensor(np.ascontiguousarray(a, dtype=np.int64)))


def _check_sampling(temperature, top_k, top_p):
    if not (float(temperature) >= 0.0) or math.isinf(float(temperature)):
        raise ValueError(f"generate: temperature must be a finite number >= 0, got {temperature}")
    if top_k is not None and (int(top_k) != top_k or top_k < 1):
        raise ValueError(f"generate: top_k must be a positive int or None, got {top_k}")
    if top_p is not None and not 0.0 < float(top_p) <= 1.0:
        raise ValueError(f"generate: top_p must be in (0, 1] or None, got {top_p}")


def filter_logits(logits, temperature=1.0, top_k=None, top_p=None):
    """The sampling distribution of :meth:`GPT.generate`: float64 probabilities (B, V) from
    logits (B, V) (or (V,)).  Logits are divided by temperature (> 0); ``top_k`` keeps the k
    largest logits (ties with the k-th are kept, as in nanoGPT); ``top_p`` (nucleus sampling)
    keeps, in order of decreasing probability, every token whose preceding cumulative probability
    is below top_p (so the most likely token always stays and the kept mass is >= top_p).
    The kept probabilities are renormalised; removed ones are exactly 0."""
    _check_sampling(temperature, top_k, top_p)
    if float(temperature) == 0.0:
        raise ValueError("filter_logits: temperature 0 is greedy decoding (argmax); there is no distribution")
    x = np.array(logits, dtype=np.float64, ndmin=1)
    squeeze = x.ndim == 1
    x = x.reshape(1, -1) if squeeze else x
    x = x / float(temperature)
    if top_k is not None and top_k < x.shape[1]:
        kth = np.sort(x, axis=1)[:, -int(top_k)][:, None]
        x = np.where(x < kth, -np.inf, x)
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-p, axis=1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=1)
        before = np.cumsum(sorted_p, axis=1) - sorted_p
        drop = np.zeros_like(p, dtype=bool)
        np.put_along_axis(drop, order, before >= float(top_p), axis=1)
        p = np.where(drop, 0.0, p)
        p /= p.sum(axis=1, keepdims=True)
    return p[0] if squeeze else p


def sample_from_probs(probs, uniforms):
    """Inverse-CDF sampling: for each row of probs (B, V) the first index whose cumulative
    probability exceeds uniforms[b] * total (uniforms in [0, 1)).  Deterministic given the
    uniforms; zero-probability tokens are never picked."""
    probs = np.asarray(probs, np.float64)
    cdf = np.cumsum(probs, axis=1)
    u = np.asarray(uniforms, np.float64).reshape(-1, 1) * cdf[:, -1:]
    idx = (cdf <= u).sum(axis=1)
    # rounding can leave u at the very top of the cdf: fall back to the last token with mass
    last = probs.shape[1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
    return np.minimum(idx, last).astype(np.int64)


class _Draws:
    """Uniform draws from dlcore's generator: a private stream at (seed, 0) when seeded (the
    global state is saved and restored around each draw), else the global stream."""

    def __init__(self, seed):
        self.state = None if seed is None else (int(seed) % 2 ** 64, 0)

    def uniforms(self, n):
        from .._random import rand

        if self.state is None:
            return rand(n, dtype="float64").numpy()
        saved = get_rng_state()
        set_rng_state(self.state)
        try:
            u = rand(n, dtype="float64").numpy()
            self.state = get_rng_state()
        finally:
            set_rng_state(saved)
        return u


def _pick(logits, temperature, top_k, top_p, draw):
    if temperature == 0.0:
        return np.argmax(logits, axis=1).astype(np.int64)
    probs = filter_logits(logits, temperature, top_k, top_p)
    return sample_from_probs(probs, draw.uniforms(probs.shape[0]))

"""A character-level language model: :class:`CharRNN` (embedding -> RNN/LSTM/GRU stack -> linear),
its character vocabulary, and sampling from it.  The training recipe is :mod:`.char_rnn_train`.
"""
from __future__ import annotations

import json

import numpy as np

from .. import nn
from .._tensor import Tensor, tensor
from ..autograd.grad_mode import no_grad
from ..nn import functional as F

__all__ = ["CharRNN", "CharVocab", "sample_text"]

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class CharVocab:
    """The sorted set of characters of a text; ``encode`` gives int64 ids, ``decode`` the text.
    Characters outside the vocabulary (in a prompt) raise ValueError naming them."""

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        """int64 ids of `text`."""
        bad = sorted(set(text) - set(self.index))
        if bad:
            raise ValueError(f"CharVocab.encode: characters not in the vocabulary: {''.join(bad)!r}")
        return np.fromiter((self.index[c] for c in text), np.int64, len(text))

    def decode(self, ids):
        """The text of a sequence of ids."""
        return "".join(self.chars[int(i)] for i in ids)

    def to_json(self):
        """The vocabulary as a JSON string (for checkpoint metadata)."""
        return json.dumps("".join(self.chars))

    @classmethod
    def from_json(cls, s):
        """Inverse of to_json."""
        return cls(json.loads(s))


class CharRNN(nn.Module):
    """Embedding(vocab, embed) -> cell stack (``cell`` 'rnn', 'lstm' or 'gru'; batch_first) ->
    Linear(hidden, vocab).  ``forward(ids (B, T) int64, state=None) -> (logits (B, T, vocab),
    state)``; the state is the stack's (h or (h, c)) for truncated back-propagation through time."""

    def __init__(self, vocab_size, cell="lstm", embed=64, hidden=512, layers=2, dropout=0.0):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"CharRNN: cell must be one of {sorted(_CELLS)}, got {cell!r}")
        self.config = dict(vocab_size=int(vocab_size), cell=cell, embed=int(embed), hidden=int(hidden),
                           layers=int(layers), dropout=float(dropout))
        self.embedding = nn.Embedding(vocab_size, embed)
        self.rnn = _CELLS[cell](embed, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0,
                                batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        """Logits for every position and the final state."""
        out, state = self.rnn(self.embedding(ids), state)
        return self.head(out), state


def detach_state(state):
    """The recurrent state cut from the graph (h, or (h, c))."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def sample_text(model, vocab, prompt="\n", tokens=200, temperature=1.0, seed=0):
    """Continue `prompt` by `tokens` characters drawn from the model's softmax at `temperature`
    (dlcore's seeded generator: same seed, same text).  Returns prompt + continuation."""
    from .._random import manual_seed
    from ..ops import multinomial

    if temperature <= 0:
        raise ValueError(f"sample_text: temperature must be positive, got {temperature}")
    if not prompt:
        raise ValueError("sample_text: the prompt must not be empty")
    manual_seed(seed)
    was = model.training
    model.eval()
    ids = vocab.encode(prompt)
    out = list(ids)
    with no_grad():
        logits, state = model(tensor(ids[None]))
        for _ in range(tokens):
            last = logits.numpy()[0, -1].astype(np.float64) / temperature
            p = np.exp(last - last.max())
            p /= p.sum()
            nxt = int(np.asarray(multinomial(p, 1))[0])
            out.append(nxt)
            logits, state = model(tensor(np.array([[nxt]], np.int64)), state)
    model.train(was)
    return vocab.decode(out)


def loss_of(model, x, y, state):
    """Mean cross-entropy of next-character prediction over a (B, T) window, and the state."""
    logits, state = model(x if isinstance(x, Tensor) else tensor(x), state)
    V = logits.shape[-1]
    loss = F.cross_entropy(logits.reshape(-1, V), y if isinstance(y, Tensor) else tensor(y.reshape(-1)))
    return loss, state

"""``dlcore generate CHECKPOINT``: text from any generative checkpoint of the zoo.

A checkpoint says what it is in its metadata (``kind``, or ``recipe`` for GPT); each kind registers a function
``fn(path, prompt, tokens, temperature, seed) -> str`` with :func:`register_generator`.  The
char-level RNN registers 'charrnn' here; a GPT recipe registers its own kind the same way.
"""
from __future__ import annotations

from ..serialization import load

__all__ = ["register_generator", "generate_from_checkpoint", "GENERATORS"]

GENERATORS = {}


def register_generator(kind, fn):
    """Make `fn(path, prompt, tokens, temperature, seed)` the generator of checkpoints of `kind`."""
    GENERATORS[kind] = fn


def generate_from_checkpoint(path, prompt=None, tokens=200, temperature=1.0, seed=0):
    """The prompt and its continuation by the model in `path` (ValueError for an unknown kind)."""
    _, meta = load(path, with_metadata=True)
    kind = (meta or {}).get("kind") or (meta or {}).get("recipe")
    if kind not in GENERATORS:
        raise ValueError(f"generate: {path} has no generator (metadata kind {kind!r}; known: "
                         f"{', '.join(sorted(GENERATORS))})")
    return GENERATORS[kind](path, prompt, tokens, temperature, seed)


def _charrnn(path, prompt, tokens, temperature, seed):
    from .char_rnn import sample_text
    from .char_rnn_train import load_charrnn

    model, vocab = load_charrnn(path)
    return sample_text(model, vocab, prompt if prompt else vocab.chars[0], tokens, temperature, seed)


def _gpt(path, prompt, tokens, temperature, seed):
    from .gpt_recipe import generate_from_checkpoint as gpt_generate

    return gpt_generate(path, "ROMEO:" if prompt is None else prompt, max_new_tokens=tokens, temperature=temperature,
                        seed=seed, out=None)


register_generator("charrnn", _charrnn)
register_generator("gpt", _gpt)

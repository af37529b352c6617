"""The GPT language-model recipe (``dlcore train gpt``) and generation from its checkpoints
(``dlcore generate CHECKPOINT``).

Recipe (the defaults, ``SIZES``): 6 layers, 6 heads, 192 wide, block 128, batch 16, 2,500
iterations (about 20 minutes on a 2-core machine); ``BABY`` is nanoGPT's "baby GPT" CPU recipe for
character-level Shakespeare (4 layers, 4 heads, 128 wide, block 64, batch 12, 2,000 iterations,
about 2 minutes).  Both: dropout 0.0, AdamW (betas 0.9/0.99,
weight decay 0.1 on matrices only) at lr 1e-3 with a linear warm-up over the first 100 iterations
(at most a tenth of the run) and a cosine decay to lr/10 at the last iteration, gradient norm
clipped at 1.0.  Batches are random windows of the training text (offsets from dlcore's seeded
generator, so a run is reproducible).  Every ``eval_interval`` iterations (and at the end) the
mean loss of ``eval_iters`` random batches of each split is logged; the weights with the best
validation loss are kept.

Corpus: ``dlcore.data.shakespeare()``'s train/validation split when that function is available
(the plays split by whole plays); with ``data=PATH`` (or without it) a UTF-8 file whose first 90%
trains and last 10% validates.  Tokenizer: ``dlcore.data.CharTokenizer`` (the characters of
both splits) or ``dlcore.data.BPETokenizer`` (byte level, ``vocab_size`` ids) trained on the
training text; its JSON goes into the checkpoint's metadata.

Outputs in ``out_dir``: ``gpt.safetensors`` (best weights; metadata: recipe "gpt", the model
config and the tokenizer as JSON, iteration and validation loss), ``gpt_curves.png``,
``metrics.json`` (final metrics, full config, history) and ``sample.txt`` (text generated from
the best weights).  The last printed line is ``val loss X.XXXX`` (best validation loss, nats per
token).
"""
from __future__ import annotations

import codecs
import json
import shutil
import tempfile
import math
import os
import sys
import time

import numpy as np

from .. import optim
from .._info import set_num_threads
from .._random import manual_seed, randint
from ._parallel import DataParallel
from ..autograd.grad_mode import no_grad
from ..nn.utils import clip_grad_norm_
from ..serialization import load, save
from .gpt import GPT, GPTConfig

__all__ = ["train_gpt", "generate_from_checkpoint", "load_checkpoint", "load_corpus", "lr_at"]

CHECKPOINT = "gpt.safetensors"


# ---- tokenizers --------------------------------------------------------------------------------
def _make_tokenizer(kind, train_text, val_text, vocab_size):
    """dlcore.data's CharTokenizer (the characters of both splits, so validation text always
    encodes) or BPETokenizer (vocab_size ids, trained on the training split)."""
    from ..data import BPETokenizer, CharTokenizer

    if kind == "char":
        return CharTokenizer().train(train_text + val_text)
    if kind == "bpe":
        return BPETokenizer().train(train_text, int(vocab_size))
    raise ValueError(f"train gpt: tokenizer must be 'char' or 'bpe', got {kind!r}")


def tokenizer_from_json(text):
    """The tokenizer a checkpoint stored (the ``to_json`` of a dlcore.data tokenizer)."""
    from ..data import BPETokenizer, CharTokenizer

    try:
        kind = json.loads(text).get("type")
    except (json.JSONDecodeError, AttributeError):
        kind = None
    cls = {"dlcore.CharTokenizer": CharTokenizer, "dlcore.BPETokenizer": BPETokenizer}.get(kind)
    if cls is None:
        raise ValueError(f"generate: the checkpoint's tokenizer is not a dlcore tokenizer (type {kind!r})")
    return cls.from_json(text, op="generate")


def _encode(tok, text):
    fast = getattr(tok, "encode_array", None)  # BPE: straight into an array
    return np.asarray(fast(text) if fast is not None else tok.encode(text), np.int64)


# ---- corpus ------------------------------------------------------------------------------------
def _split_of(corpus):
    """(train, val) texts from what dlcore.data.shakespeare() returns (a mapping or an object
    with train/val, or a pair)."""
    for tname, vname in (("train", "val"), ("train", "validation"), ("train_text", "val_text")):
        if isinstance(corpus, dict) and tname in corpus and vname in corpus:
            return corpus[tname], corpus[vname]
        if hasattr(corpus, tname) and hasattr(corpus, vname):
            return getattr(corpus, tname), getattr(corpus, vname)
    if isinstance(corpus, (tuple, list)) and len(corpus) == 2:
        return corpus[0], corpus[1]
    raise ValueError("train gpt: dlcore.data.shakespeare() returned no train/val split")


def load_corpus(data_path=None):
    """(train_text, val_text, source): the file at data_path split 90/10 by characters, else
    dlcore.data.shakespeare()'s split.  One-line errors when neither is available."""
    if data_path is not None:
        with open(data_path, encoding="utf-8") as f:
            text = f.read()
        if len(text) < 2:
            raise ValueError(f"train gpt: {data_path} holds too little text")
        n = int(len(text) * 0.9)
        return text[:n], text[n:], os.path.abspath(data_path)
    from .. import data

    fn = getattr(data, "shakespeare", None)
    if fn is None:
        raise ImportError("train gpt: this dlcore has no dlcore.data.shakespeare(); pass --data PATH (a UTF-8 file)")
    train, val = _split_of(fn())
    return train, val, "dlcore.data.shakespeare()"


# ---- training ----------------------------------------------------------------------------------
def lr_at(it, lr, iters, warmup, min_lr):
    """Learning rate at iteration it (0-based): linear warm-up to lr over `warmup` iterations,
    then cosine decay to min_lr at iteration iters - 1."""
    if it < warmup:
        return lr * (it + 1) / warmup
    span = max(1, iters - 1 - warmup)
    ratio = min(1.0, (it - warmup) / span)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


def _batch(data, batch_size, block):
    from .._tensor import Tensor
    from .. import _core

    starts = randint(0, len(data) - block - 1, size=(batch_size,)).numpy()
    rows = starts[:, None] + np.arange(block + 1)[None, :]
    chunk = data[rows]
    as_t = lambda a: Tensor(_core.as_tensor(np.ascontiguousarray(a)))  # noqa: E731
    return as_t(chunk[:, :-1]), as_t(chunk[:, 1:])


def _estimate(model, splits, eval_iters, batch_size, block):
    model.eval()
    out = {}
    with no_grad():
        for name, data in splits.items():
            out[name] = float(np.mean([model(*_batch(data, batch_size, block))[1].item() for _ in range(eval_iters)]))
    model.train()
    return out


def _plot(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(history["iter"], history["train_loss"], label="train")
    ax.plot(history["iter"], history["val_loss"], label="validation")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.legend()
    fig.suptitle("dlcore GPT")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# nanoGPT's "baby GPT" CPU recipe (``dlcore train gpt --baby``): about 2 minutes here, the anchor
# of the 5-minute target.  The defaults (SIZES) are a larger model for about 20 minutes.
BABY = dict(layers=4, heads=4, embd=128, block_size=64, batch_size=12, iters=2000)
SIZES = dict(layers=6, heads=6, embd=192, block_size=128, batch_size=16, iters=2500)


def train_gpt(tokenizer="char", vocab_size=512, layers=6, heads=6, embd=192, block_size=128, batch_size=16,
              iters=2500, lr=1e-3, dropout=0.0, eval_interval=250, eval_iters=20, seed=1337, threads=None,
              data=None, out_dir="runs/gpt", weight_decay=0.1, warmup=100, progress=True, sample_tokens=300,
              log=print, distributed=False):
    """Runs the recipe of the module docstring; returns a dict with val_loss (best), train_loss,
    best_iter, seconds, tokens_per_s, history and the output paths.  ``vocab_size`` is used by the
    BPE tokenizer only; ``log`` is print-like (None: silent). ``distributed``: data-parallel under
    ``mpirun -n P`` (zoo/_parallel.py): each rank draws batch_size / P windows; rank 0 prints and
    writes (the other ranks write into a temporary folder, removed at the end)."""
    if threads:
        set_num_threads(int(threads))
    dp = DataParallel(distributed)
    if dp.enabled and batch_size % dp.world:
        raise ValueError(f"train gpt: --batch-size {batch_size} must divide evenly over {dp.world} ranks")
    helper_dir = None
    if not dp.main:  # a helper rank: silent, its files go to a temporary folder
        log, progress = None, False
        helper_dir = out_dir = tempfile.mkdtemp(prefix=f"dlcore-gpt-rank{dp.rank}-")
    try:
        return _train_gpt(tokenizer, vocab_size, layers, heads, embd, block_size, batch_size, iters, lr, dropout,
                          eval_interval, eval_iters, seed, threads, data, out_dir, weight_decay, warmup, progress,
                          sample_tokens, log, dp)
    finally:
        if helper_dir is not None:
            shutil.rmtree(helper_dir, ignore_errors=True)


def _train_gpt(tokenizer, vocab_size, layers, heads, embd, block_size, batch_size, iters, lr, dropout, eval_interval,
               eval_iters, seed, threads, data, out_dir, weight_decay, warmup, progress, sample_tokens, log, dp):
    manual_seed(seed)
    train_text, val_text, source = load_corpus(data)
    tok = _make_tokenizer(tokenizer, train_text, val_text, vocab_size)
    splits = {"train": _encode(tok, train_text), "val": _encode(tok, val_text)}
    for name, arr in splits.items():
        if len(arr) < block_size + 2:
            raise ValueError(f"train gpt: the {name} split has {len(arr)} tokens, fewer than block_size + 2")
    config = GPTConfig(vocab_size=tok.vocab_size, block_size=block_size, n_layer=layers, n_head=heads,
                       n_embd=embd, dropout=dropout)
    model = GPT(config)
    dp.wrap(model)  # data-parallel: DDP's hooks average the gradients during backward
    dp.reseed(seed)
    opt = model.configure_optimizers(weight_decay, lr, betas=(0.9, 0.99))
    warmup = min(warmup, max(1, iters // 10))
    say = log or (lambda *_: None)
    say(f"corpus {source}: {len(splits['train'])} train / {len(splits['val'])} val tokens, "
        f"{tokenizer} vocabulary {tok.vocab_size}; model {model.num_params() / 1e6:.2f}M parameters")

    os.makedirs(out_dir, exist_ok=True)
    ckpt = os.path.join(out_dir, CHECKPOINT)
    meta = {"recipe": "gpt", "config": json.dumps(config.to_dict()), "tokenizer": tok.to_json()}
    history = {"iter": [], "train_loss": [], "val_loss": []}
    best = {"val_loss": math.inf, "iter": -1}
    bar = _progress(iters, progress)
    tokens = batch_size * block_size
    start = time.perf_counter()
    for it in range(iters):
        for group in opt.param_groups:
            group["lr"] = lr_at(it, lr, iters, warmup, lr / 10)
        x, y = _batch(splits["train"], batch_size // dp.world, block_size)
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if bar is not None:
            bar.update(1)
            if it % 10 == 0 or it == iters - 1:
                bar.set_postfix_str(f"loss {loss.item():.4f}, {tokens * (it + 1) / (time.perf_counter() - start):,.0f} tok/s")
        if (it + 1) % eval_interval == 0 or it == iters - 1:
            losses = _estimate(model, splits, eval_iters, batch_size, block_size)
            history["iter"].append(it + 1)
            history["train_loss"].append(losses["train"])
            history["val_loss"].append(losses["val"])
            line = f"iter {it + 1:5d}  train loss {losses['train']:.4f}  val loss {losses['val']:.4f}"
            if losses["val"] < best["val_loss"]:
                best = {"val_loss": losses["val"], "train_loss": losses["train"], "iter": it + 1}
                save(model.state_dict(), ckpt, metadata={**meta, "iter": str(it + 1),
                                                         "val_loss": f"{losses['val']:.6f}"})
                line += "  (saved)"
            if bar is not None and log is print:
                bar.write(line)
            else:
                say(line)
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()

    curves = os.path.join(out_dir, "gpt_curves.png")
    _plot(history, curves)
    sample = generate_from_checkpoint(ckpt, prompt=_sample_prompt(tok), max_new_tokens=sample_tokens,
                                      temperature=0.8, top_k=None, seed=seed, out=None)
    with open(os.path.join(out_dir, "sample.txt"), "w", encoding="utf-8") as f:
        f.write(sample)
    result = {"val_loss": best["val_loss"], "train_loss": best.get("train_loss"), "best_iter": best["iter"],
              "seconds": seconds, "tokens_per_s": tokens * iters / seconds, "history": history,
              "checkpoint": ckpt, "curves": curves, "sample": sample}
    config_all = {"tokenizer": tokenizer, "vocab_size": tok.vocab_size, "layers": layers, "heads": heads,
                  "embd": embd, "block_size": block_size, "batch_size": batch_size, "iters": iters, "lr": lr,
                  "dropout": dropout, "eval_interval": eval_interval, "eval_iters": eval_iters, "seed": seed,
                  "threads": threads, "data": source, "weight_decay": weight_decay, "warmup": warmup}
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump({k: v for k, v in result.items() if k != "sample"} | {"config": config_all}, f, indent=1)
    say(f"saved {ckpt}, {curves}, metrics.json and sample.txt in {out_dir}; {seconds:.1f} s, "
        f"{result['tokens_per_s']:,.0f} tokens/s")
    say("sample:\n" + sample)
    say(f"val loss {best['val_loss']:.4f}")
    return result


def _sample_prompt(tok):
    for prompt in ("ROMEO:", "\n", " "):
        try:
            if tok.encode(prompt):
                return prompt
        except ValueError:
            continue
    return tok.decode([0])


def _progress(total, enabled):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="train gpt", unit="it")


# ---- generation --------------------------------------------------------------------------------
def load_checkpoint(path):
    """(model in eval mode, tokenizer, metadata) from a ``dlcore train gpt`` checkpoint."""
    state, meta = load(path, with_metadata=True)
    if (meta or {}).get("recipe") != "gpt":
        raise ValueError(f"generate: {path} is not a GPT checkpoint (metadata recipe {(meta or {}).get('recipe')!r})")
    model = GPT(GPTConfig.from_dict(json.loads(meta["config"])))
    model.load_state_dict(state)
    model.eval()
    return model, tokenizer_from_json(meta["tokenizer"]), meta


def generate_from_checkpoint(path, prompt="ROMEO:", max_new_tokens=300, temperature=1.0, top_k=None, top_p=None,
                             seed=None, out="stdout"):
    """Generate text from a GPT checkpoint, writing the prompt and then each piece of text as
    soon as its token is sampled to `out` (a text stream, "stdout": sys.stdout at call time; None:
    silent).  Returns the whole text (prompt included).  A byte-level token that ends inside a
    UTF-8 character is held back until the character is complete."""
    model, tok, _ = load_checkpoint(path)
    if out == "stdout":
        out = sys.stdout
    ids = tok.encode(prompt)
    if not ids:
        raise ValueError("generate: the prompt encodes to no tokens")
    # byte-level tokens are decoded through an incremental UTF-8 decoder, which holds back the
    # bytes of a character until it is complete; characters decode one by one
    as_bytes = getattr(tok, "decode_bytes", None)
    utf8 = codecs.getincrementaldecoder("utf-8")("replace")
    piece = (lambda i: utf8.decode(as_bytes([i]))) if as_bytes else (lambda i: tok.decode([i]))  # noqa: E731
    pieces = [tok.decode(ids)]
    if out is not None:
        out.write(pieces[0])
        out.flush()
    for step in model.generate_stream([ids], max_new_tokens, temperature, top_k, top_p, seed):
        pieces.append(piece(int(step[0])))
        if out is not None and pieces[-1]:
            out.write(pieces[-1])
            out.flush()
    if as_bytes:
        pieces.append(utf8.decode(b"", final=True))
    if out is not None:
        out.write(pieces[-1] + "\n" if as_bytes else "\n")
        out.flush()
    text = "".join(pieces)
    return text

"""``dlcore train charrnn``: a character language model trained with truncated back-propagation
through time.

Recipe: the text (``--data PATH``, any UTF-8 file; default the Shakespeare corpus when
``dlcore.data.shakespeare`` exists) is split 90 / 10 into train and validation text (a corpus
that comes with its own validation part, e.g. held-out plays, keeps it).  Each split is cut into
``batch_size`` contiguous streams; step k trains on window k of every stream (``seq_len``
characters) and carries the recurrent state to the next window, detached (truncated BPTT); at
the end of the streams the state is reset.  Adam, gradient-norm clipping, cross-entropy in nats
per character.  Every ``eval_every`` steps the validation loss is measured over (up to
``val_windows``) windows of the validation streams; the best model is kept.

Outputs in ``out_dir``: ``charrnn.safetensors`` (best weights; metadata: kind 'charrnn', the
model config, the character vocabulary), ``curves.png``, ``metrics.json``, ``sample.txt``.  The
last logged line is ``val loss X.XXXX`` (the best validation loss).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time

import numpy as np

from .. import optim
from .._random import manual_seed
from ._parallel import DataParallel
from .._tensor import tensor
from ..autograd.grad_mode import no_grad
from ..nn.utils import clip_grad_norm_
from ..serialization import load, save
from .char_rnn import CharRNN, CharVocab, detach_state, loss_of, sample_text

__all__ = ["train_charrnn", "compare_cells", "load_charrnn", "load_text"]

CHECKPOINT = "charrnn.safetensors"


def load_text(data=None):
    """(train_text, val_text) from a UTF-8 file, or from ``dlcore.data.shakespeare()`` when `data`
    is None and it exists (a str, or a dict / object with train and val parts)."""
    if data is not None:
        with open(data, encoding="utf-8") as f:
            text = f.read()
    else:
        from .. import data as dl_data

        corpus = getattr(dl_data, "shakespeare", None)
        if corpus is None:
            raise ValueError("train charrnn: no --data given and dlcore.data.shakespeare is not available")
        text = corpus()
        parts = None
        if isinstance(text, dict) and "train" in text and ("val" in text or "valid" in text):
            parts = text["train"], text.get("val", text.get("valid"))
        elif hasattr(text, "train") and hasattr(text, "val"):
            parts = text.train, text.val
        if parts is not None:
            return tuple(p if isinstance(p, str) else "\n".join(p) for p in parts)
        if isinstance(text, (list, tuple)) and all(isinstance(p, str) for p in text):
            text = "\n".join(text)  # a list of plays
        elif not isinstance(text, str):
            raise ValueError(f"train charrnn: dlcore.data.shakespeare() returned {type(text).__name__}; pass --data")
    if len(text) < 20:
        raise ValueError(f"train charrnn: the text has {len(text)} characters; need at least 20")
    cut = int(len(text) * 0.9)
    return text[:cut], text[cut:]


def _streams(ids, batch, seq_len):
    """(batch, n) streams and the number of whole windows (inputs and next-char targets)."""
    n = (len(ids) - 1) // batch
    if n < 1:
        raise ValueError(f"train charrnn: {len(ids)} characters are too few for {batch} streams")
    x = ids[:n * batch].reshape(batch, n)
    y = ids[1:n * batch + 1].reshape(batch, n)
    return x, y, max(n // seq_len, 1) if n >= seq_len else 1


def _window(x, y, k, seq_len):
    s = k * seq_len
    return x[:, s:s + seq_len], y[:, s:s + seq_len]


def evaluate(model, x, y, seq_len, windows):
    """Mean validation loss (nats/char) over the first `windows` windows, state carried."""
    model.eval()
    total, count, state = 0.0, 0, None
    with no_grad():
        for k in range(windows):
            xb, yb = _window(x, y, k, seq_len)
            loss, state = loss_of(model, xb, yb, state)
            total += loss.item() * xb.size
            count += xb.size
    model.train()
    return total / count


def _plot(hist, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    it, tl = np.array(hist["train_iter"]), np.array(hist["train_loss"])
    if len(tl) >= 20:  # a running mean: per-step losses are noisy
        k = max(len(tl) // 50, 1)
        tl = np.convolve(tl, np.ones(k) / k, mode="same")
    ax.plot(it, tl, label="train (running mean)", alpha=0.8)
    ax.plot(hist["val_iter"], hist["val_loss"], "o-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats / char)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_charrnn(cell="lstm", layers=2, hidden=512, embed=64, seq_len=100, batch_size=32, iters=2000, lr=2e-3,
                  clip=1.0, dropout=0.0, seed=0, threads=None, data=None, out_dir="runs/charrnn", eval_every=None,
                  val_windows=50, sample_tokens=300, progress=True, log=print, distributed=False, minutes=None):
    """Trains the recipe in the module docstring. ``distributed``: data-parallel under ``mpirun -n
    P`` (zoo/_parallel.py): rank r trains streams r, r + P, ... of the batch; rank 0 prints and
    writes (the other ranks write into a temporary folder, removed at the end).  ``minutes``: a
    wall-clock budget (validations included): training stops after the first step that ends past
    it (or after ``iters`` steps, whichever comes first) with a final validation.

    Returns a dict: best_val_loss, best_iter, final_train_loss, seconds, iters, chars_per_second,
    config, paths (checkpoint, curves, metrics, sample) and the sample text.
    Raises ValueError for a text too short for the batch, or bad hyper-parameters."""
    from .. import get_num_threads, set_num_threads

    dp = DataParallel(distributed)
    if minutes is not None and not minutes > 0:
        raise ValueError(f"train charrnn: minutes must be positive, got {minutes}")
    if dp.enabled and batch_size % dp.world:
        raise ValueError(f"train charrnn: --batch-size {batch_size} must divide evenly over {dp.world} ranks")
    helper_dir = None
    if not dp.main:  # a helper rank: silent, its files go to a temporary folder
        log, progress = None, False
        helper_dir = out_dir = tempfile.mkdtemp(prefix=f"dlcore-charrnn-rank{dp.rank}-")
    old = get_num_threads()
    if threads is not None:
        set_num_threads(threads)  # for this run only
    try:
        return _train(cell, layers, hidden, embed, seq_len, batch_size, iters, lr, clip, dropout, seed, threads, data,
                      out_dir, eval_every, val_windows, sample_tokens, progress, log, dp, minutes)
    finally:
        set_num_threads(old)
        if helper_dir is not None:
            shutil.rmtree(helper_dir, ignore_errors=True)


def _train(cell, layers, hidden, embed, seq_len, batch_size, iters, lr, clip, dropout, seed, threads, data, out_dir,
           eval_every, val_windows, sample_tokens, progress, log, dp, minutes=None):
    manual_seed(seed)
    train_text, val_text = load_text(data)
    vocab = CharVocab(train_text + val_text)
    tr_x, tr_y, tr_windows = _streams(vocab.encode(train_text), batch_size, seq_len)
    tr_x, tr_y = tr_x[dp.rank::dp.world], tr_y[dp.rank::dp.world]  # this rank's streams
    va_x, va_y, va_windows = _streams(vocab.encode(val_text), min(batch_size, max((len(val_text) - 1) // 2, 1)),
                                      seq_len)
    va_windows = min(va_windows, val_windows)
    model = CharRNN(len(vocab), cell, embed, hidden, layers, dropout)
    dp.wrap(model)  # data-parallel: DDP's hooks average the gradients during backward
    dp.reseed(seed)
    opt = optim.Adam(model.parameters(), lr=lr)
    eval_every = eval_every or max(iters // 20, 1)
    config = dict(model.config, seq_len=seq_len, batch_size=batch_size, iters=iters, lr=lr, clip=clip, seed=seed,
                  threads=threads, data=data, eval_every=eval_every)
    os.makedirs(out_dir, exist_ok=True)
    ckpt = os.path.join(out_dir, CHECKPOINT)
    hist = {"train_iter": [], "train_loss": [], "val_iter": [], "val_loss": []}
    best = {"loss": math.inf, "iter": 0}
    bar = _bar(iters, progress, f"train charrnn ({cell})")
    state, k, start = None, 0, time.perf_counter()
    for it in range(1, iters + 1):
        if k >= tr_windows:  # end of the streams: start over with a fresh state
            k, state = 0, None
        xb, yb = _window(tr_x, tr_y, k, seq_len)
        k += 1
        loss, state = loss_of(model, tensor(xb), tensor(yb.reshape(-1)), state)
        state = detach_state(state)
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), clip)
        opt.step()
        hist["train_iter"].append(it)
        hist["train_loss"].append(loss.item())
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{hist['train_loss'][-1]:.3f}", refresh=False)
        out_of_time = minutes is not None and dp.agree(time.perf_counter() - start >= 60 * minutes)
        if it % eval_every == 0 or it == iters or out_of_time:
            v = evaluate(model, va_x, va_y, seq_len, va_windows)
            hist["val_iter"].append(it)
            hist["val_loss"].append(v)
            if v < best["loss"]:
                best = {"loss": v, "iter": it}
                meta = {"kind": "charrnn", "config": json.dumps(model.config), "vocab": vocab.to_json(),
                        "val_loss": f"{v:.6f}", "iter": str(it)}
                save(model.state_dict(), ckpt, metadata=meta)
            _write(bar, log, f"step {it:6d}  train loss {hist['train_loss'][-1]:.4f}  val loss {v:.4f}")
        if out_of_time:
            _write(bar, log, f"stopped after step {it}: the {minutes:g}-minute budget is spent")
            break
    iters = it  # (the steps actually taken)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    best_model, _ = load_charrnn(ckpt)
    sample = sample_text(best_model, vocab, prompt=train_text[0], tokens=sample_tokens, seed=seed)
    paths = {"checkpoint": ckpt, "curves": os.path.join(out_dir, "curves.png"),
             "metrics": os.path.join(out_dir, "metrics.json"), "sample": os.path.join(out_dir, "sample.txt")}
    _plot(hist, paths["curves"], f"dlcore CharRNN ({cell}, {layers} x {hidden})")
    with open(paths["sample"], "w", encoding="utf-8") as f:
        f.write(sample)
    result = {"best_val_loss": best["loss"], "best_iter": best["iter"], "final_train_loss": hist["train_loss"][-1],
              "seconds": seconds, "iters": iters, "chars_per_second": iters * batch_size * seq_len / seconds,
              "config": config, "history": hist}
    with open(paths["metrics"], "w") as f:
        json.dump(result, f, indent=1)
    result.update(paths=paths, sample=sample)
    if log:
        log(f"sample:\n{sample}\n")
        log(f"saved {ckpt}, {paths['curves']}, {paths['metrics']}, {paths['sample']}")
        log(f"best at step {best['iter']}; {seconds:.1f} s, {result['chars_per_second']:.0f} chars/s")
        log(f"val loss {best['loss']:.4f}")
    return result


def load_charrnn(path):
    """(CharRNN with the checkpoint's weights, CharVocab) from a ``charrnn.safetensors``."""
    state, meta = load(path, with_metadata=True)
    if (meta or {}).get("kind") != "charrnn":
        raise ValueError(f"load_charrnn: {path} is not a CharRNN checkpoint (metadata kind "
                         f"{(meta or {}).get('kind')!r})")
    cfg = json.loads(meta["config"])
    model = CharRNN(**cfg)
    model.load_state_dict(state)
    model.eval()
    return model, CharVocab.from_json(meta["vocab"])


def _bar(total, enabled, desc):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="step")


def _write(bar, log, line):
    if not log:
        return
    if bar is not None and log is print:
        bar.write(line)
    else:
        log(line)


def compare_cells(cells=("rnn", "lstm", "gru"), out_dir="runs/charrnn", log=print, **kw):
    """The same budget (every other argument of train_charrnn) for each cell, each run in
    ``out_dir/<cell>``, and their validation curves in one PNG, ``out_dir/compare.png``: the
    vanilla RNN's curve flattening above the gated cells' shows the vanishing gradient the gates
    (the LSTM's additive cell path, the GRU's update gate) work around.  Returns {cell: result};
    the last logged line is the best cell's ``val loss X.XXXX``."""
    results = {}
    for cell in cells:
        quiet = (lambda line: None if line.startswith("val loss") else log(line)) if log else None
        results[cell] = train_charrnn(cell=cell, out_dir=os.path.join(out_dir, cell), log=quiet, **kw)
        if log:
            log(f"{cell}: best val loss {results[cell]['best_val_loss']:.4f}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for cell, r in results.items():
        ax.plot(r["history"]["val_iter"], r["history"]["val_loss"], "o-", label=cell)
    ax.set_xlabel("step")
    ax.set_ylabel("validation cross-entropy (nats / char)")
    ax.set_title("CharRNN: rnn vs lstm vs gru, same budget")
    ax.legend()
    fig.tight_layout()
    path = os.path.join(out_dir, "compare.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    best = min(results, key=lambda c: results[c]["best_val_loss"])
    if log:
        log(f"saved {path}; best cell {best}")
        log(f"val loss {results[best]['best_val_loss']:.4f}")
    return results

"""The number-to-words translation recipe (``dlcore train seq2seq``) and translation from its
checkpoints (``dlcore translate CHECKPOINT 120045``).

Task (``dlcore.zoo.numwords``): digits -> American English words, "120045" -> "one hundred
twenty thousand forty-five", for 0..999,999,999; source read digit by digit, target word by word
(a closed vocabulary of 32 word tokens; the module docstring there says why words, not
characters).  Training pairs are drawn fresh for every batch (every magnitude equally often,
extra zeros for the exact-thousands cases) from the training split; the validation and test
numbers are disjoint from it by construction (a hash of the value fixes each number's split).

Recipe (defaults; about 12 minutes on a busy 2-core machine, one thread): a 3+3-layer post-LN
encoder-decoder Transformer, d_model 128, 4 heads, feed-forward 512, dropout 0.1, separate
source/target embeddings, the output projection tied to the target embedding; 1,200 steps of 128
pairs, AdamW (betas 0.9/0.98, weight decay 0.01 on matrices) at lr 1e-3 with a linear warm-up
over 120 steps (a tenth of the run at most) and a cosine decay to lr/10, gradient norm clipped at
1.0, label smoothing 0.1.  Every ``eval_interval`` steps: validation loss (the label-smoothed
objective) and greedy exact match on the validation numbers; the weights with the best
validation exact match (then the lowest validation loss) are kept.  At the end the best weights
decode the held-out test numbers greedily and with beam search (width 4, length penalty 1).

Outputs in ``out_dir``: ``seq2seq.safetensors`` (best weights; metadata: recipe "seq2seq", the
model config as JSON, the task "numwords", step, validation exact match), ``seq2seq_curves.png``,
``metrics.json`` (final metrics, full config, history) and ``samples.txt`` (test numbers with
their beam translation and the expected words, errors first).  The last printed line is
``test beam exact match X.XXXX``.  Same seed: same bits (the data come from a NumPy generator
seeded with it, initialisation and dropout from dlcore's).
"""
from __future__ import annotations

import json
import math
import os
import time

import numpy as np

from .. import optim
from .._info import set_num_threads
from .._random import manual_seed
from ..nn.utils import clip_grad_norm_
from ..serialization import load, save
from .gpt_recipe import _progress, lr_at
from .numwords import NumberVocab, heldout_numbers, number_to_words, sample_numbers
from .seq2seq import Seq2SeqConfig, Seq2SeqTransformer, pad_batch

__all__ = ["train_seq2seq", "load_checkpoint", "translate", "make_batch", "exact_match"]

CHECKPOINT = "seq2seq.safetensors"
MAX_LEN = 32  # positions: 9 source digits, 17 target words + <bos>/<eos>, with room to spare
DECODE_LEN = 24  # decoded tokens at most (the longest answer is 17 words + <eos>)


def make_batch(vocab, numbers):
    """(src, tgt_in, tgt_out) int64 arrays for teacher forcing: digits; <bos> + words;
    words + <eos>; right-padded with <pad>."""
    src = [vocab.encode_source(int(n)) for n in numbers]
    words = [vocab.encode_target(number_to_words(int(n))) for n in numbers]
    tgt_in = [[vocab.bos_id] + w for w in words]
    tgt_out = [w + [vocab.eos_id] for w in words]
    return pad_batch(src, vocab.pad_id), pad_batch(tgt_in, vocab.pad_id), pad_batch(tgt_out, vocab.pad_id)


def _decode_all(model, vocab, numbers, beam_width, length_penalty, chunk=256):
    """Words strings decoded for `numbers` (beam_width 0: greedy), in chunks of sources."""
    out = []
    for i in range(0, len(numbers), chunk):
        src = [vocab.encode_source(int(n)) for n in numbers[i:i + chunk]]
        if beam_width:
            ids = model.beam_search(src, beam_width, length_penalty, max_len=DECODE_LEN)
        else:
            ids = model.greedy(src, max_len=DECODE_LEN)
        out += [vocab.decode_target(t) for t in ids]
    return out


def exact_match(predictions, numbers):
    """The share of predictions (words strings) equal to number_to_words of their number."""
    return float(np.mean([p == number_to_words(int(n)) for p, n in zip(predictions, numbers)])) if len(numbers) else 0.0


def _val_loss(model, batch, label_smoothing):
    """The training objective (label-smoothed cross-entropy) on the validation pairs, eval mode."""
    from ..autograd.grad_mode import no_grad

    was = model.training
    model.eval()
    with no_grad():
        loss = model(*batch[:2], batch[2], label_smoothing=label_smoothing)[1].item()
    model.train(was)
    return loss


def _plot(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(history["step"], history["train_loss"], label="train (label-smoothed)")
    a1.plot(history["step"], history["val_loss"], label="validation (label-smoothed, no dropout)")
    a1.set_xlabel("step")
    a1.set_ylabel("cross-entropy (nats per token)")
    a1.legend()
    a2.plot(history["step"], history["val_exact"], label="validation greedy exact match")
    a2.set_xlabel("step")
    a2.set_ylim(0, 1)
    a2.legend()
    fig.suptitle("dlcore Seq2SeqTransformer: numbers to words")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_seq2seq(steps=1200, batch_size=128, lr=1e-3, d_model=128, heads=4, layers=3, ff=512, dropout=0.1,
                  label_smoothing=0.1, share_embeddings=False, warmup=200, weight_decay=0.01, eval_interval=300,
                  n_val=900, n_test=2000, beam_width=4, length_penalty=1.0, seed=0, threads=1,
                  out_dir="runs/seq2seq", progress=True, log=print):
    """Runs the recipe of the module docstring; returns a dict with test_greedy_exact,
    test_beam_exact, val_exact (best), best_step, seconds, history and the output paths.
    ``log`` is print-like (None: silent).  ``threads`` defaults to 1: this model's kernels are
    small (128 x ~27 tokens x 128 wide), a second thread gains little on them and, on a machine
    shared with other jobs, OpenMP's waiting threads made a step ~6x slower; None: dlcore's
    current setting."""
    if threads:
        set_num_threads(int(threads))
    say = log or (lambda *_: None)
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    vocab = NumberVocab()
    config = Seq2SeqConfig(len(vocab), len(vocab), d_model=d_model, nhead=heads, num_encoder_layers=layers,
                           num_decoder_layers=layers, dim_feedforward=ff, dropout=dropout, max_len=MAX_LEN,
                           pad_id=vocab.pad_id, bos_id=vocab.bos_id, eos_id=vocab.eos_id,
                           share_embeddings=share_embeddings)
    model = Seq2SeqTransformer(config)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    opt = optim.AdamW([{"params": decay, "weight_decay": float(weight_decay)},
                       {"params": rest, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.98), eps=1e-9)
    warmup = min(warmup, max(1, steps // 10))
    val_numbers, test_numbers = heldout_numbers(n_val, "val"), heldout_numbers(n_test, "test")
    val_batch = make_batch(vocab, val_numbers)
    say(f"numbers to words: vocabulary {len(vocab)} (10 digits, 32 word tokens, 3 specials); "
        f"{len(val_numbers)} validation and {len(test_numbers)} test numbers held out of training; "
        f"model {model.num_params() / 1e6:.2f}M parameters")

    os.makedirs(out_dir, exist_ok=True)
    ckpt = os.path.join(out_dir, CHECKPOINT)
    meta = {"recipe": "seq2seq", "task": "numwords", "config": json.dumps(config.to_dict())}
    history = {"step": [], "train_loss": [], "val_loss": [], "val_exact": []}
    best = {"val_exact": -1.0, "val_loss": math.inf, "step": -1}
    bar = _progress(steps, progress)
    if bar is not None:
        bar.set_description("train seq2seq")
    running, count = 0.0, 0
    start = time.perf_counter()
    model.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, lr, steps, warmup, lr / 10)
        src, tgt_in, tgt_out = make_batch(vocab, sample_numbers(rng, batch_size))
        _, loss = model(src, tgt_in, tgt_out, label_smoothing=label_smoothing)
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running, count = running + loss.item(), count + 1
        if bar is not None:
            bar.update(1)
            if step % 10 == 0 or step == steps - 1:
                rate = batch_size * (step + 1) / (time.perf_counter() - start)
                bar.set_postfix_str(f"loss {loss.item():.4f}, {rate:,.0f} pairs/s")
        if (step + 1) % eval_interval == 0 or step == steps - 1:
            val_loss = _val_loss(model, val_batch, label_smoothing)
            val_exact = exact_match(_decode_all(model, vocab, val_numbers, 0, 0.0), val_numbers)
            for key, value in (("step", step + 1), ("train_loss", running / count), ("val_loss", val_loss),
                               ("val_exact", val_exact)):
                history[key].append(value)
            line = (f"step {step + 1:5d}  train loss {running / count:.4f}  val loss {val_loss:.4f}  "
                    f"val greedy exact {val_exact:.4f}")
            running, count = 0.0, 0
            if (val_exact, -val_loss) > (best["val_exact"], -best["val_loss"]):
                best = {"val_exact": val_exact, "val_loss": val_loss, "step": step + 1}
                save(model.state_dict(), ckpt, metadata={**meta, "step": str(step + 1),
                                                         "val_exact": f"{val_exact:.6f}"})
                line += "  (saved)"
            (bar.write if bar is not None and log is print else say)(line)
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()

    model, _, _ = load_checkpoint(ckpt)
    t0 = time.perf_counter()
    greedy = _decode_all(model, vocab, test_numbers, 0, 0.0)
    t_greedy = time.perf_counter() - t0
    beam = _decode_all(model, vocab, test_numbers, beam_width, length_penalty)
    t_beam = time.perf_counter() - t0 - t_greedy
    g_exact, b_exact = exact_match(greedy, test_numbers), exact_match(beam, test_numbers)
    curves = os.path.join(out_dir, "seq2seq_curves.png")
    _plot(history, curves)
    _write_samples(os.path.join(out_dir, "samples.txt"), test_numbers, beam)
    result = {"test_greedy_exact": g_exact, "test_beam_exact": b_exact, "val_exact": best["val_exact"],
              "best_step": best["step"], "seconds": seconds, "decode_seconds": {"greedy": t_greedy, "beam": t_beam},
              "n_test": len(test_numbers), "history": history, "checkpoint": ckpt, "curves": curves}
    config_all = {"steps": steps, "batch_size": batch_size, "lr": lr, "warmup": warmup, "weight_decay": weight_decay,
                  "label_smoothing": label_smoothing, "beam_width": beam_width, "length_penalty": length_penalty,
                  "eval_interval": eval_interval, "n_val": len(val_numbers), "seed": seed, "threads": threads,
                  "model": config.to_dict()}
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(result | {"config": config_all}, f, indent=1)
    say(f"saved {ckpt}, {curves}, metrics.json and samples.txt in {out_dir}; training {seconds:.1f} s")
    say(f"test greedy exact match {g_exact:.4f} ({len(test_numbers)} held-out numbers, {t_greedy:.1f} s)")
    say(f"test beam exact match {b_exact:.4f}")
    return result


def _write_samples(path, numbers, predictions):
    rows = [(p == number_to_words(int(n)), int(n), p) for n, p in zip(numbers, predictions)]
    rows.sort(key=lambda r: r[0])  # the errors first
    with open(path, "w", encoding="utf-8") as f:
        for ok, n, p in rows[:200]:
            f.write(f"{'ok ' if ok else 'BAD'} {n}: {p}" + ("" if ok else f"   (expected: {number_to_words(n)})")
                    + "\n")


# ---- translation -------------------------------------------------------------------------------------
def load_checkpoint(path):
    """(model in eval mode, NumberVocab, metadata) from a ``dlcore train seq2seq`` checkpoint."""
    state, meta = load(path, with_metadata=True)
    if (meta or {}).get("recipe") != "seq2seq":
        raise ValueError(f"translate: {path} is not a seq2seq checkpoint (metadata recipe "
                         f"{(meta or {}).get('recipe')!r})")
    model = Seq2SeqTransformer(Seq2SeqConfig.from_dict(json.loads(meta["config"])))
    model.load_state_dict(state)
    model.eval()
    return model, NumberVocab(), meta


def translate(path, numbers, beam_width=4, length_penalty=1.0, greedy=False):
    """The words the checkpoint at `path` gives for each of `numbers` (ints or digit strings,
    commas allowed): beam search by default, greedy decoding with greedy=True."""
    model, vocab, _ = load_checkpoint(path)
    if isinstance(numbers, (str, int, np.integer)):
        numbers = [numbers]
    src = [vocab.encode_source(n, "translate") for n in numbers]  # validates: digits, 0..999,999,999
    ids = model.greedy(src, max_len=DECODE_LEN) if greedy else \
        model.beam_search(src, beam_width, length_penalty, max_len=DECODE_LEN)
    return [vocab.decode_target(t) for t in ids]

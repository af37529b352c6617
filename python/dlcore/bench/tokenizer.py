"""``dlcore bench tokenizer``: byte-level BPE training (a 4,096-token vocabulary) and encoding
throughput on the Shakespeare corpus (or any UTF-8 file), dlcore against Hugging Face's
``tokenizers`` when it is installed (``pip install tokenizers``; a bench peer, never a dependency).

Both learn the same kind of vocabulary: GPT-2's pre-tokenisation, byte-level merges, one special
token.  ``tokenizers`` trains and encodes batches on its own thread pool (RAYON_NUM_THREADS, set
here to the thread count); dlcore trains and encodes on one thread (deterministic, and fast enough).
Encoding is timed on the whole text as one string, and as a batch of its paragraphs, cold (dlcore's
word cache emptied first) and warm.  Ratios are dlcore time / peer time (below 1: dlcore faster).
"""
from __future__ import annotations

import os
import sys
import time

SPECIAL = "<|endoftext|>"


def time_median(fn, repeat: int) -> float:
    """Median wall time of `repeat` calls of fn (seconds)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def load_text(data=None) -> str:
    """The whole Shakespeare corpus (train + validation) or the UTF-8 file `data`."""
    from ..data import shakespeare, text_file

    if data:
        return text_file(data)
    c = shakespeare()
    return c.train + "\n" + c.val


class DlcoreCase:
    """dlcore's BPETokenizer: train, encode (cold and warm), encode a batch."""

    name = "dlcore"

    def train(self, text, vocab_size):
        from ..data import BPETokenizer

        self.tok = BPETokenizer().train(text, vocab_size, special_tokens=[SPECIAL])
        return self.tok.vocab_size

    def encode(self, text, cold):
        if cold:
            self.tok._encoder.clear_cache()
        return len(self.tok.encode_array(text))

    def encode_batch(self, texts, cold):
        if cold:
            self.tok._encoder.clear_cache()
        return sum(len(x) for x in self.tok.encode_batch(texts))


class HfCase:
    """Hugging Face tokenizers with GPT-2's byte-level setup."""

    name = "tokenizers"

    def train(self, text, vocab_size):
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[SPECIAL], show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator([text], trainer=trainer)
        self.tok = tok
        return tok.get_vocab_size()

    def encode(self, text, cold):  # no user-visible cache to empty
        return len(self.tok.encode(text).ids)

    def encode_batch(self, texts, cold):
        return sum(len(e.ids) for e in self.tok.encode_batch(texts))


def run_tokenizer_bench(threads: int = 2, repeat: int = 3, vocab_size: int = 4096, data=None, file=None):
    """Times training and encoding for dlcore and (if installed) tokenizers; prints a table and
    returns its rows as dicts."""
    os.environ["RAYON_NUM_THREADS"] = str(threads)  # before tokenizers starts its pool
    import dlcore

    from .._extras import missing

    file = file or sys.stdout
    dlcore.set_num_threads(threads)
    text = load_text(data)
    mb = len(text.encode("utf-8")) / 1e6
    paragraphs = [p for p in text.split("\n\n") if p]
    impls = [DlcoreCase()] + ([HfCase()] if not missing(["tokenizers"]) else [])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"dlcore {dlcore.__version__}  text {mb:.2f} MB ({len(paragraphs)} paragraphs)  vocab {vocab_size}  "
          f"threads {threads}  load average {load:.2f} on {os.cpu_count()} CPUs  (median of {repeat})", file=file)
    if len(impls) == 1:
        print("tokenizers is not installed (pip install tokenizers): no peer column", file=file)
    cases = [("train BPE", lambda i: i.train(text, vocab_size)),
             ("encode text, cold cache", lambda i: i.encode(text, True)),
             ("encode text, warm cache", lambda i: i.encode(text, False)),
             ("encode_batch paragraphs, cold", lambda i: i.encode_batch(paragraphs, True)),
             ("encode_batch paragraphs, warm", lambda i: i.encode_batch(paragraphs, False))]
    head = f"{'case':32s}" + "".join(f"{i.name + ' s':>14s}{i.name + ' MB/s':>17s}" for i in impls)
    print(head + (f"{'ratio':>8s}" if len(impls) > 1 else ""), file=file)
    rows = []
    for label, fn in cases:
        row = {"case": label}
        line = f"{label:32s}"
        for impl in impls:
            out = fn(impl)  # untimed: the result (and, training, the tokenizer the encode cases use)
            t = time_median(lambda: fn(impl), repeat)
            row[impl.name] = {"seconds": t, "mb_per_s": mb / t, "result": out}
            line += f"{t:14.3f}{mb / t:17.1f}"
        if len(impls) > 1:
            row["ratio"] = row["dlcore"]["seconds"] / row["tokenizers"]["seconds"]
            line += f"{row['ratio']:8.2f}"
        rows.append(row)
        print(line, file=file)
    tokens = rows[1]["dlcore"]["result"]
    print(f"dlcore: vocabulary {rows[0]['dlcore']['result']}, {tokens} tokens, {len(text) / tokens:.2f} characters "
          f"per token", file=file)
    return rows

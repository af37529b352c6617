"""Seq2seq Transformer benchmarks (the ``dlcore train seq2seq`` model: 3 + 3 layers, d_model 128,
4 heads, ff 512): one training step on 128 number/words pairs, and greedy decoding of 64 numbers
(dlcore on its KV cache; PyTorch's nn.Transformer recomputes the prefix, having no cache API),
dlcore vs the identical PyTorch model (see dlcore.bench.seq2seq).

    PYTHONPATH=python tools/bench-compare bench/bench_seq2seq.py
    dlcore bench seq2seq                                        # the same as a table

Same weights, data and thread count (DLCORE_BENCH_THREADS, default 2).  No numpy row.
"""
import os

import pytest

from dlcore.bench.seq2seq import CASES, dlcore_fns, torch_fns

THREADS = int(os.environ.get("DLCORE_BENCH_THREADS", "2"))


@pytest.mark.parametrize("impl", ["dlcore", "torch"])
@pytest.mark.parametrize("case", CASES, ids=["train_step", "greedy_decode"])
def test_seq2seq(benchmark, impl, case):
    if impl == "torch":
        pytest.importorskip("torch")
    fn = (dlcore_fns if impl == "dlcore" else torch_fns)(THREADS)[case]
    benchmark.group = f"seq2seq {case}"
    fn()
    benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)

"""Recurrent-layer benchmarks on the canonical shape (batch 64, input 256, hidden 512): one
LSTMCell/GRUCell step forward, 100 steps forward, 100 steps forward + backward, dlcore vs PyTorch.

    PYTHONPATH=python tools/bench-compare bench/bench_rnn.py    # each impl in its own process
    dlcore bench rnn                                            # the same as a table

Same weights, inputs and thread count (DLCORE_BENCH_THREADS, default 2).  NumPy has no recurrent
layer: no numpy row.
"""
import os

import pytest

import dlcore
from dlcore.bench.rnn import CASES, _dlcore_fn, _torch_fn, case_flops

THREADS = int(os.environ.get("DLCORE_BENCH_THREADS", "2"))


@pytest.mark.parametrize("impl", ["dlcore", "torch"])
@pytest.mark.parametrize("case", CASES, ids=[c[0].replace(" ", "_") for c in CASES])
def test_rnn(benchmark, impl, case):
    name, kind, what = case
    dlcore.set_num_threads(THREADS)
    if impl == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(THREADS)
    fn = _dlcore_fn(kind, what) if impl == "dlcore" else _torch_fn(kind, what)
    benchmark.group = f"rnn {name}"
    fn()
    benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats:
        benchmark.extra_info["GFLOP/s"] = case_flops(kind, what) / benchmark.stats.stats.median / 1e9

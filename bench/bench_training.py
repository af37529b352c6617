"""Training-step benchmarks: one forward + backward + AdamW step of an MLP, dlcore vs PyTorch, and
the per-op autograd overhead (``a * b + c`` on 8 elements, summed, backward).

    PYTHONPATH=python tools/bench-compare bench/bench_training.py    # each impl in its own process
    dlcore bench train                                               # the same as a table

Same weights, data and thread count (DLCORE_BENCH_THREADS, default 2) for both; torch's peer
step is the identical torch.nn model and torch.optim.AdamW.  NumPy has no autograd: no numpy row.
"""
import os

import pytest

import dlcore
from dlcore.bench.train import CASES, dlcore_overhead, dlcore_step, step_flops, torch_overhead, torch_step

THREADS = int(os.environ.get("DLCORE_BENCH_THREADS", "2"))
IMPLS = ["dlcore", "torch"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", CASES, ids=[c[0].split(" batch")[0].replace(" ", "_") for c in CASES])
def test_train_step(benchmark, impl, case):
    name, widths, batch = case
    dlcore.set_num_threads(THREADS)
    if impl == "torch":
        pytest.importorskip("torch")
    fn = dlcore_step(widths, batch) if impl == "dlcore" else torch_step(widths, batch, THREADS)
    benchmark.group = f"train step {name}"
    fn()
    benchmark.pedantic(fn, rounds=7, iterations=1, warmup_rounds=1)
    if benchmark.stats:  # None under --benchmark-disable (a smoke run)
        benchmark.extra_info["GFLOP/s"] = step_flops(widths, batch) / benchmark.stats.stats.median / 1e9


@pytest.mark.parametrize("impl", IMPLS)
def test_autograd_overhead(benchmark, impl):
    if impl == "torch":
        pytest.importorskip("torch")
    fn = dlcore_overhead() if impl == "dlcore" else torch_overhead(THREADS)
    benchmark.group = "autograd a*b+c, sum, backward"
    benchmark(fn)

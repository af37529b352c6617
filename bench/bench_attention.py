"""Fused attention benchmarks: dlcore vs torch SDPA on the canonical shapes, forward and
forward+backward, grouped per case.

    pytest bench/bench_attention.py --benchmark-group-by=group

Both run on DLCORE_BENCH_THREADS threads (default 2).  ``dlcore bench attention`` prints the same
comparison as a table (interleaved processes, GFLOP/s, speedups, scratch).
"""
import os

import pytest

import dlcore
from dlcore.bench.attention import _cases, make_fn

THREADS = int(os.environ.get("DLCORE_BENCH_THREADS", "2"))


@pytest.fixture(scope="module", autouse=True)
def pinned_threads():
    dlcore.set_num_threads(THREADS)
    try:
        import torch

        torch.set_num_threads(THREADS)
    except ImportError:
        pass


@pytest.mark.parametrize("impl", ["dlcore", "torch"])
@pytest.mark.parametrize("case", _cases(False), ids=[c[0].replace(" ", "_") for c in _cases(False)])
def test_attention(benchmark, impl, case):
    name, shape, causal, passes = case
    mod = dlcore if impl == "dlcore" else pytest.importorskip("torch")
    benchmark.group = f"attention {name}"
    benchmark.pedantic(make_fn(impl, mod, shape, causal, passes), rounds=3, warmup_rounds=1)

"""Benchmarks of pooling and upsampling against PyTorch (CPU, float32, NCHW): max pool 3x3/s2/p1
and avg pool 2x2/s2 on 32x64x56x56, bilinear 2x upsampling of 32x64x56x56, forward and
forward+backward (through each library's autograd).

    PYTHONPATH=python pytest bench/bench_pool.py --benchmark-group-by=group

Each case runs for impl in {dlcore, torch} (torch skipped when not installed; NumPy has no such
op) in one group per shape and mode; torch is pinned to dlcore.get_num_threads().
extra_info["GB/s"] counts the bytes each case must move at least (dlcore.bench.pool.bytes_moved:
input read and output written once; indices and gradients added for forward+backward).
The same cases, interleaved across processes with ratios and quartiles: ``dlcore bench pool``.
"""
from __future__ import annotations

import pytest

import dlcore
from dlcore.bench.pool import OPS, bytes_moved, make_case, shape

IMPLS = ["dlcore", "torch"]
BATCH = 32


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("mode", ["fwd", "fwd+bwd"])
@pytest.mark.parametrize("name, op", OPS)
def test_pool(benchmark, name, op, mode, impl):
    if impl == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(dlcore.get_num_threads())
    fn = make_case(impl, op, mode, BATCH)
    benchmark.group = f"{name} {mode} {'x'.join(map(str, shape(BATCH)))} float32, {dlcore.get_num_threads()} threads"
    benchmark.extra_info["impl"] = impl
    fn()  # warm up (allocations, thread pools)
    benchmark.pedantic(fn, rounds=7, iterations=1, warmup_rounds=1)
    if benchmark.stats:  # None under --benchmark-disable (a smoke run)
        benchmark.extra_info["GB/s"] = round(bytes_moved(op, mode, BATCH) / benchmark.stats.stats.median / 1e9, 2)

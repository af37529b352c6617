"""Benchmarks of the normalisation family against PyTorch (CPU, float32), forward and
forward+backward, on the canonical shapes (batch norm training and group norm with 32 groups on
32x64x56x56, layer norm on 64x512x768).

    PYTHONPATH=python pytest bench/bench_norm.py --benchmark-group-by=group

Each case runs for impl in {dlcore, torch} (torch skipped when missing, pinned to
dlcore.get_num_threads()) in one group per case.  extra_info["GB/s"] counts the bytes each case
must move (see dlcore/bench/norm.py: batch norm fwd 3 passes over the input, fwd+bwd 8; layer and
group norm fwd 2, fwd+bwd 5).  `dlcore bench norm` prints the same comparison as a table next to
the measured STREAM-triad bandwidth.
"""
from __future__ import annotations

import pytest

import dlcore
from dlcore.bench import norm as bn

IMPLS = ["dlcore", "torch"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", [c[0] for c in bn.CASES])
def test_norm(benchmark, case, impl):
    _, op, shape, backward, passes = next(c for c in bn.CASES if c[0] == case)
    if impl == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(dlcore.get_num_threads())
        fn = bn.torch_case(torch, op, shape, backward)
    else:
        fn = bn.dlcore_case(dlcore, op, shape, backward)
    benchmark.group = f"{case} float32, {dlcore.get_num_threads()} threads"
    benchmark.extra_info["impl"] = impl
    fn()  # warm up (allocations, thread pools)
    benchmark.pedantic(fn, rounds=7, iterations=1, warmup_rounds=1)
    if benchmark.stats:  # None under --benchmark-disable (a smoke run)
        benchmark.extra_info["GB/s"] = round(bn.nbytes(shape, passes) / benchmark.stats.stats.median / 1e9, 2)


def test_stream_triad(benchmark):
    """The yardstick: dlcore's STREAM triad (a = b + s*c over 3 x 128 MiB), GB/s in extra_info."""
    benchmark.group = f"stream triad, {dlcore.get_num_threads()} threads"
    gbs = benchmark.pedantic(lambda: dlcore._core.stream_triad_gbs(bn.TRIAD_N, 3), rounds=1, iterations=1)
    benchmark.extra_info["GB/s"] = round(gbs, 2)

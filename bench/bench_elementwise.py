"""Elementwise benchmarks: dlcore vs NumPy vs PyTorch (CPU), same thread count.

    PYTHONPATH=python pytest bench/bench_elementwise.py --benchmark-only

Peers: the NumPy peer of gelu uses the tanh approximation (NumPy has no vectorised erf), so that
row is indicative only; softmax/sum rows skip until dlcore.ops has those ops.
"""
import math

import numpy as np
import pytest

import dlcore
from dlcore import ops

IMPLS = ["dlcore", "numpy", "torch"]
SHAPE = (64, 512, 768)


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(dlcore.get_num_threads())
    return torch


def _x(shape=SHAPE, seed=0):
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def _run(benchmark, fn, nbytes, group):
    benchmark.group = group
    fn()  # warm up (page faults of the first output)
    benchmark(fn)
    if benchmark.stats:  # None under --benchmark-disable (a smoke run)
        benchmark.extra_info["GB/s"] = nbytes / benchmark.stats.stats.median / 1e9


@pytest.mark.parametrize("impl", IMPLS)
def test_add_broadcast(benchmark, impl):
    x, b = _x(), _x((SHAPE[-1],), 1)
    if impl == "dlcore":
        fn = lambda: ops.add(x, b)  # noqa: E731
    elif impl == "numpy":
        fn = lambda: np.add(x, b)  # noqa: E731
    else:
        torch = _torch()
        tx, tb = torch.from_numpy(x), torch.from_numpy(b)
        fn = lambda: torch.add(tx, tb)  # noqa: E731
    _run(benchmark, fn, 2 * x.nbytes, "add (64,512,768) + (768,)")


@pytest.mark.parametrize("impl", IMPLS)
def test_gelu(benchmark, impl):
    x = _x()
    if impl == "dlcore":
        fn = lambda: ops.gelu(x)  # noqa: E731
    elif impl == "numpy":  # tanh form: NumPy has no vectorised erf
        k = np.float32(math.sqrt(2 / math.pi))
        fn = lambda: np.float32(0.5) * x * (1 + np.tanh(k * (x + np.float32(0.044715) * x * x * x)))  # noqa: E731
    else:
        torch = _torch()
        tx = torch.from_numpy(x)
        fn = lambda: torch.nn.functional.gelu(tx)  # noqa: E731
    _run(benchmark, fn, 2 * x.nbytes, "gelu (64,512,768)")


@pytest.mark.parametrize("impl", IMPLS)
def test_softmax_last_axis(benchmark, impl):
    x = _x()
    if impl == "dlcore":
        if not hasattr(ops, "softmax"):
            pytest.skip("dlcore.ops.softmax not implemented in this branch")
        fn = lambda: ops.softmax(x, axis=-1)  # noqa: E731
    elif impl == "numpy":
        def fn():
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
    else:
        torch = _torch()
        tx = torch.from_numpy(x)
        fn = lambda: torch.softmax(tx, dim=-1)  # noqa: E731
    _run(benchmark, fn, 2 * x.nbytes, "softmax (64,512,768) axis -1")


@pytest.mark.parametrize("impl", IMPLS)
def test_sum_axis1(benchmark, impl):
    x = _x()
    if impl == "dlcore":
        if not hasattr(ops, "sum"):
            pytest.skip("dlcore.ops.sum not implemented in this branch")
        fn = lambda: ops.sum(x, axis=1)  # noqa: E731
    elif impl == "numpy":
        fn = lambda: x.sum(axis=1)  # noqa: E731
    else:
        torch = _torch()
        tx = torch.from_numpy(x)
        fn = lambda: torch.sum(tx, dim=1)  # noqa: E731
    _run(benchmark, fn, x.nbytes, "sum (64,512,768) axis 1")

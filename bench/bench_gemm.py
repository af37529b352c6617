"""GEMM benchmarks: dlcore vs numpy (OpenBLAS) vs torch on the canonical shapes, grouped by shape.

    pytest bench/bench_gemm.py --benchmark-group-by=group

Every implementation runs on the same number of threads (DLCORE_BENCH_THREADS, default 2):
dlcore.set_num_threads, torch.set_num_threads, and OpenBLAS through threadpoolctl (pytest runs
everything in one process, so the OPENBLAS_NUM_THREADS environment variable would only work if
set before NumPy was first imported; threadpoolctl changes it at run time instead).
"""
import os

import numpy as np
import pytest

import dlcore
from dlcore.bench.gemm import SHAPES, operands

THREADS = int(os.environ.get("DLCORE_BENCH_THREADS", "2"))
IMPLS = ["dlcore", "numpy", "torch"]


@pytest.fixture(scope="module", autouse=True)
def pinned_threads():
    dlcore.set_num_threads(THREADS)
    limiter = None
    try:
        import threadpoolctl

        limiter = threadpoolctl.threadpool_limits(limits=THREADS)
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(THREADS)
    except ImportError:
        pass
    yield
    if limiter is not None:
        limiter.restore_original_limits()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", SHAPES, ids=[s[0].replace(" ", "_") for s in SHAPES])
def test_matmul(benchmark, impl, case):
    name, sa, sb = case
    a, b = operands(sa, sb)
    benchmark.group = f"gemm {name}"
    if impl == "dlcore":
        fn = lambda: dlcore.ops.matmul(a, b)  # noqa: E731
    elif impl == "numpy":
        fn = lambda: np.matmul(a, b)  # noqa: E731
    else:
        torch = pytest.importorskip("torch")
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        fn = lambda: torch.matmul(ta, tb)  # noqa: E731
    benchmark(fn)

"""conv2d benchmarks: dlcore vs torch on the canonical shapes (DESIGN.md), forward and
forward+backward, grouped per shape:  pytest bench/bench_conv.py --benchmark-group-by=group
Both run on DLCORE_BENCH_THREADS threads (default 2)."""
import os

import numpy as np
import pytest

import dlcore
from dlcore.bench.conv import SHAPES

THREADS = int(os.environ.get("DLCORE_BENCH_THREADS", "2"))


@pytest.mark.parametrize("backward", [False, True], ids=["fwd", "fwd+bwd"])
@pytest.mark.parametrize("impl", ["dlcore", "torch"])
@pytest.mark.parametrize("case", SHAPES, ids=[s[0].replace(" ", "_") for s in SHAPES])
def test_conv2d(benchmark, impl, case, backward):
    name, N, C, H, W, K, k, s, p, d, g = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((K, C // g, k, k)).astype(np.float32)
    benchmark.group = f"conv2d {name} {'fwd+bwd' if backward else 'fwd'}"
    if impl == "dlcore":
        dlcore.set_num_threads(THREADS)
        kw = dict(stride=s, padding=p, dilation=d, groups=g)
        gy = np.ones_like(dlcore.ops.conv2d(x, w, **kw))

        def fn():
            dlcore.ops.conv2d(x, w, **kw)
            if backward:
                dlcore.ops.conv2d_backward(gy, x, w, **kw, output_mask=(True, True, False))
    else:
        torch = pytest.importorskip("torch")
        torch.set_num_threads(THREADS)
        tx, tw = torch.from_numpy(x).requires_grad_(backward), torch.from_numpy(w).requires_grad_(backward)

        def fn():
            y = torch.nn.functional.conv2d(tx, tw, None, s, p, d, g)
            if backward:
                y.backward(torch.ones_like(y))
    benchmark(fn)

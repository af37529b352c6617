"""dlcore.ops.fma_peak_gflops (csrc/ops/gemm_peak_cpu.cpp): the measured FMA peak that benchmarks
report shares of.  It times register-only FMA chains, so it has no NumPy reference: what can be
checked is that it is a peak, i.e. no real kernel on the same ISA and thread count beats it by
much, and that bad arguments raise errors naming the op."""
import time

import numpy as np
import pytest

from dlcore import ops
from tests.conftest import threads_scope


def test_peak_bounds_a_real_matmul(isa):
    # A 256^3 matmul reaches 60-95% of the peak on one thread; a burn that measured latency-bound
    # chains (a quarter of the peak or less) or counted flops wrongly would fall below it.
    a, b = (np.random.default_rng(s).standard_normal((256, 256)).astype(np.float32) for s in (0, 1))
    # Both are measured the same way, interleaved, best of 20 short runs (a matmul ~0.3 ms, a
    # burn 2 ms), so a loaded machine that preempts one long burn cannot fail the comparison.
    with threads_scope(1):
        ops.matmul(a, b)
        best, peak = float("inf"), 0.0
        for _ in range(20):
            t = time.perf_counter()
            ops.matmul(a, b)
            best = min(best, time.perf_counter() - t)
            peak = max(peak, ops.fma_peak_gflops(1, seconds=0.002))
        achieved = 2 * 256**3 / best * 1e-9
    assert peak > 0.5
    assert achieved < 1.5 * peak, f"matmul {achieved:.1f} GFLOP/s against a 'peak' of {peak:.1f} ({isa})"


@pytest.mark.parametrize("kwargs, msg", [({"threads": 0}, "threads >= 1"), ({"threads": 1, "seconds": 0}, "seconds"),
                                         ({"threads": 1, "seconds": 11}, "seconds")])
def test_bad_arguments_name_the_op(kwargs, msg):
    with pytest.raises(ValueError, match=f"^fma_peak_gflops: .*{msg}"):
        ops.fma_peak_gflops(**kwargs)

"""Baby GPT benchmarks (4 layers, 4 heads, 128 wide, block 64): one training step (forward,
backward, AdamW) on a batch of 12 x 64 tokens, and cached greedy generation of 56 tokens, dlcore
vs the identical PyTorch model (with a KV cache of its own, see dlcore.bench.gpt).

    PYTHONPATH=python tools/bench-compare bench/bench_gpt.py    # each impl in its own process
    dlcore bench gpt                                            # the same as a table

Same weights, data and thread count (DLCORE_BENCH_THREADS, default 2).  NumPy has no autograd:
no numpy row.
"""
import os

import pytest

from dlcore.bench.gpt import CASES, NEW_TOKENS, dlcore_fns, torch_fns

THREADS = int(os.environ.get("DLCORE_BENCH_THREADS", "2"))
IMPLS = ["dlcore", "torch"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", CASES, ids=["train_step", "generate_cached"])
def test_gpt(benchmark, impl, case):
    if impl == "torch":
        pytest.importorskip("torch")
    fn = (dlcore_fns if impl == "dlcore" else torch_fns)(THREADS)[case]
    benchmark.group = f"baby gpt {case}"
    fn()
    benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats and case == CASES[1]:  # None under --benchmark-disable (a smoke run)
        benchmark.extra_info["tokens/s"] = NEW_TOKENS / benchmark.stats.stats.median

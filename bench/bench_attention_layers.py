"""Benchmarks of nn.MultiheadAttention (issue 25) against PyTorch (CPU, float32).

    PYTHONPATH=python pytest bench/bench_attention_layers.py --benchmark-group-by=group

The canonical shape of DESIGN.md: batch 32, length 128, width 512, 8 heads, batch_first, self-
attention; forward alone (need_weights=False: the fused kernel when the build has it, else the
explicit path) and forward+backward (input and parameter gradients), plus the causal variant
(causal mask with the is_causal hint).  extra_info["GFLOP/s"] counts the projections (4 GEMMs of
L x E x E per batch) and the two attention products (2 L^2 E), causal ones at half; backward as
twice the forward.  torch is pinned to dlcore.get_num_threads().  ``path`` records which attention
path dlcore ran ("fused" or "explicit").
"""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import nn

IMPLS = ["dlcore", "torch"]
N, L, E, H = 32, 128, 512, 8


def _flops(causal, backward):
    proj = 4 * 2 * N * L * E * E
    attn = 2 * 2 * N * L * L * E * (0.5 if causal else 1.0)
    return (proj + attn) * (3 if backward else 1)


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(dlcore.get_num_threads())
    return torch


def _case(impl, causal, backward):
    x = np.random.default_rng(0).standard_normal((N, L, E)).astype(np.float32)
    mask = np.triu(np.full((L, L), -np.inf, np.float32), 1) if causal else None
    if impl == "dlcore":
        dlcore.manual_seed(0)
        m = nn.MultiheadAttention(E, H, batch_first=True)
        if not backward:
            m.eval()
        xt = dlcore.tensor(x, requires_grad=backward)

        def run():
            out = m(xt, xt, xt, need_weights=False, attn_mask=mask, is_causal=causal)[0]
            if backward:
                m.zero_grad()
                xt.grad = None
                out.sum().backward()
            return out
        return run
    torch = _torch()
    torch.manual_seed(0)
    m = torch.nn.MultiheadAttention(E, H, batch_first=True)
    if not backward:
        m.eval()  # with no_grad: torch's inference fast path (native MHA), its best forward
    xt = torch.from_numpy(x).requires_grad_(backward)
    tmask = None if mask is None else torch.from_numpy(mask)

    def run_torch():
        if not backward:
            with torch.no_grad():
                return m(xt, xt, xt, need_weights=False, attn_mask=tmask, is_causal=causal)[0]
        m.zero_grad()
        xt.grad = None
        out = m(xt, xt, xt, need_weights=False, attn_mask=tmask, is_causal=causal)[0]
        out.sum().backward()
        return out
    return run_torch


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("backward", [False, True], ids=["fwd", "fwd+bwd"])
def test_multihead_attention(benchmark, impl, causal, backward):
    fn = _case(impl, causal, backward)
    kind = "fwd+bwd" if backward else "fwd"
    benchmark.group = (f"MultiheadAttention {kind} (N={N}, L={L}, E={E}, H={H}){' causal' if causal else ''} "
                       f"float32, {dlcore.get_num_threads()} threads")
    benchmark.extra_info["impl"] = impl
    if impl == "dlcore":
        has_kernel = getattr(nn.functional, "scaled_dot_product_attention", None) is not None
        benchmark.extra_info["path"] = "fused" if has_kernel else "explicit"
    fn()  # warm up (allocations, thread pools)
    benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats:  # None under --benchmark-disable (a smoke run)
        benchmark.extra_info["GFLOP/s"] = round(_flops(causal, backward) / benchmark.stats.stats.median / 1e9, 1)

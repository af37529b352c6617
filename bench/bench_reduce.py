"""Benchmarks of the reduce family against NumPy and PyTorch (CPU, float32).

    PYTHONPATH=python pytest bench/bench_reduce.py --benchmark-group-by=group

Each case runs for impl in {dlcore, numpy, torch} (a missing peer is skipped) in one group per
shape; torch is pinned to dlcore.get_num_threads().  extra_info["GB/s"] counts the bytes each
case must move at least (inputs read once, outputs written once).
"""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import ops

IMPLS = ["dlcore", "numpy", "torch"]


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(dlcore.get_num_threads())
    return torch


def _np_softmax(x, log=False):
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=-1, keepdims=True)
    return z - np.log(s) if log else e / s


def _np_ce_fwd_bwd(x, t):
    n = x.shape[0]
    ls = _np_softmax(x, log=True)
    loss = -ls[np.arange(n), t].mean()
    g = np.exp(ls)
    g[np.arange(n), t] -= 1
    return loss, g / n


def _case(name, impl):
    """(callable, bytes moved) for one case and implementation."""
    r = np.random.default_rng(0)
    if name.startswith("ce"):
        x = r.standard_normal((4096, 1000)).astype(np.float32)
        t = r.integers(0, 1000, 4096)
        nbytes = x.nbytes * 2 + t.nbytes  # read logits, write grad
    else:
        x = r.standard_normal((64, 512, 768)).astype(np.float32)
        nbytes = x.nbytes * (2 if "softmax" in name else 1)
    if impl == "dlcore":
        one = np.float32(1)
        fns = {
            "softmax_last": lambda: ops.softmax(x, -1),
            "log_softmax_last": lambda: ops.log_softmax(x, -1),
            "sum_axis1": lambda: ops.sum(x, 1),
            "sum_last": lambda: ops.sum(x, -1),
            "sum_all": lambda: ops.sum(x),
            "ce_fwd_bwd": lambda: (ops.cross_entropy(x, t), ops.cross_entropy_backward(one, x, t)),
        }
    elif impl == "numpy":
        fns = {
            "softmax_last": lambda: _np_softmax(x),
            "log_softmax_last": lambda: _np_softmax(x, log=True),
            "sum_axis1": lambda: x.sum(1),
            "sum_last": lambda: x.sum(-1),
            "sum_all": lambda: x.sum(),
            "ce_fwd_bwd": lambda: _np_ce_fwd_bwd(x, t),
        }
    else:
        torch = _torch()
        tx = torch.from_numpy(x)
        if name.startswith("ce"):
            tt = torch.from_numpy(t)
            txg = tx.clone().requires_grad_(True)

            def ce():
                txg.grad = None
                loss = torch.nn.functional.cross_entropy(txg, tt)
                loss.backward()
                return loss, txg.grad
            fns = {"ce_fwd_bwd": ce}
        else:
            fns = {
                "softmax_last": lambda: torch.softmax(tx, -1),
                "log_softmax_last": lambda: torch.log_softmax(tx, -1),
                "sum_axis1": lambda: tx.sum(1),
                "sum_last": lambda: tx.sum(-1),
                "sum_all": lambda: tx.sum(),
            }
    return fns[name], nbytes


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", ["softmax_last", "log_softmax_last", "sum_axis1", "sum_last", "sum_all",
                                  "ce_fwd_bwd"])
def test_reduce(benchmark, name, impl):
    fn, nbytes = _case(name, impl)
    shape = "(4096, 1000)" if name.startswith("ce") else "(64, 512, 768)"
    benchmark.group = f"{name} {shape} float32, {dlcore.get_num_threads()} threads"
    benchmark.extra_info["impl"] = impl
    fn()  # warm up (allocations, thread pools)
    benchmark.pedantic(fn, rounds=15, iterations=1, warmup_rounds=2)
    if benchmark.stats:  # None under --benchmark-disable (a smoke run)
        benchmark.extra_info["GB/s"] = round(nbytes / benchmark.stats.stats.median / 1e9, 2)

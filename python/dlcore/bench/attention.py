"""``dlcore bench attention``: the fused attention kernel against PyTorch's
``scaled_dot_product_attention`` on the canonical shapes (DESIGN.md), forward and
forward+backward (through autograd on both sides), same thread count, interleaved processes
(see _interleave); GFLOP/s count causal work as half; plus dlcore's peak scratch per call.
"""
from __future__ import annotations

import os
import sys

import numpy as np

from .._extras import missing
from ._report import missing_peers

# (name, (B, H, N, D), causal)
SHAPES = [
    ("4x8x1024x64", (4, 8, 1024, 64), False),
    ("4x8x1024x64 causal", (4, 8, 1024, 64), True),
    ("1x8x4096x64 causal", (1, 8, 4096, 64), True),
]
LONG = ("1x8x16384x64 causal", (1, 8, 16384, 64), True)
if os.environ.get("DLCORE_BENCH_ATTENTION_QUICK"):  # tests: the same table on tiny shapes, in seconds
    SHAPES = [("1x2x128x64", (1, 2, 128, 64), False), ("1x2x128x64 causal", (1, 2, 128, 64), True)]
PASSES = ("fwd", "fwd+bwd")


def flops(shape, causal, passes) -> float:
    """4 B H N^2 D for the forward (two products), x 3.5 with the backward (FA-2's count: five
    products, two of them recomputed); causal counts half."""
    b, h, n, d = shape
    f = 4.0 * b * h * n * n * d * (0.5 if causal else 1.0)
    return f * 3.5 if passes == "fwd+bwd" else f


def operands(shape, seed=0):
    r = np.random.default_rng(seed)
    return tuple(r.standard_normal(shape).astype(np.float32) for _ in range(3))


def _cases(long: bool):
    shapes = SHAPES + ([LONG] if long else [])
    return [(f"{name} {p}", shape, causal, p) for name, shape, causal in shapes for p in PASSES]


def make_fn(impl, mod, shape, causal, passes):
    """A no-argument callable running one case with `impl` ("dlcore" or "torch"; mod is the module)."""
    q, k, v = operands(shape)
    if impl == "torch":
        tq, tk, tv = (mod.from_numpy(x) for x in (q, k, v))
        sdpa = mod.nn.functional.scaled_dot_product_attention
        if passes == "fwd":
            def fn():
                with mod.no_grad():
                    sdpa(tq, tk, tv, is_causal=causal)
            return fn
        tq, tk, tv = (x.requires_grad_() for x in (tq, tk, tv))
        g = mod.ones(shape)

        def fn():
            sdpa(tq, tk, tv, is_causal=causal).backward(g)
        return fn
    if passes == "fwd":
        return lambda: mod.ops.scaled_dot_product_attention(q, k, v, is_causal=causal)
    F = mod.nn.functional
    tq, tk, tv = (mod.tensor(x, requires_grad=True) for x in (q, k, v))
    g = mod.tensor(np.ones(shape, np.float32))

    def fn():
        F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal).backward(g)
    return fn


def worker_init(impl: str, threads: int):
    """In a worker process (see _interleave): import the implementation, pin its threads."""
    if impl == "torch":
        import torch as mod

        mod.set_num_threads(threads)
    else:
        import dlcore as mod

        mod.set_num_threads(threads)
    return {"impl": impl, "mod": mod, "fns": {}}


def worker_case(state, case: str, repeat: int):
    """Seconds per call of `case`; "scratch:<shape name>": dlcore's scratch bytes (forward and
    backward, the larger) for that shape."""
    from .gemm import time_median

    if case.startswith("scratch:"):
        name = case[len("scratch:"):]
        _, shape, causal, _ = next(c for c in _cases(True) if c[0].startswith(name + " "))
        mod = state["mod"]
        q, k, v = operands(shape)
        out, lse = mod.ops.scaled_dot_product_attention(q, k, v, is_causal=causal, return_logsumexp=True)
        fwd = mod.ops.attention.last_workspace_bytes()
        mod.ops.scaled_dot_product_attention_backward(out, q, k, v, out, lse, is_causal=causal)
        return max(fwd, mod.ops.attention.last_workspace_bytes())
    fn = state["fns"].get(case)
    if fn is None:
        _, shape, causal, passes = next(c for c in _cases(True) if c[0] == case)
        fn = state["fns"][case] = make_fn(state["impl"], state["mod"], shape, causal, passes)
    return time_median(fn, repeat, min_sample_s=0.0, warm_s=0.0)


def run_attention_bench(threads: int = 2, repeat: int = 3, rounds: int = 3, long: bool = False, file=None):
    """Time every case for dlcore and torch, interleaved; print the table; return the rows."""
    import dlcore

    from . import _interleave as il

    file = file or sys.stdout
    cases = _cases(long)
    names = [c[0] for c in cases]
    impls = {"dlcore": ("dlcore", {"OPENBLAS_NUM_THREADS": "1"})}
    if not missing(["torch"]):
        impls["torch"] = ("torch", {"OPENBLAS_NUM_THREADS": "1"})
    with il.Workers("dlcore.bench.attention", impls, threads, required=("dlcore",)) as w:
        samples = il.interleaved(w, list(impls), names, rounds, repeat)
        shapes = SHAPES + ([LONG] if long else [])
        scratch = {name: w.measure("dlcore", f"scratch:{name}", 1) for name, _, _ in shapes}
        absent = missing_peers({"torch": "torch"}, w)
    rows = []
    for name, shape, causal, passes in cases:
        f = flops(shape, causal, passes)
        row = {"case": name, "gflops": {k: f / il.median(v[name]) / 1e9 for k, v in samples.items()}}
        if "torch" in samples:
            row["speedup"] = il.paired_ratio(samples["torch"][name], samples["dlcore"][name])
            row["spread"] = il.paired_ratio_spread(samples["torch"][name], samples["dlcore"][name])
        row["scratch_mib"] = scratch[name.rsplit(" ", 1)[0]] / 2 ** 20
        rows.append(row)
    print(f"dlcore {dlcore.__version__}  ISA {dlcore.info()['isa_active']}  threads {threads}  float32", file=file)
    for line in absent:
        print(line, file=file)
    print(f"GFLOP/s (causal counted as half; fwd+bwd = 3.5 x fwd), median over {rounds} interleaved rounds of "
          f"{repeat} samples; speedup = torch time / dlcore time (median of paired rounds, quartiles); dlcore's "
          "scratch (workspace of one call, forward or backward, the larger)", file=file)
    peers = [k for k in samples]
    print(f"{'case':32s}" + "".join(f"{k:>10s}" for k in peers) + f"{'x torch':>10s}{'spread':>18s}"
          f"{'scratch MiB':>13s}", file=file)
    for row in rows:
        sp = row.get("speedup", float("nan"))
        lo, hi = row.get("spread", (float("nan"), float("nan")))
        print(f"{row['case']:32s}" + "".join(f"{row['gflops'].get(k, float('nan')):10.1f}" for k in peers) +
              f"{sp:10.2f}{f'{lo:.2f} - {hi:.2f}':>18s}{row['scratch_mib']:13.2f}", file=file)
    return {"rows": rows, "missing_peers": absent}

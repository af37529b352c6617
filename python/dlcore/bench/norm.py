"""``dlcore bench norm``: batch, layer and group norm of dlcore against PyTorch on the canonical
shapes (float32), forward and forward+backward, each library in its own process, interleaved
(see _interleave); with GB/s next to this machine's measured STREAM-triad bandwidth.

Bytes that must move (float32, n = elements of the input), counted once per pass over memory:
  * batch norm, training forward: 3n*4 (the statistics read x; normalising reads x again and
    writes y: the statistics must be complete before the first output, and 25 MB does not stay
    in cache); forward+backward: 3n*4 + 5n*4 (the gradient sums read g and x; grad_input reads
    g and x and writes gx);
  * layer norm and group norm, forward: 2n*4 (read x, write y: a row is normalised while it is
    in cache); forward+backward: 2n*4 + 3n*4 (read g and x, write gx).
Forward is the array-level op (dlcore.ops / torch.nn.functional under no_grad); forward+backward
is autograd (dlcore.nn.functional / torch.nn.functional with requires_grad, then backward(g)).
"""
from __future__ import annotations

import sys

import numpy as np

from .gemm import time_median

BN_SHAPE = (32, 64, 56, 56)
LN_SHAPE = (64, 512, 768)
# (case, op, shape, backward, passes over n floats)
CASES = [
    ("batch_norm train fwd 32x64x56x56", "batch", BN_SHAPE, False, 3),
    ("batch_norm train fwd+bwd 32x64x56x56", "batch", BN_SHAPE, True, 8),
    ("layer_norm fwd 64x512x768", "layer", LN_SHAPE, False, 2),
    ("layer_norm fwd+bwd 64x512x768", "layer", LN_SHAPE, True, 5),
    ("group_norm(32) fwd 32x64x56x56", "group", BN_SHAPE, False, 2),
    ("group_norm(32) fwd+bwd 32x64x56x56", "group", BN_SHAPE, True, 5),
]
TRIAD_N = 1 << 25  # 3 x 128 MiB arrays: far beyond any cache


def nbytes(shape, passes) -> float:
    return 4.0 * passes * float(np.prod(shape))


def _arrays(shape):
    r = np.random.default_rng(0)
    c = shape[-1] if len(shape) == 3 else shape[1]
    x = r.standard_normal(shape).astype(np.float32)
    g = r.standard_normal(shape).astype(np.float32)
    return x, g, np.ones(c, np.float32), np.zeros(c, np.float32)


def dlcore_case(dlcore, op, shape, backward):
    from dlcore.nn import functional as F

    x, g, w, b = _arrays(shape)
    c = w.shape[0]
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    if not backward:
        fns = {"batch": lambda: dlcore.ops.batch_norm(x, rm, rv, w, b, True),
               "layer": lambda: dlcore.ops.layer_norm(x, (c,), w, b),
               "group": lambda: dlcore.ops.group_norm(x, 32, w, b)}
        return fns[op]
    tx, tg = dlcore.tensor(x, requires_grad=True), dlcore.tensor(g)
    tw, tb = dlcore.tensor(w, requires_grad=True), dlcore.tensor(b, requires_grad=True)
    trm, trv = dlcore.tensor(rm), dlcore.tensor(rv)
    fwd = {"batch": lambda: F.batch_norm(tx, trm, trv, tw, tb, True),
           "layer": lambda: F.layer_norm(tx, (c,), tw, tb),
           "group": lambda: F.group_norm(tx, 32, tw, tb)}[op]

    def step():
        tx.grad = tw.grad = tb.grad = None
        fwd().backward(tg)
    return step


def torch_case(torch, op, shape, backward):
    x, g, w, b = _arrays(shape)
    c = w.shape[0]
    tx, tg, tw, tb = (torch.from_numpy(a) for a in (x, g, w, b))
    trm, trv = torch.zeros(c), torch.ones(c)
    fn = torch.nn.functional
    if backward:
        tx, tw, tb = (t.clone().requires_grad_() for t in (tx, tw, tb))
    fwd = {"batch": lambda: fn.batch_norm(tx, trm, trv, tw, tb, True),
           "layer": lambda: fn.layer_norm(tx, (c,), tw, tb),
           "group": lambda: fn.group_norm(tx, 32, tw, tb)}[op]
    if not backward:
        def run():
            with torch.no_grad():
                return fwd()
        return run

    def step():
        tx.grad = tw.grad = tb.grad = None
        fwd().backward(tg)
    return step


def worker_init(impl: str, threads: int):
    """In a worker process (see _interleave): the library, pinned to `threads`; cases built lazily."""
    if impl == "torch":
        import torch

        torch.set_num_threads(threads)
        return {"impl": impl, "lib": torch, "fns": {}}
    import dlcore

    dlcore.set_num_threads(threads)
    return {"impl": impl, "lib": dlcore, "fns": {}}


def worker_case(state, case: str, repeat: int):
    """Seconds per call of one case; "triad": the measured STREAM-triad bandwidth (GB/s)."""
    if case == "triad":
        return state["lib"]._core.stream_triad_gbs(TRIAD_N, max(3, repeat))
    fn = state["fns"].get(case)
    if fn is None:
        _, op, shape, backward, _ = next(c for c in CASES if c[0] == case)
        make = torch_case if state["impl"] == "torch" else dlcore_case
        state["fns"] = {case: make(state["lib"], op, shape, backward)}  # one case's arrays at a time
        fn = state["fns"][case]
    return time_median(fn, repeat, min_sample_s=0.05)


def run_norm_bench(threads: int = 2, repeat: int = 5, rounds: int = 3, file=None):
    """Times every case in dlcore and in torch, interleaved; prints ms, GB/s, the speedup over
    torch (median over rounds of torch time / dlcore time, with its quartiles) and dlcore's share
    of the measured triad bandwidth; returns the rows."""
    import dlcore

    from .._extras import missing
    from . import _interleave as il
    from ._report import missing_peers

    file = file or sys.stdout
    impls = {"dlcore": ("dlcore", {"OPENBLAS_NUM_THREADS": "1"})}
    if not missing(["torch"]):
        impls["torch"] = ("torch", {"OPENBLAS_NUM_THREADS": "1"})
    names = [c[0] for c in CASES]
    triads = []
    with il.Workers("dlcore.bench.norm", impls, threads, required=("dlcore",)) as w:
        samples = il.interleaved(w, list(impls), names, rounds, repeat,
                                 after_round=lambda: triads.append(w.measure("dlcore", "triad", repeat)))
        absent = missing_peers({"torch": "torch"}, w)
    ours_s, torch_s = samples["dlcore"], samples.get("torch")
    triad = max([t for t in triads if t is not None and np.isfinite(t)], default=float("nan"))

    print(f"dlcore {dlcore.__version__}  ISA {dlcore.info()['isa_active']}  threads {threads}  "
          f"(median over {rounds} interleaved rounds of {repeat} samples each)", file=file)
    print(f"measured STREAM triad: {triad:.1f} GB/s (best of {len(triads)} rounds; "
          "12 bytes per element, STREAM's count)", file=file)
    for line in absent:
        print(line, file=file)
    print("bytes: batch norm fwd 3 passes over the input, fwd+bwd 8; layer/group norm fwd 2, fwd+bwd 5 "
          "(see dlcore/bench/norm.py)", file=file)
    head = f"{'case':38s}{'dlcore ms':>11s}{'GB/s':>8s}{'% triad':>9s}"
    if torch_s:
        head += f"{'torch ms':>11s}{'torch GB/s':>12s}{'x torch':>9s}{'q1 - q3':>14s}"
    print(head, file=file)
    rows = []
    for name, _, shape, _, passes in CASES:
        ours = il.median(ours_s[name])
        gbs = nbytes(shape, passes) / ours / 1e9
        row = {"case": name, "dlcore_s": ours, "gbs": gbs, "triad_share": gbs / triad}
        line = f"{name:38s}{ours * 1e3:11.2f}{gbs:8.1f}{100 * gbs / triad:8.1f}%"
        if torch_s:
            t = il.median(torch_s[name])
            row.update(torch_s=t, speedup=il.paired_ratio(torch_s[name], ours_s[name]),
                       spread=il.paired_ratio_spread(torch_s[name], ours_s[name]))
            line += (f"{t * 1e3:11.2f}{nbytes(shape, passes) / t / 1e9:12.1f}{row['speedup']:9.2f}"
                     f"{'%.2f - %.2f' % row['spread']:>14s}")
        rows.append(row)
        print(line, file=file)
    return {"triad_gbs": triad, "rows": rows, "missing_peers": absent}

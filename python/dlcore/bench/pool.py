"""``dlcore bench pool``: pooling and upsampling of dlcore against PyTorch on the canonical shapes
(max pool 3x3/s2/p1 and avg pool 2x2/s2 on 32x64x56x56, bilinear 2x upsampling of 32x64x56x56;
float32, NCHW), forward and forward+backward, same thread count.

Forward+backward runs through each library's autograd (functional op on an input that requires
grad, then ``backward`` with a fixed output gradient), as a training step would.  GB/s counts the
bytes each case must move at least, per op:

* forward: read the input once, write the output once (4 bytes an element);
* forward+backward: the forward (max pooling also writes its int64 indices, 8 bytes an output),
  then read the output gradient (and max pooling's indices) and write the input gradient.

Each library runs in its own persistent process and the two take turns sample by sample (see
``_interleave``); the speedup is the median over rounds of torch time / dlcore time, with its
quartiles.
"""
from __future__ import annotations

import sys

import numpy as np

from .gemm import time_median

# (name, op) on the input shape (batch, 64, 56, 56)
OPS = [("max 3x3/s2/p1", "max"), ("avg 2x2/s2", "avg"), ("bilinear 2x", "bilinear")]
MODES = ("fwd", "fwd+bwd")


def shape(batch: int):
    return (batch, 64, 56, 56)


def out_shape(op: str, batch: int):
    n, c, h, w = shape(batch)
    return (n, c, 2 * h, 2 * w) if op == "bilinear" else (n, c, h // 2, w // 2)


def bytes_moved(op: str, mode: str, batch: int) -> float:
    """The bytes a case must move at least (see the module docstring)."""
    x = 4.0 * np.prod(shape(batch))
    y = 4.0 * np.prod(out_shape(op, batch))
    idx = 2 * y if op == "max" else 0.0  # int64 indices: 8 bytes an output
    if mode == "fwd":
        return x + y
    return (x + y + idx) + (y + idx + x)


def _apply(op, F, t):
    if op == "max":
        return F.max_pool2d(t, 3, 2, 1)
    if op == "avg":
        return F.avg_pool2d(t, 2, 2)
    return F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)


def make_case(impl: str, op: str, mode: str, batch: int):
    """A callable running one case in `impl` ("dlcore" or "torch")."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape(batch)).astype(np.float32)
    g = rng.standard_normal(out_shape(op, batch)).astype(np.float32)
    if impl == "torch":
        import torch

        F = torch.nn.functional
        xt, gt = torch.from_numpy(x), torch.from_numpy(g)
        if mode == "fwd":
            return lambda: _apply(op, F, xt)
        xt.requires_grad_(True)

        def step():
            xt.grad = None
            _apply(op, F, xt).backward(gt)
        return step
    import dlcore
    from dlcore.nn import functional as F

    if mode == "fwd":
        return lambda: _apply(op, dlcore.ops, x)
    xt, gt = dlcore.tensor(x, requires_grad=True), dlcore.tensor(g)

    def step():
        xt.grad = None
        _apply(op, F, xt).backward(gt)
    return step


def worker_init(impl: str, threads: int):
    """In a worker process (see _interleave): pin the threads; cases are built on first use."""
    if impl == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        import dlcore

        dlcore.set_num_threads(threads)
    return {"impl": impl, "fns": {}}


def worker_case(state, case: str, repeat: int):
    """Seconds per call of `case` ("<op>|<mode>|<batch>")."""
    fn = state["fns"].get(case)
    if fn is None:
        op, mode, batch = case.split("|")
        fn = state["fns"][case] = make_case(state["impl"], op, mode, int(batch))
    return time_median(fn, repeat, min_sample_s=0.05)


def run_pool_bench(threads: int = 2, repeat: int = 5, rounds: int = 3, batch: int = 32, file=None):
    """Time every case in dlcore and in torch, interleaved; print the table; return the rows."""
    import dlcore

    from .._extras import missing
    from . import _interleave as il
    from ._report import missing_peers

    file = file or sys.stdout
    impls = {"dlcore": ("dlcore", {"OPENBLAS_NUM_THREADS": "1"})}
    if not missing(["torch"]):
        impls["torch"] = ("torch", {"OPENBLAS_NUM_THREADS": "1"})
    cases = [(name, op, mode) for name, op in OPS for mode in MODES]
    keys = [f"{op}|{mode}|{batch}" for _, op, mode in cases]
    with il.Workers("dlcore.bench.pool", impls, threads, required=("dlcore",)) as w:
        samples = il.interleaved(w, list(impls), keys, rounds, repeat)
        absent = missing_peers({"torch": "torch"}, w)
    ours_s, torch_s = samples["dlcore"], samples.get("torch")

    n, c, h, wd = shape(batch)
    print(f"dlcore {dlcore.__version__}  ISA {dlcore.info()['isa_active']}  threads {threads}  input {n}x{c}x{h}x{wd} "
          f"float32  (median over {rounds} interleaved rounds of {repeat} samples each"
          + ("; speedup = median over rounds of torch time / dlcore time, with its quartiles)" if torch_s else ")"),
          file=file)
    for line in absent:
        print(line, file=file)
    print("bytes per case: fwd = input + output; fwd+bwd = fwd + grad_output + grad_input "
          "(+ int64 indices written and read for max pooling)", file=file)
    peer_head = f"{'torch ms':>10s}{'torch GB/s':>12s}{'speedup':>9s}{'q1 - q3':>14s}" if torch_s else ""
    print(f"{'case':26s}{'MB':>8s}{'dlcore ms':>11s}{'dlcore GB/s':>13s}{peer_head}", file=file)
    rows = []
    for (name, op, mode), key in zip(cases, keys):
        nbytes = bytes_moved(op, mode, batch)
        ours = il.median(ours_s[key])
        row = {"case": f"{name} {mode}", "bytes": nbytes, "dlcore_s": ours, "dlcore_gbs": nbytes / ours / 1e9}
        line = f"{row['case']:26s}{nbytes / 1e6:8.1f}{1e3 * ours:11.2f}{row['dlcore_gbs']:13.2f}"
        if torch_s:
            theirs = il.median(torch_s[key])
            row.update(torch_s=theirs, torch_gbs=nbytes / theirs / 1e9,
                       speedup=il.paired_ratio(torch_s[key], ours_s[key]),
                       spread=il.paired_ratio_spread(torch_s[key], ours_s[key]))
            line += (f"{1e3 * theirs:10.2f}{row['torch_gbs']:12.2f}{row['speedup']:9.2f}"
                     f"{'%.2f - %.2f' % row['spread']:>14s}")
        rows.append(row)
        print(line, file=file)
    return rows

"""``dlcore bench rnn``: LSTM and GRU on the canonical shape (batch 64, input 256, hidden 512),
dlcore vs PyTorch on the same threads, same weights and inputs: one cell step forward, 100 steps
forward (inference, no graph), 100 steps forward + backward (gradients of input and weights).

Each library runs in its own persistent process and they take turns (see ``_interleave``).  The
table gives medians, the speedup (torch time / dlcore time, median over rounds) and dlcore's
GFLOP/s with its share of this machine's measured FMA peak.
"""
from __future__ import annotations

import sys

import numpy as np

from .gemm import time_median

BATCH, INPUT, HIDDEN, STEPS = 64, 256, 512, 100
GATES = {"lstm": 4, "gru": 3}
# (case name, kind, what)
CASES = [(f"{k} {w}", k, w) for k in ("lstm", "gru") for w in ("cell fwd", "100 fwd", "100 fwd+bwd")]
# a bidirectional layer: its two directions run concurrently on two threads
CASES.append(("bi-lstm 100 fwd+bwd", "lstm", "bi 100 fwd+bwd"))


def case_flops(kind, what) -> float:
    """2 x multiply-adds of the GEMMs: per step B (I + H) G H; backward twice the forward."""
    step = 2.0 * BATCH * (INPUT + HIDDEN) * GATES[kind] * HIDDEN
    if what == "cell fwd":
        return step
    return step * STEPS * (3 if "bwd" in what else 1) * (2 if what.startswith("bi") else 1)


def case_data(kind, seed=0):
    """Weights in torch's layout and init bounds, a sequence x (T, B, I), one step x0 and h0/c0."""
    rng = np.random.default_rng(seed)
    k, g = 1 / np.sqrt(HIDDEN), GATES[kind] * HIDDEN
    w = [rng.uniform(-k, k, s).astype(np.float32) for s in ((g, INPUT), (g, HIDDEN), (g,), (g,))]
    x = rng.standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    h = rng.standard_normal((BATCH, HIDDEN)).astype(np.float32)
    return w, x, h


def _dlcore_fn(kind, what):
    import dlcore
    from dlcore import nn

    w, x, h = case_data(kind)
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    if what == "cell fwd":
        cell = (nn.LSTMCell if kind == "lstm" else nn.GRUCell)(INPUT, HIDDEN)
        cell.load_state_dict(dict(zip(names, w)))
        x0, h0 = dlcore.from_numpy(x[0]), dlcore.from_numpy(h)
        state = (h0, h0) if kind == "lstm" else h0

        def fn():
            with dlcore.no_grad():
                cell(x0, state)
        return fn
    bi = what.startswith("bi")
    mod = (nn.LSTM if kind == "lstm" else nn.GRU)(INPUT, HIDDEN, bidirectional=bi)
    mod.load_state_dict({n + "_l0" + sfx: a for n, a in zip(names, w) for sfx in ([""] + ["_reverse"] * bi)})
    xt = dlcore.from_numpy(x)
    if what == "100 fwd":
        def fn():
            with dlcore.no_grad():
                mod(xt)
        return fn
    xg = dlcore.tensor(x, requires_grad=True)

    def fn():
        mod.zero_grad()
        out, _ = mod(xg)
        out.sum().backward()
    return fn


def _torch_fn(kind, what):
    import torch

    w, x, h = case_data(kind)
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    if what == "cell fwd":
        cell = (torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell)(INPUT, HIDDEN)
        cell.load_state_dict({n: torch.from_numpy(a) for n, a in zip(names, w)})
        x0, h0 = torch.from_numpy(x[0]), torch.from_numpy(h)
        state = (h0, h0) if kind == "lstm" else h0

        def fn():
            with torch.no_grad():
                cell(x0, state)
        return fn
    bi = what.startswith("bi")
    mod = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(INPUT, HIDDEN, bidirectional=bi)
    mod.load_state_dict({n + "_l0" + sfx: torch.from_numpy(a) for n, a in zip(names, w)
                         for sfx in ([""] + ["_reverse"] * bi)})
    xt = torch.from_numpy(x)
    if what == "100 fwd":
        def fn():
            with torch.no_grad():
                mod(xt)
        return fn
    xg = xt.clone().requires_grad_(True)

    def fn():
        mod.zero_grad()
        out, _ = mod(xg)
        out.sum().backward()
    return fn


def worker_init(impl: str, threads: int):
    """In a worker process (see _interleave): one callable per case."""
    if impl == "dlcore":
        import dlcore

        dlcore.set_num_threads(threads)
        return {name: _dlcore_fn(kind, what) for name, kind, what in CASES}
    import torch

    torch.set_num_threads(threads)
    return {name: _torch_fn(kind, what) for name, kind, what in CASES}


def worker_case(fns, case: str, repeat: int):
    return time_median(fns[case], repeat, min_sample_s=0.05)


def run_rnn_bench(threads: int = 2, repeat: int = 3, rounds: int = 2, file=None):
    """Times every case in dlcore and torch (interleaved worker processes) and prints the table;
    returns the rows."""
    import dlcore

    from .._extras import missing
    from . import _interleave as il
    from ._report import missing_peers

    file = file or sys.stdout
    impls = {"dlcore": ("dlcore", {"OPENBLAS_NUM_THREADS": "1"})}
    if not missing(["torch"]):
        impls["torch"] = ("torch", {"OPENBLAS_NUM_THREADS": "1"})
    names = [c[0] for c in CASES]
    with il.Workers("dlcore.bench.rnn", impls, threads, required=("dlcore",)) as w:
        samples = il.interleaved(w, list(impls), names, rounds, repeat)
        absent = missing_peers({"torch": "torch"}, w)
    peak = dlcore.ops.fma_peak_gflops(threads, 0.3)
    ours_s, torch_s = samples["dlcore"], samples.get("torch")
    print(f"dlcore {dlcore.__version__}  ISA {dlcore.info()['isa_active']}  threads {threads}  batch {BATCH} "
          f"input {INPUT} hidden {HIDDEN}  (median over {rounds} interleaved rounds of {repeat} samples"
          + ("; speedup = torch time / dlcore time)" if torch_s else ")"), file=file)
    print(f"measured FMA peak {peak:.1f} GFLOP/s (float32, {threads} threads)", file=file)
    for line in absent:
        print(line, file=file)
    head = f"{'torch ms':>11s}{'speedup':>9s}{'q1 - q3':>13s}" if torch_s else ""
    print(f"{'case':20s}{'dlcore ms':>11s}{head}{'GFLOP/s':>10s}{'% peak':>8s}", file=file)
    rows = []
    for name, kind, what in CASES:
        ours = il.median(ours_s[name])
        gf = case_flops(kind, what) / ours / 1e9
        row = {"case": name, "dlcore_s": ours, "gflops": gf, "peak_share": gf / peak}
        line = f"{name:20s}{1e3 * ours:11.2f}"
        if torch_s:
            row.update(torch_s=il.median(torch_s[name]), speedup=il.paired_ratio(torch_s[name], ours_s[name]),
                       spread=il.paired_ratio_spread(torch_s[name], ours_s[name]))
            line += f"{1e3 * row['torch_s']:11.2f}{row['speedup']:9.2f}{'%.2f - %.2f' % row['spread']:>13s}"
        line += f"{gf:10.1f}{100 * gf / peak:7.0f}%"
        rows.append(row)
        print(line, file=file)
    return rows

"""``dlcore bench train``: one training step (forward, backward, AdamW step) of an MLP in dlcore
and in PyTorch with the same weights, data and thread count, and the per-op overhead of
autograd on tiny tensors (``a * b + c`` forward and backward).

Each library runs in its own process (idle thread pools of one starve the other, the same
reason as in ``dlcore bench gemm``), alternating over a few rounds.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from .gemm import time_median

# (name, layer widths, batch)
CASES = [
    ("mlp 64-1024-1024-10 batch 256", (64, 1024, 1024, 10), 256),
    ("mlp 784-4096-4096-10 batch 512", (784, 4096, 4096, 10), 512),
]
OVERHEAD_SHAPE = (8,)


def step_flops(widths, batch) -> float:
    """Multiply-adds x 2 of forward (1 GEMM a layer) and backward (2 GEMMs a layer)."""
    return sum(3 * 2.0 * batch * i * o for i, o in zip(widths[:-1], widths[1:]))


def case_data(widths, batch, seed=0):
    """Weights (PyTorch's nn.Linear layout and init bounds), inputs and labels for one case."""
    rng = np.random.default_rng(seed)
    params = []
    for i, o in zip(widths[:-1], widths[1:]):
        bound = 1 / np.sqrt(i)
        params.append(rng.uniform(-bound, bound, (o, i)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, (o,)).astype(np.float32))
    x = rng.standard_normal((batch, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], batch).astype(np.int64)
    return params, x, y


def dlcore_step(widths, batch):
    import dlcore
    from dlcore import nn, optim
    from dlcore.nn import functional as F

    params, x, y = case_data(widths, batch)
    layers = []
    for k, (i, o) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(i, o))
        if k < len(widths) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    model.load_state_dict({k: v for k, v in zip(model.state_dict().keys(), params)})
    opt = optim.AdamW(model.parameters(), lr=1e-4)
    xt, yt = dlcore.from_numpy(x), dlcore.from_numpy(y)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        opt.step()
    return step


def dlcore_overhead():
    import dlcore

    a, b, c = (dlcore.ones(*OVERHEAD_SHAPE, requires_grad=True) for _ in range(3))

    def fn():
        (a * b + c).sum().backward()
    return fn


def torch_step(widths, batch, threads):
    """The same step in PyTorch: torch.nn layers with the same weights, torch.optim.AdamW."""
    import torch

    torch.set_num_threads(threads)
    params, x, y = case_data(widths, batch)
    layers = []
    for k, (i, o) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(i, o))
        if k < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in zip(model.state_dict().keys(), params)})
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    return step


def torch_overhead(threads):
    import torch

    torch.set_num_threads(threads)
    a, b, c = (torch.ones(OVERHEAD_SHAPE, requires_grad=True) for _ in range(3))

    def fn():
        (a * b + c).sum().backward()
    return fn


_CHILD = r"""
import json, sys
from dlcore.bench import train
from dlcore.bench.gemm import time_median
repeat, threads, impl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if impl == "dlcore":
    import dlcore
    dlcore.set_num_threads(threads)
    make = lambda widths, batch: train.dlcore_step(widths, batch)
    overhead = train.dlcore_overhead()
else:
    make = lambda widths, batch: train.torch_step(widths, batch, threads)
    overhead = train.torch_overhead(threads)
out = {name: time_median(make(widths, batch), repeat, min_sample_s=0.05) for name, widths, batch in train.CASES}
out["overhead"] = time_median(overhead, repeat, min_sample_s=0.05)
print(json.dumps(out))
"""


def time_in_subprocess(impl: str, threads: int, repeat: int):
    """Median step times of `impl` ("dlcore" or "torch") measured in a fresh process, so neither
    library's idle thread pool (nor OpenBLAS's, started by NumPy) competes with the other's."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1")
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    try:
        res = subprocess.run([sys.executable, "-c", _CHILD, str(repeat), str(threads), impl], env=env,
                             capture_output=True, text=True, timeout=1800)
        if res.returncode != 0:
            print(res.stderr[-2000:], file=sys.stderr)
            return None
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None


def run_train_bench(threads: int = 2, repeat: int = 7, rounds: int = 3, file=None):
    """Times every case in dlcore and in torch, each in its own process, alternating for `rounds`
    rounds (this shared machine drifts: alternation spreads the drift over both); reports the
    median over rounds of each round's median and returns the rows."""
    import importlib.util

    import dlcore

    file = file or sys.stdout
    have_torch = importlib.util.find_spec("torch") is not None
    runs = {"dlcore": [], "torch": []}
    for _ in range(rounds):
        for impl in ("dlcore", "torch") if have_torch else ("dlcore",):
            r = time_in_subprocess(impl, threads, repeat)
            if r is None and impl == "dlcore":
                raise RuntimeError("bench train: the dlcore timing process failed")
            if r is not None:
                runs[impl].append(r)

    def med(impl, key):
        vals = [r[key] for r in runs[impl] if key in r]
        return float(np.median(vals)) if vals else float("nan")

    print(f"dlcore {dlcore.__version__}  ISA {dlcore.info()['isa_active']}  threads {threads}  "
          f"(median of {rounds} alternating rounds x {repeat} samples; speedup = torch time / dlcore time)",
          file=file)
    print(f"{'case':36s}{'dlcore ms':>12s}{'torch ms':>12s}{'speedup':>10s}{'dlcore GFLOP/s':>16s}", file=file)
    rows = []
    for name, widths, batch in CASES:
        ours, t = med("dlcore", name), med("torch", name)
        row = {"case": name, "dlcore_s": ours, "torch_s": t, "speedup": t / ours,
               "gflops": step_flops(widths, batch) / ours / 1e9}
        rows.append(row)
        print(f"{name:36s}{1e3 * ours:12.2f}{1e3 * t:12.2f}{row['speedup']:10.2f}{row['gflops']:16.1f}", file=file)
    ours, t = med("dlcore", "overhead"), med("torch", "overhead")
    rows.append({"case": "autograd a*b+c fwd+bwd", "dlcore_s": ours, "torch_s": t, "speedup": t / ours})
    print(f"{'autograd a*b+c, sum, backward (us)':36s}{1e6 * ours:12.1f}{1e6 * t:12.1f}{t / ours:10.2f}", file=file)
    return rows

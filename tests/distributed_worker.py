"""Run by tests/test_distributed.py under `mpirun -n 2`: one scenario per invocation, results
written to OUT/rank<r>.npz (or .json) for the test to check."""
import json
import os
import sys
import time

import numpy as np

import dlcore
import dlcore.distributed as dist
from dlcore import nn


def mlp(seed=0):
    dlcore.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))


def data(n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 12)).astype(np.float32), rng.integers(0, 4, n).astype(np.int64)


def train(model, x, y, steps, batch, rank=0, world=1, ddp=None):
    m = ddp or model
    opt = dlcore.optim.AdamW(model.parameters(), lr=1e-2)
    for s in range(steps):
        lo = (s * batch * world) % (len(x) - batch * world + 1)
        xb = x[lo + rank * batch: lo + (rank + 1) * batch]
        yb = y[lo + rank * batch: lo + (rank + 1) * batch]
        loss = nn.functional.cross_entropy(m(dlcore.tensor(xb)), dlcore.tensor(yb))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def main():
    scenario, out = sys.argv[1], sys.argv[2]
    dlcore.set_num_threads(1)
    dist.init_process_group(timeout=float(os.environ.get("DL_TEST_TIMEOUT", "60")))
    r, w = dist.get_rank(), dist.get_world_size()
    res = {}
    if scenario == "collectives":
        for dt in ("float32", "float64", "int64", "int32"):
            base = (np.arange(6).reshape(2, 3) * (r + 1) - r).astype(dt)
            for op in ("sum", "max", "min") + (("avg",) if dt.startswith("float") else ()):
                t = dlcore.tensor(base.copy()) if dt in ("float32", "float64", "int64") else base.copy()
                dist.all_reduce(t, op)
                res[f"allreduce_{dt}_{op}"] = np.asarray(t).copy()
            b = base.copy()
            dist.broadcast(b, src=1)
            res[f"broadcast_{dt}"] = b
            lst = [np.zeros_like(base) for _ in range(w)]
            dist.all_gather(lst, base)
            res[f"allgather_{dt}"] = np.stack(lst)
            o = np.zeros_like(base)
            dist.reduce_scatter(o, [base + i for i in range(w)])
            res[f"reducescatter_{dt}"] = o
        nc = dlcore.tensor(np.arange(12.0).reshape(3, 4) * (r + 1)).t()  # non-contiguous: copied and written back
        dist.all_reduce(nc)
        res["noncontig"] = nc.numpy().copy()
        dist.barrier()
    elif scenario == "ddp":
        x, y = data(400)
        model = mlp()
        ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.002,
                                                  overlap=os.environ.get("DL_TEST_OVERLAP", "1") == "1")
        res = train(model, x, y, 20, 8, r, w, ddp)
        if r == 0:  # the single-process reference: batch 2B
            ref = train(mlp(), x, y, 20, 16)
            res.update({"ref." + k: v for k, v in ref.items()})
    elif scenario == "ddp_init":  # different seeds per rank: construction makes them equal
        model = mlp(seed=r)
        nn.parallel.DistributedDataParallel(model)
        res = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    elif scenario == "overlap":
        x, y = data(64)
        model = nn.Sequential(*[nn.Linear(64 if i else 12, 64) for i in range(6)], nn.Linear(64, 4))
        ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.02)
        ddp.trace = []
        loss = nn.functional.cross_entropy(ddp(dlcore.tensor(x)), dlcore.tensor(y))
        loss.backward()
        kinds = [e[0] for e in ddp.trace]
        res = {"kinds": kinds, "n_buckets": len(ddp._buckets)}
    elif scenario == "no_sync":
        x, y = data(64)
        model = mlp()
        ddp = nn.parallel.DistributedDataParallel(model)
        half = [(x[r * 16 + k * 8: r * 16 + k * 8 + 8], y[r * 16 + k * 8: r * 16 + k * 8 + 8]) for k in range(2)]
        with ddp.no_sync():
            (nn.functional.cross_entropy(ddp(dlcore.tensor(half[0][0])), dlcore.tensor(half[0][1])) / 2).backward()
        local = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
        (nn.functional.cross_entropy(ddp(dlcore.tensor(half[1][0])), dlcore.tensor(half[1][1])) / 2).backward()
        res = {"grad." + n: p.grad.numpy().copy() for n, p in model.named_parameters()}
        res.update({"local." + n: g for n, g in local.items()})
        if r == 0:
            ref = mlp()
            nn.functional.cross_entropy(ref(dlcore.tensor(x[:32])), dlcore.tensor(y[:32])).backward()
            res.update({"ref." + n: p.grad.numpy().copy() for n, p in ref.named_parameters()})
    elif scenario == "syncbn":
        def cnn(sync):
            dlcore.manual_seed(0)
            # no conv bias before the norm: its gradient is zero up to rounding, which Adam would
            # amplify into steps of size lr in an arbitrary direction (different on 1 and 2 ranks)
            m = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                              nn.Linear(4, 3))
            return nn.SyncBatchNorm.convert_sync_batchnorm(m) if sync else m
        rng = np.random.default_rng(3)
        x = rng.standard_normal((160, 1, 6, 6)).astype(np.float32)
        y = rng.integers(0, 3, 160).astype(np.int64)

        def run(model, wrapped, rank, world, batch):
            opt = dlcore.optim.AdamW(model.parameters(), lr=1e-2)
            for s in range(20):
                lo = s * batch * world
                xb = x[lo + rank * batch: lo + (rank + 1) * batch]
                yb = y[lo + rank * batch: lo + (rank + 1) * batch]
                loss = nn.functional.cross_entropy(wrapped(dlcore.tensor(xb)), dlcore.tensor(yb))
                opt.zero_grad()
                loss.backward()
                opt.step()
            return {k: v.numpy().copy() for k, v in model.state_dict().items()}
        model = cnn(True)
        res = run(model, nn.parallel.DistributedDataParallel(model), r, w, 4)
        if r == 0:
            ref = cnn(False)
            res.update({"ref." + k: v for k, v in run(ref, ref, 0, 1, 8).items()})
    elif scenario == "mismatch":
        try:
            dist.all_reduce(np.zeros(3 + r, np.float32))
            res["error"] = ""
        except ValueError as e:
            res["error"] = str(e)
        with open(os.path.join(out, f"rank{r}.json"), "w") as f:
            json.dump(res, f)
        return
    elif scenario == "raise":
        if r == 1:
            raise RuntimeError("boom on purpose")
        dist.barrier()
        return
    elif scenario == "timeout":
        if r == 1:
            time.sleep(30)
            return
        dist.all_reduce(np.zeros(3, np.float32))
        return
    np.savez(os.path.join(out, f"rank{r}.npz"), **res)


if __name__ == "__main__":
    main()

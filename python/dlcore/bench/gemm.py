"""``dlcore bench gemm``: GEMM throughput of dlcore against NumPy (OpenBLAS as installed, and in
a fresh process with each stronger OPENBLAS_CORETYPE) and PyTorch (MKL/oneDNN), all pinned to the
same thread count, on the canonical shapes; with the share of this machine's measured FMA peak.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np

# (name, a shape, b shape)
SHAPES = [
    ("square 64", (64, 64), (64, 64)),
    ("square 256", (256, 256), (256, 256)),
    ("square 512", (512, 512), (512, 512)),
    ("square 1024", (1024, 1024), (1024, 1024)),
    ("square 2048", (2048, 2048), (2048, 2048)),
    ("batched 32x128x64 @ 32x64x128", (32, 128, 64), (32, 64, 128)),
    ("linear 4096x768 @ 768x3072", (4096, 768), (768, 3072)),
]
# OpenBLAS kernels worth trying on an AVX2 x86-64 (the installed build picks one at load time).
CORETYPES = ("Haswell", "Zen", "SkylakeX")


def flops(sa, sb) -> float:
    batch = int(np.prod(np.broadcast_shapes(sa[:-2], sb[:-2]))) if len(sa) > 2 or len(sb) > 2 else 1
    return 2.0 * batch * sa[-2] * sa[-1] * sb[-1]


def operands(sa, sb, seed=0):
    r = np.random.default_rng(seed)
    return r.standard_normal(sa).astype(np.float32), r.standard_normal(sb).astype(np.float32)


def time_median(fn, repeat: int, min_sample_s: float = 2e-3) -> float:
    """Median seconds per call over `repeat` samples; each sample loops enough calls to last
    `min_sample_s`, so tiny products are not timer noise."""
    fn()
    t = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t, 1e-7)
    inner = max(1, int(min_sample_s / one))
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t) / inner)
    return float(np.median(samples))


_CHILD = r"""
import json, sys
import numpy as np
from dlcore.bench.gemm import SHAPES, operands, time_median
arch = None
try:
    import threadpoolctl
    arch = [i.get("architecture") for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
except Exception:
    pass
repeat, impl, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
out = {"arch": arch, "times": {}}
if impl == "torch":
    import torch
    torch.set_num_threads(threads)
elif impl == "dlcore":
    import dlcore
    dlcore.set_num_threads(threads)
for name, sa, sb in SHAPES:
    a, b = operands(sa, sb)
    if impl == "torch":
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        out["times"][name] = time_median(lambda: torch.matmul(ta, tb), repeat)
    elif impl == "dlcore":
        out["times"][name] = time_median(lambda: dlcore.ops.matmul(a, b), repeat)
    else:
        out["times"][name] = time_median(lambda: np.matmul(a, b), repeat)
if impl == "dlcore":  # after the products: a 0.3 s all-core FMA burn first slowed the small ones
    out["peak"] = dlcore.ops.fma_peak_gflops(threads, seconds=0.3)
print(json.dumps(out))
"""


def peer_in_subprocess(coretype, threads: int, repeat: int, impl: str = "numpy"):
    """Timings of one implementation in a fresh process: OPENBLAS_CORETYPE (when given) set
    before NumPy loads, and no other library's thread pool spinning beside it.  (OpenBLAS's idle
    workers, started when NumPy loads, cost dlcore 15-25% of its GFLOP/s in the same process,
    so dlcore's process gets OPENBLAS_NUM_THREADS=1: there NumPy only makes the operands.)"""
    blas_threads = 1 if impl in ("dlcore", "torch") else threads
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(blas_threads), OMP_NUM_THREADS=str(threads))
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    try:
        res = subprocess.run([sys.executable, "-c", _CHILD, str(repeat), impl, str(threads)], env=env, capture_output=True, text=True,
                             timeout=900)
        if res.returncode != 0:
            return None
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None


def run_gemm_bench(threads: int = 2, repeat: int = 7, plot_path: str | None = None, rounds: int = 3, file=None):
    """Time every canonical shape for every implementation; print the table; return the rows."""
    import dlcore

    file = file or sys.stdout
    shapes = SHAPES
    try:
        import threadpoolctl

        np_arch = [i.get("architecture") for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
    except ImportError:
        np_arch = None
    have_torch = importlib.util.find_spec("torch") is not None

    # The strongest OPENBLAS_CORETYPE overall (sum of times over the shapes) becomes a peer column.
    core_results = {}
    for ct in CORETYPES:
        r = peer_in_subprocess(ct, threads, repeat)
        if r is not None:
            core_results[ct] = r
    best_ct = min(core_results, key=lambda c: sum(core_results[c]["times"].values()), default=None)

    # Every implementation in its own process (see peer_in_subprocess), in alternating rounds:
    # this shared machine's speed drifts over minutes, and alternation spreads the drift over
    # all of them.  Each entry is the median over rounds of each round's median.
    runs = {}
    for _ in range(rounds):
        for impl, ct in (("dlcore", None), ("numpy", None), ("torch", None), (f"numpy[{best_ct}]", best_ct)):
            if (impl == "torch" and not have_torch) or (ct is None and impl.startswith("numpy[")):
                continue
            r = peer_in_subprocess(ct, threads, repeat, "numpy" if impl.startswith("numpy") else impl)
            if r is None:
                if impl == "dlcore":
                    raise RuntimeError("bench gemm: the dlcore timing process failed")
                continue
            runs.setdefault(impl, []).append(r)
    impls = {impl: {name: float(np.median([r["times"][name] for r in rs])) for name in rs[0]["times"]}
             for impl, rs in runs.items()}
    peak = float(np.median([r["peak"] for r in runs["dlcore"]]))

    peers = [k for k in impls if k != "dlcore"]
    rows = []
    for name, sa, sb in shapes:
        f = flops(sa, sb)
        row = {"shape": name, "gflops": {k: f / v[name] / 1e9 for k, v in impls.items() if name in v}}
        row["speedup"] = {p: impls[p][name] / impls["dlcore"][name] for p in peers if name in impls[p]}
        row["peak_share"] = row["gflops"]["dlcore"] / peak
        rows.append(row)

    print(f"dlcore {dlcore.__version__}  ISA {dlcore.info()['isa_active']}  threads {threads}  "
          f"measured FMA peak {peak:.1f} GFLOP/s (float32)", file=file)
    print(f"numpy as installed: OpenBLAS core {np_arch}; OPENBLAS_CORETYPE tried in subprocesses:", file=file)
    for ct, r in core_results.items():
        tot = sum(r["times"].values())
        print(f"  {ct:9s} -> core {r['arch']}, total {tot * 1e3:8.2f} ms{'  (fastest)' if ct == best_ct else ''}",
              file=file)
    head = f"{'shape':32s}" + "".join(f"{k:>16s}" for k in impls) + "".join(f"{'x ' + p:>18s}" for p in peers)
    print(f"\nGFLOP/s (median of {rounds} alternating rounds x {repeat} samples), and dlcore's speedup "
          "(peer time / dlcore time)", file=file)
    print(head + f"{'% peak':>9s}", file=file)
    for row in rows:
        line = f"{row['shape']:32s}" + "".join(f"{row['gflops'].get(k, float('nan')):16.1f}" for k in impls)
        line += "".join(f"{row['speedup'].get(p, float('nan')):18.2f}" for p in peers)
        print(line + f"{100 * row['peak_share']:8.1f}%", file=file)
    if plot_path:
        plot(rows, list(impls), peak, plot_path, threads)
        print(f"\nsaved {plot_path}", file=file)
    return {"peak_gflops": peak, "rows": rows, "coretypes": {k: v["arch"] for k, v in core_results.items()},
            "best_coretype": best_ct}


def plot(rows, impls, peak, path, threads):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / len(impls)
    xs = np.arange(len(rows))
    for i, k in enumerate(impls):
        ax.bar(xs + i * width - 0.4 + width / 2, [r["gflops"].get(k, 0) for r in rows], width, label=k)
    ax.axhline(peak, color="k", ls="--", lw=1, label=f"measured FMA peak ({peak:.0f})")
    ax.set_xticks(xs)
    ax.set_xticklabels([r["shape"] for r in rows], rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("GFLOP/s (float32)")
    ax.set_title(f"GEMM throughput, {threads} threads")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

"""``dlcore bench gemm``: GEMM throughput of dlcore against NumPy (OpenBLAS as installed, and in
a fresh process with each stronger OPENBLAS_CORETYPE) and PyTorch (MKL/oneDNN), all pinned to the
same thread count, on the canonical shapes; with the share of this machine's measured FMA peak.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from .._extras import missing
from ._report import missing_peers, peak_summary

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


def time_median(fn, repeat: int, min_sample_s: float = 2e-3, warm_s: float = 0.02) -> float:
    """Median seconds per call over `repeat` samples; each sample loops enough calls to last
    `min_sample_s`, so tiny products are not timer noise.

    The samples follow a warm-up of at least two calls and `warm_s` seconds.  Every sample comes
    after the interleaving's pause, in which the library's idle OpenMP workers have gone to sleep;
    waking them cost the first one to three two-thread calls 0.1-12 ms here (up to the
    scheduler's time slice when the woken worker lands on the calling thread's CPU), where a 64^3
    product takes 5 us. Timed with two warm-up calls, such a stall fell in the samples and sank
    some rounds to below 1 GFLOP/s, for dlcore and PyTorch alike. What is reported is the speed
    of calls in a row; the first call after an idle spell can be that much slower."""
    t_end = time.perf_counter() + warm_s
    calls = []
    while len(calls) < 2 or time.perf_counter() < t_end:
        t = time.perf_counter()
        fn()
        calls.append(time.perf_counter() - t)
    one = max(float(np.median(calls[-3:])), 1e-7)
    inner = max(1, int(min_sample_s / one))
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t) / inner)
    return float(np.median(samples))


def worker_init(impl: str, threads: int):
    """In a worker process (see _interleave): import the implementation, pin its threads."""
    state = {"impl": impl, "threads": threads, "fns": {}}
    if impl == "torch":
        import torch

        torch.set_num_threads(threads)
        state["torch"] = torch
    elif impl == "dlcore":
        import dlcore

        dlcore.set_num_threads(threads)
        state["dlcore"] = dlcore
    return state


def worker_case(state, case: str, repeat: int):
    """Seconds per call of one canonical shape; "peak": dlcore's measured FMA peak (GFLOP/s);
    "arch": the OpenBLAS core NumPy loaded."""
    if case == "peak":
        return state["dlcore"].ops.fma_peak_gflops(state["threads"], seconds=0.3)
    if case == "arch":
        try:
            import threadpoolctl

            return [i.get("architecture") for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
        except ImportError:
            return None
    fn = state["fns"].get(case)
    if fn is None:
        sa, sb = next((sa, sb) for name, sa, sb in SHAPES if name == case)
        a, b = operands(sa, sb)
        if state["impl"] == "torch":
            ta, tb = state["torch"].from_numpy(a), state["torch"].from_numpy(b)
            fn = lambda: state["torch"].matmul(ta, tb)  # noqa: E731
        elif state["impl"] == "dlcore":
            fn = lambda: state["dlcore"].ops.matmul(a, b)  # noqa: E731
        else:
            fn = lambda: np.matmul(a, b)  # noqa: E731
        state["fns"][case] = fn
    return time_median(fn, repeat)


def _numpy_env(threads: int, coretype=None) -> dict:
    env = {"OPENBLAS_NUM_THREADS": str(threads)}
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype  # read when NumPy loads OpenBLAS
    return env


def run_gemm_bench(threads: int = 2, repeat: int = 7, plot_path: str | None = None, rounds: int = 3, file=None):
    """Time every canonical shape for every implementation, interleaved (see _interleave); print
    the table; return the rows."""
    import dlcore

    from . import _interleave as il

    file = file or sys.stdout
    names = [name for name, _, _ in SHAPES]
    try:
        import threadpoolctl

        np_arch = [i.get("architecture") for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
    except ImportError:
        np_arch = None
    have_torch = not missing(["torch"])

    # The strongest OPENBLAS_CORETYPE overall (sum over the shapes of the median time of two
    # interleaved rounds) becomes a peer column.
    survey = {f"numpy[{ct}]": ("numpy", _numpy_env(threads, ct)) for ct in CORETYPES}
    core_results = {}
    with il.Workers("dlcore.bench.gemm", survey, threads) as w:
        times = il.interleaved(w, list(survey), names, 2, repeat)
        for ct in CORETYPES:
            key = f"numpy[{ct}]"
            total = sum(il.median(times.get(key, {}).get(name, [])) for name in names)
            if key in w and np.isfinite(total):
                core_results[ct] = {"arch": w.measure(key, "arch", 1), "total": total}
    best_ct = min(core_results, key=lambda c: core_results[c]["total"], default=None)

    impls = {"dlcore": ("dlcore", {"OPENBLAS_NUM_THREADS": "1"}), "numpy": ("numpy", _numpy_env(threads))}
    if have_torch:
        impls["torch"] = ("torch", {"OPENBLAS_NUM_THREADS": "1"})
    if best_ct:
        impls[f"numpy[{best_ct}]"] = ("numpy", _numpy_env(threads, best_ct))
    with il.Workers("dlcore.bench.gemm", impls, threads, required=("dlcore",)) as w:
        # The FMA peak once a round, after the products (a burn just before them slowed the small
        # ones), so it sees the same drift as the products; reported as a range (see _report).
        peaks = []
        samples = il.interleaved(w, list(impls), names, rounds, repeat,
                                 after_round=lambda: peaks.append(w.measure("dlcore", "peak", 1)))
        absent = missing_peers({"torch": "torch"}, w)

    peers = [k for k in samples if k != "dlcore"]
    rows = []
    for name, sa, sb in SHAPES:
        f = flops(sa, sb)
        row = {"shape": name, "gflops": {k: f / il.median(v[name]) / 1e9 for k, v in samples.items()}}
        row["speedup"] = {p: il.paired_ratio(samples[p][name], samples["dlcore"][name]) for p in peers}
        row["spread"] = {p: il.paired_ratio_spread(samples[p][name], samples["dlcore"][name]) for p in peers}
        rows.append(row)
    peak, peak_line = peak_summary(peaks, [row["gflops"]["dlcore"] for row in rows])
    for row in rows:
        row["peak_share"] = row["gflops"]["dlcore"] / peak

    print(f"dlcore {dlcore.__version__}  ISA {dlcore.info()['isa_active']}  threads {threads}", file=file)
    print(peak_line, file=file)
    for line in absent:
        print(line, file=file)
    print(f"numpy as installed: OpenBLAS core {np_arch}; OPENBLAS_CORETYPE tried in subprocesses:", file=file)
    for ct, r in core_results.items():
        print(f"  {ct:9s} -> core {r['arch']}, total {r['total'] * 1e3:8.2f} ms{'  (fastest)' if ct == best_ct else ''}",
              file=file)
    head = f"{'shape':32s}" + "".join(f"{k:>16s}" for k in samples) + "".join(f"{'x ' + p:>18s}" for p in peers)
    print(f"\nGFLOP/s (median over {rounds} interleaved rounds of {repeat} samples each), and dlcore's speedup "
          "(median over rounds of peer time / dlcore time)", file=file)
    has_peak = np.isfinite(peak)
    print(head + (f"{'% peak':>9s}" if has_peak else ""), file=file)
    for row in rows:
        line = f"{row['shape']:32s}" + "".join(f"{row['gflops'].get(k, float('nan')):16.1f}" for k in samples)
        line += "".join(f"{row['speedup'].get(p, float('nan')):18.2f}" for p in peers)
        print(line + (f"{100 * row['peak_share']:8.1f}%" if has_peak else ""), file=file)
    print("\nSpread of the speedups: first - third quartile over rounds", file=file)
    print(f"{'shape':32s}" + "".join(f"{'x ' + p:>18s}" for p in peers), file=file)
    for row in rows:
        print(f"{row['shape']:32s}" + "".join(f"{'%.2f - %.2f' % row['spread'].get(p, (float('nan'),) * 2):>18s}"
                                               for p in peers), file=file)
    if plot_path:
        plot(rows, list(samples), peak, plot_path, threads)
        print(f"\nsaved {plot_path}", file=file)
    return {"peak_gflops": peak, "peak_burns": peaks, "missing_peers": absent, "rows": rows,
            "coretypes": {k: v["arch"] for k, v in core_results.items()},
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
    if np.isfinite(peak):
        ax.axhline(peak, color="k", ls="--", lw=1, label=f"measured FMA peak ({peak:.0f})")
    ax.set_xticks(xs)
    ax.set_xticklabels([r["shape"] for r in rows], rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("GFLOP/s (float32)")
    ax.set_title(f"GEMM throughput, {threads} threads")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

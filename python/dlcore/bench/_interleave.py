"""Interleaved timing across processes, for ``dlcore bench gemm`` and ``dlcore bench train``.

Every implementation runs in its own process: an idle OpenMP or OpenBLAS thread pool of one
library spinning beside another costs the other 15-25%. The processes stay alive for the whole
benchmark and take turns sample by sample (case by case, round by round, with the order rotated
each round), so the samples of one case are taken seconds apart. The speed of the shared VM this
was built on drifts by up to +-20% over seconds to minutes; two samples taken a moment apart see
the same drift, so the ratio of each such pair is steady, and the median over rounds of those
paired ratios is what the benchmarks report as a speedup.

A benchmark module provides ``worker_init(impl, threads)`` (imports, thread settings; returns a
state object) and ``worker_case(state, case, repeat)`` (returns seconds per call, or another JSON
value for special cases such as the FMA peak).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

_WORKER = r"""
import importlib, json, os, sys
module, impl, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
mod = importlib.import_module(module)
state = mod.worker_init(impl, threads)
all_cpus, seen = os.sched_getaffinity(0), set()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        if req.get("cpu") is not None:
            # A case's first run is unpinned, so that every thread pool it starts inherits all
            # the CPUs; then only this (calling) thread is moved to the round's CPU.
            if req["case"] not in seen:
                os.sched_setaffinity(0, all_cpus)
                mod.worker_case(state, req["case"], 1)
                seen.add(req["case"])
            os.sched_setaffinity(0, {req["cpu"]})
        out = {"value": mod.worker_case(state, req["case"], int(req["repeat"]))}
    except Exception as e:  # reported to the parent, which skips this sample
        out = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out), flush=True)
"""


def _src_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Workers:
    """One persistent worker process per implementation.

    impls: {name: (impl passed to worker_init, extra environment)}. A worker that fails to start
    or dies is dropped (its samples are missing), except that `required` names raise."""

    def __init__(self, module: str, impls: dict, threads: int, required=()):
        self.procs = {}
        for name, (impl, extra_env) in impls.items():
            env = dict(os.environ, OMP_NUM_THREADS=str(threads))
            env.update(extra_env)
            env["PYTHONPATH"] = _src_root() + os.pathsep + env.get("PYTHONPATH", "")
            # stderr to a file, not a pipe: a long-lived worker's warnings would fill an unread
            # pipe and block it.
            with tempfile.TemporaryFile(mode="w+") as log:
                p = subprocess.Popen([sys.executable, "-c", _WORKER, module, impl, str(threads)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
                started = self._read(p) is not None
                if not started:
                    p.kill()
                    p.wait()
                    log.seek(0)
                    err = log.read()[-2000:]
            if not started:
                if name in required:
                    raise RuntimeError(f"bench: the {name} worker failed to start\n{err}")
                continue
            self.procs[name] = p

    def _read(self, p):
        line = p.stdout.readline()
        if not line:
            return None
        try:
            return json.loads(line)
        except ValueError:
            return None

    def __contains__(self, name):
        return name in self.procs

    def measure(self, name: str, case: str, repeat: int, cpu=None):
        """One sample of `case` in worker `name` (its calling thread on CPU `cpu` if given): its
        value, or None if it failed."""
        p = self.procs.get(name)
        if p is None:
            return None
        try:
            p.stdin.write(json.dumps({"case": case, "repeat": repeat, "cpu": cpu}) + "\n")
            p.stdin.flush()
        except OSError:
            self.procs.pop(name, None)
            return None
        out = self._read(p)
        if out is None:
            self.procs.pop(name, None)
            return None
        return out.get("value")

    def close(self):
        for p in self.procs.values():
            try:
                p.stdin.close()
                p.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                p.kill()
        self.procs = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def interleaved(workers: Workers, names, cases, rounds: int, repeat: int, pause: float = 0.3, after_round=None):
    """{name: {case: [one sample per round]}}: every round samples every case in every worker,
    the workers' order rotated by one each round.  `pause` seconds between samples let the
    previous worker's thread pool stop spinning before the next one runs (OpenBLAS's idle
    threads spin for about 2^28 cycles, 0.13 s here: with 0.15 s two identical NumPy workers
    still differed by up to 37%; with 0.3 s by 10% at most).  after_round(), if given, runs at
    the end of every round (a measurement that should see the same drift).

    In round r every worker's calling thread runs on the same CPU, the r-th of this process's
    CPUs in turn (thread pools keep all of them): the vCPUs of this VM are not equal (a
    single-threaded 64^3 matmul has run 1.6 times slower on one than on the other), and a
    process left alone tends to stay on one, so without pinning a single-threaded case compared
    two different CPUs for the whole run.  DLCORE_BENCH_PIN=0 turns it off."""
    names = [n for n in names if n in workers]
    out = {n: {c: [] for c in cases} for n in names}
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if os.environ.get("DLCORE_BENCH_PIN", "1") == "0" or len(cpus) < 2:
        cpus = []
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)] if names else []
        cpu = cpus[r % len(cpus)] if cpus else None
        for case in cases:
            for n in order:
                v = workers.measure(n, case, repeat, cpu)
                out[n][case].append(np.nan if v is None else v)
                time.sleep(pause)
        if after_round is not None:
            after_round()
            time.sleep(pause)
    return out


def median(samples) -> float:
    v = np.asarray(samples, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


def _ratios(num, den) -> np.ndarray:
    n, d = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    ok = np.isfinite(n) & np.isfinite(d) & (d > 0)
    return n[ok] / d[ok]


def paired_ratio(num, den) -> float:
    """Median over rounds of num[r] / den[r] (rounds where either failed are skipped)."""
    r = _ratios(num, den)
    return float(np.median(r)) if r.size else float("nan")


def paired_ratio_spread(num, den) -> tuple[float, float]:
    """First and third quartiles over rounds of num[r] / den[r]: how far one round's ratio
    strays from the median (printed beside it, so a reader can tell a speedup from noise)."""
    r = _ratios(num, den)
    return (float(np.quantile(r, 0.25)), float(np.quantile(r, 0.75))) if r.size else (float("nan"),) * 2

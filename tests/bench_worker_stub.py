"""A stand-in benchmark module for tests/test_bench_interleave.py: each worker reports the order
it was asked in, so the test can see the interleaving, and fails on request."""
import os

_calls = []


def worker_init(impl, threads):
    if impl == "broken":
        raise RuntimeError("cannot start")
    return {"impl": impl, "threads": threads, "scale": float(os.environ.get("STUB_SCALE", "1"))}


def worker_case(state, case, repeat):
    _calls.append(case)
    if case == "boom":
        raise ValueError("bad case")
    if case == "calls":
        return list(_calls)
    if case == "threads":
        return state["threads"]
    return state["scale"] * (1.0 + len(case)) * repeat

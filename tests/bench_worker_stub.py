"""A stand-in benchmark module for tests/test_bench_interleave.py: each worker reports the order
it was asked in, so the test can see the interleaving, and fails on request."""
import os
import threading

_calls = []
_pool = []  # the native id of a thread started by the first "affinity" call, as a thread pool


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
    if case == "affinity":  # the CPUs of this (calling) thread and of the "pool" thread
        if not _pool:
            started = threading.Event()
            threading.Thread(target=lambda: (_pool.append(threading.get_native_id()), started.set(),
                                             threading.Event().wait()), daemon=True).start()
            started.wait()
        return [sorted(os.sched_getaffinity(0)), sorted(os.sched_getaffinity(_pool[0]))]
    return state["scale"] * (1.0 + len(case)) * repeat

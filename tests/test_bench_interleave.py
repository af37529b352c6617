"""The interleaved benchmark harness (dlcore.bench._interleave): persistent worker processes
sampled in turn, paired ratios, and failures that drop a sample or a worker instead of the run."""
import os

import numpy as np
import pytest

from dlcore.bench import _interleave as il

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def stub_path(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_workers_take_turns_and_ratios_pair_by_round(stub_path, monkeypatch):
    monkeypatch.setenv("DLCORE_BENCH_PIN", "0")  # (pinning adds a first unpinned run per case)
    impls = {"a": ("x", {"STUB_SCALE": "1"}), "b": ("x", {"STUB_SCALE": "3"})}
    with il.Workers("tests.bench_worker_stub", impls, threads=2) as w:
        assert "a" in w and "b" in w
        assert w.measure("a", "threads", 1) == 2
        ends = []
        out = il.interleaved(w, ["a", "b"], ["c", "case"], rounds=3, repeat=2, pause=0,
                             after_round=lambda: ends.append(w.measure("b", "threads", 1)))
        assert ends == [2, 2, 2]
        assert out["a"] == {"c": [4.0] * 3, "case": [10.0] * 3}
        assert out["b"] == {"c": [12.0] * 3, "case": [30.0] * 3}
        # Every round asks every case once per worker, in case order.
        assert w.measure("a", "calls", 1)[1:7] == ["c", "case"] * 3
    assert il.paired_ratio(out["b"]["c"], out["a"]["c"]) == pytest.approx(3.0)
    assert il.median([1.0, np.nan, 3.0]) == 2.0
    assert il.paired_ratio([2.0, np.nan, 6.0], [1.0, 1.0, 2.0]) == pytest.approx(2.5)
    assert np.isnan(il.paired_ratio([np.nan], [1.0])) and np.isnan(il.median([]))
    # Quartiles of the per-round ratios 1, 2, 3, 4 (a failed round skipped), and none at all.
    assert il.paired_ratio_spread([1.0, 4.0, np.nan, 9.0, 16.0], [1.0, 2.0, 1.0, 3.0, 4.0]) == pytest.approx((1.75, 3.25))
    assert all(np.isnan(il.paired_ratio_spread([np.nan], [1.0])))


def test_a_failing_case_is_a_missing_sample(stub_path):
    with il.Workers("tests.bench_worker_stub", {"a": ("x", {})}, threads=1) as w:
        assert w.measure("a", "boom", 1) is None
        assert w.measure("a", "c", 1) == 2.0  # the worker lives on
        out = il.interleaved(w, ["a"], ["boom"], rounds=2, repeat=1, pause=0)
        assert all(np.isnan(v) for v in out["a"]["boom"])


def test_a_worker_that_cannot_start_is_dropped_unless_required(stub_path):
    impls = {"ok": ("x", {}), "bad": ("broken", {})}
    with il.Workers("tests.bench_worker_stub", impls, threads=1) as w:
        assert "ok" in w and "bad" not in w
        assert w.measure("bad", "c", 1) is None
        assert list(il.interleaved(w, ["ok", "bad"], ["c"], rounds=1, repeat=1, pause=0)) == ["ok"]
    with pytest.raises(RuntimeError, match="bad worker failed to start"):
        il.Workers("tests.bench_worker_stub", impls, threads=1, required=("bad",))


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two CPUs to pin to")
def test_each_round_pins_the_calling_thread_to_one_cpu_and_pools_keep_all(stub_path, monkeypatch):
    monkeypatch.delenv("DLCORE_BENCH_PIN", raising=False)
    cpus = sorted(os.sched_getaffinity(0))
    with il.Workers("tests.bench_worker_stub", {"a": ("x", {}), "b": ("x", {})}, threads=2) as w:
        out = il.interleaved(w, ["a", "b"], ["affinity", "c"], rounds=3, repeat=1, pause=0)
        # The case's first run was unpinned (then the real one): the pool it started has all CPUs.
        assert w.measure("a", "calls", 1)[:5] == ["affinity", "affinity", "c", "c", "affinity"]
    for name in ("a", "b"):
        for r, (mine, pool) in enumerate(out[name]["affinity"]):
            assert mine == [cpus[r % len(cpus)]]  # both workers on the same CPU in a round
            assert pool == cpus


def test_time_median_warms_up_before_it_samples():
    # Slow first calls (a thread pool waking up) must fall in the warm-up, not in the samples.
    import time

    from dlcore.bench.gemm import time_median

    calls = []

    def fn():
        calls.append(None)
        time.sleep(0.02 if len(calls) <= 3 else 0.0005)

    # warm_s is ten slow calls long, so a loaded machine (sleeps overrunning) keeps them in the warm-up.
    t = time_median(fn, repeat=3, min_sample_s=2e-3, warm_s=0.2)
    assert len(calls) >= 3 + 3  # the warm-up ran past the slow calls and its time
    assert 0.0004 < t < 0.005

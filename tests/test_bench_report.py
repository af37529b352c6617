"""What `dlcore bench` prints about missing peers and the FMA peak (the harness is faked: no timing)."""
import io
import math

import pytest

from dlcore.bench import _interleave as il
from dlcore.bench import _report, gemm, train


def test_peak_summary_is_a_range_and_bounds_every_rate():
    peak, line = _report.peak_summary([150.0, None, 160.0, float("nan")], [120.0, 140.0])
    assert peak == 160.0 and "150.0 - 160.0 GFLOP/s" in line and "above every burn" not in line
    peak, line = _report.peak_summary([150.0, 160.0], [170.0])  # a product in a faster moment
    assert peak == 170.0 and "above every burn" in line
    peak, line = _report.peak_summary([None], [170.0])
    assert math.isnan(peak) and "unavailable" in line


def test_missing_peers_are_named_with_the_install_command():
    lines = _report.missing_peers({"ghost": "dlcore_no_such_module", "numpy": "numpy", "ok": "numpy"}, {"ok"})
    assert lines == ["peer ghost not installed, left out (pip install dlcore_no_such_module)",
                     "peer numpy failed to start, left out"]


class _FakeWorkers:
    """Stands in for il.Workers: every implementation in `alive` starts; the burn gives `burn`."""

    alive, burn = ("dlcore", "numpy"), 100.0

    def __init__(self, module, impls, threads, required=()):
        self.names = [n for n in impls if n in self.alive]

    def __contains__(self, name):
        return name in self.names

    def measure(self, name, case, repeat, cpu=None):
        return self.burn if case == "peak" else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def _fake_interleaved(seconds):
    def interleaved(workers, names, cases, rounds, repeat, pause=0.3, after_round=None):
        out = {n: {c: [seconds(n, c)] * rounds for c in cases} for n in names if n in workers}
        for _ in range(rounds):
            if after_round:
                after_round()
        return out
    return interleaved


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setattr(_report, "missing", lambda mods: [m for m in mods if m == "torch"])
    monkeypatch.setattr("dlcore._extras.missing", lambda mods: [m for m in mods if m == "torch"])
    monkeypatch.setattr(il, "Workers", _FakeWorkers)


def test_gemm_table_without_torch_and_with_a_fast_product(no_torch, monkeypatch):
    # The 2048^3 product "runs" at 2 * 2048^3 / 0.05 s = 344 GFLOP/s, above the 100 GFLOP/s burn.
    monkeypatch.setattr(il, "interleaved", _fake_interleaved(lambda n, c: 0.05 if n == "dlcore" else 0.1))
    buf = io.StringIO()
    result = gemm.run_gemm_bench(threads=1, repeat=1, rounds=2, file=buf)
    text = buf.getvalue()
    assert "nan" not in text and "peer torch not installed" in text and "pip install torch" in text
    assert all(row["peak_share"] <= 1.0 for row in result["rows"])
    assert max(row["peak_share"] for row in result["rows"]) == pytest.approx(1.0)
    assert "above every burn" in text


def test_train_table_without_torch_has_no_torch_columns(no_torch, monkeypatch):
    monkeypatch.setattr(il, "interleaved", _fake_interleaved(lambda n, c: 0.01))
    buf = io.StringIO()
    rows = train.run_train_bench(threads=1, repeat=1, rounds=2, file=buf)
    text = buf.getvalue()
    assert "nan" not in text and "torch ms" not in text and "peer torch not installed" in text
    assert [r["case"] for r in rows][-1] == "autograd a*b+c fwd+bwd" and "speedup" not in rows[0]

"""``dlcore bench pool`` and bench/bench_pool.py's shared cases: the byte counts stated per op,
the cases computing what the ops compute, and a tiny run of the interleaved table."""
from __future__ import annotations

import io

import numpy as np
import pytest

from dlcore import cli
from dlcore.bench import pool as bp


def test_bytes_moved_are_the_stated_formula():
    x = 4 * 2 * 64 * 56 * 56
    assert bp.bytes_moved("avg", "fwd", 2) == x + x / 4
    assert bp.bytes_moved("bilinear", "fwd", 2) == x + 4 * x
    assert bp.bytes_moved("bilinear", "fwd+bwd", 2) == 2 * (x + 4 * x)
    assert bp.bytes_moved("max", "fwd+bwd", 2) == 2 * (x + x / 4 + x / 2)  # int64 indices: 8 bytes an output


def test_cases_run_forward_and_backward_in_both_libraries():
    pytest.importorskip("torch")
    for _, op in bp.OPS:
        for mode in bp.MODES:
            bp.make_case("dlcore", op, mode, 1)()
            bp.make_case("torch", op, mode, 1)()


def test_bench_pool_prints_a_row_per_case(monkeypatch):
    # torch reported missing: one worker process instead of two keeps this test short, and the
    # table must then name the absent peer instead of printing columns of nan
    import dlcore._extras
    import dlcore.bench._report

    fake = lambda mods: [m for m in mods if m == "torch"]  # noqa: E731
    monkeypatch.setattr(dlcore._extras, "missing", fake)
    monkeypatch.setattr(dlcore.bench._report, "missing", fake)
    out = io.StringIO()
    rows = bp.run_pool_bench(threads=1, repeat=1, rounds=1, batch=1, file=out)
    assert [r["case"] for r in rows] == [f"{n} {m}" for n, _ in bp.OPS for m in bp.MODES]
    assert all(np.isfinite(r["dlcore_gbs"]) and r["dlcore_gbs"] > 0 for r in rows)
    text = out.getvalue()
    assert "bytes per case" in text and "bilinear 2x fwd+bwd" in text
    assert "peer torch not installed" in text and "speedup" not in text


def test_cli_bench_pool_checks_its_flags(capsys):
    with pytest.raises(SystemExit):
        cli.main(["bench", "pool", "--batch", "0"])
    assert "--batch" in capsys.readouterr().err

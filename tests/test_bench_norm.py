"""`dlcore bench norm` and its pieces: the CLI wiring and flags, the STREAM-triad yardstick, and
that the dlcore and torch cases of each benchmark compute the same thing (on small shapes)."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import cli
from dlcore.bench import norm as bn


def test_cli_runs_the_norm_bench_with_its_flags(monkeypatch):
    calls = []
    monkeypatch.setattr(bn, "run_norm_bench", lambda **kw: calls.append(kw))
    assert cli.main(["bench", "norm", "--threads", "1", "--repeat", "2", "--rounds", "1"]) == 0
    assert calls == [{"threads": 1, "repeat": 2, "rounds": 1}]


@pytest.mark.parametrize("flag", ["--threads", "--repeat", "--rounds"])
def test_cli_bad_flags_name_the_flag(capsys, flag):
    with pytest.raises(SystemExit):
        cli.main(["bench", "norm", flag, "0"])
    assert f"argument {flag}:" in capsys.readouterr().err


def test_stream_triad_measures_a_bandwidth():
    assert dlcore._core.stream_triad_gbs(1 << 16, 2) > 0
    with pytest.raises(ValueError, match="^stream_triad:"):
        dlcore._core.stream_triad_gbs(0, 1)


def test_bytes_stated_per_case():
    assert bn.nbytes((2, 3), 3) == 72.0
    assert {c[4] for c in bn.CASES if c[1] == "batch"} == {3, 8}
    assert {c[4] for c in bn.CASES if c[1] != "batch"} == {2, 5}


@pytest.mark.parametrize("op", ["batch", "layer", "group"])
def test_dlcore_and_torch_cases_agree(op, torch):
    shape = (4, 64, 3, 5) if op != "layer" else (2, 3, 64)
    d = bn.dlcore_case(dlcore, op, shape, False)()
    t = bn.torch_case(torch, op, shape, False)()
    np.testing.assert_allclose(np.asarray(d), t.numpy(), rtol=1e-4, atol=1e-5)
    bn.dlcore_case(dlcore, op, shape, True)()  # forward+backward runs
    bn.torch_case(torch, op, shape, True)()

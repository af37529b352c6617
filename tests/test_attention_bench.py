"""``dlcore bench attention`` and bench/bench_attention.py's building blocks (issue 25)."""
import subprocess
import sys

import pytest

import dlcore
from dlcore.bench import attention as ba


def test_flops_count_causal_as_half_and_backward_as_two_and_a_half_forwards():
    f = ba.flops((4, 8, 1024, 64), False, "fwd")
    assert f == 4.0 * 4 * 8 * 1024 * 1024 * 64
    assert ba.flops((4, 8, 1024, 64), True, "fwd") == f / 2
    assert ba.flops((4, 8, 1024, 64), False, "fwd+bwd") == 3.5 * f


@pytest.mark.parametrize("passes", ba.PASSES)
def test_cases_run_for_dlcore_and_torch(passes):
    impls = [("dlcore", dlcore)]
    try:
        import torch
        impls.append(("torch", torch))
    except ImportError:
        pass
    for impl, mod in impls:
        ba.make_fn(impl, mod, (1, 2, 33, 16), True, passes)()


def test_command_prints_the_table(tmp_path):
    env = dict(__import__("os").environ, DLCORE_BENCH_ATTENTION_QUICK="1")
    r = subprocess.run([sys.executable, "-m", "dlcore", "bench", "attention", "--repeat", "1", "--rounds", "1"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("case") and "x torch" in line and "scratch MiB" in line for line in lines)
    rows = [line for line in lines if line.startswith("1x2x128x64")]
    assert len(rows) == 4
    for row in rows:
        scratch = float(row.split()[-1])
        assert 0 < scratch < 1.0, row

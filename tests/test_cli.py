"""The `dlcore` console command: output, argument checks before any work, one-line errors."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

import dlcore
from dlcore import cli

PACKAGE = pathlib.Path(dlcore.__file__).parent


def _fails(capsys, argv, status=2):
    """Run the command expecting a one-line `dlcore: error:` report; return that line."""
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlcore: error: "), err
    return lines[0]


def test_info_prints_every_field(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    for key, value in dlcore.info().items():
        assert f"{key}: {value}" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"dlcore {dlcore.__version__}"


def test_python_dash_m_dlcore_runs_the_command():
    env = dict(os.environ, PYTHONPATH=str(PACKAGE.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "dlcore", "--version"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"dlcore {dlcore.__version__}", r.stderr


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "mlp", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines to the terminal
    assert "(default: 60)" in out and "(default: runs/mlp)" in out and "(default: 0.001)" in out


def test_unknown_command_is_one_line(capsys):
    line = _fails(capsys, ["frobnicate"])
    assert "invalid choice: 'frobnicate'" in line and "dlcore --help" in line


@pytest.mark.parametrize("argv, flag", [
    (["train", "mlp", "--epochs", "0"], "--epochs"),
    (["train", "mlp", "--epochs", "ten"], "--epochs"),
    (["train", "mlp", "--lr", "0"], "--lr"),
    (["train", "mlp", "--lr", "nan"], "--lr"),
    (["train", "mlp", "--weight-decay", "-1"], "--weight-decay"),
    (["train", "mlp", "--dropout", "1"], "--dropout"),
    (["train", "mlp", "--hidden", "32", "0"], "--hidden"),
    (["train", "mlp", "--batch-size", "-3"], "--batch-size"),
    (["train", "mlp", "--seed", "-1"], "--seed"),
    (["train", "heteroscedastic", "--epochs", "0"], "--epochs"),
    (["bench", "gemm", "--threads", "0"], "--threads"),
    (["bench", "train", "--rounds", "0"], "--rounds"),
])
def test_bad_arguments_name_the_flag(capsys, argv, flag):
    assert f"argument {flag}:" in _fails(capsys, argv)


def test_out_must_be_a_writable_folder(capsys, tmp_path, monkeypatch):
    work = []
    monkeypatch.setattr("dlcore.zoo.train_digits_mlp", lambda **kw: work.append(kw))
    (tmp_path / "file").write_text("x")
    assert "--out" in _fails(capsys, ["train", "mlp", "--out", str(tmp_path / "file")])
    assert "--out" in _fails(capsys, ["train", "mlp", "--out", str(tmp_path / "file" / "sub")])
    line = _fails(capsys, ["bench", "gemm", "--plot", str(tmp_path / "missing" / "g.png")])
    assert "--plot" in line
    assert work == []


def test_missing_packages_are_reported_before_any_work(capsys, monkeypatch):
    work = []
    monkeypatch.setattr("dlcore.zoo.train_digits_mlp", lambda **kw: work.append(kw))
    monkeypatch.setattr(cli, "missing", lambda mods: [m for m in mods if m in ("sklearn", "tqdm")])
    line = _fails(capsys, ["train", "mlp"])
    assert "needs scikit-learn, tqdm (for the progress bar; or pass --no-progress); install with: pip install " \
           'scikit-learn tqdm (or pip install ".[zoo]" from a dlcore checkout)' in line
    line = _fails(capsys, ["train", "mlp", "--no-progress", "--epochs", "1"])  # tqdm is not needed then
    assert "tqdm" not in line
    monkeypatch.setattr(cli, "missing", lambda mods: [m for m in mods if m == "tqdm"])
    assert "--no-progress" in _fails(capsys, ["train", "mlp"])
    assert work == []


def test_an_error_during_the_work_is_one_line(capsys, monkeypatch):
    def boom(**kw):
        raise ValueError("train_heteroscedastic: something went wrong\nsecond line")
    monkeypatch.setattr("dlcore.zoo.train_heteroscedastic", boom)
    line = _fails(capsys, ["train", "heteroscedastic"], status=1)
    assert line == "dlcore: error: train_heteroscedastic: something went wrong"


def test_no_hint_points_at_the_package_index_name():
    # `dlcore` on PyPI is an unrelated project: `pip install 'dlcore[zoo]'` would install it.
    pattern = re.compile(r"""pip install\s+['"]?dlcore\b""")
    offenders = [str(p) for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_train_mlp_command(tmp_path, capsys):
    out = tmp_path / "run" / "deeper"  # created on demand
    assert cli.main(["train", "mlp", "--epochs", "2", "--hidden", "32", "16", "--out", str(out), "--no-progress"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("epoch   1") and lines[1].startswith("epoch   2")
    assert re.fullmatch(r"test accuracy 0\.\d{4}", lines[-1])
    assert sum("test accuracy" in line for line in lines) == 1  # the headline, once, last
    assert (out / "mlp_digits.safetensors").exists() and (out / "mlp_digits.png").exists()
    weights = dlcore.load(out / "mlp_digits.safetensors")
    assert weights["0.weight"].shape == (32, 64) and weights["3.weight"].shape == (16, 32)  # Linear, ReLU, Dropout, Linear


def test_progress_bar_lines_and_early_stop(tmp_path, capsys):
    pytest.importorskip("tqdm")
    assert cli.main(["train", "mlp", "--epochs", "40", "--hidden", "16", "--lr", "0.05", "--patience", "1",
                     "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert any(line.startswith("early stop after epoch") for line in lines)
    assert all(line.startswith(("epoch ", "early stop", "saved", "kept", "test accuracy")) for line in lines), lines
    assert lines[-1].startswith("test accuracy")
    assert "train mlp (early stop at epoch" in captured.err  # the bar says why it ends short


def test_train_heteroscedastic_command(capsys):
    assert cli.main(["train", "heteroscedastic", "--epochs", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "mean abs error" in lines[-2] and lines[-1].startswith("final nll")


def test_library_hints_name_the_working_install_command(monkeypatch):
    from dlcore import _extras
    from dlcore.data import digits

    monkeypatch.setattr(_extras, "missing", lambda mods: list(mods))
    with pytest.raises(ImportError, match=r'^digits: needs scikit-learn; install with: pip install scikit-learn '
                                          r'\(or pip install "\.\[zoo\]" from a dlcore checkout\)$'):
        digits()

"""The `dlcore` console command."""
import pytest

import dlcore
from dlcore import cli


def test_info_prints_every_field(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    for key, value in dlcore.info().items():
        assert f"{key}: {value}" in out


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["frobnicate"])
    assert e.value.code == 2
    assert "usage: dlcore" in capsys.readouterr().err


def test_train_mlp_command(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "mlp", "--epochs", "2", "--hidden", "32", "16", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "epoch   1" in text and "epoch   2" in text
    assert "test accuracy: 0." in text
    assert (out / "mlp_digits.safetensors").exists() and (out / "mlp_digits.png").exists()
    weights = dlcore.load(out / "mlp_digits.safetensors")
    assert weights["0.weight"].shape == (32, 64) and weights["3.weight"].shape == (16, 32)  # Linear, ReLU, Dropout, Linear


def test_train_heteroscedastic_command(capsys):
    assert cli.main(["train", "heteroscedastic", "--epochs", "2"]) == 0
    assert "mean abs error" in capsys.readouterr().out

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

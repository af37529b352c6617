"""The char-level RNN recipe end to end on a tiny configuration (``dlcore train charrnn``), the
checkpoint reload, ``dlcore generate`` and the CharRNN model itself."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import dlcore
from dlcore.cli import main
from dlcore.zoo import CharRNN, CharVocab, generate_from_checkpoint, load_charrnn, sample_text

TEXT = "\n".join(["to be or not to be that is the question",
                  "whether tis nobler in the mind to suffer",
                  "the slings and arrows of outrageous fortune"] * 40)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pytest.importorskip("matplotlib")
    d = tmp_path_factory.mktemp("charrnn")
    data = d / "text.txt"
    data.write_text(TEXT, encoding="utf-8")
    out = d / "out"
    return data, out


def test_train_charrnn_cli_end_to_end(run, capsys):
    data, out = run
    rc = main(["train", "charrnn", "--cell", "gru", "--layers", "2", "--hidden", "24", "--embed", "8",
               "--seq-len", "16", "--batch-size", "4", "--iters", "40", "--eval-every", "10", "--lr", "0.01",
               "--data", str(data), "--out", str(out), "--no-progress", "--threads", "1"])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("val loss ") and len(lines[-1].split()[-1].split(".")[1]) == 4
    for f in ("charrnn.safetensors", "curves.png", "metrics.json", "sample.txt"):
        assert (out / f).stat().st_size > 0, f
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["cell"] == "gru" and m["config"]["layers"] == 2
    val = m["history"]["val_loss"]
    assert val[-1] < val[0] - 0.3 and m["best_val_loss"] == min(val)  # the loss falls
    assert abs(float(lines[-1].split()[-1]) - min(val)) < 1e-4
    assert (out / "sample.txt").read_text(encoding="utf-8")[0] == TEXT[0]


def test_minutes_budget_stops_training_with_a_final_validation(run, tmp_path, capsys):
    data, _ = run
    out = tmp_path / "budget"
    rc = main(["train", "charrnn", "--cell", "lstm", "--layers", "1", "--hidden", "8", "--embed", "4",
               "--seq-len", "8", "--batch-size", "2", "--iters", "500", "--eval-every", "100",
               "--minutes", "1e-9", "--data", str(data), "--out", str(out), "--no-progress", "--threads", "1"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "stopped after step 1: the 1e-09-minute budget is spent" in text
    m = json.loads((out / "metrics.json").read_text())
    assert m["iters"] == 1 and m["history"]["val_iter"] == [1] and len(m["history"]["train_loss"]) == 1
    with pytest.raises(SystemExit) as e:
        main(["train", "charrnn", "--minutes", "0", "--data", str(data), "--out", str(out)])
    assert e.value.code == 2 and "must be in (0, inf), got 0" in capsys.readouterr().err


def test_checkpoint_reloads_to_the_same_outputs_and_generates(run, capsys):
    data, out = run
    ckpt = out / "charrnn.safetensors"
    model, vocab = load_charrnn(str(ckpt))
    again, _ = load_charrnn(str(ckpt))
    ids = dlcore.tensor(vocab.encode("to be or not")[None])
    a, b = model(ids)[0].numpy(), again(ids)[0].numpy()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (1, 12, len(vocab))
    text = generate_from_checkpoint(str(ckpt), "the ", tokens=30, temperature=0.8, seed=3)
    assert text.startswith("the ") and len(text) == 34 and set(text) <= set(vocab.chars)
    assert text == generate_from_checkpoint(str(ckpt), "the ", tokens=30, temperature=0.8, seed=3)
    assert main(["generate", str(ckpt), "--prompt", "the ", "--tokens", "30", "--temperature", "0.8",
                 "--seed", "3"]) == 0
    assert capsys.readouterr().out.strip() == text.strip()


def test_generate_rejects_unknown_checkpoints(tmp_path, capsys):
    p = tmp_path / "x.safetensors"
    dlcore.save({"w": np.zeros(2, np.float32)}, str(p), metadata={"kind": "nothing"})
    with pytest.raises(ValueError, match="^generate: .* no generator"):
        generate_from_checkpoint(str(p))
    assert main(["generate", str(tmp_path / "missing.safetensors")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_charrnn_state_carries_between_windows(cell):
    dlcore.manual_seed(0)
    m = CharRNN(11, cell, embed=4, hidden=6, layers=2)
    ids = np.random.default_rng(0).integers(0, 11, (3, 8))
    full, _ = m(dlcore.tensor(ids))
    first, state = m(dlcore.tensor(ids[:, :5]))
    second, _ = m(dlcore.tensor(ids[:, 5:]), state)
    np.testing.assert_allclose(np.concatenate([first.numpy(), second.numpy()], 1), full.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_vocab_and_sampling_errors():
    v = CharVocab("abca")
    assert v.chars == ["a", "b", "c"] and v.decode(v.encode("cab")) == "cab"
    assert CharVocab.from_json(v.to_json()).chars == v.chars
    with pytest.raises(ValueError, match="^CharVocab.encode: .*'z'"):
        v.encode("az")
    m = CharRNN(3, "lstm", 2, 4, 1)
    with pytest.raises(ValueError, match="^sample_text: temperature"):
        sample_text(m, v, "a", 3, temperature=0)
    with pytest.raises(ValueError, match="^CharRNN: cell"):
        CharRNN(3, "transformer")


def test_compare_cells_same_budget_one_png(run, capsys):
    data, out = run
    rc = main(["train", "charrnn", "--cell", "all", "--layers", "1", "--hidden", "8", "--embed", "4",
               "--seq-len", "8", "--batch-size", "2", "--iters", "6", "--eval-every", "3",
               "--data", str(data), "--out", str(out / "cmp"), "--no-progress"])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("val loss ") and sum(ln.startswith("val loss") for ln in lines) == 1
    assert (out / "cmp" / "compare.png").stat().st_size > 0
    for cell in ("rnn", "lstm", "gru"):
        m = json.loads((out / "cmp" / cell / "metrics.json").read_text())
        assert m["config"]["cell"] == cell and m["iters"] == 6


def test_load_text_defaults_to_the_shakespeare_corpus_when_present(monkeypatch, tmp_path):
    from dlcore import data
    from dlcore.zoo.char_rnn_train import load_text

    monkeypatch.setattr(data, "shakespeare", lambda: {"train": "abc" * 10, "val": "cab" * 5}, raising=False)
    assert load_text(None) == ("abc" * 10, "cab" * 5)
    monkeypatch.setattr(data, "shakespeare", lambda: ["play one " * 5, "play two " * 5], raising=False)
    tr, va = load_text(None)
    assert tr + va == "play one " * 5 + "\n" + "play two " * 5 and len(tr) == int(len(tr + va) * 0.9)
    monkeypatch.delattr(data, "shakespeare", raising=False)
    with pytest.raises(ValueError, match="no --data given"):
        load_text(None)
    p = tmp_path / "t.txt"
    p.write_text("x" * 100, encoding="utf-8")
    assert load_text(str(p)) == ("x" * 90, "x" * 10)

"""BERT pre-training options of the recipe: the sequence-length warm-up (short sequences first),
the [MASK]-position accuracy (the share of MLM predictions that needs context), and pre-training
on the held-out plays' unlabelled text with each one's last tenth kept for the MLM curves."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dlcore import from_numpy
from dlcore.cli import main
from dlcore.zoo import bert_data as bd
from dlcore.zoo.bert_recipe import _Data, _eval_pretrain, _pretrain_shape, train_bert

from .test_bert import TINY_ARGS, tiny_plays  # noqa: F401 (tiny_plays: the corpus fixture)


def test_pretrain_shape_keeps_the_tokens_per_step():
    assert _pretrain_shape(0, 100, 32, 128, 32, 0.4) == (128, 32)
    assert _pretrain_shape(39, 100, 32, 128, 32, 0.4) == (128, 32)
    assert _pretrain_shape(40, 100, 32, 128, 32, 0.4) == (32, 128)
    assert _pretrain_shape(0, 100, 32, 128, 32, 0.0) == (32, 128)   # no warm-up
    assert _pretrain_shape(0, 100, 32, 128, None, 0.4) == (32, 128)
    assert _pretrain_shape(5, 10, 8, 32, 24, 0.5) == (8, 32) and _pretrain_shape(4, 10, 8, 32, 24, 0.5) == (10, 24)


class _CopyInput:
    """A context-free 'model': at every labelled position it predicts its own input token."""

    def __init__(self, vocab):
        self.vocab = vocab

    def eval(self):
        return self

    def train(self):
        return self

    def __call__(self, inputs, types, mask, labels, nsp):
        picked = inputs[labels != -100]
        logits = np.zeros((len(picked), self.vocab), np.float32)
        logits[np.arange(len(picked)), picked] = 1.0
        return from_numpy(logits), from_numpy(np.tile(np.float32([1.0, 0.0]), (len(inputs), 1))), None


def test_mask_accuracy_is_the_context_share():
    rng = np.random.default_rng(0)
    vocab, mask = 50, 49
    ids = rng.integers(4, 49, (16, 40))
    inputs, labels = bd.mask_tokens(ids, rng, mask, [0, 1, 2, 3, mask], vocab)
    nsp = np.zeros(16, np.int64)
    loss, acc, mask_acc, nsp_acc = _eval_pretrain(_CopyInput(vocab), [(inputs, None, labels, nsp)], mask)
    chosen = labels != -100
    kept = (inputs[chosen] == labels[chosen]).mean()
    assert mask_acc == 0.0 and 0 < acc and acc == pytest.approx(kept) and nsp_acc == 1.0 and loss > 0


def test_pretrain_plays_all_holds_out_each_tenth(tiny_plays):
    data = _Data(300, 32, tiny_plays, "all")
    assert len(data.pretrain_ids) == len(data.train_ids) + len(data.test_ids) == 38
    for x in data.train_ids:
        assert any(p is x for p in data.pretrain_ids)
    for full, pre, tail in zip(data.test_ids, data.pretrain_ids[len(data.train_ids):], data.mlm_eval_ids):
        assert np.array_equal(np.concatenate([pre, tail]), full) and len(tail) == len(full) // 10
    train_only = _Data(300, 32, tiny_plays, "train")
    assert train_only.pretrain_ids is train_only.train_ids and train_only.mlm_eval_ids is train_only.test_ids
    with pytest.raises(ValueError, match="^train bert: pretrain_plays"):
        _Data(300, 32, tiny_plays, "test")
    with pytest.raises(ValueError, match="MLM evaluation text has fewer than seq_len"):
        _Data(300, 200, tiny_plays, "all")


def test_train_bert_warm_up_and_plays_options(tmp_path, tiny_plays, monkeypatch):
    """--short-len/--short-frac: the first half of the steps draw 24-token pairs (10 of them: the
    tokens of 8 x 32), the rest 8 x 32; --pretrain-plays reaches the recipe."""
    shapes, nsp_batch = [], bd.nsp_batch
    monkeypatch.setattr(bd, "nsp_batch", lambda plays, b, n, *a: shapes.append((len(plays), b, n)) or
                        nsp_batch(plays, b, n, *a))
    out = tmp_path / "run"
    assert main(["train", "bert", *TINY_ARGS, "--plays", tiny_plays, "--out", str(out), "--short-len", "24",
                 "--short-frac", "0.5", "--pretrain-plays", "train"]) == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["short_len"] == 24 and config["short_frac"] == 0.5 and config["pretrain_plays"] == "train"
    train = [s for s in shapes if s[0] == 26]  # the pre-training batches (the held-out MLM ones: 12 plays)
    assert train == [(26, 10, 24)] * 15 + [(26, 8, 32)] * 15


def test_warm_up_length_is_checked(tiny_plays, capsys):
    assert main(["train", "bert", *TINY_ARGS, "--plays", tiny_plays, "--short-len", "40"]) == 2
    assert "--short-len 40 must not exceed --seq-len 32" in capsys.readouterr().err
    with pytest.raises(ValueError, match="short_len must be in"):
        train_bert(seq_len=32, short_len=16, short_frac=0.5, root=tiny_plays, progress=False)

"""BERT fine-tuning options of the genre recipe: mean pooling of the sequence head (padding
excluded), the encoder's own learning rate (layer groups and their schedule), and the fixed split
of two held-out plays per genre."""
from __future__ import annotations

import json

import numpy as np
import pytest

import dlcore
from dlcore import optim
from dlcore.zoo import BERT, BertConfig, BertForSequenceClassification
from dlcore.zoo import bert_data as bd
from dlcore.cli import main
from dlcore.zoo.bert_recipe import _finetune_groups, _schedule, load_bert_checkpoint

from .test_bert import TINY_ARGS, tiny_plays  # noqa: F401 (tiny_plays: the corpus fixture)

TINY = dict(vocab_size=101, hidden_size=16, num_layers=2, num_heads=2, max_position=24, dropout=0.0, pad_token_id=0)


def _ids(rng, B=3, T=20):
    ids = rng.integers(1, 101, (B, T)).astype(np.int64)
    ids[1, 12:] = 0  # padding
    return ids


def test_mean_pooling_is_the_mean_of_the_real_tokens():
    dlcore.manual_seed(0)
    clf = BertForSequenceClassification(BertConfig(**TINY), 4, pooling="mean").eval()
    ids = _ids(np.random.default_rng(0))
    logits, _ = clf(ids)
    h = clf.bert(ids)[0].numpy()
    real = ids != 0
    pooled = (h * real[:, :, None]).sum(axis=1) / real.sum(axis=1, keepdims=True)
    w, b = clf.classifier.weight.numpy(), clf.classifier.bias.numpy()
    np.testing.assert_allclose(logits.numpy(), pooled @ w.T + b, rtol=1e-5, atol=1e-6)
    # other tokens at the padded positions, masked out explicitly: the same logits
    other = ids.copy()
    other[1, 12:] = 5
    np.testing.assert_allclose(clf(other, None, (ids != 0).astype(np.int64))[0].numpy(), logits.numpy(),
                               rtol=1e-5, atol=1e-6)
    # no padding at all: the plain mean over every position
    full = ids[[0, 2]]
    np.testing.assert_allclose(clf(full)[0].numpy(), clf.bert(full)[0].numpy().mean(axis=1) @ w.T + b,
                               rtol=1e-5, atol=1e-6)
    # the [CLS] head differs, and the loss reaches the encoder through the mean (not the pooler)
    cls_head = BertForSequenceClassification(BertConfig(**TINY), 4).eval()
    cls_head.load_state_dict(clf.state_dict())
    assert np.abs(cls_head(ids)[0].numpy() - logits.numpy()).max() > 1e-4
    clf.train()
    clf(ids, labels=[0, 1, 3])[1].backward()
    assert clf.bert.pooler.dense.weight.grad is None or not clf.bert.pooler.dense.weight.grad.numpy().any()
    assert np.abs(clf.bert.embeddings.word_embeddings.weight.grad.numpy()).sum() > 0


def test_pooling_option_checks_and_from_pretrained():
    with pytest.raises(ValueError, match="^BertForSequenceClassification: pooling must be"):
        BertForSequenceClassification(BertConfig(**TINY), 3, pooling="max")
    dlcore.manual_seed(1)
    pre = BERT(BertConfig(**TINY))
    clf = BertForSequenceClassification.from_pretrained(pre, 3, pooling="mean")
    assert clf.pooling == "mean" and BertForSequenceClassification.from_pretrained(pre, 3).pooling == "cls"
    assert "pooling='mean'" in repr(clf)


def test_encoder_and_classifier_get_their_own_peak_learning_rates():
    dlcore.manual_seed(2)
    clf = BertForSequenceClassification(BertConfig(**TINY), 3)
    groups = _finetune_groups(clf, 0.01, 1e-3, 1e-4)
    names = {id(p): n for n, p in clf.named_parameters()}
    for g in groups:
        for p in g["params"]:
            assert g["peak_lr"] == (1e-4 if names[id(p)].startswith("bert.") else 1e-3)
            assert g["weight_decay"] == (0.01 if p.ndim >= 2 else 0.0)
    assert sorted(id(p) for g in groups for p in g["params"]) == sorted(names)  # each parameter once
    opt = optim.AdamW(groups, lr=1e-3)
    _schedule(opt, 9, 1e-3, 100, 10)  # the last warm-up step: every group at its own peak
    assert sorted({g["lr"] for g in opt.param_groups}) == [1e-4, 1e-3]
    _schedule(opt, 99, 1e-3, 100, 10)  # the end: a tenth of each
    assert sorted({g["lr"] for g in opt.param_groups}) == pytest.approx([1e-5, 1e-4])


def test_two_held_out_plays_per_genre():
    genres = [k.split("/")[0] for k in bd.TEST_PLAYS]
    assert len(set(bd.TEST_PLAYS)) == 12 and sorted(genres) == sorted(bd.GENRES * 2)


def test_train_bert_pooling_and_encoder_lr_options(tmp_path, tiny_plays, monkeypatch):
    """--pooling cls, --encoder-lr and --mask-prob reach the recipe: the config records them and
    the genre checkpoint reloads with the [CLS] head."""
    probs, mask_tokens = [], bd.mask_tokens
    monkeypatch.setattr(bd, "mask_tokens", lambda *a: probs.append(a[-1]) or mask_tokens(*a))
    out = tmp_path / "run"
    assert main(["train", "bert", *TINY_ARGS, "--plays", tiny_plays, "--out", str(out), "--pooling", "cls",
                 "--encoder-lr", "3e-4", "--mask-prob", "0.3"]) == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["pooling"] == "cls" and config["encoder_lr"] == 3e-4 and config["finetune_lr"] == 1e-3
    assert config["mask_prob"] == 0.3 and probs.count(0.3) == 30  # every pre-training batch
    assert set(probs) == {0.15, 0.3}  # the held-out MLM batches keep BERT's 0.15
    model, _, meta = load_bert_checkpoint(str(out / "bert_genre.safetensors"))
    assert meta["pooling"] == "cls" and model.pooling == "cls"

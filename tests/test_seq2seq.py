"""Issue 19, the encoder-decoder half: dlcore.zoo.Seq2SeqTransformer (masks, teacher forcing,
shared/tied embeddings, PyTorch parity), its decoding (the KV-cached step against a full
recompute, greedy, beam search's properties), thread determinism, and the `dlcore train seq2seq`
/ `dlcore translate` commands end to end on a tiny configuration."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import dlcore
from dlcore import cli
from dlcore.zoo import Seq2SeqConfig, Seq2SeqTransformer
from dlcore.zoo import _seq2seq_decode as dec
from dlcore.zoo.numwords import NumberVocab, number_to_words
from dlcore.zoo.seq2seq import pad_batch
from dlcore.zoo.seq2seq_recipe import load_checkpoint, make_batch, translate

from .test_cli import _fails

VOCAB = NumberVocab()
NUMBERS = [0, 7, 13, 40, 512, 9000, 120045, 7000000, 31415926, 999999999, 100200300, 85]


def _model(seed=0, **kw):
    dlcore.manual_seed(seed)
    cfg = dict(src_vocab_size=len(VOCAB), tgt_vocab_size=len(VOCAB), d_model=32, nhead=4, num_encoder_layers=2,
               num_decoder_layers=2, dim_feedforward=64, dropout=0.0, max_len=32)
    cfg.update(kw)
    return Seq2SeqTransformer(Seq2SeqConfig(**cfg))


def _src(numbers=NUMBERS):
    return [VOCAB.encode_source(n) for n in numbers]


@pytest.fixture(scope="module")
def trained():
    """A tiny model trained for a few seconds: its outputs are varied, not one repeated token."""
    r = np.random.default_rng(0)
    from dlcore import optim
    from dlcore.zoo.numwords import sample_numbers

    model = _model(tie_output=True)
    opt = optim.AdamW(model.parameters(), lr=3e-3)
    old = dlcore.get_num_threads()
    dlcore.set_num_threads(1)  # small kernels: one thread is as fast, and much faster on a busy machine
    try:
        for _ in range(60):
            src, tin, tout = make_batch(VOCAB, sample_numbers(r, 32))
            loss = model(src, tin, tout, label_smoothing=0.1)[1]
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        dlcore.set_num_threads(old)
    model.eval()
    return model


# ---- the model -----------------------------------------------------------------------------------
def test_teacher_forcing_loss_is_label_smoothed_cross_entropy_over_non_pad_targets():
    model = _model()
    src, tin, tout = make_batch(VOCAB, [5, 120045, 31])
    logits, loss = model(src, tin, tout, label_smoothing=0.1)
    assert logits.shape == (3, tin.shape[1], len(VOCAB))
    logp = dec.log_softmax(logits.numpy())
    keep = tout != VOCAB.pad_id
    nll = -np.take_along_axis(logp, tout[..., None], 2)[..., 0]
    smooth = -logp.mean(-1)
    ref = (0.9 * nll + 0.1 * smooth)[keep].mean()
    np.testing.assert_allclose(loss.item(), ref, rtol=1e-5)
    loss.backward()
    assert model.src_embed.weight.grad is not None and model.transformer.encoder.layers[0].linear1.weight.grad is not None


def test_source_padding_is_masked():
    model = _model()
    src = _src([120045])
    tgt = [[VOCAB.bos_id] + VOCAB.encode_target("one hundred")]
    padded = pad_batch(src + [_src([999999999])[0]], VOCAB.pad_id)[:1]  # 3 pad columns after the digits
    assert padded.shape[1] > len(src[0]) and padded[0, -1] == VOCAB.pad_id
    a = model(src, tgt)[0].numpy()
    b = model(padded, tgt)[0].numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    memory, pad = model.encode(padded)
    assert pad.numpy().tolist() == [[False] * len(src[0]) + [True] * (padded.shape[1] - len(src[0]))]


def test_target_is_causal_and_its_padding_is_masked():
    model = _model()
    src = _src([4321])
    tgt = [VOCAB.bos_id] + VOCAB.encode_target("four thousand three hundred twenty-one")
    full = model(src, [tgt])[0].numpy()
    changed = list(tgt)
    changed[5] = VOCAB.ids["nine"]
    other = model(src, [changed])[0].numpy()
    np.testing.assert_allclose(full[:, :5], other[:, :5], rtol=1e-5, atol=1e-5)  # the past ignores the future
    assert np.abs(full[:, 5:] - other[:, 5:]).max() > 1e-3
    padded = model(src, [tgt + [VOCAB.pad_id] * 3])[0].numpy()
    np.testing.assert_allclose(padded[:, :len(tgt)], full, rtol=1e-5, atol=1e-5)


def test_shared_and_tied_embeddings():
    shared = _model(share_embeddings=True, tie_output=True)
    assert shared.src_embed is shared.tgt_embed and shared.generator.weight is shared.tgt_embed.weight
    sep = _model(share_embeddings=False, tie_output=False)
    assert sep.src_embed is not sep.tgt_embed and sep.generator.weight is not sep.tgt_embed.weight
    n_shared, n_sep = shared.num_params(), sep.num_params()
    assert n_sep - n_shared == 2 * len(VOCAB) * 32
    with pytest.raises(ValueError, match="^Seq2SeqConfig: share_embeddings"):
        Seq2SeqConfig(10, 12, share_embeddings=True)


@pytest.mark.parametrize("kw, exc", [(dict(d_model=30, nhead=4), ValueError), (dict(dropout=1.0), ValueError),
                                     (dict(max_len=0), ValueError), (dict(eos_id=99), ValueError),
                                     (dict(activation="tanh"), ValueError)])
def test_config_errors(kw, exc):
    with pytest.raises(exc, match="^Seq2SeqConfig: "):
        Seq2SeqConfig(**{"src_vocab_size": 45, "tgt_vocab_size": 45, **kw})


def test_bad_inputs_raise_named_errors():
    model = _model()
    with pytest.raises(IndexError, match="^Seq2SeqTransformer.encode: "):
        model.encode([[3, 99]])
    with pytest.raises(TypeError, match="^Seq2SeqTransformer"):
        model.encode(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="^Seq2SeqTransformer.encode: .*max_len"):
        model.encode([[3] * 40])
    with pytest.raises(ValueError, match="^beam_search: beam_width"):
        model.beam_search(_src([5]), beam_width=0)
    with pytest.raises(ValueError, match="^beam_search: n_best"):
        model.beam_search(_src([5]), beam_width=2, n_best=3)
    with pytest.raises(ValueError, match="^greedy: max_len"):
        model.greedy(_src([5]), max_len=32)
    with pytest.raises(TypeError, match="^Seq2SeqTransformer: expected a Seq2SeqConfig"):
        Seq2SeqTransformer({"d_model": 3})


def test_pytorch_transformer_weights_load_and_match_with_masks():
    torch = pytest.importorskip("torch")
    for norm_first in (False, True):
        model = _model(norm_first=norm_first, dropout=0.1, tie_output=True)
        torch.manual_seed(0)
        tt = torch.nn.Transformer(32, 4, 2, 2, 64, dropout=0.1, batch_first=True, norm_first=norm_first)
        model.transformer.load_state_dict({k: v.detach().numpy() for k, v in tt.state_dict().items()})
        model.eval()
        tt.eval()
        src = pad_batch(_src([120045, 7, 31415926]), VOCAB.pad_id)
        tin = pad_batch([[1] + VOCAB.encode_target(number_to_words(n)) for n in (120045, 7, 31415926)], 0)
        ours = model(src, tin)[0].numpy()
        # the same model in torch: scaled embeddings + sinusoidal positions -> torch's Transformer -> tied head
        emb = torch.tensor(model.src_embed.weight.numpy())
        temb = torch.tensor(model.tgt_embed.weight.numpy())
        pe = torch.tensor(model.pe.numpy())
        s, t = torch.tensor(src), torch.tensor(tin)
        xs = emb[s] * 32 ** 0.5 + pe[:s.shape[1]]
        xt = temb[t] * 32 ** 0.5 + pe[:t.shape[1]]
        with torch.no_grad():
            h = tt(xs, xt, tgt_mask=tt.generate_square_subsequent_mask(t.shape[1]), src_key_padding_mask=s == 0,
                   tgt_key_padding_mask=t == 0, memory_key_padding_mask=s == 0)
            ref = (h @ temb.T).numpy()
        real = tin != 0
        np.testing.assert_allclose(ours[real], ref[real], rtol=2e-4, atol=2e-4)


# ---- decoding ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(), dict(norm_first=True, activation="gelu", share_embeddings=True)])
def test_cached_step_matches_the_modules(kw):
    model = _model(**kw).eval()
    src = _src([120045, 7])
    prefix = pad_batch([[1] + VOCAB.encode_target("one hundred twenty thousand"),
                        [1] + VOCAB.encode_target("seven one two three")], 0)
    with dlcore.no_grad():
        memory, pad = model.encode(src)
        full = model.decode(prefix, memory, pad).numpy()
    plan = dec.DecodePlan(model)
    state = plan.start(memory.numpy(), pad.numpy(), 1, 16)
    for t in range(prefix.shape[1]):
        np.testing.assert_allclose(plan.step(prefix[:, t], state), full[:, t], rtol=1e-4, atol=1e-4)


def test_greedy_with_the_cache_gives_the_tokens_of_a_full_recompute(trained):
    cached, s1, l1 = trained.greedy(_src(), return_scores=True)
    full, s2, l2 = trained.greedy(_src(), cache=False, return_scores=True)
    assert cached == full
    assert len({tuple(t) for t in cached}) > 3  # varied outputs: the comparison means something
    np.testing.assert_allclose(s1, s2, rtol=1e-4)
    np.testing.assert_array_equal(l1, l2)
    # the same with beams, whose caches are re-ranked every step
    assert trained.beam_search(_src(), 3) == trained.beam_search(_src(), 3, cache=False)


def test_decoding_algorithm_is_logged_and_can_be_forced(trained):
    with dlcore.kernel_log() as log:
        a = trained.greedy(_src([120045]))
        with dlcore.force_algorithm("Seq2SeqTransformer.decode", "recompute"):
            b = trained.greedy(_src([120045]))
        trained.beam_search(_src([5]), 2, cache=False)
    assert log.algorithms("Seq2SeqTransformer.decode") == ["kv_cache", "recompute", "recompute"]
    assert a == b
    with dlcore.force_algorithm("Seq2SeqTransformer.decode", "flash"):
        with pytest.raises(ValueError, match="^Seq2SeqTransformer.decode: algorithm 'flash' does not apply"):
            trained.greedy(_src([5]))


def test_beam_width_one_is_greedy(trained):
    assert trained.beam_search(_src(), beam_width=1, length_penalty=0.0) == trained.greedy(_src())
    assert trained.beam_search(_src(), beam_width=1, length_penalty=0.0, max_len=3) == trained.greedy(_src(), max_len=3)


@pytest.mark.parametrize("lp", [0.0, 1.0])
def test_beam_search_scores_at_least_greedy_and_its_scores_are_true(trained, lp):
    tokens, g_raw, g_len = trained.greedy(_src(), return_scores=True)
    g = g_raw / g_len.astype(float) ** lp
    best = []
    for K in (2, 4, 6):
        hyps = trained.beam_search(_src(), beam_width=K, length_penalty=lp, return_scores=True)
        scores = np.array([s for _, s in hyps])
        assert (scores >= g - 1e-5).all(), (K, scores - g)
        # the reported score is the model's own (teacher-forced) score of the output
        np.testing.assert_allclose(trained.score(_src(), [t for t, _ in hyps], lp), scores, rtol=1e-4, atol=1e-4)
        best.append(scores)
    nb = trained.beam_search(_src(), beam_width=4, length_penalty=lp, n_best=4, return_scores=True)
    for hyps in nb:
        assert len(hyps) == 4 and [s for _, s in hyps] == sorted((s for _, s in hyps), reverse=True)
        assert len({tuple(t) for t, _ in hyps}) == 4


def test_beam_search_on_a_hand_made_distribution_finds_the_better_sequence():
    # step 1: "a" 0.6, "b" 0.4; after "a" every continuation has 0.25; after "b", <eos> 0.9.
    # greedy: a, then <eos> 0.25 -> 0.15; beam 2: b <eos> 0.36.
    V, eos, A, B_ = 4, 2, 0, 1
    table = {(): {A: 0.6, B_: 0.4}, (A,): {0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25}, (B_,): {eos: 0.9, 3: 0.1}}

    def step(prefix):
        out = []
        for row in prefix:
            p = table.get(tuple(int(x) for x in row[1:]), {eos: 1.0})
            out.append(np.log(np.array([p.get(v, 1e-12) for v in range(V)])))
        return np.array(out, np.float32)

    g, gs, _ = dec.greedy_search(step, 1, 3, eos, 5)
    (tokens, score), = dec.beam_search(step, lambda rows: None, 1, 2, 3, eos, 5, 0.0)[0]
    assert g == [[A, 0]] and tokens == [B_] and score > gs[0]
    np.testing.assert_allclose(score, np.log(0.36), rtol=1e-6)


def test_decoding_is_bitwise_identical_across_thread_counts(trained):
    outs, old = [], dlcore.get_num_threads()
    for n in (1, 2, 3):
        dlcore.set_num_threads(n)
        try:
            logits = trained(_src(), pad_batch([[1, 20, 30]] * len(NUMBERS), 0))[0].numpy()
            outs.append((logits.tobytes(), trained.beam_search(_src(), 3, return_scores=True)))
        finally:
            dlcore.set_num_threads(old)
    assert outs[0] == outs[1] == outs[2]


def test_a_training_step_is_bitwise_identical_across_thread_counts():
    from dlcore import optim

    src, tin, tout = make_batch(VOCAB, [5, 120045, 31415926, 7000000, 19, 999999999, 40, 100200300])
    states, old = [], dlcore.get_num_threads()
    for n in (1, 2, 3):
        dlcore.set_num_threads(n)
        try:
            model = _model(seed=3, dropout=0.1)  # dropout too: its masks come from the seeded generator
            opt = optim.AdamW(model.parameters(), lr=1e-3)
            dlcore.manual_seed(7)
            loss = model(src, tin, tout, label_smoothing=0.1)[1]
            loss.backward()
            opt.step()
            states.append({k: v.numpy().tobytes() for k, v in model.state_dict().items()})
        finally:
            dlcore.set_num_threads(old)
    assert states[0] == states[1] == states[2]


# ---- the recipe and the commands -----------------------------------------------------------------
TINY = ["--steps", "40", "--batch-size", "32", "--d-model", "32", "--heads", "4", "--layers", "1", "--ff", "64",
        "--eval-interval", "20", "--n-test", "45", "--beam-width", "2", "--no-progress", "--threads", "1"]


@pytest.fixture
def restore_threads():
    old = dlcore.get_num_threads()
    yield
    dlcore.set_num_threads(old)


def test_train_seq2seq_and_translate_commands(tmp_path, capsys, restore_threads):
    out = tmp_path / "run"
    assert cli.main(["train", "seq2seq", *TINY, "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("test beam exact match ") and lines[-2].startswith("test greedy exact match ")
    for name in ("seq2seq.safetensors", "seq2seq_curves.png", "metrics.json", "samples.txt"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    hist = metrics["history"]
    assert hist["step"] == [20, 40] and hist["train_loss"][-1] < hist["train_loss"][0]
    assert metrics["config"]["model"]["d_model"] == 32 and 0.0 <= metrics["test_beam_exact"] <= 1.0

    # the checkpoint carries everything: reload -> same outputs as the recipe's final model
    model, vocab, meta = load_checkpoint(str(out / "seq2seq.safetensors"))
    assert meta["recipe"] == "seq2seq" and meta["task"] == "numwords"
    ckpt = str(out / "seq2seq.safetensors")
    words = translate(ckpt, ["120045", 7], beam_width=2)
    assert words == [vocab.decode_target(t) for t in model.beam_search(_src([120045, 7]), 2, max_len=24)]
    assert cli.main(["translate", ckpt, "120045", "--beam-width", "2"]) == 0
    assert capsys.readouterr().out.strip() == words[0]
    assert cli.main(["translate", ckpt, "120,045", "7", "--greedy"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[0].startswith("120,045: ") and printed[1].startswith("7: ")

    # same seed: the same bits
    out2 = tmp_path / "again"
    assert cli.main(["train", "seq2seq", *TINY, "--out", str(out2)]) == 0
    capsys.readouterr()
    assert (out / "seq2seq.safetensors").read_bytes() == (out2 / "seq2seq.safetensors").read_bytes()


def test_translate_errors_are_one_line(tmp_path, capsys):
    def fails(argv, status):
        return _fails(capsys, argv, status)

    assert "no such file" in fails(["translate", str(tmp_path / "none.safetensors"), "12"], 2)
    dlcore.save({"w": np.zeros(2, np.float32)}, str(tmp_path / "x.safetensors"), metadata={"recipe": "gpt"})
    assert "not a seq2seq checkpoint" in fails(["translate", str(tmp_path / "x.safetensors"), "12"], 1)
    assert "--beam-width" in fails(["translate", str(tmp_path / "x.safetensors"), "12", "--beam-width", "0"], 2)
    assert "--heads" in fails(["train", "seq2seq", "--d-model", "30", "--heads", "4", "--out", str(tmp_path)], 2)


def test_translate_rejects_a_bad_number(tmp_path):
    model = _model(max_len=32)
    from dlcore.serialization import save

    path = str(tmp_path / "m.safetensors")
    save(model.state_dict(), path, metadata={"recipe": "seq2seq", "task": "numwords",
                                             "config": json.dumps(model.config.to_dict())})
    with pytest.raises(ValueError, match="^translate: "):
        translate(path, ["12x"])
    with pytest.raises(ValueError, match="^translate: "):
        translate(path, ["1000000000"])
    assert isinstance(translate(path, "5", greedy=True)[0], str)
    assert os.path.getsize(path) > 0


def test_bench_peers_compute_the_same_model():
    torch = pytest.importorskip("torch")
    from dlcore.bench import seq2seq as bench

    sd, cfg, (src, tin, tout), dsrc = bench.case_data()
    ours = Seq2SeqTransformer(cfg)
    ours.load_state_dict(sd)
    ours.eval()
    theirs = bench.torch_model(torch, cfg)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    theirs.eval()
    with torch.no_grad():
        memory, pad = theirs.encode(torch.from_numpy(src[:8]))
        ref = theirs.decode(torch.from_numpy(tin[:8]), memory, pad).numpy()
    real = tin[:8] != 0
    np.testing.assert_allclose(ours(src[:8], tin[:8])[0].numpy()[real], ref[real], rtol=1e-3, atol=1e-3)
    t_tokens = theirs.greedy(torch.from_numpy(dsrc[:8]), 6).numpy()[:, 1:]
    d_tokens = ours.greedy(dsrc[:8], max_len=6)
    assert [list(r[:len(d)]) for r, d in zip(t_tokens, d_tokens)] == d_tokens

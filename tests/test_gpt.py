"""dlcore.zoo.GPT: torch parity of the logits (learned positions and RoPE), KV-cache generation
(identical greedy tokens with and without the cache, also past block_size), seeded sampling,
top-k / top-p, weight-decay groups, GPT-2's init, and the `dlcore train gpt` / `dlcore generate`
commands end to end on a tiny configuration."""
from __future__ import annotations

import inspect
import json
import math
import os

import numpy as np
import pytest

import dlcore
from dlcore.cli import main
from dlcore.zoo import GPT, GPTConfig
from dlcore.zoo._gpt_decode import DecodePlan
from dlcore.zoo.gpt import KVCache, filter_logits, sample_from_probs
from dlcore.zoo.gpt_recipe import generate_from_checkpoint, load_checkpoint, lr_at

TINY = dict(vocab_size=37, block_size=16, n_layer=2, n_head=2, n_embd=16)


def _torch_gpt(torch, cfg):
    """nanoGPT's model, written here with torch only (RoPE: the half-rotation layout)."""
    tnn, TF = torch.nn, torch.nn.functional

    class Attn(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = tnn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
            self.c_proj = tnn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)

        def forward(self, x, rope):
            B, T, C = x.shape
            q, k, v = (t.view(B, T, cfg.n_head, C // cfg.n_head).transpose(1, 2)
                       for t in self.c_attn(x).split(C, dim=2))
            if rope is not None:
                cos, sin = rope
                r = cos.shape[-1]

                def rot(t):
                    return torch.cat([t[..., :r] * cos - t[..., r:] * sin, t[..., r:] * cos + t[..., :r] * sin], -1)
                q, k = rot(q), rot(k)
            y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = tnn.LayerNorm(cfg.n_embd, bias=cfg.bias), Attn()
            self.ln_2 = tnn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.mlp = tnn.Module()
            self.mlp.c_fc = tnn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
            self.mlp.c_proj = tnn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)

        def forward(self, x, rope):
            x = x + self.attn(self.ln_1(x), rope)
            return x + self.mlp.c_proj(TF.gelu(self.mlp.c_fc(self.ln_2(x))))

    class TGPT(tnn.Module):
        def __init__(self):
            super().__init__()
            d = {"wte": tnn.Embedding(cfg.vocab_size, cfg.n_embd)}
            if cfg.pos == "learned":
                d["wpe"] = tnn.Embedding(cfg.block_size, cfg.n_embd)
            d["h"] = tnn.ModuleList([Block() for _ in range(cfg.n_layer)])
            d["ln_f"] = tnn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.transformer = tnn.ModuleDict(d)
            self.lm_head = tnn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
            self.lm_head.weight = self.transformer.wte.weight

        def forward(self, idx):
            T = idx.shape[1]
            x, rope = self.transformer.wte(idx), None
            if cfg.pos == "learned":
                x = x + self.transformer.wpe(torch.arange(T))
            else:
                D = cfg.n_embd // cfg.n_head
                ang = torch.arange(T, dtype=torch.float64)[:, None] * 10000.0 ** (
                    -torch.arange(0, D, 2, dtype=torch.float64) / D)
                rope = (ang.cos().float(), ang.sin().float())
            for b in self.transformer.h:
                x = b(x, rope)
            return self.lm_head(self.transformer.ln_f(x))

    return TGPT()


@pytest.mark.parametrize("pos,bias", [("learned", True), ("rope", True), ("learned", False)])
def test_logits_and_loss_match_torch(torch, pos, bias):
    dlcore.manual_seed(0)
    cfg = GPTConfig(**TINY, pos=pos, bias=bias)
    model = GPT(cfg)
    ref = _torch_gpt(torch, cfg)
    sd = model.state_dict()
    assert list(sd) == list(ref.state_dict())  # nanoGPT's names, lm_head.weight included
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in sd.items()})
    idx = np.random.default_rng(0).integers(0, cfg.vocab_size, (3, 11))
    tgt = np.random.default_rng(1).integers(0, cfg.vocab_size, (3, 11))
    logits, loss = model(idx, tgt)
    expect = ref(torch.from_numpy(idx))
    np.testing.assert_allclose(logits.numpy(), expect.detach().numpy(), atol=2e-5, rtol=1e-4)
    tloss = torch.nn.functional.cross_entropy(expect.view(-1, cfg.vocab_size), torch.from_numpy(tgt).view(-1))
    assert abs(loss.item() - tloss.item()) < 1e-5
    # the gradients agree too (the tied embedding collects from both of its uses)
    loss.backward()
    tloss.backward()
    tparams = dict(ref.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=2e-5, rtol=1e-3, err_msg=name)


def test_weight_tying_and_gpt2_init():
    dlcore.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, block_size=32, n_layer=6, n_head=4, n_embd=64))
    assert model.lm_head.weight is model.transformer.wte.weight
    std = lambda name: float(model.get_parameter(name).numpy().std())  # noqa: E731
    assert abs(std("transformer.h.0.attn.c_attn.weight") - 0.02) < 0.002
    assert abs(std("transformer.h.0.mlp.c_fc.weight") - 0.02) < 0.002
    scaled = 0.02 / math.sqrt(2 * 6)
    assert abs(std("transformer.h.3.attn.c_proj.weight") - scaled) < 0.1 * scaled
    assert abs(std("transformer.h.3.mlp.c_proj.weight") - scaled) < 0.1 * scaled
    assert abs(std("transformer.wte.weight") - 0.02) < 0.002
    assert np.all(model.get_parameter("transformer.h.1.attn.c_attn.bias").numpy() == 0)
    assert np.all(model.get_parameter("transformer.h.1.ln_2.weight").numpy() == 1)


def test_weight_decay_only_on_matrices():
    model = GPT(GPTConfig(**TINY))
    decay, no_decay = model.param_groups(0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    n_all = len(list(model.parameters()))
    assert len(decay["params"]) + len(no_decay["params"]) == n_all
    # wte (= lm_head), wpe, and per block c_attn, attn.c_proj, c_fc, mlp.c_proj
    assert len(decay["params"]) == 2 + 4 * TINY["n_layer"]
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=3e-4)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    assert opt.param_groups[0]["lr"] == 3e-4


@pytest.mark.parametrize("pos", ["learned", "rope"])
def test_greedy_tokens_are_the_same_with_and_without_the_cache(pos):
    dlcore.manual_seed(3)
    model = GPT(GPTConfig(**TINY, pos=pos))
    prompt = np.random.default_rng(2).integers(0, TINY["vocab_size"], (2, 5))
    # 40 new tokens with block 16: the window rolls several times
    with_cache = model.generate(prompt, 40, temperature=0, cache=True).numpy()
    without = model.generate(prompt, 40, temperature=0, cache=False).numpy()
    assert with_cache.shape == (2, 45)
    np.testing.assert_array_equal(with_cache, without)
    np.testing.assert_array_equal(with_cache[:, :5], prompt)


@pytest.mark.parametrize("pos", ["learned", "rope"])
def test_cached_logits_match_the_full_forward(pos):
    dlcore.manual_seed(1)
    model = GPT(GPTConfig(**TINY, pos=pos)).eval()
    idx = np.random.default_rng(4).integers(0, TINY["vocab_size"], (2, 12))
    full = model(idx)[0].numpy()
    cache, fast = KVCache(model.config, 2), KVCache(model.config, 2)
    plan = DecodePlan(model)
    with dlcore.no_grad():
        first = model.forward_cached(idx[:, :7], cache)  # prefill
        model.forward_cached(idx[:, :7], fast)
        steps = [model.forward_cached(idx[:, t:t + 1], cache).numpy() for t in range(7, 12)]
    # the one-token step on the kernels (what generate uses after the prefill)
    fast_steps = [plan.step(idx[:, t], fast) for t in range(7, 12)]
    assert cache.length == fast.length == 12
    np.testing.assert_allclose(first.numpy(), full[:, 6], atol=1e-5)
    for t, s, f in zip(range(7, 12), steps, fast_steps):
        np.testing.assert_allclose(s, full[:, t], atol=1e-5)
        np.testing.assert_allclose(f, full[:, t], atol=1e-5)
    for a, b in zip(cache.k_np + cache.v_np, fast.k_np + fast.v_np):
        np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match="GPT: cannot forward"):
        with dlcore.no_grad():
            model.forward_cached(np.zeros((2, 5), np.int64), cache)


def test_seeded_sampling_is_reproducible_and_leaves_the_global_generator_alone():
    dlcore.manual_seed(5)
    model = GPT(GPTConfig(**TINY))
    state = dlcore.get_rng_state()
    a = model.generate([1, 2, 3], 30, temperature=1.0, seed=7).numpy()
    assert dlcore.get_rng_state() == state
    b = model.generate([1, 2, 3], 30, temperature=1.0, seed=7).numpy()
    c = model.generate([1, 2, 3], 30, temperature=1.0, seed=8).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # unseeded draws come from the global generator: reproducible through manual_seed
    dlcore.manual_seed(11)
    d = model.generate([1, 2, 3], 10).numpy()
    dlcore.manual_seed(11)
    np.testing.assert_array_equal(d, model.generate([1, 2, 3], 10).numpy())
    # the stream yields the same tokens one step at a time
    steps = list(model.generate_stream(np.array([[1, 2, 3]]), 30, temperature=1.0, seed=7))
    np.testing.assert_array_equal(np.stack(steps, 1)[0], a[0, 3:])


def test_top_k_and_top_p_on_a_fixed_distribution():
    p = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
    logits = np.log(p)
    np.testing.assert_allclose(filter_logits(logits), p, rtol=1e-12)
    k2 = filter_logits(logits, top_k=2)
    np.testing.assert_allclose(k2, [0.4 / 0.65, 0.25 / 0.65, 0, 0, 0, 0], rtol=1e-12)
    # nucleus 0.7: 0.4 + 0.25 = 0.65 < 0.7, so the third token is needed as well
    p7 = filter_logits(logits, top_p=0.7)
    np.testing.assert_allclose(p7, [0.5, 0.3125, 0.1875, 0, 0, 0], rtol=1e-12)
    assert np.count_nonzero(filter_logits(logits, top_p=0.3)) == 1  # the top token always stays
    # top-k first (0.5, 0.3125, 0.1875 renormalised), then the nucleus 0.6 of those; vocabulary order is irrelevant
    both = filter_logits(logits[None, ::-1], top_k=3, top_p=0.6)
    np.testing.assert_allclose(both[0, ::-1], [0.4 / 0.65, 0.25 / 0.65, 0, 0, 0, 0], rtol=1e-12)
    hot = filter_logits(logits, temperature=0.5)
    np.testing.assert_allclose(hot, p ** 2 / (p ** 2).sum(), rtol=1e-12)
    # sampling only ever returns kept tokens, with the kept frequencies
    u = (np.arange(20000) + 0.5) / 20000
    picks = sample_from_probs(np.repeat(p7[None], len(u), 0), u)
    np.testing.assert_allclose(np.bincount(picks, minlength=6) / len(u), p7, atol=1e-3)
    with pytest.raises(ValueError, match="generate: top_p"):
        filter_logits(logits, top_p=0.0)
    with pytest.raises(ValueError, match="generate: top_k"):
        filter_logits(logits, top_k=0)


def test_generate_bad_inputs():
    model = GPT(GPTConfig(**TINY))
    with pytest.raises(IndexError, match="generate: prompt tokens"):
        model.generate([1, 99], 3)
    with pytest.raises(ValueError, match="generate: temperature"):
        model.generate([1], 3, temperature=-1)
    with pytest.raises(TypeError, match="generate: expected integer"):
        model.generate(np.array([0.5]), 3)
    with pytest.raises(ValueError, match="GPT: cannot forward"):
        model(np.zeros((1, 17), np.int64))
    with pytest.raises(ValueError, match="GPTConfig: n_embd"):
        GPTConfig(n_embd=10, n_head=4)
    with pytest.raises(ValueError, match="GPTConfig: pos"):
        GPTConfig(pos="alibi")


def test_generation_is_the_same_for_every_thread_count():
    dlcore.manual_seed(2)
    model = GPT(GPTConfig(**TINY))
    outs = []
    for n in (1, 2, 3):
        dlcore.set_num_threads(n)
        try:
            logits, _ = model(np.arange(12).reshape(1, 12))
            outs.append((logits.numpy(), model.generate([4, 5], 20, seed=1).numpy()))
        finally:
            dlcore.set_num_threads(2)
    for lg, tokens in outs[1:]:
        np.testing.assert_array_equal(lg, outs[0][0])
        np.testing.assert_array_equal(tokens, outs[0][1])


def test_lr_schedule_warms_up_then_decays():
    lrs = [lr_at(i, 1e-3, 100, 10, 1e-4) for i in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:10]))
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[-1] == pytest.approx(1e-4)


def test_train_gpt_command_end_to_end(tmp_path, capsys):
    text = "".join(f"First Citizen:\nWe are accounted poor citizens, line {i}.\n\n" for i in range(60))
    data = tmp_path / "corpus.txt"
    data.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    argv = ["train", "gpt", "--data", str(data), "--layers", "2", "--heads", "2", "--embd", "32",
            "--block-size", "16", "--batch-size", "8", "--iters", "60", "--lr", "3e-3", "--eval-interval", "20",
            "--eval-iters", "4", "--threads", "2", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("val loss ")
    metrics = json.loads((out / "metrics.json").read_text())
    history = metrics["history"]["val_loss"]
    assert len(history) == 3 and history[-1] < history[0] - 0.5  # the loss falls
    assert float(lines[-1].split()[-1]) == pytest.approx(min(history), abs=1e-4)
    for name in ("gpt.safetensors", "gpt_curves.png", "sample.txt"):
        assert os.path.getsize(out / name) > 0
    assert metrics["config"]["iters"] == 60
    # the checkpoint reloads to the same logits, with its tokenizer
    model, tok, meta = load_checkpoint(str(out / "gpt.safetensors"))
    assert meta["recipe"] == "gpt" and tok.decode(tok.encode("Citizen")) == "Citizen"
    again, _, _ = load_checkpoint(str(out / "gpt.safetensors"))
    idx = np.array([tok.encode("We are poor")])
    np.testing.assert_array_equal(model(idx)[0].numpy(), again(idx)[0].numpy())
    state = dlcore.load(str(out / "gpt.safetensors"))
    fresh = GPT(model.config)
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.eval()(idx)[0].numpy(), model(idx)[0].numpy())
    # dlcore generate streams text from it: the prompt, then max-new-tokens characters
    assert main(["generate", str(out / "gpt.safetensors"), "--prompt", "First", "--max-new-tokens", "25",
                 "--seed", "1"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("First") and len(shown.rstrip("\n")) >= len("First") + 20
    text = generate_from_checkpoint(str(out / "gpt.safetensors"), "First", 25, seed=1, out=None, temperature=0.8)
    assert shown == text + "\n" and len(text) == len("First") + 25


def test_train_gpt_with_bpe_streams_whole_characters(tmp_path, capsys):
    """--tokenizer bpe: the checkpoint carries the BPE tokenizer; generate streams UTF-8 text whose
    multi-byte characters arrive whole, and the streamed text is the decoded token sequence."""
    text = "".join(f"Ophélie: « ça va, {i} ? » — très bien.\n" for i in range(300))
    data = tmp_path / "corpus.txt"
    data.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    assert main(["train", "gpt", "--tokenizer", "bpe", "--vocab-size", "300", "--data", str(data), "--layers", "1",
                 "--heads", "2", "--embd", "16", "--block-size", "16", "--batch-size", "4", "--iters", "30",
                 "--eval-interval", "30", "--eval-iters", "2", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    model, tok, meta = load_checkpoint(str(out / "gpt.safetensors"))
    assert type(tok).__name__ == "BPETokenizer" and tok.vocab_size == 300 == model.config.vocab_size
    chunks = []

    class Sink:
        def write(self, s):
            chunks.append(s)

        def flush(self):
            pass
    full = generate_from_checkpoint(str(out / "gpt.safetensors"), "Ophélie", 40, temperature=1.0, seed=3, out=Sink())
    # the pieces streamed one token at a time add up to the decoding of the whole sequence (a
    # piece-by-piece decode would turn every split multi-byte character into U+FFFD)
    assert "".join(chunks) == full + "\n" and len(chunks) > 10
    ids = model.generate([tok.encode("Ophélie")], 40, temperature=1.0, seed=3).numpy()[0]
    assert full == tok.decode(ids)


def test_generate_command_rejects_other_checkpoints(tmp_path, capsys):
    path = tmp_path / "plain.safetensors"
    dlcore.save({"w": dlcore.zeros(2)}, str(path))
    assert main(["generate", str(path)]) == 1
    assert "generate:" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "none.safetensors")]) == 2


def test_bench_peer_is_the_same_model(torch):
    """`dlcore bench gpt` compares like with like: its PyTorch model (with its own KV cache) loads
    the dlcore weights and generates the same greedy tokens."""
    from dlcore.bench import gpt as bench

    sd, _, prompt = bench.case_weights()
    ref = bench.torch_model(torch)
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    model = GPT(GPTConfig(**bench.CONFIG))
    model.load_state_dict(sd)
    ours = model.generate(prompt, 20, temperature=0).numpy()
    np.testing.assert_array_equal(ref.generate(torch.from_numpy(prompt), 20).numpy(), ours)


def test_a_suspended_stream_leaves_grad_mode_and_training_mode_alone():
    model = GPT(GPTConfig(**TINY, dropout=0.1))
    model.train()
    for cache in (True, False):
        stream = model.generate_stream([[1, 2]], 3, temperature=0, cache=cache)
        next(stream)  # prefill and first token
        next(stream)  # one cached step
        assert dlcore.is_grad_enabled() and model.training
        logits, loss = model(np.array([[1, 2, 3]]), np.array([[2, 3, 4]]))
        assert loss.requires_grad
        assert len(list(stream)) == 1


def test_train_gpt_presets_and_flags(tmp_path, monkeypatch):
    """The defaults are the ~20-minute model (SIZES), --baby is nanoGPT's baby GPT (BABY), and an
    explicit flag overrides either preset."""
    from dlcore.zoo import gpt_recipe

    seen, real = [], gpt_recipe.train_gpt
    monkeypatch.setattr(gpt_recipe, "train_gpt", lambda **kw: seen.append(kw))
    data = tmp_path / "corpus.txt"
    data.write_text("To be, or not to be.\n" * 50, encoding="utf-8")
    base = ["train", "gpt", "--data", str(data), "--out", str(tmp_path / "r"), "--no-progress"]
    assert main(base) == 0
    assert main(base + ["--baby"]) == 0
    assert main(base + ["--baby", "--iters", "7", "--embd", "64"]) == 0
    keys = ("layers", "heads", "embd", "block_size", "batch_size", "iters")
    assert {k: seen[0][k] for k in keys} == gpt_recipe.SIZES == dict(layers=6, heads=6, embd=192, block_size=128,
                                                                      batch_size=16, iters=2500)
    assert {k: seen[1][k] for k in keys} == gpt_recipe.BABY == dict(layers=4, heads=4, embd=128, block_size=64,
                                                                     batch_size=12, iters=2000)
    assert {k: seen[2][k] for k in keys} == dict(gpt_recipe.BABY, iters=7, embd=64)
    params = inspect.signature(real).parameters  # the Python API's defaults are the same model
    assert {k: params[k].default for k in keys} == gpt_recipe.SIZES

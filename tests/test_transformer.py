"""Transformer layers (issue 25): PyTorch's weights load into TransformerEncoderLayer,
TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and Transformer and give the same
outputs and gradients (inputs and every parameter), dropout off, with masks, batch_first and
norm_first both ways, relu/gelu/callable activations; the LayerNorm stand-in; errors."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.nn import transformer as T

pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),  # torch, for bool + float masks
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")]
TOL64 = dict(rtol=1e-9, atol=1e-10)
D, NHEAD, FF = 12, 3, 20


def _rng(seed=0):
    return np.random.default_rng(seed)


def _load(dm, tm):
    assert sorted(dm.state_dict()) == sorted(tm.state_dict())
    dm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def _check_grads(dm, tm, pairs):
    tp = dict(tm.named_parameters())
    names = [n for n, _ in dm.named_parameters()]
    assert sorted(names) == sorted(tp)
    for name, p in dm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), err_msg=name, **TOL64)
    for d, t in pairs:
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), **TOL64)


def _seq(rng, n, batch_first, N=2):
    return rng.standard_normal((N, n, D) if batch_first else (n, N, D))


def _run(torch, tm, dm, inputs, kw_t, kw_d, seed=0):
    tins = [torch.tensor(a, requires_grad=True) for a in inputs]
    dins = [dlcore.tensor(a, requires_grad=True) for a in inputs]
    to, do = tm(*tins, **kw_t), dm(*dins, **kw_d)
    np.testing.assert_allclose(do.numpy(), to.detach().numpy(), **TOL64)
    g = _rng(seed + 100).standard_normal(to.shape)
    to.backward(torch.tensor(g))
    do.backward(dlcore.tensor(g))
    _check_grads(dm, tm, list(zip(dins, tins)))


ENC_CASES = [(False, False, "relu", "none"), (True, False, "gelu", "kpm"), (False, True, "relu", "causal"),
             (True, True, "gelu", "kpm+causal"), (False, True, "callable", "bool")]


def _masks(case, S, N, rng):
    kpm = np.zeros((N, S), bool)
    kpm[0, -2:] = True
    causal = np.triu(np.full((S, S), -np.inf), 1)
    bool_m = rng.random((S, S)) < 0.3
    np.fill_diagonal(bool_m, False)
    return {"none": (None, None), "kpm": (kpm, None), "causal": (None, causal), "kpm+causal": (kpm, causal),
            "bool": (None, bool_m)}[case]


def _act(torch, name):
    if name == "callable":
        return (lambda x: torch.tanh(x)), (lambda x: x.tanh())
    return name, name


@pytest.mark.parametrize("batch_first,norm_first,activation,mask", ENC_CASES)
def test_encoder_layer_matches_torch(torch, batch_first, norm_first, activation, mask):
    torch.manual_seed(0)
    rng = _rng(1)
    ta, da = _act(torch, activation)
    tm = torch.nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, activation=ta, batch_first=batch_first,
                                          norm_first=norm_first).double()
    dm = nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, activation=da, batch_first=batch_first,
                                    norm_first=norm_first).double()
    _load(dm, tm)
    S = 6
    kpm, am = _masks(mask, S, 2, rng)
    is_causal = mask.endswith("causal")
    _run(torch, tm, dm, [_seq(rng, S, batch_first)],
         dict(src_mask=None if am is None else torch.tensor(am),
              src_key_padding_mask=None if kpm is None else torch.tensor(kpm), is_causal=is_causal),
         dict(src_mask=am, src_key_padding_mask=kpm, is_causal=is_causal))


@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True), (True, False)])
def test_decoder_layer_matches_torch(torch, batch_first, norm_first):
    torch.manual_seed(2)
    rng = _rng(3)
    tm = torch.nn.TransformerDecoderLayer(D, NHEAD, FF, dropout=0.0, batch_first=batch_first,
                                          norm_first=norm_first, activation="gelu").double()
    dm = nn.TransformerDecoderLayer(D, NHEAD, FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first,
                                    activation="gelu").double()
    _load(dm, tm)
    T_, S, N = 5, 7, 2
    causal = np.triu(np.full((T_, T_), -np.inf), 1)
    mkpm = np.zeros((N, S), bool)
    mkpm[1, :3] = True
    mem_mask = rng.standard_normal((T_, S))
    _run(torch, tm, dm, [_seq(rng, T_, batch_first), _seq(rng, S, batch_first)],
         dict(tgt_mask=torch.tensor(causal), tgt_is_causal=True, memory_key_padding_mask=torch.tensor(mkpm),
              memory_mask=torch.tensor(mem_mask)),
         dict(tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=mkpm, memory_mask=mem_mask))


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_and_decoder_stacks_match_torch(torch, norm_first):
    torch.manual_seed(4)
    rng = _rng(5)
    te = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, NHEAD, FF, 0.0, norm_first=norm_first),
                                     2, norm=torch.nn.LayerNorm(D), enable_nested_tensor=False).double()
    de = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD, FF, 0.0, norm_first=norm_first), 2,
                               norm=T._make_norm(D, 1e-5, True, None)).double()
    assert "layers.1.self_attn.in_proj_weight" in de.state_dict() and "norm.weight" in de.state_dict()
    _load(de, te)
    causal = np.triu(np.full((6, 6), -np.inf), 1)
    kpm = np.zeros((2, 6), bool)
    kpm[1, 4:] = True
    _run(torch, te, de, [_seq(rng, 6, False)], dict(mask=torch.tensor(causal), src_key_padding_mask=torch.tensor(kpm)),
         dict(mask=causal, src_key_padding_mask=kpm))

    td = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, NHEAD, FF, 0.0, norm_first=norm_first,
                                                                      batch_first=True), 2).double()
    dd = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, NHEAD, FF, 0.0, norm_first=norm_first,
                                                          batch_first=True), 2).double()
    _load(dd, td)
    tgt_mask = np.triu(np.full((4, 4), -np.inf), 1)
    _run(torch, td, dd, [_seq(rng, 4, True), _seq(rng, 6, True)], dict(tgt_mask=torch.tensor(tgt_mask)),
         dict(tgt_mask=tgt_mask))


@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True)])
def test_transformer_matches_torch(torch, batch_first, norm_first):
    torch.manual_seed(6)
    rng = _rng(7)
    tm = torch.nn.Transformer(D, NHEAD, 2, 2, FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first).double()
    dm = nn.Transformer(D, NHEAD, 2, 2, FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first).double()
    _load(dm, tm)
    S, T_, N = 7, 5, 3
    tgt_mask = tm.generate_square_subsequent_mask(T_, dtype=torch.float64)
    np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(T_, dtype="float64").numpy(),
                                  tgt_mask.numpy())
    skpm = np.zeros((N, S), bool)
    skpm[2, 5:] = True
    _run(torch, tm, dm, [_seq(rng, S, batch_first, N), _seq(rng, T_, batch_first, N)],
         dict(tgt_mask=tgt_mask, src_key_padding_mask=torch.tensor(skpm), memory_key_padding_mask=torch.tensor(skpm)),
         dict(tgt_mask=tgt_mask.numpy(), src_key_padding_mask=skpm, memory_key_padding_mask=skpm))


def test_transformer_init_is_xavier_for_matrices():
    dlcore.manual_seed(0)
    m = nn.Transformer(16, 2, 1, 1, 32, dropout=0.0)
    w = m.encoder.layers[0].linear1.weight.numpy()  # (32, 16): xavier bound sqrt(6 / 48)
    assert np.abs(w).max() <= np.sqrt(6 / 48) and np.abs(w).max() > 0.9 * np.sqrt(6 / 48)
    assert (m.decoder.norm.weight.numpy() == 1).all() and not m.decoder.norm.bias.numpy().any()
    # deep copies: the layers do not share parameters
    assert m.encoder.layers[0].linear1.weight is not nn.TransformerEncoder(
        m.encoder.layers[0], 2).layers[0].linear1.weight


def test_detect_is_causal_mask():
    causal = nn.Transformer.generate_square_subsequent_mask(4)
    assert T._detect_is_causal_mask(causal, None, 4) is True
    assert T._detect_is_causal_mask(np.triu(np.ones((4, 4), bool), 1), None, 4) is True
    assert T._detect_is_causal_mask(np.zeros((4, 4), np.float32), None, 4) is False
    assert T._detect_is_causal_mask(None, True, 4) is True and T._detect_is_causal_mask(causal, False, 4) is False


def test_encoder_passes_the_detected_causal_hint(monkeypatch):
    """The encoder's is_causal=None turns a causal mask into the kernel's is_causal (its fast path)."""
    seen = []

    def spy(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, **kw):
        seen.append((attn_mask is None, is_causal))
        from dlcore.nn.attention import _attention_explicit
        return _attention_explicit(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal)

    monkeypatch.setattr(nn.functional, "scaled_dot_product_attention", spy, raising=False)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD, FF, 0.0), 2)
    x = dlcore.tensor(_rng(8).standard_normal((5, 1, D)).astype(np.float32))
    with_hint = enc(x, mask=nn.Transformer.generate_square_subsequent_mask(5)).numpy()
    assert seen == [(True, True), (True, True)]
    seen.clear()
    without = enc(x, mask=nn.Transformer.generate_square_subsequent_mask(5), is_causal=False).numpy()
    assert seen == [(False, False), (False, False)]
    np.testing.assert_allclose(with_hint, without, rtol=1e-5, atol=1e-6)


def test_layer_norm_standin_matches_torch(torch):
    rng = _rng(9)
    ln = T._LayerNorm((3, 4), eps=1e-3).double()
    tln = torch.nn.LayerNorm((3, 4), eps=1e-3).double()
    with torch.no_grad():
        tln.weight.copy_(torch.tensor(rng.standard_normal((3, 4))))
        tln.bias.copy_(torch.tensor(rng.standard_normal((3, 4))))
    _load(ln, tln)
    _run(torch, tln, ln, [rng.standard_normal((2, 5, 3, 4))], {}, {})
    assert list(T._LayerNorm(4, bias=False).state_dict()) == ["weight"]


def test_layers_use_nn_layernorm_when_present(monkeypatch):
    class Marker(T._LayerNorm):
        """A stand-in for the C++ LayerNorm."""

    monkeypatch.setattr(nn, "LayerNorm", Marker, raising=False)
    layer = nn.TransformerDecoderLayer(D, NHEAD, FF)
    assert all(isinstance(getattr(layer, f"norm{i}"), Marker) for i in (1, 2, 3))
    monkeypatch.delattr(nn, "LayerNorm")
    assert type(nn.TransformerEncoderLayer(D, NHEAD, FF).norm1) is T._LayerNorm


def test_errors_name_the_module():
    with pytest.raises(ValueError, match="^TransformerEncoderLayer: activation should be relu/gelu"):
        nn.TransformerEncoderLayer(D, NHEAD, activation="tanh")
    with pytest.raises(ValueError, match="^MultiheadAttention: embed_dim must be divisible"):
        nn.TransformerDecoderLayer(10, 3)
    m = nn.Transformer(D, NHEAD, 1, 1, FF)
    z = lambda *s: dlcore.tensor(np.zeros(s, np.float32))  # noqa: E731
    with pytest.raises(ValueError, match="^Transformer: the batch number"):
        m(z(4, 2, D), z(3, 3, D))
    with pytest.raises(ValueError, match="^Transformer: the feature number"):
        m(z(4, 2, D), z(3, 2, D + 1))
    with pytest.raises(ValueError, match="^LayerNorm: expected input"):
        T._LayerNorm(5)(z(2, 4))


def test_encoder_layer_float32_matches_torch_and_is_thread_deterministic(torch):
    torch.manual_seed(10)
    tm = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True, activation="gelu")
    dm = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True, activation="gelu")
    _load(dm, tm)
    x = _rng(11).standard_normal((3, 17, 32)).astype(np.float32)
    kpm = np.zeros((3, 17), bool)
    kpm[1, 12:] = True
    to = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm))
    from tests.conftest import run_threads_bitwise

    def run():
        dm.zero_grad()
        xt = dlcore.tensor(x, requires_grad=True)
        out = dm(xt, src_key_padding_mask=kpm)
        (out * out).sum().backward()
        return out.numpy().copy(), xt.grad.numpy().copy(), dm.linear1.weight.grad.numpy().copy()

    out = run_threads_bitwise(run)[0]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, to.detach().numpy(), rtol=1e-4, atol=2e-5)


def test_fully_padded_sequence_gives_finite_outputs():
    """A batch entry whose keys are all padding: its attention gives zeros (torch: NaN), so the
    layer's output and gradients stay finite."""
    dlcore.manual_seed(12)
    layer = nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, batch_first=True).double()
    x = dlcore.tensor(_rng(13).standard_normal((2, 4, D)), requires_grad=True)
    kpm = np.zeros((2, 4), bool)
    kpm[1] = True
    for need in (True, False):
        out, w = layer.self_attn(x, x, x, key_padding_mask=kpm, need_weights=need)
        assert np.isfinite(out.numpy()).all()
        # the padded entry attends to nothing: its attention output is out_proj's bias alone
        np.testing.assert_allclose(out.numpy()[1], np.broadcast_to(layer.self_attn.out_proj.bias.numpy(), (4, D)))
        if need:
            assert not w.numpy()[1].any()
    y = layer(x, src_key_padding_mask=kpm)
    y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()

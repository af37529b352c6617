"""dlcore.nn recurrent layers against torch: parameter names, state_dict keys, init, outputs and
gradients after backward with torch's weights loaded; packed/padded batches; bad arguments."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import nn
from tests.conftest import assert_close


def _load(module, tmod):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})


def _pair(torch, kind, dtype, **kw):
    t = getattr(torch.nn, kind)(**kw).to(dtype)
    d = getattr(nn, kind)(**kw)
    if dtype == torch.float64:
        d = d.double()
    assert list(d.state_dict()) == list(t.state_dict())
    _load(d, t)
    return d, t


SEQ_CASES = [
    ("LSTM", dict(input_size=3, hidden_size=5, num_layers=2, bidirectional=True)),
    ("LSTM", dict(input_size=4, hidden_size=6, proj_size=3, batch_first=True, bias=False)),
    ("GRU", dict(input_size=3, hidden_size=7, num_layers=3, batch_first=True)),
    ("GRU", dict(input_size=1, hidden_size=2, bidirectional=True)),
    ("RNN", dict(input_size=5, hidden_size=4, nonlinearity="relu", num_layers=2)),
    ("RNN", dict(input_size=2, hidden_size=33, bidirectional=True, batch_first=True)),
]


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("kind, kw", SEQ_CASES)
def test_sequence_module_matches_torch_outputs_and_gradients(torch, kind, kw, dt):
    tdt = getattr(torch, dt)
    d, t = _pair(torch, kind, tdt, **kw)
    g = np.random.default_rng(0)
    B, T = 3, 6
    x = g.standard_normal((B, T, kw["input_size"]) if kw.get("batch_first") else (T, B, kw["input_size"])).astype(dt)
    D = 2 if kw.get("bidirectional") else 1
    L, H = kw.get("num_layers", 1), kw["hidden_size"]
    h0 = g.standard_normal((L * D, B, kw.get("proj_size") or H)).astype(dt)
    c0 = g.standard_normal((L * D, B, H)).astype(dt)
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    dx, dh, dc = (dlcore.tensor(a, requires_grad=True) for a in (x, h0, c0))
    if kind == "LSTM":
        ty, (thn, tcn) = t(tx, (th, tc))
        y, (hn, cn) = d(dx, (dh, dc))
    else:
        ty, thn = t(tx, th)
        y, hn = d(dx, dh)
    tol = {} if dt == "float64" else dict(rtol=1e-4, atol=1e-5)
    assert_close(y.detach().numpy(), ty.detach().numpy(), **tol)
    assert_close(hn.detach().numpy(), thn.detach().numpy(), **tol)
    gy = g.standard_normal(ty.shape).astype(dt)
    gh = g.standard_normal(thn.shape).astype(dt)
    loss_t = (ty * torch.tensor(gy)).sum() + (thn * torch.tensor(gh)).sum()
    loss_d = (y * dlcore.tensor(gy)).sum() + (hn * dlcore.tensor(gh)).sum()
    if kind == "LSTM":
        assert_close(cn.detach().numpy(), tcn.detach().numpy(), **tol)
        loss_t = loss_t + tcn.sum()
        loss_d = loss_d + cn.sum()
    loss_t.backward()
    loss_d.backward()
    assert_close(dx.grad.numpy(), tx.grad.numpy(), **tol)
    assert_close(dh.grad.numpy(), th.grad.numpy(), **tol)
    if kind == "LSTM":
        assert_close(dc.grad.numpy(), tc.grad.numpy(), **tol)
    for name, p in t.named_parameters():
        assert_close(getattr(d, name).grad.numpy(), p.grad.numpy(), **tol)


@pytest.mark.parametrize("kind, kw", [("LSTMCell", {}), ("GRUCell", {}), ("RNNCell", {}),
                                      ("RNNCell", dict(nonlinearity="relu", bias=False))])
def test_cell_module_matches_torch_outputs_and_gradients(torch, kind, kw):
    d, t = _pair(torch, kind, torch.float64, input_size=17, hidden_size=33, **kw)
    g = np.random.default_rng(1)
    x, h, c = g.standard_normal((5, 17)), g.standard_normal((5, 33)), g.standard_normal((5, 33))
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    dx, dh, dc = (dlcore.tensor(a, requires_grad=True) for a in (x, h, c))
    if kind == "LSTMCell":
        (th2, tc2), (dh2, dc2) = t(tx, (th, tc)), d(dx, (dh, dc))
        assert_close(dc2.detach().numpy(), tc2.detach().numpy())
        (th2.sum() + (tc2 * 2).sum()).backward()
        (dh2.sum() + (dc2 * 2).sum()).backward()
        assert_close(dc.grad.numpy(), tc.grad.numpy())
    else:
        th2, dh2 = t(tx, th), d(dx, dh)
        (th2 ** 2).sum().backward()
        (dh2 ** 2).sum().backward()
    assert_close(dh2.detach().numpy(), th2.detach().numpy())
    assert_close(dx.grad.numpy(), tx.grad.numpy())
    assert_close(dh.grad.numpy(), th.grad.numpy())
    for name, p in t.named_parameters():
        assert_close(getattr(d, name).grad.numpy(), p.grad.numpy())
    # unbatched input and hx=None (zeros)
    out = d(dlcore.tensor(x[0]))
    want = t(torch.tensor(x[0]))
    got = out[0] if kind == "LSTMCell" else out
    want = want[0] if kind == "LSTMCell" else want
    assert_close(got.detach().numpy(), want.detach().numpy())


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_packed_batch_matches_torch_packed_sequence(torch, kind):
    from torch.nn.utils.rnn import pack_padded_sequence as tpack, pad_packed_sequence as tpad
    kw = dict(input_size=3, hidden_size=5, num_layers=2, bidirectional=True, batch_first=True)
    d, t = _pair(torch, kind, torch.float64, **kw)
    g = np.random.default_rng(2)
    x = g.standard_normal((4, 7, 3))
    lengths = [3, 7, 1, 5]
    tx, dx = torch.tensor(x, requires_grad=True), dlcore.tensor(x, requires_grad=True)
    tout, th = t(tpack(tx, torch.tensor(lengths), batch_first=True, enforce_sorted=False))
    ty, tl = tpad(tout, batch_first=True)
    dout, dhs = d(nn.utils.rnn.pack_padded_sequence(dx, lengths, batch_first=True, enforce_sorted=False))
    y, ln = nn.utils.rnn.pad_packed_sequence(dout, batch_first=True)
    assert y.shape == tuple(ty.shape) == (4, 7, 10)
    np.testing.assert_array_equal(ln.numpy(), tl.numpy())
    assert_close(y.detach().numpy(), ty.detach().numpy())
    hn, thn = (dhs[0], th[0]) if kind == "LSTM" else (dhs, th)
    assert_close(hn.detach().numpy(), thn.detach().numpy())
    ty.sum().backward()
    y.sum().backward()
    assert_close(dx.grad.numpy(), tx.grad.numpy())
    assert not dx.grad.numpy()[2, 1:].any()  # padded steps receive no gradient
    for name, p in t.named_parameters():
        assert_close(getattr(d, name).grad.numpy(), p.grad.numpy())


def test_pad_sequence_and_pad_packed_options(torch):
    from torch.nn.utils.rnn import pad_sequence as tpad_seq
    g = np.random.default_rng(3)
    seqs = [g.standard_normal((n, 2)) for n in (4, 1, 3)]
    for bf in (False, True):
        got = nn.utils.rnn.pad_sequence([dlcore.tensor(s) for s in seqs], batch_first=bf, padding_value=-1.0)
        want = tpad_seq([torch.tensor(s) for s in seqs], batch_first=bf, padding_value=-1.0)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    padded = nn.utils.rnn.pad_sequence([dlcore.tensor(s) for s in seqs])
    packed = nn.utils.rnn.pack_padded_sequence(padded, [4, 1, 3], enforce_sorted=False)
    out, ln = nn.utils.rnn.pad_packed_sequence(packed, batch_first=True, padding_value=9.0, total_length=6)
    assert out.shape == (3, 6, 2)
    np.testing.assert_array_equal(out.numpy()[1, 1:], 9.0)
    np.testing.assert_array_equal(out.numpy()[0, :4], seqs[0])
    with pytest.raises(ValueError, match="^pack_padded_sequence: `lengths` array must be sorted"):
        nn.utils.rnn.pack_padded_sequence(padded, [4, 1, 3])
    with pytest.raises(ValueError, match="^pack_padded_sequence: lengths must lie"):
        nn.utils.rnn.pack_padded_sequence(padded, [5, 1, 3], enforce_sorted=False)
    with pytest.raises(ValueError, match="^pad_packed_sequence: expected total_length"):
        nn.utils.rnn.pad_packed_sequence(packed, total_length=2)


def test_init_is_uniform_within_one_over_sqrt_hidden_and_seeded():
    dlcore.manual_seed(0)
    a = nn.LSTM(8, 16, num_layers=2)
    dlcore.manual_seed(0)
    b = nn.LSTM(8, 16, num_layers=2)
    bound = 1 / 4
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        v = p.detach().numpy()
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.9 * bound, name
        np.testing.assert_array_equal(v, q.detach().numpy())


def test_dropout_applies_in_training_only():
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = dlcore.randn(5, 2, 3)
    m.eval()
    a = m(x)[0].numpy()
    np.testing.assert_array_equal(a, m(x)[0].numpy())
    m.train()
    assert not np.array_equal(m(x)[0].detach().numpy(), a)


@pytest.mark.parametrize("make, msg", [
    (lambda: nn.LSTM(3, 4, dropout=1.5), "^LSTM: dropout"),
    (lambda: nn.GRU(3, 4, dropout=-0.1), "^GRU: dropout"),
    (lambda: nn.LSTM(3, 4, proj_size=4), "^LSTM: proj_size"),
    (lambda: nn.RNN(3, 4, nonlinearity="gelu"), "^RNN: unknown nonlinearity"),
    (lambda: nn.LSTMCell(0, 4), "^LSTMCell: input_size"),
    (lambda: nn.LSTM(3, 4, num_layers=0), "^LSTM: num_layers"),
])
def test_bad_module_arguments(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


def test_wrong_input_and_state_shapes_name_the_op():
    m = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match="^lstm: input.size"):
        m(dlcore.randn(2, 1, 5))
    with pytest.raises(ValueError, match="^lstm: expected h0"):
        m(dlcore.randn(2, 1, 3), (dlcore.randn(1, 2, 4), dlcore.randn(1, 1, 4)))
    with pytest.raises(ValueError, match="^lstm: expected c0"):
        m(dlcore.randn(2, 1, 3), (dlcore.randn(1, 1, 4), dlcore.randn(1, 1, 3)))
    with pytest.raises(ValueError, match="^gru_cell: expected h0"):
        nn.GRUCell(3, 4)(dlcore.randn(2, 3), dlcore.randn(2, 5))


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_autograd_gradcheck_of_the_sequence_function(mode):
    from dlcore.autograd.gradcheck import gradcheck
    from dlcore.nn.functional_rnn import rnn_sequence
    from tests.opinfo_rnn import seq_weights

    g = np.random.default_rng(9)
    x = dlcore.tensor(g.uniform(-1, 1, (3, 2, 2)), requires_grad=True)
    h0 = dlcore.tensor(g.uniform(-1, 1, (2, 2, 3)), requires_grad=True)
    ws = [dlcore.tensor(w, requires_grad=True) for w in seq_weights(mode, 2, 3, 1, True)]
    hx = (h0, dlcore.tensor(g.uniform(-1, 1, (2, 2, 3)), requires_grad=True)) if mode == "lstm" else h0

    def fn(x, *ws):
        out, state = rnn_sequence(mode, x, hx, ws, bidirectional=True, lengths=[3, 1])
        return (out, *state) if mode == "lstm" else (out, state)
    assert gradcheck(fn, (x, *ws))
    assert gradcheck(lambda h: rnn_sequence(mode, x, (h, hx[1]) if mode == "lstm" else h, ws,
                                            bidirectional=True)[0], (h0,))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_unbatched_input_and_default_state_match_torch(torch, kind):
    d, t = _pair(torch, kind, torch.float64, input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    x = np.random.default_rng(4).standard_normal((5, 3))
    y, s = d(dlcore.tensor(x))
    ty, ts = t(torch.tensor(x))
    assert y.shape == (5, 8)
    assert_close(y.numpy(), ty.detach().numpy())
    for a, b in zip(s if kind == "LSTM" else (s,), ts if kind == "LSTM" else (ts,)):
        assert a.shape == (4, 4)
        assert_close(a.numpy(), b.detach().numpy())

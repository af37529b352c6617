"""Recurrent kernels (dlcore.ops cells and sequences) against the float64 NumPy reference at odd
sizes, gradients against central differences of the reference, every ISA, thread determinism,
the kernel log and bad input."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import dlcore
from dlcore import ops
from tests.conftest import assert_close, finite_difference_grad, run_threads_bitwise
from tests.opinfo_rnn import cell_weights, seq_weights
from tests.reference import rnn as ref

MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")


def _seq_call(mode, x, h0, c0, ws, **kw):
    if mode == "lstm":
        return ops.lstm(x, h0, c0, ws, **kw)
    if mode == "gru":
        return ops.gru(x, h0, ws, **kw)
    return ops.rnn(x, h0, ws, nonlinearity=mode[4:], **kw)


# A sampled grid (the full product is large): layers x bidirectional x batch_first x lengths x
# proj_size x mode at odd sizes, batch 1-5, input 1-17, hidden 1-33, T 1-20.
def _grid():
    g = np.random.default_rng(26)
    full = list(itertools.product(MODES, (1, 2, 3), (False, True), (False, True), (False, True), (0, 1)))
    cases = []
    for k in g.permutation(len(full))[:40]:
        mode, layers, bidir, bf, use_len, proj = full[k]
        B, I, H, T = int(g.integers(1, 6)), int(g.choice([1, 2, 5, 17])), int(g.choice([1, 3, 7, 33])), \
            int(g.choice([1, 2, 7, 20]))
        proj = int(g.integers(1, H)) if (proj and mode == "lstm" and H > 1) else 0
        cases.append((mode, layers, bidir, bf, use_len, proj, B, I, H, T))
    return cases


@pytest.mark.parametrize("mode, layers, bidir, bf, use_len, proj, B, I, H, T", _grid())
def test_sequence_matches_reference(mode, layers, bidir, bf, use_len, proj, B, I, H, T):
    g = np.random.default_rng(B * 1000 + I * 100 + H * 10 + T)
    x = g.uniform(-1, 1, (B, T, I) if bf else (T, B, I))
    D = 2 if bidir else 1
    hs = proj or H
    h0 = g.uniform(-1, 1, (layers * D, B, hs))
    c0 = g.uniform(-1, 1, (layers * D, B, H)) if mode == "lstm" else None
    ws = seq_weights(mode, I, H, layers, bidir, proj=proj, seed=T)
    lengths = g.integers(1, T + 1, B) if use_len else None
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=bf, lengths=lengths)
    if mode == "lstm":
        kw["proj_size"] = proj
    got = _seq_call(mode, x, h0, c0, ws, **kw)
    out, h_n, c_n = ref.sequence(mode, x, h0, c0, ws, layers, bidir, bf, lengths, proj)
    assert_close(got[0], out)
    assert_close(got[1], h_n)
    if mode == "lstm":
        assert_close(got[2], c_n)
    if use_len:  # padded steps output zeros
        t_axis = 1 if bf else 0
        for b, n in enumerate(lengths):
            pad = np.take(np.take(got[0], [b], axis=1 - t_axis), range(n, T), axis=t_axis)
            assert not pad.any()


@pytest.mark.parametrize("mode, layers, bidir, bf, use_len, proj",
                         [("lstm", 2, True, False, True, 2), ("gru", 2, True, True, True, 0),
                          ("rnn_tanh", 1, True, False, True, 0), ("rnn_relu", 2, False, True, False, 0),
                          ("lstm", 1, False, True, False, 0)])
def test_sequence_backward_matches_finite_differences(mode, layers, bidir, bf, use_len, proj):
    g = np.random.default_rng(7)
    B, I, H, T = 3, 2, 4, 5
    D = 2 if bidir else 1
    x = g.uniform(-1, 1, (B, T, I) if bf else (T, B, I))
    h0 = g.uniform(-1, 1, (layers * D, B, proj or H))
    c0 = g.uniform(-1, 1, (layers * D, B, H)) if mode == "lstm" else None
    ws = seq_weights(mode, I, H, layers, bidir, proj=proj)
    lengths = np.array([5, 2, 4]) if use_len else None
    out, h_n, c_n = ref.sequence(mode, x, h0, c0, ws, layers, bidir, bf, lengths, proj)
    gy, gh = g.standard_normal(out.shape), g.standard_normal(h_n.shape)
    gc = g.standard_normal(c_n.shape) if mode == "lstm" else None

    def loss(x_, h0_, c0_, ws_):
        o, h, c = ref.sequence(mode, x_, h0_, c0_, ws_, layers, bidir, bf, lengths, proj)
        return float(np.sum(o * gy) + np.sum(h * gh) + (np.sum(c * gc) if gc is not None else 0))

    r = ops.rnn_sequence_backward(mode, gy, gh, gc, x, h0, c0, ws, num_layers=layers, bidirectional=bidir,
                                  batch_first=bf, lengths=lengths, proj_size=proj)
    tol = dict(rtol=1e-6, atol=1e-8)
    assert_close(r[0], finite_difference_grad(lambda v: loss(v, h0, c0, ws), x), **tol)
    assert_close(r[1], finite_difference_grad(lambda v: loss(x, v, c0, ws), h0), **tol)
    if mode == "lstm":
        assert_close(r[2], finite_difference_grad(lambda v: loss(x, h0, v, ws), c0), **tol)
    for k in (0, 1, len(ws) - 1):  # w_ih, w_hh and the last weight of the last layer (bias or w_hr)
        def f(v, k=k):
            w2 = list(ws)
            w2[k] = v
            return loss(x, h0, c0, w2)
        assert_close(r[3 + k], finite_difference_grad(f, ws[k]), **tol)


@pytest.mark.parametrize("mode", MODES)
def test_cells_match_reference_float32_on_every_isa(mode, isa):
    g = np.random.default_rng(3)
    B, I, H = 5, 17, 33
    x, h, c = (g.uniform(-1, 1, s).astype(np.float32) for s in ((B, I), (B, H), (B, H)))
    ws = [w.astype(np.float32) for w in cell_weights(mode, I, H)]
    if mode == "lstm":
        got = ops.lstm_cell(x, h, c, *ws)
    else:
        got = getattr(ops, {"rnn_tanh": "rnn_tanh_cell", "rnn_relu": "rnn_relu_cell", "gru": "gru_cell"}[mode])(
            x, h, *ws)
    want = ref.cell(mode, *(a.astype(np.float64) for a in (x, h, c)), *(w.astype(np.float64) for w in ws))
    for a, b in zip(got if mode == "lstm" else (got,), want):
        assert_close(a, b, rtol=2e-5, atol=2e-5)
        assert a.dtype == np.float32


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_sequence_forward_and_backward_bitwise_for_1_2_3_threads(mode):
    g = np.random.default_rng(4)
    T, B, I, H = 6, 33, 17, 40
    x = g.uniform(-1, 1, (T, B, I)).astype(np.float32)
    ws = [w.astype(np.float32) for w in seq_weights(mode, I, H, 2, True)]
    lengths = g.integers(1, T + 1, B)
    gy = g.standard_normal((T, B, 2 * H)).astype(np.float32)

    def run():
        out = _seq_call(mode, x, None, None, ws, num_layers=2, bidirectional=True, lengths=lengths)
        back = ops.rnn_sequence_backward(mode, gy, None, None, x, None, None, ws, num_layers=2, bidirectional=True,
                                         lengths=lengths)
        return tuple(out) + tuple(a for a in back if a is not None)
    run_threads_bitwise(run)


def test_dropout_between_layers_follows_the_seeded_generator():
    g = np.random.default_rng(5)
    x = g.uniform(-1, 1, (5, 3, 4))
    ws = seq_weights("gru", 4, 6, 3, False)
    kw = dict(num_layers=3, dropout=0.5, training=True)
    dlcore.manual_seed(1)
    a = ops.gru(x, None, ws, **kw)[0]
    dlcore.manual_seed(1)
    b = ops.gru(x, None, ws, **kw)[0]
    c = ops.gru(x, None, ws, **kw)[0]
    plain = ops.gru(x, None, ws, num_layers=3)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, plain)
    np.testing.assert_array_equal(ops.gru(x, None, ws, num_layers=3, dropout=0.5, training=False)[0], plain)


def test_kernel_log_names_the_op_and_forcing_an_unknown_algorithm_fails():
    x, ws = np.ones((2, 1, 3), np.float32), [w.astype(np.float32) for w in seq_weights("lstm", 3, 4, 1, True)]
    with dlcore.kernel_log() as log:
        ops.lstm(x, None, None, ws, bidirectional=True)
        ops.gru_cell(np.ones((1, 3)), None, *cell_weights("gru", 3, 4))
    assert log.algorithms("lstm") == ["fused_gates", "fused_gates"]  # one record per direction
    assert log.algorithms("gru_cell") == ["fused_gates"]
    with dlcore.force_algorithm("lstm", "fused_gates"):
        ops.lstm(x, None, None, ws, bidirectional=True)
    with dlcore.force_algorithm("lstm", "cudnn"), pytest.raises(ValueError, match="^lstm: algorithm 'cudnn'"):
        ops.lstm(x, None, None, ws, bidirectional=True)


BAD = [
    ("lstm", lambda x, ws: ops.lstm(x[:, :, :2], None, None, ws), ValueError, "input.size(-1)"),
    ("lstm", lambda x, ws: ops.lstm(x, np.zeros((2, 3, 5)), None, ws), ValueError, "h0"),
    ("lstm", lambda x, ws: ops.lstm(x, None, np.zeros((1, 3, 5)), ws), ValueError, "c0"),
    ("lstm", lambda x, ws: ops.lstm(x, None, None, ws, lengths=[1, 2, 5]), ValueError, "lengths"),
    ("lstm", lambda x, ws: ops.lstm(x, None, None, ws, lengths=[1, 2]), ValueError, "lengths"),
    ("lstm", lambda x, ws: ops.lstm(x, None, None, ws, dropout=-0.1), ValueError, "dropout"),
    ("lstm", lambda x, ws: ops.lstm(x, None, None, ws, dropout=1.01), ValueError, "dropout"),
    ("lstm", lambda x, ws: ops.lstm(x.astype(np.int64), None, None, ws), TypeError, "dtype"),
    ("lstm", lambda x, ws: ops.lstm(x, None, None, ws, num_layers=2), ValueError, "weight"),
    ("lstm", lambda x, ws: ops.lstm(x, None, None, ws + ws[:1], proj_size=9), ValueError, "proj_size"),
    ("gru", lambda x, ws: ops.gru(x, None, ws, proj_size=1), TypeError, "proj_size"),
    ("rnn", lambda x, ws: ops.rnn(x, None, ws, nonlinearity="sigmoid"), ValueError, "nonlinearity"),
    ("lstm_cell", lambda x, ws: ops.lstm_cell(x[0], np.zeros((3, 5)), None, *ws[:4]), ValueError, "h0"),
    ("gru_cell", lambda x, ws: ops.gru_cell(x[0], None, *ws[:2]), ValueError, "weight_ih"),
]


@pytest.mark.parametrize("op, call, exc, word", BAD)
def test_bad_input_raises_naming_the_op(op, call, exc, word):
    x = np.ones((4, 3, 3))
    ws = seq_weights("lstm", 3, 4, 1, False)
    with pytest.raises(exc) as e:
        call(x, ws)
    assert str(e.value).startswith(op + ":"), str(e.value)
    assert word in str(e.value)

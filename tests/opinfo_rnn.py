"""OpInfo entries of the recurrent ops (cells, sequences and their backward ops).  Sizes are odd
and small; tests/test_rnn*.py cover the wider grid, torch parity and the nn layers."""
from __future__ import annotations

import numpy as np

from dlcore import ops
from tests.opinfo import ErrorInput, OpInfo, S, add, arr
from tests.reference import rnn as ref

G = ref.GATES


def w(*shape, seed=0):
    return arr(*shape, lo=-0.6, hi=0.6, seed=seed)


def cell_weights(mode, inp, hid, bias=True, seed=10):
    g = G[mode] * hid
    ws = [w(g, inp, seed=seed), w(g, hid, seed=seed + 1)]
    return ws + ([w(g, seed=seed + 2), w(g, seed=seed + 3)] if bias else [])


def seq_weights(mode, inp, hid, layers, bidir, bias=True, proj=0, seed=20):
    out, D = [], 2 if bidir else 1
    for layer in range(layers):
        for d in range(D):
            i = inp if layer == 0 else hid_out(hid, proj) * D
            s = seed + 10 * (layer * D + d)
            g = G[mode] * hid
            ws = [w(g, i, seed=s), w(g, proj or hid, seed=s + 1)]
            ws += [w(g, seed=s + 2), w(g, seed=s + 3)] if bias else []
            ws += [w(proj, hid, seed=s + 4)] if proj else []
            out += ws
    return out


def hid_out(hid, proj):
    return proj or hid


# ---- cells -------------------------------------------------------------------------------------

def _cell_samples(mode):
    lstm = mode == "lstm"

    def samples(n):
        n = max(n, 1)
        a = [arr(n, 5), arr(n, 7, seed=1)] + ([arr(n, 7, seed=2)] if lstm else [])
        b = [arr(n, 1), arr(n, 3, seed=1)] + ([arr(n, 3, seed=2)] if lstm else [])
        return [S(*a, *cell_weights(mode, 5, 7)), S(*b, *cell_weights(mode, 1, 3, bias=False))]
    return samples


def _cell_ref(mode):
    def f(x, h, *rest):
        c = rest[0] if mode == "lstm" else None
        ws = rest[1:] if mode == "lstm" else rest
        h2, c2 = ref.cell(mode, x, h, c, *ws)
        return (h2, c2) if mode == "lstm" else h2
    return f


def _cell_grad(mode):
    def grad(g, x, h, *rest):
        c = rest[0] if mode == "lstm" else None
        ws = rest[1:] if mode == "lstm" else rest
        r = ops.rnn_cell_backward(mode, g, None, x, h, c, *ws)
        return r if mode == "lstm" else (r[0], r[1]) + r[3:]
    return grad


for _mode, _name in (("rnn_tanh", "rnn_tanh_cell"), ("rnn_relu", "rnn_relu_cell"), ("lstm", "lstm_cell"),
                     ("gru", "gru_cell")):
    _n = 7 if _mode == "lstm" else 6
    _bad = [arr(2, 4), arr(2, 7)] + ([arr(2, 7)] if _mode == "lstm" else []) + cell_weights(_mode, 5, 7)
    add(OpInfo(_name, _cell_samples(_mode), ref=_cell_ref(_mode), grad=_cell_grad(_mode), wrt=tuple(range(_n)),
               empty=False,
               errors=[ErrorInput(tuple(_bad)),  # input size 4 for weights of input size 5
                       ErrorInput((arr(2, 5), arr(2, 6)) + ((arr(2, 7),) if _mode == "lstm" else ())
                                  + tuple(cell_weights(_mode, 5, 7))),  # hidden state of the wrong width
                       ErrorInput((arr(2, 5, dtype=np.int64), arr(2, 7)) + ((arr(2, 7),) if _mode == "lstm" else ())
                                  + tuple(cell_weights(_mode, 5, 7))[:2], exc=TypeError)]))

add(OpInfo("rnn_cell_backward",
           lambda n: [S("lstm", arr(max(n, 1), 7, seed=3), arr(max(n, 1), 7, seed=4), arr(max(n, 1), 5),
                        arr(max(n, 1), 7, seed=1), arr(max(n, 1), 7, seed=2), *cell_weights("lstm", 5, 7))],
           grad_of="lstm_cell", empty=False,
           errors=[ErrorInput(("lstn", arr(2, 7), None, arr(2, 5), arr(2, 7), arr(2, 7),
                               *cell_weights("lstm", 5, 7)))]))


# ---- sequences ---------------------------------------------------------------------------------

def _seq_samples(mode):
    lstm = mode == "lstm"
    pos = (lambda *a: a) if lstm else (lambda x, h, c, ws: (x, h, ws))
    extra = {} if mode in ("lstm", "gru") else {"nonlinearity": mode[4:]}

    def samples(n):
        n = max(n, 1)
        T = 4
        s = [S(*pos(arr(T, n, 3), arr(4, n, 5, seed=1), arr(4, n, 5, seed=2),
                    seq_weights(mode, 3, 5, 2, True)), num_layers=2, bidirectional=True, **extra),
             S(*pos(arr(n, T, 2), None, None, seq_weights(mode, 2, 3, 1, False, bias=False)), batch_first=True,
               lengths=np.arange(n) % T + 1, **extra)]
        if lstm:
            s.append(S(arr(T, n, 3), arr(2, n, 2, seed=1), arr(2, n, 5, seed=2),
                       seq_weights(mode, 3, 5, 1, True, proj=2), bidirectional=True, proj_size=2,
                       lengths=(np.arange(n) + 2) % T + 1))
        return s
    return samples


def _seq_ref(mode):
    lstm = mode == "lstm"

    def f(x, h0, *rest, num_layers=1, bidirectional=False, batch_first=False, lengths=None, proj_size=0,
          nonlinearity=None):
        c0, ws = (rest[0], rest[1]) if lstm else (None, rest[0])
        out, h_n, c_n = ref.sequence(mode, x, h0, c0, ws, num_layers, bidirectional, batch_first, lengths,
                                     proj_size)
        return (out, h_n, c_n) if lstm else (out, h_n)
    return f


def _seq_grad(mode):
    lstm = mode == "lstm"

    def grad(g, x, h0, *rest, nonlinearity=None, **kw):
        c0, ws = (rest[0], rest[1]) if lstm else (None, rest[0])
        r = ops.rnn_sequence_backward(mode, g, None, None, x, h0, c0, ws, **kw)
        return r[:3] if lstm else r[:2]
    return grad


for _mode, _name in (("lstm", "lstm"), ("gru", "gru"), ("rnn_tanh", "rnn")):
    _lstm = _mode == "lstm"
    _x, _ws = arr(4, 2, 3), seq_weights(_mode, 3, 5, 1, False)
    _pre = (_x, None, None) if _lstm else (_x, None)
    add(OpInfo(_name, _seq_samples(_mode), ref=_seq_ref(_mode), grad=_seq_grad(_mode),
               wrt=(0, 1, 2) if _lstm else (0, 1), empty=False,
               errors=[ErrorInput(_pre + (_ws,), {"dropout": 1.5}),
                       ErrorInput(_pre + (_ws,), {"lengths": np.array([5, 2])}),       # longer than T=4
                       ErrorInput((arr(4, 2, 2),) + _pre[1:] + (_ws,)),                   # wrong input size
                       ErrorInput((_x, arr(1, 3, 5)) + _pre[2:] + (_ws,)),                # h0 of batch 3
                       ErrorInput(_pre + (_ws[:3],))]))                                  # a weight missing

add(OpInfo("rnn_sequence_backward",
           lambda n: [S("lstm", arr(4, max(n, 1), 10, seed=5), arr(2, max(n, 1), 5, seed=6), None, arr(4, max(n, 1), 3),
                        None, None, seq_weights("lstm", 3, 5, 1, True), bidirectional=True)],
           grad_of="lstm", empty=False,
           errors=[ErrorInput(("lstm", None, None, None, arr(4, 2, 3), None, None, seq_weights("lstm", 3, 5, 1, True)),
                              {"num_layers": 0})]))

"""NumPy reference of the recurrent layers (float64, written for clarity): cells and whole
sequences (layers x directions x lengths x projection), PyTorch's equations and gate order.
Gradients: central differences of these forwards (tests/conftest.py's finite_difference_grad),
an independent spec of the C++ back-propagation through time."""
from __future__ import annotations

import numpy as np

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def cell(mode, x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """One step: h' (and c' for LSTM) from x (B, I), h (B, hs), c (B, H)."""
    gi = x @ w_ih.T + (0 if b_ih is None else b_ih)
    gh = h @ w_hh.T + (0 if b_hh is None else b_hh)
    if mode == "rnn_tanh":
        return np.tanh(gi + gh), None
    if mode == "rnn_relu":
        return np.maximum(gi + gh, 0), None
    if mode == "lstm":
        i, f, g, o = np.split(gi + gh, 4, axis=1)
        c2 = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h2 = sigmoid(o) * np.tanh(c2)
        return (h2 if w_hr is None else h2 @ w_hr.T), c2
    ir, iz, in_ = np.split(gi, 3, axis=1)
    hr, hz, hn = np.split(gh, 3, axis=1)
    r, z = sigmoid(ir + hr), sigmoid(iz + hz)
    n = np.tanh(in_ + r * hn)
    return (1 - z) * n + z * h, None


def sequence(mode, x, h0, c0, weights, num_layers=1, bidirectional=False, batch_first=False, lengths=None,
             proj_size=0):
    """(output, h_n, c_n) of a stack (no dropout); x (T, B, I) or batch_first (B, T, I)."""
    x = np.asarray(x, np.float64)
    if batch_first:
        x = x.transpose(1, 0, 2)
    T, B, _ = x.shape
    D = 2 if bidirectional else 1
    per = len(weights) // (num_layers * D)
    H = weights[0].shape[0] // GATES[mode]
    hs = proj_size or H
    h0 = np.zeros((num_layers * D, B, hs)) if h0 is None else h0
    c0 = np.zeros((num_layers * D, B, H)) if c0 is None else c0
    lens = np.full(B, T) if lengths is None else np.asarray(lengths)
    h_n, c_n = np.zeros_like(h0), np.zeros_like(c0)
    inp = x
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            k = layer * D + d
            p = weights[k * per:(k + 1) * per]
            has_bias = per >= 4
            b_ih, b_hh = (p[2], p[3]) if has_bias else (None, None)
            w_hr = p[-1] if proj_size else None
            h, c = h0[k].copy(), c0[k].copy()
            y = np.zeros((T, B, hs))
            steps = range(T - 1, -1, -1) if d == 1 else range(T)
            for t in steps:
                h2, c2 = cell(mode, inp[t], h, c, p[0], p[1], b_ih, b_hh, w_hr)
                on = (t < lens)[:, None]
                h = np.where(on, h2, h)
                if c2 is not None:
                    c = np.where(on, c2, c)
                y[t] = np.where(on, h2, 0)
            h_n[k], c_n[k] = h, c
            outs.append(y)
        inp = np.concatenate(outs, axis=2)
    out = inp.transpose(1, 0, 2) if batch_first else inp
    return out, h_n, c_n


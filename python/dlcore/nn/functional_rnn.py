"""Autograd Functions and functional forms of the recurrent layers (dlcore.nn.RNN/LSTM/GRU and the
cells).  The sequence Function keeps the C++ workspace of every layer and direction from forward
(gate activations, cell states) so backward is one BPTT pass per layer; the cell Function
recomputes its single step (cheap) instead of keeping it."""
from __future__ import annotations

from ..autograd.function import Function
from ..ops import recurrent as R

__all__ = ["rnn_sequence", "rnn_cell"]


class RNNSequence(Function):
    """Outputs (output, h_n[, c_n]) of a stack; gradients for input, h0, c0 and every weight."""

    @staticmethod
    def forward(ctx, args, x, h0, c0, *weights):
        mode, op, layers, bidir, dropout, batch_first, training, lengths, proj = args
        cfg, saved, out, h_n, c_n = R.sequence_forward(mode, op, x, h0, c0, weights, layers, bidir, dropout,
                                                       batch_first, training, lengths, proj)
        if ctx.recording:
            ctx.cfg, ctx.state, ctx.x = cfg, saved, x
            ctx.has_h0, ctx.has_c0 = h0 is not None, c0 is not None
        return (out, h_n) if c_n is None else (out, h_n, c_n)

    @staticmethod
    def backward(ctx, g_out, g_hn, g_cn=None):
        dx, dh0, dc0, dw = R.sequence_backward(ctx.cfg, ctx.state, g_out, g_hn, g_cn, ctx.x)
        ctx.state = None  # the workspace is large: free it with the graph
        return (None, dx, dh0 if ctx.has_h0 else None, dc0 if ctx.has_c0 else None, *dw)


class RNNCell(Function):
    """One cell step: h' (or (h', c') for LSTM)."""

    @staticmethod
    def forward(ctx, mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
        ctx.save_for_backward(x, h, c, w_ih, w_hh, b_ih, b_hh)
        ctx.mode = mode
        if mode == "lstm":
            return R.lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh)
        fn = {"rnn_tanh": R.rnn_tanh_cell, "rnn_relu": R.rnn_relu_cell, "gru": R.gru_cell}[mode]
        return fn(x, h, w_ih, w_hh, b_ih, b_hh)

    @staticmethod
    def backward(ctx, g_h, g_c=None):
        x, h, c, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        dx, dh, dc, dwi, dwh, dbi, dbh = R.rnn_cell_backward(ctx.mode, g_h, g_c, x, h, c, w_ih, w_hh, b_ih, b_hh)
        return (None, dx, dh if h is not None else None, dc if c is not None else None, dwi, dwh,
                dbi if b_ih is not None else None, dbh if b_hh is not None else None)


def rnn_sequence(mode, input, hx, weights, num_layers=1, bidirectional=False, dropout=0.0,  # noqa: A002
                 batch_first=False, training=False, lengths=None, proj_size=0):
    """Differentiable stack over a sequence (mode 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru'); `hx`
    is h0, (h0, c0) for LSTM, or None.  Returns (output, h_n) or (output, (h_n, c_n))."""
    op = "lstm" if mode == "lstm" else "gru" if mode == "gru" else "rnn"
    if mode == "lstm":
        h0, c0 = (None, None) if hx is None else hx
    else:
        h0, c0 = hx, None
    args = (mode, op, num_layers, bidirectional, dropout, batch_first, training, lengths, proj_size)
    res = RNNSequence.apply(args, input, h0, c0, *weights)
    return (res[0], (res[1], res[2])) if mode == "lstm" else (res[0], res[1])


def rnn_cell(mode, input, hx, weights):  # noqa: A002
    """Differentiable single step; weights (w_ih, w_hh, b_ih, b_hh) with None biases allowed;
    hx as in rnn_sequence.  Returns h' or (h', c')."""
    if mode == "lstm":
        h, c = (None, None) if hx is None else hx
    else:
        h, c = hx, None
    return RNNCell.apply(mode, input, h, c, *weights)

"""Recurrent layers with torch.nn's names, arguments, defaults, parameter names, initialisation
and state_dict keys: RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell.

Parameters per layer k and direction (suffix ``_reverse`` for the backward one):
``weight_ih_l{k}`` (G*H, in), ``weight_hh_l{k}`` (G*H, proj_size or H), ``bias_ih_l{k}``,
``bias_hh_l{k}`` (G*H) and, for an LSTM with ``proj_size > 0``, ``weight_hr_l{k}`` (proj_size, H);
G is 1 (RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n).  Every parameter starts as
U(-1/sqrt(H), 1/sqrt(H)), as in torch, so a torch ``state_dict`` (as NumPy) loads and gives the
same outputs and gradients.

Input: a padded tensor ((T, B, in), or (B, T, in) with ``batch_first``, or unbatched (T, in)),
or a :class:`~dlcore.nn.utils_rnn.PackedSequence` (padded data + lengths) from
``nn.utils.rnn.pack_padded_sequence``: then the output is a PackedSequence too, and each row's
state stops at its own length (the packed-sequence semantics, computed in C++ without packing).
"""
from __future__ import annotations

import math

from . import init
from .functional_rnn import rnn_cell, rnn_sequence
from .layers import _empty, _finish
from .module import Module
from .parameter import Parameter
from .utils_rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def _check_sizes(cls, input_size, hidden_size):
    for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"{cls}: {name} must be a positive integer, got {v!r}")


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU (torch.nn.RNNBase)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        cls = type(self).__name__
        _check_sizes(cls, input_size, hidden_size)
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"{cls}: num_layers must be a positive integer, got {num_layers!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{cls}: dropout should be a number in range [0, 1] representing the probability of "
                             f"an element being zeroed, got {dropout!r}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{cls}: proj_size should be a non-negative integer, got {proj_size!r}")
        if proj_size and mode != "lstm":
            raise ValueError(f"{cls}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{cls}: proj_size has to be smaller than hidden_size")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bool(bias), bool(batch_first)
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bool(bidirectional), proj_size
        D, G = 2 if bidirectional else 1, _GATES[mode]
        real = proj_size or hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                inp = input_size if layer == 0 else real * D
                shapes = [("weight_ih", (G * hidden_size, inp)), ("weight_hh", (G * hidden_size, real))]
                if bias:
                    shapes += [("bias_ih", (G * hidden_size,)), ("bias_hh", (G * hidden_size,))]
                if proj_size:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                for name, shape in shapes:
                    setattr(self, name + sfx, Parameter(_empty(shape, dtype)))
                    self._flat_weights_names.append(name + sfx)
        self.reset_parameters()
        _finish(self, device)

    @property
    def _flat_weights(self):
        """The parameters in torch's flat order (layer, direction, ih/hh/biases/hr)."""
        return [getattr(self, n) for n in self._flat_weights_names]

    def reset_parameters(self):
        """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (torch's init)."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for w in self._flat_weights:
            init.uniform_(w, -k, k)

    def forward(self, input, hx=None):  # noqa: A002 - torch's names
        """Runs the stack: (output, h_n) (LSTM: (output, (h_n, c_n))); `input` may be a PackedSequence."""
        packed = isinstance(input, PackedSequence)
        if packed:
            data, lengths, batch_first = input.data, input.lengths, input.batch_first
        else:
            data, lengths, batch_first = input, None, self.batch_first
        out, state = rnn_sequence(self.mode, data, hx, self._flat_weights, self.num_layers, self.bidirectional,
                                  self.dropout, batch_first, self.training, lengths, self.proj_size)
        if packed:
            out = PackedSequence(out, input.lengths, batch_first)
        return out, state

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (nonlinearity 'tanh' or 'relu')."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity '{nonlinearity}' (expected 'tanh' or 'relu')")
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o), optionally with a projection of h (proj_size)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n; the reset gate scales the hidden projection incl. b_hn)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


class RNNCellBase(Module):
    """The shared machinery of the cells: weight_ih, weight_hh, bias_ih, bias_hh."""

    def __init__(self, mode, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        _check_sizes(type(self).__name__, input_size, hidden_size)
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bool(bias)
        G = _GATES[mode]
        self.weight_ih = Parameter(_empty((G * hidden_size, input_size), dtype))
        self.weight_hh = Parameter(_empty((G * hidden_size, hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(_empty((G * hidden_size,), dtype))
            self.bias_hh = Parameter(_empty((G * hidden_size,), dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        _finish(self, device)

    def reset_parameters(self):
        """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (torch's init)."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            init.uniform_(w, -k, k)

    def forward(self, input, hx=None):  # noqa: A002
        """One step: h' (LSTMCell: (h', c')); hx None means zeros."""
        return rnn_cell(self.mode, input, hx, (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh))

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """One Elman step (nonlinearity 'tanh' or 'relu')."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity '{nonlinearity}' (expected 'tanh' or 'relu')")
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity


class LSTMCell(RNNCellBase):
    """One LSTM step: forward(input, (h, c)) -> (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("lstm", input_size, hidden_size, bias, device, dtype)


class GRUCell(RNNCellBase):
    """One GRU step: forward(input, h) -> h' (gates r, z, n as in GRU)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("gru", input_size, hidden_size, bias, device, dtype)

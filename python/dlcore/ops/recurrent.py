"""Recurrent layers at array level (forward and backward): the cells ``rnn_tanh_cell``,
``rnn_relu_cell``, ``lstm_cell``, ``gru_cell`` and whole sequences ``rnn``, ``lstm``, ``gru``.

PyTorch's equations and gate order (``torch.nn.LSTM`` and friends):

* RNN:  ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu);
* LSTM: gates ``i, f, g, o`` (rows of ``W_ih``/``W_hh`` in that order), ``c' = f c + i g``,
  ``h' = o tanh(c')``; with ``proj_size`` P > 0, ``h' = (o tanh(c')) W_hr^T`` of width P;
* GRU:  gates ``r, z, n``; ``n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn))`` (the reset gate
  multiplies the hidden projection including its bias), ``h' = (1 - z) n + z h``.

Sequences are time-major ``(T, B, input_size)`` unless ``batch_first`` (then ``(B, T, ...)``);
a 2-D input is one unbatched sequence.  ``weights`` is the flat list of a torch module's
``_flat_weights``: per layer and direction ``w_ih, w_hh[, b_ih, b_hh][, w_hr]`` (layer 0 forward,
layer 0 reverse, layer 1 forward, ...).  ``lengths`` (one per batch row, each in ``[1, T]``, any
order) is the packed-sequence equivalent: steps at or past a row's length neither update its
state nor receive gradient and output zeros, and the reverse direction starts each row at its
own last step, as ``pack_padded_sequence`` / ``pad_packed_sequence`` do.  ``dropout`` (training
only) multiplies every layer's output but the last by a mask from dlcore's seeded generator.

The time loop, the fused gate passes and back-propagation through time run in C++
(csrc/ops/rnn.cpp): per layer and direction, the input projection of all steps is one GEMM, each
step one recurrent GEMM plus one vectorised gate pass, and the weight gradients of all steps one
GEMM each.  Results are bitwise identical for any number of threads.
"""
from __future__ import annotations

import functools
import numbers

import numpy as np

from ._numpy_bridge import as_numpy as _np, result as _out
from ._util import _core, _GradRequired
from .random import dropout_mask

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "rnn_cell_backward",
           "rnn", "lstm", "gru", "rnn_sequence_backward"]

_MODES = {"rnn_tanh": 0, "rnn_relu": 1, "lstm": 2, "gru": 3}
_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def _named(op):
    """Every failure of the op as a clean exception whose message starts with its name: ours
    already do; a NumPy or Python error from an argument of the wrong kind (a string for a weight
    list, a ragged list) is re-raised with the name in front (AttributeError/KeyError as
    TypeError, OverflowError as ValueError)."""
    def deco(fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except _GradRequired:  # the autograd version takes over (see _util.install_autograd)
                raise
            except (ValueError, TypeError, IndexError, MemoryError, RuntimeError) as e:
                if str(e).startswith(op + ":"):
                    raise
                kind = next(k for k in (IndexError, TypeError, ValueError, MemoryError, RuntimeError)
                            if isinstance(e, k))
                raise kind(f"{op}: {e}") from e
            except (AttributeError, KeyError) as e:
                raise TypeError(f"{op}: invalid argument ({type(e).__name__}: {e})") from e
            except (OverflowError, ZeroDivisionError) as e:
                raise ValueError(f"{op}: invalid argument ({type(e).__name__}: {e})") from e
        return wrapped
    return deco


def _arr(x, op, what):
    return None if x is None else _np(x, op)


# ---- cells -----------------------------------------------------------------------------------

def _cell_args(mode, op, x, h, c, w_ih, w_hh, b_ih, b_hh):
    a = _arr(x, op, "input")
    if a.ndim not in (1, 2):
        raise ValueError(f"{op}: expected input of shape (batch, input_size) or (input_size,), got {a.shape}")
    unbatched = a.ndim == 1
    if unbatched:
        a = a[None]
    w_ih, w_hh = _arr(w_ih, op, "weight_ih"), _arr(w_hh, op, "weight_hh")
    if w_ih.ndim != 2 or w_ih.shape[0] % _GATES[mode]:
        raise ValueError(f"{op}: expected weight_ih of shape ({_GATES[mode]} * hidden_size, input_size), "
                         f"got {w_ih.shape}")
    H = w_ih.shape[0] // _GATES[mode]
    h = np.zeros((a.shape[0], H), a.dtype) if h is None else _arr(h, op, "hx")[None] if unbatched else \
        _arr(h, op, "hx")
    if mode == "lstm":
        c = np.zeros((a.shape[0], H), a.dtype) if c is None else _arr(c, op, "cx")[None] if unbatched else \
            _arr(c, op, "cx")
    else:
        c = None
    return a, h, c, w_ih, w_hh, _arr(b_ih, op, "bias_ih"), _arr(b_hh, op, "bias_hh"), unbatched


def _cell(mode, op, x, h, c, w_ih, w_hh, b_ih, b_hh):
    a, h, c, w_ih, w_hh, b_ih, b_hh, unbatched = _cell_args(mode, op, x, h, c, w_ih, w_hh, b_ih, b_hh)
    _, hn, cn, _ws = _core.rnn_layer_forward(_MODES[mode], a[None], h, c, w_ih, w_hh, b_ih, b_hh, None, None,
                                             False, op)
    hn = _core.to_numpy(hn)
    if unbatched:
        hn = hn[0]
    if mode != "lstm":
        return _out(hn, x)
    cn = _core.to_numpy(cn)
    return _out(hn, x), _out(cn[0] if unbatched else cn, x)


@_named("rnn_tanh_cell")
def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002 - torch's names
    """One Elman step ``tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (``torch.rnn_tanh_cell``);
    input (B, I) or (I,), hx (B, H) or None (zeros)."""
    return _cell("rnn_tanh", "rnn_tanh_cell", input, hx, None, w_ih, w_hh, b_ih, b_hh)


@_named("rnn_relu_cell")
def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """One Elman step with ReLU (``torch.rnn_relu_cell``)."""
    return _cell("rnn_relu", "rnn_relu_cell", input, hx, None, w_ih, w_hh, b_ih, b_hh)


@_named("lstm_cell")
def lstm_cell(input, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """One LSTM step (gates i, f, g, o): returns ``(h', c')``; hx/cx (B, H) or None (zeros)."""
    return _cell("lstm", "lstm_cell", input, hx, cx, w_ih, w_hh, b_ih, b_hh)


@_named("gru_cell")
def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """One GRU step (gates r, z, n; the reset gate scales the hidden projection incl. b_hn)."""
    return _cell("gru", "gru_cell", input, hx, None, w_ih, w_hh, b_ih, b_hh)


@_named("rnn_cell_backward")
def rnn_cell_backward(mode, grad_h, grad_c, input, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    """Gradients of one cell step (`mode` 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru') given the
    gradients of h' (and c' for LSTM; None = zeros): ``(d_input, d_hx, d_cx, d_w_ih, d_w_hh, d_b_ih,
    d_b_hh)``, None where not applicable.  The step is recomputed (its activations are small)."""
    op = "rnn_cell_backward"
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {sorted(_MODES)}, got {mode!r}")
    a, h, c, w_ih, w_hh, b_ih, b_hh, unbatched = _cell_args(mode, op, input, hx, cx, w_ih, w_hh, b_ih, b_hh)
    m = _MODES[mode]
    _, _, _, ws = _core.rnn_layer_forward(m, a[None], h, c, w_ih, w_hh, b_ih, b_hh, None, None, False, op)
    gh = None if grad_h is None else _arr(grad_h, op, "grad_h")
    gc = None if grad_c is None or mode != "lstm" else _arr(grad_c, op, "grad_c")
    if unbatched:
        gh = None if gh is None else gh[None]
        gc = None if gc is None else gc[None]
    r = _core.rnn_layer_backward(m, None, gh, gc, a[None], h, c, w_ih, w_hh, b_ih, b_hh, None, None, False, ws, op)
    dx, dh, dc, dwi, dwh, dbi, dbh, _ = (None if t is None else _core.to_numpy(t) for t in r)
    dx = dx[0]
    if unbatched:
        dx, dh, dc = dx[0], dh[0], None if dc is None else dc[0]
    return tuple(None if t is None else _out(t, input) for t in (dx, dh, dc, dwi, dwh, dbi, dbh))


# ---- sequences -------------------------------------------------------------------------------

class _Config:
    """Validated arguments of a sequence call (shapes resolved, everything time-major)."""

    def __init__(self, mode, op, x, h0, c0, weights, num_layers, bidirectional, dropout, batch_first, training,
                 lengths, proj_size):
        if isinstance(num_layers, bool) or not isinstance(num_layers, numbers.Integral) or num_layers < 1:
            raise ValueError(f"{op}: num_layers must be a positive integer, got {num_layers!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{op}: dropout must be a number in [0, 1], got {dropout!r}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, numbers.Integral) or proj_size < 0:
            raise ValueError(f"{op}: proj_size must be a non-negative integer, got {proj_size!r}")
        if proj_size and mode != "lstm":
            raise ValueError(f"{op}: proj_size is only supported for LSTM")
        self.mode, self.op, self.L, self.D = mode, op, int(num_layers), 2 if bidirectional else 1
        self.batch_first, self.dropout, self.training = bool(batch_first), float(dropout), bool(training)
        a = _arr(x, op, "input")
        if a.ndim not in (2, 3):
            raise ValueError(f"{op}: expected input of 2 (unbatched) or 3 dimensions, got shape {a.shape}")
        if a.dtype not in (np.float32, np.float64):
            raise TypeError(f"{op}: expected input of dtype float32 or float64, got {a.dtype}")
        self.unbatched = a.ndim == 2
        if self.unbatched:
            a = a[:, None]
        elif self.batch_first:
            a = a.transpose(1, 0, 2)
        self.x = np.ascontiguousarray(a)
        self.T, self.B, self.I = self.x.shape
        if self.T == 0 or self.B == 0 or self.I == 0:
            raise ValueError(f"{op}: expected a non-empty input, got shape {np.shape(a)}")
        w = [None if t is None else _arr(t, op, "weight") for t in weights]
        per_min = 3 if proj_size else 2
        nld = self.L * self.D
        per = len(w) // nld if nld else 0
        if per * nld != len(w) or per not in (per_min, per_min + 2):
            raise ValueError(f"{op}: expected {per_min} or {per_min + 2} weights per layer and direction "
                             f"({nld} of them), got {len(w)} weights")
        self.bias = per == per_min + 2
        G = _GATES[mode]
        if w[0].ndim != 2 or w[0].shape[0] % G:
            raise ValueError(f"{op}: expected weight_ih_l0 of shape ({G} * hidden_size, input_size), "
                             f"got {w[0].shape}")
        self.H = w[0].shape[0] // G
        self.hs = int(proj_size) or self.H
        if proj_size and proj_size >= self.H:
            raise ValueError(f"{op}: proj_size ({proj_size}) must be smaller than hidden_size ({self.H})")
        if w[0].shape[1] != self.I:
            raise ValueError(f"{op}: input.size(-1) must be equal to input_size: expected {w[0].shape[1]}, "
                             f"got {self.I}")
        self.weights = []
        for k in range(nld):
            p = w[k * per:(k + 1) * per]
            b_ih, b_hh = (p[2], p[3]) if self.bias else (None, None)
            self.weights.append((p[0], p[1], b_ih, b_hh, p[-1] if proj_size else None))
        self.h0 = self._state(h0, "h0", self.hs, a.dtype)
        self.c0 = self._state(c0, "c0", self.H, a.dtype) if mode == "lstm" else None
        self.lengths = None
        if lengths is not None:
            ln = np.asarray(_np(lengths, op))
            if ln.dtype.kind not in "iu" or ln.shape != (self.B,):
                raise ValueError(f"{op}: expected lengths of {self.B} integers (one per batch row), got "
                                 f"{ln.dtype} of shape {ln.shape}")
            if ln.min() < 1 or ln.max() > self.T:
                raise ValueError(f"{op}: lengths must lie in [1, {self.T}] (the sequence length), got "
                                 f"min {ln.min()} and max {ln.max()}")
            self.lengths = np.ascontiguousarray(ln, np.int64)

    def _state(self, s, what, width, dtype):
        want = (self.L * self.D, self.B, width)
        if s is None:
            return np.zeros(want, dtype)
        s = _arr(s, self.op, what)
        if self.unbatched and s.ndim == 2:
            s = s[:, None]
        if s.shape != want:
            shown = (want[0], want[2]) if self.unbatched else want
            raise ValueError(f"{self.op}: expected {what} of shape {shown}, got {s.shape}")
        return s


def _forward(cfg, keep):
    """Runs the stack; returns (output (T, B, D*hs), h_n, c_n, saved or None)."""
    m, layer_in = _MODES[cfg.mode], cfg.x
    h_n = np.empty_like(cfg.h0)
    c_n = None if cfg.c0 is None else np.empty_like(cfg.c0)
    saved = []
    for layer in range(cfg.L):
        ys, per_dir = [], []
        ks = [layer * cfg.D + d for d in range(cfg.D)]
        c0s = [None if cfg.c0 is None else cfg.c0[k] for k in ks]
        if cfg.D == 2:  # both directions in one call: they run concurrently (see rnn.h)
            results = _core.rnn_bidir_layer_forward(m, layer_in, [cfg.h0[k] for k in ks], c0s,
                                                    [cfg.weights[k] for k in ks], cfg.lengths, cfg.op)
        else:
            results = [_core.rnn_layer_forward(m, layer_in, cfg.h0[ks[0]], c0s[0], *cfg.weights[ks[0]], cfg.lengths,
                                               False, cfg.op)]
        for k, (y, hn, cn, ws) in zip(ks, results):
            ys.append(_core.to_numpy(y))
            h_n[k] = _core.to_numpy(hn)
            if cn is not None:
                c_n[k] = _core.to_numpy(cn)
            per_dir.append(ws)
        out = ys[0] if cfg.D == 1 else np.concatenate(ys, axis=2)
        mask = None
        if cfg.training and cfg.dropout > 0 and layer < cfg.L - 1:
            mask = dropout_mask(out.shape, cfg.dropout, str(out.dtype))
            out = out * mask
        if keep:
            saved.append((layer_in, per_dir, mask))
        layer_in = out
    return layer_in, h_n, c_n, saved if keep else None


def _backward(cfg, saved, g_out, g_hn, g_cn):
    """Back-propagation through the stack: (d_input (T, B, I), d_h0, d_c0, [d_weights...])."""
    m, hs = _MODES[cfg.mode], cfg.hs
    d_h0 = np.empty_like(cfg.h0)
    d_c0 = None if cfg.c0 is None else np.empty_like(cfg.c0)
    d_w = [None] * (cfg.L * cfg.D)
    g = g_out
    for layer in reversed(range(cfg.L)):
        layer_in, per_dir, mask = saved[layer]
        if g is not None and mask is not None:
            g = g * mask
        dx = None
        ks = [layer * cfg.D + d for d in range(cfg.D)]
        gys = [None if g is None else np.ascontiguousarray(g[:, :, d * hs:(d + 1) * hs]) for d in range(cfg.D)]
        ghs = [None if g_hn is None else g_hn[k] for k in ks]
        gcs = [None if g_cn is None else g_cn[k] for k in ks]
        c0s = [None if cfg.c0 is None else cfg.c0[k] for k in ks]
        op = cfg.op + "_backward"
        if cfg.D == 2:
            results = _core.rnn_bidir_layer_backward(m, gys, ghs, gcs, layer_in, [cfg.h0[k] for k in ks], c0s,
                                                     [cfg.weights[k] for k in ks], cfg.lengths, per_dir, op)
        else:
            results = [_core.rnn_layer_backward(m, gys[0], ghs[0], gcs[0], layer_in, cfg.h0[ks[0]], c0s[0],
                                                *cfg.weights[ks[0]], cfg.lengths, False, per_dir[0], op)]
        for k, r in zip(ks, results):
            r = [None if t is None else _core.to_numpy(t) for t in r]
            dx = r[0] if dx is None else dx + r[0]
            d_h0[k] = r[1]
            if d_c0 is not None:
                d_c0[k] = r[2]
            d_w[k] = r[3:]
        g = dx
    flat = []
    for (w_ih, w_hh, b_ih, b_hh, w_hr), (dwi, dwh, dbi, dbh, dwr) in zip(cfg.weights, d_w):
        flat += [dwi, dwh] + ([dbi, dbh] if b_ih is not None else []) + ([dwr] if w_hr is not None else [])
    return g, d_h0, d_c0, flat


def _to_user(cfg, out, x):
    """Time-major result -> the caller's layout (batch_first / unbatched) and currency."""
    if cfg.unbatched:
        out = out[:, 0]
    elif cfg.batch_first:
        out = out.transpose(1, 0, 2)
    return _out(out, x)


def _state_out(cfg, s, x):
    return _out(s[:, 0] if cfg.unbatched else s, x)


def _grad_in(cfg, g, what, width):
    """A user-layout gradient (or None) -> time-major / batched NumPy."""
    if g is None:
        return None
    g = _arr(g, cfg.op, what)
    if what == "grad_output":
        if cfg.unbatched:
            g = g[:, None]
        elif cfg.batch_first:
            g = g.transpose(1, 0, 2)
        want = (cfg.T, cfg.B, cfg.D * cfg.hs)
    else:
        if cfg.unbatched:
            g = g[:, None]
        want = (cfg.L * cfg.D, cfg.B, width)
    if g.shape != want:
        raise ValueError(f"{cfg.op}: expected {what} of shape {want} (time-major, batched), got {g.shape}")
    return np.ascontiguousarray(g, cfg.x.dtype)


def _sequence(mode, op, x, h0, c0, weights, num_layers, bidirectional, dropout, batch_first, training, lengths,
              proj_size):
    cfg = _Config(mode, op, x, h0, c0, weights, num_layers, bidirectional, dropout, batch_first, training, lengths,
                  proj_size)
    out, h_n, c_n, _ = _forward(cfg, keep=False)
    res = (_to_user(cfg, out, x), _state_out(cfg, h_n, x))
    return res + ((_state_out(cfg, c_n, x),) if mode == "lstm" else ())


@_named("lstm")
def lstm(input, h0, c0, weights, num_layers=1, bidirectional=False, dropout=0.0, batch_first=False,  # noqa: A002
         training=False, lengths=None, proj_size=0):
    """Multi-layer LSTM over a sequence (``torch.nn.LSTM``'s computation): returns
    ``(output, h_n, c_n)``; h0/c0 ``(num_layers * D, B, proj_size or H)`` / ``(.., H)`` or None."""
    return _sequence("lstm", "lstm", input, h0, c0, weights, num_layers, bidirectional, dropout, batch_first,
                     training, lengths, proj_size)


@_named("gru")
def gru(input, h0, weights, num_layers=1, bidirectional=False, dropout=0.0, batch_first=False,  # noqa: A002
        training=False, lengths=None):
    """Multi-layer GRU over a sequence (``torch.nn.GRU``'s computation): ``(output, h_n)``."""
    return _sequence("gru", "gru", input, h0, None, weights, num_layers, bidirectional, dropout, batch_first,
                     training, lengths, 0)


@_named("rnn")
def rnn(input, h0, weights, num_layers=1, bidirectional=False, dropout=0.0, batch_first=False,  # noqa: A002
        training=False, lengths=None, nonlinearity="tanh"):
    """Multi-layer Elman RNN (``torch.nn.RNN``; nonlinearity 'tanh' or 'relu'): ``(output, h_n)``."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return _sequence("rnn_" + nonlinearity, "rnn", input, h0, None, weights, num_layers, bidirectional, dropout,
                     batch_first, training, lengths, 0)


@_named("rnn_sequence_backward")
def rnn_sequence_backward(mode, grad_output, grad_h_n, grad_c_n, input, h0, c0, weights, num_layers=1,  # noqa: A002
                          bidirectional=False, batch_first=False, lengths=None, proj_size=0):
    """Gradients of ``lstm``/``gru``/``rnn`` (mode 'lstm', 'gru', 'rnn_tanh' or 'rnn_relu', without
    dropout) given the gradients of output, h_n (and c_n; None = zeros): the flat tuple
    ``(d_input, d_h0, d_c0, *d_weights)`` (d_c0 None unless LSTM; d_weights in the order of weights).  The forward pass is recomputed; the autograd layer
    (``dlcore.nn.LSTM`` ...) keeps its activations instead."""
    op = "rnn_sequence_backward"
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {sorted(_MODES)}, got {mode!r}")
    cfg = _Config(mode, op, input, h0, c0, weights, num_layers, bidirectional, 0.0, batch_first, False, lengths,
                  proj_size)
    _, _, _, saved = _forward(cfg, keep=True)
    dx, dh0, dc0, dw = sequence_backward(cfg, saved, grad_output, grad_h_n, grad_c_n, input)
    return (dx, dh0, dc0, *dw)


def sequence_forward(mode, op, x, h0, c0, weights, num_layers, bidirectional, dropout, batch_first, training,
                     lengths, proj_size):
    """For the autograd layer: (cfg, saved, output, h_n, c_n) with activations kept."""
    cfg = _Config(mode, op, x, h0, c0, weights, num_layers, bidirectional, dropout, batch_first, training, lengths,
                  proj_size)
    out, h_n, c_n, saved = _forward(cfg, keep=True)
    return cfg, saved, _to_user(cfg, out, x), _state_out(cfg, h_n, x), \
        None if c_n is None else _state_out(cfg, c_n, x)


def sequence_backward(cfg, saved, grad_output, grad_h_n, grad_c_n, x):
    """For the autograd layer: gradients from saved activations (see rnn_sequence_backward)."""
    go = _grad_in(cfg, grad_output, "grad_output", 0)
    gh = _grad_in(cfg, grad_h_n, "grad_h_n", cfg.hs)
    gc = _grad_in(cfg, grad_c_n, "grad_c_n", cfg.H) if cfg.mode == "lstm" else None
    dx, dh0, dc0, dw = _backward(cfg, saved, go, gh, gc)
    dx = _to_user(cfg, dx, x)
    dh0 = _state_out(cfg, dh0, x)
    dc0 = None if dc0 is None else _state_out(cfg, dc0, x)
    return dx, dh0, dc0, [_out(w, x) for w in dw]

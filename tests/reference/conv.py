"""NumPy references (float64) of the convolutions and pad: the spec of csrc/ops/conv*.cpp and
python/dlcore/ops/padding.py.  Loops over the kernel taps with einsum over the padded input."""
from __future__ import annotations

import numpy as np

_NP_MODE = {"zeros": "constant", "constant": "constant", "reflect": "reflect", "replicate": "edge",
            "circular": "wrap"}


def _t(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


def _explicit(padding, nd, k, d):
    """(before, after) per spatial dim for an int / tuple / 'same' / 'valid' padding."""
    if padding == "valid":
        return [(0, 0)] * nd
    if padding == "same":
        return [(de * (ke - 1) // 2, de * (ke - 1) - de * (ke - 1) // 2) for de, ke in zip(d, k)]
    return [(p, p) for p in _t(padding, nd)]


def pad(x, pad, mode="constant", value=0.0):  # noqa: A002
    """torch.nn.functional.pad via np.pad (negative constant pads crop)."""
    x = np.asarray(x)
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    crop = tuple(slice(max(0, -lo), x.shape[d] - max(0, -hi)) for d, (lo, hi) in enumerate(widths))
    x = x[crop]
    widths = [(max(0, lo), max(0, hi)) for lo, hi in widths]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=_NP_MODE[mode])


def pad_backward(g, input_shape, pad_, mode="constant"):
    """Adjoint of `pad`: each padded position's gradient added to the input element it copied."""
    idx = np.arange(int(np.prod(input_shape)), dtype=np.float64).reshape(input_shape)
    src = pad(idx, pad_, mode, value=-1.0).astype(np.int64)
    out = np.zeros(int(np.prod(input_shape)))
    keep = src >= 0
    np.add.at(out, src[keep], np.asarray(g, np.float64)[keep])
    return out.reshape(input_shape)


def _setup(nd, x, w, stride, padding, dilation, padding_mode):
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = x[None]
    if nd == 1:
        x, w = x[:, :, None], w[:, :, None]
    s, d = _t(stride, nd), _t(dilation, nd)
    lohi = _explicit(padding, nd, w.shape[2 + (nd == 1):], d)
    if nd == 1:
        s, d, lohi = (1,) + s, (1,) + d, [(0, 0)] + lohi
    flat = tuple(v for pr in reversed(lohi) for v in pr)
    return x, w, s, d, flat, unbatched


def _taps(xp, K, kh, kw, s, d, OH, OW):
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(None), slice(None), slice(i * d[0], i * d[0] + s[0] * (OH - 1) + 1, s[0]),
                         slice(j * d[1], j * d[1] + s[1] * (OW - 1) + 1, s[1]))


def _out(y, nd, unbatched):
    if nd == 1:
        y = y[:, :, 0]
    return y[0] if unbatched else y


def conv(nd, x, w, b=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", activation=None):
    """conv1d (nd=1) / conv2d (nd=2) forward."""
    x, w, s, d, flat, unb = _setup(nd, x, w, stride, padding, dilation, padding_mode)
    xp = pad(x, flat, padding_mode if padding_mode != "zeros" else "constant")
    N, C, Hp, Wp = xp.shape
    K, Cg, kh, kw = w.shape
    Kg = K // groups
    OH, OW = (Hp - d[0] * (kh - 1) - 1) // s[0] + 1, (Wp - d[1] * (kw - 1) - 1) // s[1] + 1
    y = np.zeros((N, K, OH, OW))
    for g in range(groups):
        xg, ks = xp[:, g * Cg:(g + 1) * Cg], slice(g * Kg, (g + 1) * Kg)
        for i, j, sl in _taps(xp, K, kh, kw, s, d, OH, OW):
            y[:, ks] += np.einsum("nchw,kc->nkhw", xg[sl], w[ks, :, i, j])
    if b is not None:
        y += np.asarray(b, np.float64)[None, :, None, None]
    if activation == "relu":
        y = np.maximum(y, 0)
    elif activation == "gelu":
        from math import erf
        y = 0.5 * y * (1 + np.vectorize(erf)(y / np.sqrt(2)))
    return _out(y, nd, unb)


def conv_backward(nd, gy, x, w, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """(grad_x, grad_weight, grad_bias) of `conv` without activation."""
    x0shape, w0shape = np.shape(x), np.shape(w)
    x, w, s, d, flat, unb = _setup(nd, x, w, stride, padding, dilation, padding_mode)
    mode = padding_mode if padding_mode != "zeros" else "constant"
    xp = pad(x, flat, mode)
    gy = np.asarray(gy, np.float64)
    if unb:
        gy = gy[None]
    if nd == 1:
        gy = gy[:, :, None]
    N, C, Hp, Wp = xp.shape
    K, Cg, kh, kw = w.shape
    Kg, OH, OW = K // groups, gy.shape[2], gy.shape[3]
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    for g in range(groups):
        cs, ks = slice(g * Cg, (g + 1) * Cg), slice(g * Kg, (g + 1) * Kg)
        for i, j, sl in _taps(xp, K, kh, kw, s, d, OH, OW):
            gxp[:, cs][sl] += np.einsum("nkhw,kc->nchw", gy[:, ks], w[ks, :, i, j])
            gw[ks, :, i, j] += np.einsum("nkhw,nchw->kc", gy[:, ks], xp[:, cs][sl])
    gx = pad_backward(gxp, x.shape, flat, mode).reshape(x0shape)
    return gx, gw.reshape(w0shape), gy.sum(axis=(0, 2, 3))


def conv_transpose(nd, x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """conv_transpose1d / 2d: the adjoint of conv's input (scatter of each tap), cropped by padding."""
    x, w, s, d, flat, unb = _setup(nd, x, w, stride, padding, dilation, "zeros")
    op = _t(output_padding, nd)
    op = (0,) + op if nd == 1 else op
    N, Cin, H, W = x.shape
    _, Cog, kh, kw = w.shape
    Cout, Cig = Cog * groups, Cin // groups
    ph, pw = flat[2], flat[0]
    OH = (H - 1) * s[0] - 2 * ph + d[0] * (kh - 1) + op[0] + 1
    OW = (W - 1) * s[1] - 2 * pw + d[1] * (kw - 1) + op[1] + 1
    yp = np.zeros((N, Cout, OH + 2 * ph, OW + 2 * pw))
    for g in range(groups):
        ci, co = slice(g * Cig, (g + 1) * Cig), slice(g * Cog, (g + 1) * Cog)
        for i, j, sl in _taps(yp, Cin, kh, kw, s, d, H, W):
            yp[:, co][sl] += np.einsum("nchw,co->nohw", x[:, ci], w[ci, :, i, j])
    y = yp[:, :, ph:ph + OH, pw:pw + OW]
    if b is not None:
        y = y + np.asarray(b, np.float64)[None, :, None, None]
    return _out(y, nd, unb)


def conv_transpose_backward(nd, gy, x, w, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """(grad_x, grad_weight, grad_bias) of conv_transpose: grad_x is conv(gy, w); grad_weight the
    conv weight gradient with x and gy exchanged."""
    gx = conv(nd, gy, w, None, stride, padding, dilation, groups)
    # an output_padding >= stride (allowed when < dilation) makes that conv's output longer than x
    gx = gx[(Ellipsis,) + tuple(slice(0, n) for n in np.shape(x)[-nd:])]
    _, gw, _ = conv_backward(nd, x, gy, w, stride, padding, dilation, groups)
    gb = np.asarray(gy, np.float64).sum(axis=tuple(i for i in range(np.ndim(gy)) if i != np.ndim(gy) - nd - 1))
    return gx, gw, gb

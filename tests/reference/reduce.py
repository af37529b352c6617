"""NumPy references for the reduce family: reductions, softmax, cross-entropy, nll_loss.

Written for clarity (float64 math, explicit formulas), following torch semantics where NumPy and
torch differ (NaN is the max, var's `correction`, cross-entropy's weighted mean)."""
import builtins

import numpy as np


def _ax(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))) if ndim else ()


def sum(x, axis=None, keepdims=False):
    x = np.asarray(x)
    dt = np.int64 if x.dtype.kind in "bi" else x.dtype
    return np.sum(x.astype(np.float64) if dt != np.int64 else x, axis=_ax(axis, x.ndim), keepdims=keepdims).astype(dt)


def mean(x, axis=None, keepdims=False):
    n = np.prod([x.shape[a] for a in _ax(axis, x.ndim)], dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.sum(x.astype(np.float64), axis=_ax(axis, x.ndim), keepdims=keepdims) / n).astype(x.dtype)


def var(x, axis=None, correction=1, keepdims=False):
    ax = _ax(axis, x.ndim)
    n = np.prod([x.shape[a] for a in ax], dtype=np.int64)
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.sum(x64, axis=ax, keepdims=True) / n
        return (np.sum((x64 - m) ** 2, axis=ax, keepdims=keepdims) / builtins.max(n - correction, 0)).astype(x.dtype)


def max(x, axis=None, keepdims=False):
    return np.max(x, axis=_ax(axis, x.ndim), keepdims=keepdims)  # NumPy's max propagates NaN too


def min(x, axis=None, keepdims=False):
    return np.min(x, axis=_ax(axis, x.ndim), keepdims=keepdims)


def argmax(x, axis=None, keepdims=False):
    return np.argmax(x, axis=axis, keepdims=keepdims)  # first occurrence; NaN wins, like torch


def argmin(x, axis=None, keepdims=False):
    return np.argmin(x, axis=axis, keepdims=keepdims)


def var_backward(grad, x, axis=None, correction=1, keepdims=False):
    ax = _ax(axis, x.ndim)
    n = np.prod([x.shape[a] for a in ax], dtype=np.int64)
    g = grad if keepdims else np.expand_dims(grad, ax)
    return g * 2 * (x - x.mean(axis=ax, keepdims=True)) / builtins.max(n - correction, 0)


def max_backward(grad, indices, input_shape, axis, keepdims=False):
    g = grad if keepdims else np.expand_dims(grad, axis)
    i = indices if keepdims else np.expand_dims(indices, axis)
    out = np.zeros(input_shape, grad.dtype)
    np.put_along_axis(out, i, g, axis=axis)
    return out


def softmax(x, axis=-1):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    x = x.astype(np.float64)
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def softmax_backward(g, y, axis=-1):
    return y * (g - (g * y).sum(axis=axis, keepdims=True))


def log_softmax_backward(g, y, axis=-1):
    return g - np.exp(y) * g.sum(axis=axis, keepdims=True)


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """torch.nn.functional.cross_entropy, written out per the PyTorch docs."""
    x = np.asarray(logits, np.float64)
    if x.ndim == 1:
        x, target = x[None], np.asarray(target)[None]
    C = x.shape[1]
    logp = log_softmax(x, axis=1)
    w = np.ones(C) if weight is None else np.asarray(weight, np.float64)
    wshape = (1, C) + (1,) * (x.ndim - 2)
    eps = label_smoothing
    if np.asarray(target).dtype.kind == "f":  # class probabilities
        p = np.asarray(target, np.float64) * (1 - eps) + eps / C
        loss = -(logp * p * w.reshape(wshape)).sum(axis=1)
        denom = loss.size
    else:
        t = np.asarray(target)
        keep = t != ignore_index
        tc = np.where(keep, t, 0)
        nll = -np.take_along_axis(logp, tc[:, None], axis=1)[:, 0] * w[tc]
        smooth = -(logp * w.reshape(wshape)).sum(axis=1)
        loss = np.where(keep, (1 - eps) * nll + eps / C * smooth, 0.0)
        denom = (w[tc] * keep).sum()
    if np.asarray(logits).ndim == 1:
        loss = loss[0]
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return loss.sum() / denom


def nll_loss(log_probs, target, weight=None, ignore_index=-100, reduction="mean"):
    x = np.asarray(log_probs, np.float64)
    C = x.shape[1]
    w = np.ones(C) if weight is None else np.asarray(weight, np.float64)
    keep = target != ignore_index
    tc = np.where(keep, target, 0)
    loss = np.where(keep, -np.take_along_axis(x, tc[:, None], axis=1)[:, 0] * w[tc], 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return loss.sum() / (w[tc] * keep).sum()

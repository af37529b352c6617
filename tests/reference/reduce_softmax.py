"""NumPy references for softmax, log_softmax, cross-entropy and nll_loss (reduce_softmax*.cpp).

Written for clarity (float64 math, explicit formulas), following torch semantics (cross-entropy's
weighted mean, label smoothing, ignore_index)."""
import numpy as np


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

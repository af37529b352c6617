"""NumPy references for batch, layer, group and instance norm, forward and backward (norm*.cpp).

Written for clarity in float64 with the textbook formulas: xhat = (x - mean) / sqrt(var + eps)
(biased variance), y = xhat * weight + bias; the input gradient of normalisation over a set of M
values is rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) with dxhat = g * weight.
"""
import warnings

import numpy as np


def _f(a):
    return None if a is None else np.asarray(a, np.float64)


def _norm_over(x, axes, eps):
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):  # empty batches: nan stats, empty output
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    return (x - mean) * rstd, mean, rstd


def _chan(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _affine(xhat, w, b, shape):
    y = xhat
    if w is not None:
        y = y * w.reshape(shape)
    if b is not None:
        y = y + b.reshape(shape)
    return y


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Output only; running statistics are updated in place (NumPy arrays) when training."""
    x = _f(x)
    axes = (0,) + tuple(range(2, x.ndim))
    if training:
        xhat, mean, _ = _norm_over(x, axes, eps)
        if running_mean is not None and x.size:
            m = x.size // x.shape[1]
            var = x.var(axis=axes) * m / (m - 1)
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean.reshape(-1)
            running_var[...] = (1 - momentum) * running_var + momentum * var
    else:
        xhat = (x - _chan(_f(running_mean), x.ndim)) / np.sqrt(_chan(_f(running_var), x.ndim) + eps)
    return _affine(xhat, _f(weight), _f(bias), (1, -1) + (1,) * (x.ndim - 2))


def _norm_backward(g, x, axes, eps_or_stats, w, wshape, param_axes):
    """Gradients (x, w, b) of y = affine(normalise(x over axes)) with dxhat = g * w."""
    xhat, _, rstd = _norm_over(x, axes, eps_or_stats)
    dxhat = g if w is None else g * w.reshape(wshape)
    gx = rstd * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                 - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))
    return gx, (g * xhat).sum(axis=param_axes), g.sum(axis=param_axes)


def batch_norm_backward(g, x, weight=None, training=True, running_mean=None, running_var=None, eps=1e-5):
    g, x, w = _f(g), _f(x), _f(weight)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        return _norm_backward(g, x, axes, eps, w, shape, axes)
    rstd = 1.0 / np.sqrt(_chan(_f(running_var), x.ndim) + eps)
    xhat = (x - _chan(_f(running_mean), x.ndim)) * rstd
    gx = g * rstd * (1.0 if w is None else w.reshape(shape))
    return gx, (g * xhat).sum(axis=axes), g.sum(axis=axes)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    x = _f(x)
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    xhat, _, _ = _norm_over(x, tuple(range(x.ndim - k, x.ndim)), eps)
    return _affine(xhat, _f(weight), _f(bias), x.shape[x.ndim - k:])


def layer_norm_backward(g, x, normalized_shape, weight=None, eps=1e-5):
    g, x = _f(g), _f(x)
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    return _norm_backward(g, x, axes, eps, _f(weight), x.shape[x.ndim - k:], tuple(range(x.ndim - k)))


def _grouped(x, groups):
    return x.reshape((x.shape[0], groups, int(np.prod(x.shape[1:])) // groups))


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    x = _f(x)
    xhat, _, _ = _norm_over(_grouped(x, num_groups), (2,), eps)
    return _affine(xhat.reshape(x.shape), _f(weight), _f(bias), (1, -1) + (1,) * (x.ndim - 2))


def group_norm_backward(g, x, num_groups, weight=None, eps=1e-5):
    g, x, w = _f(g), _f(x), _f(weight)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    xhat, _, rstd = _norm_over(_grouped(x, num_groups), (2,), eps)
    xhat = xhat.reshape(x.shape)
    dxhat = _grouped(g if w is None else g * w.reshape(shape), num_groups)
    xh = _grouped(xhat, num_groups)
    gx = rstd * (dxhat - dxhat.mean(axis=2, keepdims=True) - xh * (dxhat * xh).mean(axis=2, keepdims=True))
    axes = (0,) + tuple(range(2, x.ndim))
    return gx.reshape(x.shape), (g * xhat).sum(axis=axes), g.sum(axis=axes)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Output only; with input statistics, running stats (NumPy arrays) take the batch mean of the
    per-instance mean and unbiased variance."""
    x = _f(x)
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    axes = tuple(range(2, x.ndim))
    if running_mean is not None and x.shape[0]:
        s = int(np.prod(x.shape[2:]))
        running_mean[...] = (1 - momentum) * running_mean + momentum * x.mean(axis=axes).mean(axis=0)
        running_var[...] = (1 - momentum) * running_var + momentum * (x.var(axis=axes) * s / (s - 1)).mean(axis=0)
    xhat, _, _ = _norm_over(x, axes, eps)
    return _affine(xhat, _f(weight), _f(bias), (1, -1) + (1,) * (x.ndim - 2))


def instance_norm_backward(g, x, weight=None, eps=1e-5):
    """Gradients with input statistics: group norm with one channel per group."""
    return group_norm_backward(g, x, np.asarray(x).shape[1], weight, eps)

"""Reductions, softmax and cross-entropy (array level, forward and backward).

NumPy / PyTorch semantics:

* ``axis`` is ``None`` (every axis), an int or a tuple of ints; negative axes count from the end;
  a repeated axis raises ValueError; ``axis=()`` reduces nothing (NumPy's convention).
* ``sum`` of int64/bool input returns int64; ``mean``/``var`` need float32/float64.
* Empty reductions: ``sum`` -> 0, ``mean``/``var`` -> nan, ``max``/``min``/``arg*`` over an
  empty axis raise ValueError.
* ``max``/``min``/``argmax``/``argmin`` propagate NaN like torch: NaN counts as the maximum (and
  the minimum); ties resolve to the first index.
* ``var(x, axis, correction=1)`` divides by ``max(N - correction, 0)`` (torch's default
  ``correction=1``, the unbiased estimator; NumPy's ``ddof`` is the same number).  Only
  ``correction`` is accepted, so there is one spelling.

Every result is bitwise identical for any number of threads: long reductions are cut into chunks
whose size depends only on the problem size, and partials are combined in a fixed order.
"""
from __future__ import annotations

import builtins

from ._util import _core, as_float, as_int, as_tuple, unwrap, wrap

__all__ = [
    "sum", "mean", "var", "max", "min", "argmax", "argmin",
    "max_with_indices", "min_with_indices",
    "sum_backward", "mean_backward", "var_backward", "max_backward", "min_backward",
    "softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
    "cross_entropy", "cross_entropy_backward", "nll_loss", "nll_loss_backward",
]


def _axis(axis):
    return builtins.tuple(axis) if isinstance(axis, builtins.list) else axis


def sum(x, axis=None, keepdims=False):
    """Sum over `axis` (``np.sum`` / ``torch.sum``); int64 for integer and bool input."""
    return wrap(_core.sum(unwrap(x), _axis(axis), keepdims), x)


def mean(x, axis=None, keepdims=False):
    """Mean over `axis` (float input only); nan for an empty reduction."""
    return wrap(_core.mean(unwrap(x), _axis(axis), keepdims), x)


def var(x, axis=None, correction=1, keepdims=False):
    """Variance over `axis`, dividing by ``max(N - correction, 0)`` (``torch.var``)."""
    return wrap(_core.var(unwrap(x), _axis(axis), as_float(correction, "var", "correction"), keepdims), x)


def max(x, axis=None, keepdims=False):
    """Maximum values over `axis` (``np.max`` / ``torch.amax``); NaN propagates."""
    return wrap(_core.max(unwrap(x), _axis(axis), keepdims), x)


def min(x, axis=None, keepdims=False):
    """Minimum values over `axis` (``np.min`` / ``torch.amin``); NaN propagates."""
    return wrap(_core.min(unwrap(x), _axis(axis), keepdims), x)


def argmax(x, axis=None, keepdims=False):
    """int64 index of the first maximum along one axis, or into the flattened array (axis=None)."""
    return wrap(_core.argmax(unwrap(x), axis, keepdims), x)


def argmin(x, axis=None, keepdims=False):
    """int64 index of the first minimum along one axis, or into the flattened array (axis=None)."""
    return wrap(_core.argmin(unwrap(x), axis, keepdims), x)


def max_with_indices(x, axis, keepdims=False):
    """``torch.max(x, dim)``: (values, int64 indices) of the first maximum along `axis`."""
    return wrap(_core.max_with_indices(unwrap(x), axis, keepdims, False), x)


def min_with_indices(x, axis, keepdims=False):
    """``torch.min(x, dim)``: (values, int64 indices) of the first minimum along `axis`."""
    return wrap(_core.max_with_indices(unwrap(x), axis, keepdims, True), x)


def sum_backward(grad, input_shape, axis=None, keepdims=False):
    """Gradient of ``sum``: `grad` broadcast back to `input_shape` (a new contiguous array)."""
    return wrap(_core.sum_backward(unwrap(grad), as_tuple(input_shape, "sum_backward", "input_shape"),
                                  _axis(axis), keepdims, False), grad)


def mean_backward(grad, input_shape, axis=None, keepdims=False):
    """Gradient of ``mean``: `grad` / N broadcast back to `input_shape`."""
    return wrap(_core.sum_backward(unwrap(grad), as_tuple(input_shape, "mean_backward", "input_shape"),
                                  _axis(axis), keepdims, True), grad)


def var_backward(grad, x, axis=None, correction=1, keepdims=False):
    """Gradient of ``var``: ``grad * 2 (x - mean) / (N - correction)``."""
    return wrap(_core.var_backward(unwrap(grad), unwrap(x), _axis(axis),
                                  as_float(correction, "var_backward", "correction"), keepdims), grad, x)


def max_backward(grad, indices, input_shape, axis, keepdims=False):
    """Gradient of ``max_with_indices`` (torch's ``max(dim)``): `grad` goes to the returned index
    along `axis`, zero elsewhere."""
    return _index_backward("max_backward", grad, indices, input_shape, axis, keepdims, False)


def min_backward(grad, indices, input_shape, axis, keepdims=False):
    """Gradient of ``min_with_indices`` (torch's ``min(dim)``): `grad` goes to the returned index
    along `axis`, zero elsewhere (the same scatter as ``max_backward``, errors naming min_backward)."""
    return _index_backward("min_backward", grad, indices, input_shape, axis, keepdims, True)


def _index_backward(op, grad, indices, input_shape, axis, keepdims, is_min):
    return wrap(_core.max_backward(unwrap(grad), unwrap(indices), as_tuple(input_shape, op, "input_shape"), axis,
                                   keepdims, is_min), grad)


def softmax(x, axis=-1):
    """``torch.softmax(x, dim=axis)``: exp(x - max) / sum, fused and numerically stable."""
    return wrap(_core.softmax(unwrap(x), axis, False), x)


def log_softmax(x, axis=-1):
    """``torch.log_softmax(x, dim=axis)``: x - max - log(sum(exp(x - max)))."""
    return wrap(_core.softmax(unwrap(x), axis, True), x)


def softmax_backward(grad_out, out, axis=-1):
    """Gradient of softmax from its output: ``out * (grad - sum(grad * out, axis))``."""
    return wrap(_core.softmax_backward(unwrap(grad_out), unwrap(out), axis, False), grad_out, out)


def log_softmax_backward(grad_out, out, axis=-1):
    """Gradient of log_softmax from its output: ``grad - exp(out) * sum(grad, axis)``."""
    return wrap(_core.softmax_backward(unwrap(grad_out), unwrap(out), axis, True), grad_out, out)


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """``torch.nn.functional.cross_entropy``, fused with log_softmax.

    logits: (N, C), (N, C, d1, ...) or unbatched (C,).  target: int64 class indices of shape
    (N, d1, ...) (() when unbatched), or class probabilities with the logits' shape and dtype.
    ``reduction='mean'`` divides by the summed weight of the non-ignored targets (nan when all are
    ignored), or by N*d1*... for probability targets.  Label smoothing mixes the target with the
    uniform distribution: ``(1 - eps) * onehot + eps / C``.  Returns a 0-d array for 'mean'/'sum'
    and the per-element loss for 'none'.
    """
    return wrap(_core.cross_entropy(unwrap(logits), unwrap(target), unwrap(weight),
                                    as_int(ignore_index, "cross_entropy", "ignore_index"), reduction,
                                    as_float(label_smoothing, "cross_entropy", "label_smoothing")), logits, target)


def cross_entropy_backward(grad_loss, logits, target, weight=None, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0):
    """Gradient of ``cross_entropy`` w.r.t. the logits: ``g * (softmax(x) * sum(a) - a)`` with ``a``
    the (weighted, smoothed) target distribution; `grad_loss` has the loss's shape."""
    return wrap(_core.cross_entropy_backward(unwrap(grad_loss), unwrap(logits), unwrap(target), unwrap(weight),
                                             as_int(ignore_index, "cross_entropy_backward", "ignore_index"),
                                             reduction, as_float(label_smoothing, "cross_entropy_backward", "label_smoothing")),
                grad_loss, logits, target)


def nll_loss(log_probs, target, weight=None, ignore_index=-100, reduction="mean"):
    """``torch.nn.functional.nll_loss``: ``-weight[t] * log_probs[n, t]`` with the same reductions as
    cross_entropy."""
    return wrap(_core.nll_loss(unwrap(log_probs), unwrap(target), unwrap(weight),
                               as_int(ignore_index, "nll_loss", "ignore_index"), reduction), log_probs, target)


def nll_loss_backward(grad_loss, log_probs, target, weight=None, ignore_index=-100, reduction="mean"):
    """Gradient of ``nll_loss`` w.r.t. log_probs."""
    return wrap(_core.nll_loss_backward(unwrap(grad_loss), unwrap(log_probs), unwrap(target), unwrap(weight),
                                        as_int(ignore_index, "nll_loss_backward", "ignore_index"), reduction),
                grad_loss, log_probs, target)

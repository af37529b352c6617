"""Normalisation layers (array level, forward and backward): batch, layer, group and instance norm.

PyTorch semantics (``torch.nn.functional``'s names, arguments and defaults), NCHW layout:

* ``batch_norm`` normalises each channel of an (N, C), (N, C, L) or (N, C, H, W) input over
  everything but the channel axis.  Training uses the batch statistics and, when running stats are
  given, updates them in place: ``running = (1 - momentum) * running + momentum * batch`` with the
  unbiased batch variance.  Evaluation uses the running statistics.
* ``layer_norm`` normalises over the trailing ``normalized_shape`` dims (weight and bias of that
  shape, elementwise); ``group_norm`` over groups of ``C / num_groups`` channels (per-channel
  weight and bias); ``instance_norm`` over the spatial dims of each (sample, channel).

Each forward returns the normalised output, or with ``return_stats=True`` the tuple
``(y, mean, rstd)`` of the statistics it used (``rstd = 1 / sqrt(var + eps)``), which the matching
``*_backward`` takes (torch's ``native_*_norm`` pair).  A backward returns ``(grad_input,
grad_weight, grad_bias)`` with None for the entries ``output_mask`` turns off.

Every result is bitwise identical for any number of threads: each statistic is summed in a fixed
order (per channel, per row, or per fixed chunk of rows combined in chunk order).
"""
from __future__ import annotations

import numbers

from ._util import _core, as_bool, as_float, as_int, as_ints, unwrap, wrap

__all__ = [
    "batch_norm", "batch_norm_backward", "layer_norm", "layer_norm_backward", "group_norm", "group_norm_backward",
    "instance_norm", "instance_norm_backward",
]

_ALL = (True, True, True)


def _mask(output_mask, op):
    m = tuple(as_bool(v, op, "output_mask") for v in output_mask)
    if len(m) != 3:
        raise ValueError(f"{op}: expected output_mask of 3 bools (input, weight, bias), got {len(m)}")
    return [int(v) for v in m]


def _shape(normalized_shape, op):
    if isinstance(normalized_shape, numbers.Integral):
        return (as_int(normalized_shape, op, "normalized_shape"),)
    return as_ints(normalized_shape, op, "normalized_shape")


def _out(result, return_stats, *inputs):
    y, mean, rstd = result
    return wrap((y, mean, rstd), *inputs) if return_stats else wrap(y, *inputs)


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5, return_stats=False):
    """``torch.nn.functional.batch_norm`` on (N, C, *) input; in training, running_mean/var (if
    given) are updated in place.  ``return_stats``: also the (C,) mean and rstd used."""
    op = "batch_norm"
    r = _core.batch_norm(unwrap(x), unwrap(running_mean), unwrap(running_var), unwrap(weight), unwrap(bias),
                         as_bool(training, op, "training"), as_float(momentum, op, "momentum"),
                         as_float(eps, op, "eps"))
    return _out(r, return_stats, x)


def batch_norm_backward(grad, x, weight, mean, rstd, training=True, output_mask=_ALL):
    """Gradients of ``batch_norm`` from its saved (C,) mean and rstd: in training grad_input
    includes the batch statistics' dependence on x; in evaluation they are constants."""
    op = "batch_norm_backward"
    return wrap(_core.batch_norm_backward(unwrap(grad), unwrap(x), unwrap(weight), unwrap(mean), unwrap(rstd),
                                          as_bool(training, op, "training"), _mask(output_mask, op)), grad, x)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5, return_stats=False):
    """``torch.nn.functional.layer_norm``: statistics over the trailing ``normalized_shape`` dims
    (fused with the elementwise affine, one read of each row).  ``return_stats``: also the mean and
    rstd, of shape ``x.shape[:-len(normalized_shape)]``."""
    op = "layer_norm"
    r = _core.layer_norm(unwrap(x), _shape(normalized_shape, op), unwrap(weight), unwrap(bias),
                         as_float(eps, op, "eps"))
    return _out(r, return_stats, x)


def layer_norm_backward(grad, x, normalized_shape, mean, rstd, weight=None, output_mask=_ALL):
    """Gradients of ``layer_norm`` (input, weight, bias) in one sweep over the rows."""
    op = "layer_norm_backward"
    return wrap(_core.layer_norm_backward(unwrap(grad), unwrap(x), _shape(normalized_shape, op), unwrap(mean),
                                          unwrap(rstd), unwrap(weight), _mask(output_mask, op)), grad, x)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5, return_stats=False):
    """``torch.nn.functional.group_norm`` on (N, C, *) input, C divisible by num_groups.
    ``return_stats``: also the (N, num_groups) mean and rstd."""
    op = "group_norm"
    r = _core.group_norm(unwrap(x), as_int(num_groups, op, "num_groups"), unwrap(weight), unwrap(bias),
                         as_float(eps, op, "eps"))
    return _out(r, return_stats, x)


def group_norm_backward(grad, x, num_groups, mean, rstd, weight=None, output_mask=_ALL):
    """Gradients of ``group_norm`` from its saved (N, num_groups) mean and rstd."""
    op = "group_norm_backward"
    return wrap(_core.group_norm_backward(unwrap(grad), unwrap(x), as_int(num_groups, op, "num_groups"),
                                          unwrap(mean), unwrap(rstd), unwrap(weight), _mask(output_mask, op)), grad, x)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5, return_stats=False):
    """``torch.nn.functional.instance_norm`` on (N, C, *) input: per-(sample, channel) statistics
    (which, averaged over the batch, update running stats in place when given), or the running
    statistics with ``use_input_stats=False``.  ``return_stats``: also the mean and rstd used,
    (N, C) or (C,)."""
    op = "instance_norm"
    r = _core.instance_norm(unwrap(x), unwrap(running_mean), unwrap(running_var), unwrap(weight), unwrap(bias),
                            as_bool(use_input_stats, op, "use_input_stats"), as_float(momentum, op, "momentum"),
                            as_float(eps, op, "eps"))
    return _out(r, return_stats, x)


def instance_norm_backward(grad, x, weight, mean, rstd, use_input_stats=True, output_mask=_ALL):
    """Gradients of ``instance_norm`` from the mean and rstd it returned ((N, C) with input
    statistics, (C,) with running statistics)."""
    op = "instance_norm_backward"
    return wrap(_core.instance_norm_backward(unwrap(grad), unwrap(x), unwrap(weight), unwrap(mean), unwrap(rstd),
                                             as_bool(use_input_stats, op, "use_input_stats"), _mask(output_mask, op)),
                grad, x)

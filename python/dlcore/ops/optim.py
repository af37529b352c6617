"""Fused optimizer steps (array level): one call updates a whole list of parameters in place.

These are the kernels behind ``dlcore.optim``, usable on their own like torch's functional
``torch.optim.sgd / adam / rmsprop``: parameters and state buffers are float32 or float64 arrays
(NumPy, dlcore Tensors, DLPack), contiguous and writable, updated in place; gradients have the
parameters' shapes and dtypes (any strides).  One C++ kernel updates every tensor of the list,
with the GIL released, split into fixed-size chunks: the results are bitwise identical for every
thread count and CPU instruction set.

The arithmetic is torch.optim's single-tensor (``foreach=False``) code operation by operation,
with hyper-parameters converted to the tensor's dtype as ATen does: float64 trajectories agree
with PyTorch to rounding (PyTorch's vector loops may fuse multiply-adds; dlcore never does).

Bad input (lists of different lengths, shape or dtype mismatches, strided or read-only buffers,
buffers that overlap) raises ValueError / TypeError with a message starting with the op's name.
"""
from __future__ import annotations

from ._util import _core, as_float, unwrap, wrap

__all__ = ["sgd_step", "adam_step", "rmsprop_step"]


def _as_list(x, op, name):
    if not isinstance(x, (list, tuple)):
        raise TypeError(f"{op}: expected {name} to be a list of arrays, got {type(x).__name__}")
    return x


def _floats(op, **values):
    """The hyper-parameters as floats, in order, or TypeError naming the op and the argument."""
    return [as_float(v, op, k) for k, v in values.items()]


def _impls(xs):
    """The TensorImpls of a list's dlcore Tensors; anything but a list goes to the binding as is
    (which refuses it with the op's name)."""
    return [unwrap(x) for x in xs] if isinstance(xs, (list, tuple)) else xs


def sgd_step(params, grads, momentum_buffers=None, *, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False):
    """One SGD step over `params` in place (torch.optim.SGD's update).

    With ``momentum != 0``, `momentum_buffers` is a list with one entry per parameter: the running
    buffer (updated in place), or None for a parameter without one yet.  Such a buffer is created
    (of the parameter's kind: Tensor, NumPy array) and stored into the list; on this first step it
    becomes the (weight-decayed) gradient, as in torch.  Nesterov needs ``momentum > 0`` and
    ``dampening == 0`` (checked by ``dlcore.optim.SGD``, not here).
    """
    op = "sgd_step"
    params = _as_list(params, op, "params")
    momentum = as_float(momentum, op, "momentum")  # before the comparisons below
    fresh = []
    if momentum != 0:
        if momentum_buffers is None:
            raise ValueError(f"{op}: momentum != 0 needs momentum_buffers (one entry per parameter, None for "
                             "a parameter that has no buffer yet)")
        if not isinstance(momentum_buffers, list):
            raise TypeError(f"{op}: expected momentum_buffers to be a list (new buffers are stored into it), "
                            f"got {type(momentum_buffers).__name__}")
        for i, buf in enumerate(momentum_buffers):
            fresh.append(buf is None)
            if buf is None and i < len(params):  # a length mismatch is reported by the kernel
                ref = _core.as_tensor(unwrap(params[i]))
                momentum_buffers[i] = wrap(_core.empty(ref.shape, ref.dtype), params[i])
    _core.sgd_step(_impls(params), _impls(grads), _impls(momentum_buffers) if momentum != 0 else None, fresh,
                   *_floats(op, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay),
                   bool(nesterov), bool(maximize))


def adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs=None, *, steps, lr=1e-3, beta1=0.9,
              beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
              decoupled_weight_decay=False):
    """One Adam step over `params` in place (torch.optim.Adam's update; AdamW's with
    ``decoupled_weight_decay=True``).

    `exp_avgs`, `exp_avg_sqs` (and, with amsgrad, `max_exp_avg_sqs`) are the moment buffers, zeros
    before the first step.  `steps` is the step being taken, counted from 1 (torch's
    ``state["step"]`` after its increment): one number for every parameter, or one per parameter.
    """
    op = "adam_step"
    params = _as_list(params, op, "params")
    if isinstance(steps, (list, tuple)):
        steps = [as_float(s, op, "steps") for s in steps]
    else:
        steps = [as_float(steps, op, "steps")] * len(params)
    if amsgrad and max_exp_avg_sqs is None:
        raise ValueError(f"{op}: amsgrad=True needs max_exp_avg_sqs (zeros before the first step)")
    _core.adam_step(_impls(params), _impls(grads), _impls(exp_avgs), _impls(exp_avg_sqs),
                    _impls(max_exp_avg_sqs) if amsgrad else None, steps,
                    *_floats(op, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay), bool(amsgrad), bool(maximize), bool(decoupled_weight_decay))


def rmsprop_step(params, grads, square_avgs, momentum_buffers=None, grad_avgs=None, *, lr=1e-2, alpha=0.99,
                 eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    """One RMSprop step over `params` in place (torch.optim.RMSprop's update).

    `square_avgs` (and `momentum_buffers` with ``momentum > 0``, `grad_avgs` with ``centered``) are
    the state buffers, zeros before the first step.
    """
    op = "rmsprop_step"
    params = _as_list(params, op, "params")
    momentum = as_float(momentum, op, "momentum")  # before the comparisons below
    if momentum > 0 and momentum_buffers is None:
        raise ValueError(f"{op}: momentum > 0 needs momentum_buffers (zeros before the first step)")
    if centered and grad_avgs is None:
        raise ValueError(f"{op}: centered=True needs grad_avgs (zeros before the first step)")
    _core.rmsprop_step(_impls(params), _impls(grads), _impls(square_avgs),
                       _impls(momentum_buffers) if momentum > 0 else None, _impls(grad_avgs) if centered else None,
                       *_floats(op, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum),
                       bool(centered),
                       bool(maximize))

"""Finite-difference gradient checks in float64 (like torch.autograd.gradcheck)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .grad_mode import no_grad


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, tuple) else (out,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compares the analytical Jacobian (backward with one-hot output gradients) of fn at inputs
    with central differences.  Inputs that require grad must be float64 Tensors.  Returns True,
    or raises (or returns False) naming the first mismatching input and output elements."""
    inputs = tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; gradcheck needs float64 for accuracy")
    outs = _outputs(fn, inputs)
    for k, out in enumerate(outs):
        if not isinstance(out, Tensor) or not out.requires_grad:
            continue
        n_out = out.numel()
        for i in diff:
            x = inputs[i]
            # Analytical: one backward per output element.
            analytical = np.zeros((x.numel(), n_out))
            for j in range(n_out):
                for t in inputs:
                    if isinstance(t, Tensor):
                        t.grad = None
                onehot = np.zeros(out.shape, np.float64).reshape(-1)
                onehot[j] = 1.0
                o = _outputs(fn, inputs)[k]
                o.backward(Tensor(_impl_of(onehot.reshape(out.shape))))
                if x.grad is not None:
                    analytical[:, j] = np.asarray(x.grad.numpy(), np.float64).reshape(-1)
            # Numerical: central differences, writing through the input's memory.
            numerical = np.zeros_like(analytical)
            flat = x.numpy().reshape(-1) if x.is_contiguous() else None
            if flat is None:
                raise ValueError("gradcheck: inputs must be contiguous")
            with no_grad():
                for p in range(x.numel()):
                    old = flat[p]
                    flat[p] = old + eps
                    plus = np.asarray(_outputs(fn, inputs)[k].numpy(), np.float64).reshape(-1).copy()
                    flat[p] = old - eps
                    minus = np.asarray(_outputs(fn, inputs)[k].numpy(), np.float64).reshape(-1).copy()
                    flat[p] = old
                    numerical[p] = (plus - minus) / (2 * eps)
            bad = ~np.isclose(analytical, numerical, atol=atol, rtol=rtol)
            if bad.any():
                p, j = map(int, np.argwhere(bad)[0])
                msg = (f"gradcheck: Jacobian mismatch for output {k} with respect to input {i}: at input "
                       f"element {p}, output element {j}, analytical {analytical[p, j]!r} vs numerical "
                       f"{numerical[p, j]!r}")
                if raise_exception:
                    raise AssertionError(msg)
                return False
    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    return True


def _impl_of(a):
    from .. import _core

    return _core.as_tensor(np.array(a, order="C", copy=True))

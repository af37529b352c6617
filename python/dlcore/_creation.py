"""Tensor factories with torch's signatures that are not in _tensor.py or _random.py:
the ``*_like`` family, ``linspace`` and ``eye``."""
from __future__ import annotations

import numbers

import numpy as np

from . import _core
from ._dtype import as_dtype, device as _device
from ._tensor import Tensor, empty, full, zeros

__all__ = ["zeros_like", "ones_like", "full_like", "empty_like", "linspace", "eye"]


def _like(input, dtype, device, op):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a dlcore.Tensor as input, got {type(input).__name__}")
    return (input.shape, input.dtype if dtype is None else as_dtype(dtype),
            input.device if device is None else _device(device))


def zeros_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """``torch.zeros_like``: zeros with `input`'s shape, and its dtype and device unless given.
    TypeError when `input` is not a Tensor; RuntimeError for requires_grad on a non-float dtype."""
    shape, d, dev = _like(input, dtype, device, "zeros_like")
    return zeros(shape, dtype=d, device=dev, requires_grad=requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """``torch.ones_like``: ones with `input`'s shape, dtype and device (see :func:`zeros_like`)."""
    shape, d, dev = _like(input, dtype, device, "ones_like")
    return full(shape, 1, dtype=d, device=dev, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """``torch.full_like``: `fill_value` everywhere, with `input`'s shape, and its dtype and device
    unless given (so ``full_like(int_tensor, 2.7)`` holds 2, as in torch)."""
    shape, d, dev = _like(input, dtype, device, "full_like")
    if d.kind in "iu" and isinstance(fill_value, numbers.Real):
        fill_value = int(fill_value)  # truncates toward zero like torch's cast
    return full(shape, fill_value, dtype=d, device=dev, requires_grad=requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """``torch.empty_like``: uninitialised memory with `input`'s shape, dtype and device."""
    shape, d, dev = _like(input, dtype, device, "empty_like")
    return empty(shape, dtype=d, device=dev, requires_grad=requires_grad)


def linspace(start, end, steps, *, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """``torch.linspace``: `steps` evenly spaced values from `start` to `end` inclusive (float32
    unless `dtype` says otherwise).  Like torch, the first half counts up from `start` and the
    second half down from `end`, so both ends are exact.  TypeError for a non-integer `steps`,
    ValueError for a negative one."""
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool):
        raise TypeError(f"linspace: steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    ends = []
    for name, v in (("start", start), ("end", end)):
        v = v.item() if isinstance(v, Tensor) else v
        if not isinstance(v, numbers.Real):
            raise TypeError(f"linspace: {name} must be a real number, got {type(v).__name__}")
        ends.append(float(v))
    start, end = ends
    d = as_dtype(dtype) or np.dtype(np.float32)
    # torch computes in the result's float type (float64 for integer results), as here.
    ct = d.type if d.kind == "f" else np.float64
    lo, hi = ct(start), ct(end)
    i = np.arange(steps, dtype=ct)
    step = (hi - lo) / ct(steps - 1) if steps > 1 else ct(0)
    vals = np.where(i < steps // 2, lo + i * step, hi - (ct(steps - 1) - i) * step) if steps > 1 else \
        np.full(steps, lo, dtype=ct)
    if d.kind in "iu":
        vals = np.trunc(vals)
    t = Tensor(_core.as_tensor(np.ascontiguousarray(vals.astype(d))))
    return t.to(device).requires_grad_(requires_grad)


def eye(n, m=None, *, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """``torch.eye``: an (n, m) matrix (m defaults to n) with ones on the diagonal (float32
    unless `dtype` says otherwise).  TypeError for non-integer sizes, ValueError for negative."""
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"eye: {name} must be an int, got {type(v).__name__}")
        if v < 0:
            raise ValueError(f"eye: {name} must be greater or equal to 0, got {v}")
    d = as_dtype(dtype) or np.dtype(np.float32)
    t = Tensor(_core.as_tensor(np.eye(int(n), int(m), dtype=d)))
    return t.to(device).requires_grad_(requires_grad)

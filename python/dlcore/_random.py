"""The global random generator and the tensor factories that draw from it (PyTorch names).

dlcore has one global counter-based generator (Philox4x32-10): its whole state is
``(seed, offset)``, so saving and restoring it is cheap and exact::

    dlcore.manual_seed(0)
    state = dlcore.get_rng_state()      # (0, 0)
    a = dlcore.rand(3)
    dlcore.set_rng_state(state)
    assert (dlcore.rand(3).numpy() == a.numpy()).all()

Results are bitwise identical for every thread count and CPU instruction set.  A fresh process
starts from a fixed seed (PyTorch's default, 67280421310721) rather than a random one, so an
unseeded run is reproducible too; call ``dlcore.seed()`` for a nondeterministic seed.
Tensors for a CUDA device are drawn on the CPU and copied, so they equal their CPU counterparts.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import _core
from ._dtype import as_dtype, device as _device
from ._tensor import Tensor

__all__ = [
    "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
    "rand", "randn", "randint", "randperm", "bernoulli", "rand_like", "randn_like",
]


def manual_seed(seed: int) -> None:
    """Seed the global generator and rewind it to the start of its stream.  Any int is accepted;
    it is taken modulo 2**64 (so ``-1`` means ``2**64 - 1``)."""
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: expected an int, got {type(seed).__name__}")
    _core.manual_seed(int(seed))


def seed() -> int:
    """Seed the global generator from the OS entropy source; returns the seed chosen."""
    return _core.seed()


def initial_seed() -> int:
    """The seed the global generator was last seeded with."""
    return _core.initial_seed()


def get_rng_state() -> tuple:
    """The generator's state: ``(seed, offset)``, offset in 128-bit counter blocks consumed."""
    return tuple(_core.get_rng_state())


def set_rng_state(state) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    try:
        seed_, offset = state
    except (TypeError, ValueError):
        raise ValueError(f"set_rng_state: expected a (seed, offset) pair, got {state!r}") from None
    _core.set_rng_state((seed_, offset))


def _size(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(f"{op}: size entries must be integers, got {type(s).__name__}")
    return tuple(int(s) for s in size)


def _float_dtype(dtype, op):
    d = as_dtype(dtype) if dtype is not None else np.dtype(np.float32)
    if d not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{op}: expected a floating dtype (float32 or float64), got {d}")
    return str(d)


def _finish(impl, device, dtype=None, requires_grad=False):
    t = Tensor(impl)
    dev = _device(device)
    if dtype is not None:
        t = t.to(dtype=dtype)
    t = t if dev.type == "cpu" else t.to(dev)
    return t.requires_grad_(True) if requires_grad else t


def rand(*size, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """Uniform samples on [0, 1) (``torch.rand``); float32 unless `dtype` (float32/float64) says
    otherwise; a leaf that requires grad when `requires_grad`.  TypeError for another dtype."""
    return _finish(_core.uniform(_size(size, "rand"), 0.0, 1.0, _float_dtype(dtype, "rand")), device,
                   requires_grad=requires_grad)


def randn(*size, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """Standard normal samples (``torch.randn``); dtype and requires_grad as in :func:`rand`."""
    return _finish(_core.normal(_size(size, "randn"), 0.0, 1.0, _float_dtype(dtype, "randn")), device,
                   requires_grad=requires_grad)


def randint(*args, size=None, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """Integers uniform on [low, high): ``randint(high, size)`` or ``randint(low, high, size)``
    (``torch.randint``); int64 unless ``dtype`` says otherwise (a float dtype gives the same
    integers as floats, which may then require grad; an integer tensor cannot: RuntimeError)."""
    if size is None:
        if not args:
            raise TypeError("randint: missing size")
        args, size = args[:-1], args[-1]
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"randint: expected an integer {name}, got {type(v).__name__}")
    shape = (size,) if isinstance(size, numbers.Integral) else _size(tuple(size), "randint")
    return _finish(_core.randint(int(low), int(high), shape), device, dtype, requires_grad)


def randperm(n, dtype=None, device="cpu") -> Tensor:
    """A random permutation of 0..n-1 (``torch.randperm``), by Fisher-Yates."""
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"randperm: expected an integer n, got {type(n).__name__}")
    return _finish(_core.randperm(int(n)), device, dtype)


def bernoulli(input) -> Tensor:
    """0/1 samples, 1 with the probability in each element of ``input`` (``torch.bernoulli``)."""
    impl = input._impl if isinstance(input, Tensor) else input
    if isinstance(input, Tensor) and input.is_cuda:
        return _finish(_core.bernoulli(input.cpu()._impl), input.device)
    return Tensor(_core.bernoulli(impl))


def rand_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    """:func:`rand` with `input`'s shape, and its dtype and device unless given."""
    dtype = dtype if dtype is not None else input.dtype
    return rand(*input.shape, dtype=dtype, device=device if device is not None else input.device,
                requires_grad=requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad=False) -> Tensor:
    """:func:`randn` with `input`'s shape, and its dtype and device unless given."""
    dtype = dtype if dtype is not None else input.dtype
    return randn(*input.shape, dtype=dtype, device=device if device is not None else input.device,
                 requires_grad=requires_grad)

"""Random ops (array level), drawn from dlcore's global counter-based generator.

The generator is Philox4x32-10 (Salmon et al., 2011) keyed by the seed; its state is just
``(seed, offset)``, where ``offset`` counts the 128-bit counter blocks already used.  Each call
reserves the blocks it needs and fills its output in parallel from a fixed element -> counter
mapping, so results are bitwise identical for every thread count and CPU instruction set, and a
sequence of calls repeats exactly after ``dlcore.manual_seed(s)``.  The exact mapping of elements
to words is documented in ``csrc/ops/random.h``.

Results are NumPy arrays, except ``bernoulli`` given a dlcore Tensor, which returns a Tensor.
The process starts with PyTorch's default seed (67280421310721), so an unseeded run is still
reproducible; the streams are not PyTorch's (torch uses MT19937 on the CPU).
"""
from __future__ import annotations

import numbers

import numpy as np

from ._util import _core, as_float, as_int, unwrap, wrap

__all__ = [
    "philox4x32_10", "random_bits", "uniform", "normal", "bernoulli", "dropout_mask", "randint",
    "randperm",
]


_MAX_DIMS = 64  # NumPy's limit: a result with more dims cannot be returned as an ndarray


def _shape(shape, op):
    if shape is None:
        return ()
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{op}: expected a shape (int or sequence of ints), got {type(shape).__name__}") from None
    if len(shape) > _MAX_DIMS:
        raise ValueError(f"{op}: expected at most {_MAX_DIMS} dims (NumPy's limit), got a shape of {len(shape)}")
    return shape


def _dtype(dtype, op):
    """None is refused: NumPy reads dtype=None as float64, which would silently change the default."""
    if dtype is None:
        raise TypeError(f"{op}: expected dtype float32 or float64, got None")
    return dtype


def philox4x32_10(counter, key):
    """One Philox4x32-10 block: ``counter`` (4 uint32 words), ``key`` (2 uint32 words) -> 4 words.

    For known-answer tests against the Random123 distribution.
    """
    try:
        counter, key = tuple(counter), tuple(key)
    except TypeError:
        raise TypeError("philox4x32_10: expected sequences of ints for counter and key, got "
                        f"{type(counter).__name__} and {type(key).__name__}") from None
    counter = tuple(as_int(c, "philox4x32_10", "a counter word") for c in counter)
    key = tuple(as_int(k, "philox4x32_10", "a key word") for k in key)
    if len(counter) != 4 or len(key) != 2 or not all(0 <= v < 2**32 for v in counter + key):
        raise ValueError("philox4x32_10: expected 4 counter words and 2 key words in [0, 2**32)")
    return _core.philox4x32_10(counter, key)


def random_bits(n, seed, offset=0):
    """The raw stream: ``n`` 32-bit words (int64 values in [0, 2**32)) of generator ``seed``
    starting at counter block ``offset``.  Stateless: the global generator is not touched.
    Word i is word ``i % 4`` of ``philox4x32_10([lo32(b), hi32(b), 0, 0], [lo32(seed), hi32(seed)])``
    with ``b = offset + i // 4``."""
    n, seed = as_int(n, "random_bits", "n"), as_int(seed, "random_bits", "seed")
    offset = as_int(offset, "random_bits", "offset")
    if not 0 <= offset < 2**64:  # a counter position: negative or past 2**64 would wrap around
        raise ValueError(f"random_bits: expected 0 <= offset < 2**64, got {offset}")
    return np.asarray(_core.random_bits(n, seed, offset))


def uniform(shape, low=0.0, high=1.0, dtype="float32"):
    """Samples of U[low, high) (like ``torch.empty(shape).uniform_(low, high)``).

    float32 uses 24 random bits per value, float64 53; ``high`` is never returned (a value that
    rounds up to it is replaced by the largest float below it).
    """
    return np.asarray(_core.uniform(_shape(shape, "uniform"), as_float(low, "uniform", "low"),
                                    as_float(high, "uniform", "high"), _dtype(dtype, "uniform")))


def normal(shape, mean=0.0, std=1.0, dtype="float32"):
    """Samples of N(mean, std**2) by the Box-Muller transform (both outputs used)."""
    return np.asarray(_core.normal(_shape(shape, "normal"), as_float(mean, "normal", "mean"),
                                   as_float(std, "normal", "std"), _dtype(dtype, "normal")))


def bernoulli(p, shape=None, dtype=None):
    """0/1 samples with probability ``p`` of a 1 (``torch.bernoulli``).

    ``p`` is a number (the output has ``shape`` and ``dtype``, default float32) or an array of
    probabilities (float32 or float64; the output has its shape and dtype; ``shape``, if given,
    must equal it).  Probabilities outside [0, 1] raise ValueError.
    """
    if isinstance(p, numbers.Real) and not isinstance(p, bool):
        return np.asarray(_core.bernoulli_scalar(as_float(p, "bernoulli", "p"), _shape(shape, "bernoulli"), dtype or "float32"))
    if shape is not None:
        pshape = tuple(p.shape) if hasattr(p, "shape") else np.shape(p)
        if tuple(_shape(shape, "bernoulli")) != pshape:
            raise ValueError(f"bernoulli: expected shape None or p's shape {pshape}, got {tuple(shape)}")
    out = wrap(_core.bernoulli(unwrap(p)), p)
    if dtype is not None and np.dtype(dtype) != out.dtype:
        raise TypeError(f"bernoulli: the output takes p's dtype ({out.dtype}); got dtype={dtype}")
    return out


def dropout_mask(shape, p, dtype="float32"):
    """Inverted-dropout mask: each value is 0 with probability ``p``, else ``1/(1-p)``
    (rounded to ``dtype``); ``p == 1`` gives all zeros.  ``x * mask`` is ``dropout(x, p)``."""
    return np.asarray(_core.dropout_mask(_shape(shape, "dropout_mask"), as_float(p, "dropout_mask", "p"),
                                         _dtype(dtype, "dropout_mask")))


def randint(low, high, shape):
    """int64 samples uniform on [low, high), exactly unbiased (Lemire's multiply-and-reject)."""
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"randint: expected an integer {name}, got {type(v).__name__}")
    return np.asarray(_core.randint(int(low), int(high), _shape(shape, "randint")))


def randperm(n):
    """A random permutation of 0..n-1 (int64) by Fisher-Yates."""
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"randperm: expected an integer n, got {type(n).__name__}")
    return np.asarray(_core.randperm(int(n)))

"""Matrix products (array level): matmul, gemm, linear and its backward, and the FMA peak.

All run on dlcore's packed, cache-blocked GEMM (AVX-512 / AVX2+FMA / portable micro-kernels,
OpenMP over output tiles) or its CUDA SGEMM for tensors on a GPU.  Results are bitwise identical
for any thread count.  float32 and float64; both operands must have the same dtype.
"""
from __future__ import annotations

import numpy as np

from ._util import _core, as_float, unwrap, wrap

__all__ = ["matmul", "gemm", "linear", "linear_backward", "fma_peak_gflops"]


def matmul(a, b):
    """``numpy.matmul`` / ``torch.matmul``: 1-D operands are promoted to a row (a) or a column
    (b) and the added dim removed again; leading dims are batch dims and broadcast."""
    if type(a) is np.ndarray and type(b) is np.ndarray:  # the common case: _core returns NumPy
        return _core.matmul(a, b)
    return wrap(_core.matmul(unwrap(a), unwrap(b)), a, b)


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """BLAS GEMM: ``C = alpha * op(A) @ op(B) + beta * C`` with ``op(X) = X.T`` (last two dims)
    when ``trans_X``.  With `c` given the result is written into it (any strides; `c` may alias
    `a` or `b`) and `c` is returned; without it a new array is returned and `beta` is unused.
    ``beta == 0`` does not read `c` (NaNs in it do not propagate), as in BLAS.  Transposes and
    strided views are read in place by the packing, never copied."""
    for name, flag in (("trans_a", trans_a), ("trans_b", trans_b)):
        if not isinstance(flag, (bool, np.bool_, int, np.integer)):
            raise TypeError(f"gemm: expected a bool for {name}, got {type(flag).__name__}")
    out = _core.gemm(unwrap(a), unwrap(b), None if c is None else unwrap(c), as_float(alpha, "gemm", "alpha"),
                     as_float(beta, "gemm", "beta"),
                     bool(trans_a), bool(trans_b))
    return c if c is not None else wrap(out, a, b)


def linear(x, weight, bias=None, activation=None):
    """``torch.nn.functional.linear`` with a fused epilogue: ``act(x @ weight.T + bias)``.
    x: (..., in_features), weight: (out_features, in_features), bias: (out_features,) or None;
    activation: None, ``"relu"`` or ``"gelu"`` (exact erf form, as ``torch.nn.functional.gelu``)."""
    return wrap(_core.linear(unwrap(x), unwrap(weight), None if bias is None else unwrap(bias), activation),
                x, weight)


def linear_backward(grad_out, x, weight, need=(True, True, True)):
    """Gradients of ``y = x @ weight.T + bias`` (no activation): returns
    ``(grad_x, grad_weight, grad_bias)``, None where `need` says False.  grad_bias is the column
    sum of grad_out over every leading dim, in a fixed order (deterministic)."""
    nx, nw, nb = (bool(v) for v in need)
    gx, gw, gb = _core.linear_backward(unwrap(grad_out), unwrap(x), unwrap(weight), nx, nw, nb)
    return tuple(wrap(g, grad_out, x, weight) for g in (gx, gw, gb))


def fma_peak_gflops(threads=None, seconds=0.2):
    """Measured float32 FMA peak of this machine (GFLOP/s) for the active ISA: a register-only
    loop of independent FMA chains on `threads` threads (default: dlcore's thread count)."""
    return _core.fma_peak_gflops(threads, as_float(seconds, "fma_peak_gflops", "seconds"))

"""Shared test settings: tolerances (stated once, per dtype), the sizes every kernel is tried at,
and fixtures that run a test under every CPU instruction set and thread count."""
from __future__ import annotations

import contextlib
import threading

import numpy as np
import pytest

import dlcore

# Tolerances per dtype, used by every comparison against the NumPy references.
TOL = {
    np.dtype(np.float32): dict(rtol=2e-5, atol=2e-6),
    np.dtype(np.float64): dict(rtol=1e-11, atol=1e-12),
}
# Odd sizes that catch vector-tail and blocking bugs.
ODD_SIZES = (1, 3, 31, 33, 65)


def assert_close(actual, expected, dtype=None, scale=1.0, **kw):
    """Compare with the per-dtype tolerance (widened by `scale` for long reductions)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    tol = dict(TOL.get(np.dtype(dtype or actual.dtype), dict(rtol=0, atol=0)))
    tol = {k: v * scale for k, v in tol.items()}
    tol.update(kw)
    if actual.dtype.kind in "fc":
        np.testing.assert_allclose(actual, expected, **tol)
    else:
        np.testing.assert_array_equal(actual, expected)


@contextlib.contextmanager
def isa_scope(name):
    """Run a block with kernels forced to one instruction set."""
    best = dlcore.available_isas()[-1]
    dlcore.set_isa(name)
    try:
        yield
    finally:
        dlcore.set_isa(best)


@contextlib.contextmanager
def threads_scope(n):
    old = dlcore.get_num_threads()
    dlcore.set_num_threads(n)
    try:
        yield
    finally:
        dlcore.set_num_threads(old)


@pytest.fixture(params=dlcore.available_isas())
def isa(request):
    """Parametrises a test over every instruction set this CPU and build support."""
    with isa_scope(request.param):
        yield request.param


def run_in_python_threads(work, n=4):
    """Start `work` on n Python threads at once and wait for all of them."""
    threads = [threading.Thread(target=work) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def run_threads_bitwise(fn, *args, **kwargs):
    """Run fn with 1, 2 and 3 threads (3: an odd count, more threads than some jobs have items
    for); assert the results are bitwise identical; return the one-thread result."""
    outs = []
    for n in (1, 2, 3):
        with threads_scope(n):
            outs.append(fn(*args, **kwargs))
    first = outs[0] if isinstance(outs[0], tuple) else (outs[0],)
    for n, out in zip((2, 3), outs[1:]):
        for a, b in zip(first, out if isinstance(out, tuple) else (out,)):
            a, b = np.asarray(a), np.asarray(b)
            assert a.dtype == b.dtype and a.shape == b.shape
            assert a.tobytes() == b.tobytes(), f"results differ between 1 and {n} threads"
    return outs[0]


def rng(seed=0):
    return np.random.default_rng(seed)


def finite_difference_grad(f, x, eps=1e-6):
    """Central differences of the scalar f at x (float64), for gradchecks of array-level ops."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f(x)
        flat[i] = old - eps
        fm = f(x)
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


@pytest.fixture
def torch():
    """PyTorch as an oracle; tests using it skip (saying so) where it is not installed."""
    return pytest.importorskip("torch", reason="PyTorch parity tests need torch installed")


def views(a):
    """The array itself, a transposed view, a stepped slice and an offset view."""
    yield "contig", a
    if a.ndim >= 2:
        yield "transposed", np.swapaxes(np.ascontiguousarray(np.swapaxes(a, 0, -1)), 0, -1)
    big = np.zeros(tuple(2 * s + 1 for s in a.shape), a.dtype)
    sl = tuple(slice(1, None, 2) for _ in a.shape)
    big[sl] = a
    yield "stepped", big[sl]
    flat = np.zeros(a.size + 3, a.dtype)
    flat[3:] = a.ravel()
    yield "offset", flat[3:].reshape(a.shape)

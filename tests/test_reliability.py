"""Regression tests for issue 22 (items 1-6 and the C++ half of item 8): memory safety and silent
wrong results found by a bad-input fuzzer.  Each test fails on the code before the fix."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dlcore
from dlcore import ops
from dlcore.ops._util import _core

from .conftest import assert_close, isa_scope, threads_scope

F32 = np.float32


def raises_named(exc, op, fn, *args, **kwargs):
    """Assert fn(*args) raises exc (not SystemError) with a message that starts with `op:`."""
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert str(info.value).startswith(op + ":"), str(info.value)
    return info.value


# ---- item 1: shapes, dims and axes given as arrays / Tensors ------------------------------------

def test_shape_from_ndarray_is_read_safely():
    # 3000 rounds freed and reused the items of the array shape before the fix (segfault).
    x = np.zeros((1, 4), F32)
    for _ in range(3000):
        assert ops.expand(x, np.array([3, 4])).shape == (3, 4)
    assert ops.reshape(np.zeros(12, F32), np.array([3, 4])).shape == (3, 4)
    assert ops.view(np.zeros(12, F32), np.array([4, 3])).shape == (4, 3)
    assert ops.broadcast_to(np.zeros(4, F32), np.array([2, 4])).shape == (2, 4)
    assert ops.squeeze(np.zeros((1, 3, 1), F32), np.array([0, 2])).shape == (3,)
    assert ops.permute(np.zeros((2, 3), F32), np.array([1, 0])).shape == (3, 2)
    assert _core.zeros(np.array([2, 5]), "float32", "cpu").shape == (2, 5)  # parse_shape


def test_axis_from_ndarray_and_tensor():
    a = np.arange(12, dtype=F32).reshape(3, 4)
    assert_close(ops.sum(a, np.array([0, 1])), a.sum())
    assert_close(ops.mean(a, np.array(1)), a.mean(1))
    assert_close(ops.var(a, np.array([1])), a.var(1, ddof=1))
    assert_close(ops.argmax(a, np.int64(1)), a.argmax(1))
    assert_close(dlcore.tensor(a).sum(dim=np.array([0])).numpy(), a.sum(0))
    # A 0-d float Tensor as the axis was a SystemError ("returned a result with an exception set").
    raises_named(TypeError, "argmax", dlcore.ones(3, 4).argmax, dlcore.tensor(0.0))
    raises_named(TypeError, "sum", ops.sum, a, np.array(1.0))
    raises_named(TypeError, "sum", ops.sum, a, True)
    raises_named(TypeError, "reshape", ops.reshape, a, [3.0, 4])
    raises_named(ValueError, "expand", ops.expand, a, [3, 2**70])


def test_shape_parsing_under_debug_allocator():
    # PYTHONMALLOC=debug fills freed memory with a pattern: the first call crashed before the fix.
    code = textwrap.dedent("""
        import numpy as np, dlcore
        from dlcore import ops
        x = np.zeros(12, np.float32)
        assert ops.reshape(x, np.array([3, 4])).shape == (3, 4)
        assert ops.expand(np.zeros((1, 4), np.float32), np.array([3, 4])).shape == (3, 4)
        assert float(ops.sum(x.reshape(3, 4), np.array([0, 1]))) == 0.0
        assert ops.cat(list(np.zeros((2, 3), np.float32)), 0).shape == (6,)
        print("ok")
    """)
    env = dict(os.environ, PYTHONMALLOC="debug")
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


# ---- item 2: int64 overflow in view arithmetic ----------------------------------------------------

EXTREME = (2**62, 2**63 - 1, -2**63, -(2**62), -5)


def test_narrow_extreme_values_and_negative_start():
    x = np.arange(12, dtype=F32).reshape(3, 4)
    for v in EXTREME:
        with pytest.raises((IndexError, ValueError)) as info:
            ops.narrow(x, 0, v, 2)
        assert str(info.value).startswith("narrow:")
        raises_named(ValueError, "narrow", ops.narrow, x, 0, 1, v)
        raises_named(ValueError, "narrow", ops.narrow, x, v, 0, 1)
    # The writable view that started before the buffer (then fill_ corrupted the heap).
    t = dlcore.zeros(3, 4)
    with pytest.raises(IndexError, match="^narrow: "):
        ops.narrow(t, 0, 2**63 - 1, 2)
    # PyTorch accepts a negative start in [-size, size].
    np.testing.assert_array_equal(ops.narrow(x, 1, -2, 2), x[:, 2:4])
    np.testing.assert_array_equal(ops.narrow(x, 0, -3, 0), x[0:0])
    np.testing.assert_array_equal(ops.narrow(x[::-1, ::-2], 0, 1, 2), x[::-1, ::-2][1:3])


def test_pad_extreme_values():
    a = np.arange(3.0, dtype=F32)
    for v in (2**62, 2**63 - 1):
        with pytest.raises((ValueError, MemoryError)) as info:
            ops.pad(a, (v, v))
        assert str(info.value).startswith("pad:"), str(info.value)
    raises_named(ValueError, "pad", ops.pad, a, (-2**63, 0))
    raises_named(ValueError, "pad", ops.pad, a, (-5, 0))
    # An empty dim padded hugely: an empty result whose byte size still fits, or a clean error.
    with pytest.raises((ValueError, MemoryError)) as info:
        ops.pad(np.zeros((0, 3), F32), (2**62, 0))
    assert str(info.value).startswith("pad:"), str(info.value)
    # Cropping by 2**63 and padding back by 2**63 - 1 leaves two pad values (no wrapped index).
    np.testing.assert_array_equal(ops.pad(a, (-2**63, 2**63 - 1)), [0.0, 0.0])


def test_split_and_tensor_split_extreme_values():
    x = np.arange(12, dtype=F32).reshape(3, 4)
    raises_named(ValueError, "split", ops.split, x, [2**63 - 1, 2**63 - 1, 2], 0)
    raises_named(ValueError, "split", ops.split, x, [-2**63, 3], 0)
    raises_named(ValueError, "split", ops.split, x, [2**62, 2**62, 2**62, 2**62, 3], 0)
    with pytest.raises(ValueError) as info:
        ops.tensor_split(x, 2**62, 0)
    assert str(info.value).startswith("tensor_split:"), str(info.value)
    with pytest.raises(ValueError) as info:
        ops.tensor_split(x, -2**63, 0)
    assert str(info.value).startswith("tensor_split:"), str(info.value)


def test_index_extreme_values():
    x = np.arange(12, dtype=F32).reshape(3, 4)
    for v in EXTREME:
        if -3 <= v < 3:
            continue
        raises_named(IndexError, "index", ops.index, x, (v,))
    # Huge slice steps are clamped like NumPy's, never multiplied into a wrapped stride.
    for step in (2**62, 2**63 - 1, -(2**63 - 1), -2**63):
        np.testing.assert_array_equal(ops.index(x, (slice(None, None, step),)), x[::step])
    for start in EXTREME:
        np.testing.assert_array_equal(ops.index(x, (slice(start, None),)), x[start:])
        np.testing.assert_array_equal(ops.index(x, (slice(None, start, -1),)), x[:start:-1])


def test_expand_reshape_and_dims_extreme_values():
    x = np.zeros((1, 4), F32)
    for v in (2**62, 2**63 - 1):
        with pytest.raises((ValueError, MemoryError)) as info:
            ops.expand(x, (v, v, 4))
        assert str(info.value).startswith("expand:"), str(info.value)
        with pytest.raises((ValueError, MemoryError)) as info:
            ops.broadcast_to(x, (v, 2, 4))
        assert str(info.value).startswith("broadcast_to:"), str(info.value)
        raises_named(ValueError, "reshape", ops.reshape, x, (v, -1))
        raises_named(ValueError, "view", ops.view, x, (v, 4))
    for v in EXTREME:
        raises_named(ValueError, "expand", ops.expand, x, (v, 4)) if v < 0 and v != -1 else None
        raises_named(ValueError, "unsqueeze", ops.unsqueeze, x, v)
        raises_named(ValueError, "transpose", ops.transpose, x, v, 0)
        raises_named(ValueError, "permute", ops.permute, x, (v, 0))
        raises_named(ValueError, "squeeze", ops.squeeze, x, v)


# ---- item 3: size-1 dims with odd strides and stride-0 broadcasts in linear / GEMM ----------------

def odd_views(a):
    """Views of `a` (same values) whose layout a contiguity shortcut would misread: a size-1 dim
    inserted with stride 0 or a huge odd stride, leading broadcast dims, reversed rows, a transpose."""
    st = np.lib.stride_tricks.as_strided
    out = {
        "newaxis": a[:, None, :],
        "odd_stride_1": st(a, (a.shape[0], 1, a.shape[1]), (a.strides[0], 7 * a.strides[0], a.strides[1])),
        "lead_1": st(a, (1, a.shape[0], a.shape[1]), (12345 * 4, a.strides[0], a.strides[1])),
        "reversed": a[::-1].copy()[::-1],
        "transposed": np.asfortranarray(a),
    }
    return out


def test_linear_with_odd_layouts_matches_numpy():
    r = np.random.default_rng(3)
    x = r.standard_normal((5, 16))
    w = r.standard_normal((8, 16))
    b = r.standard_normal(8)
    for dt in (np.float32, np.float64):
        xd, wd, bd = x.astype(dt), w.astype(dt), b.astype(dt)
        for name, v in odd_views(xd).items():
            want = np.asarray(v, np.float64) @ w.T + b
            assert_close(ops.linear(v, wd, bd), want.astype(dt), dtype=dt, scale=10), name
            g = r.standard_normal(want.shape).astype(dt)
            gx, gw, gb = ops.linear_backward(g, v, wd)
            g2 = g.reshape(-1, 8).astype(np.float64)
            v2 = np.asarray(v, np.float64).reshape(-1, 16)
            assert_close(gx, (g2 @ w).reshape(v.shape).astype(dt), dtype=dt, scale=10), name
            assert_close(gw, (g2.T @ v2).astype(dt), dtype=dt, scale=10), name
            assert_close(gb, g2.sum(0).astype(dt), dtype=dt, scale=10), name
            # The gradient given with the same odd layout as x.
            gv = odd_views(g.reshape(5, 8))[name] if g.ndim == 2 else g
            _, gw2, _ = ops.linear_backward(gv, v, wd)
            assert_close(gw2, (np.asarray(gv, np.float64).reshape(-1, 8).T @ v2).astype(dt), dtype=dt, scale=10)
        for name, v in odd_views(wd).items():
            if v.ndim == 2:
                assert_close(ops.linear(xd, v), (x @ w.T).astype(dt), dtype=dt, scale=10), name


def test_linear_broadcast_input_matches_numpy():
    # A stride-0 broadcast input gave NaN.
    r = np.random.default_rng(4)
    base = r.standard_normal((1, 1, 100, 64)).astype(F32)
    w = r.standard_normal((32, 64)).astype(F32)
    x = np.broadcast_to(base, (3, 1, 100, 64))
    assert_close(ops.linear(x, w), (x.astype(np.float64) @ w.T).astype(F32), scale=10)
    rows = np.broadcast_to(base[0, 0, :1], (7, 64))  # every row the same memory
    assert_close(ops.linear(rows, w), (rows.astype(np.float64) @ w.T).astype(F32), scale=10)
    g = r.standard_normal((3, 1, 100, 32)).astype(F32)
    gx, gw, gb = ops.linear_backward(g, x, w)
    assert_close(gw, (g.reshape(-1, 32).astype(np.float64).T @ x.reshape(-1, 64)).astype(F32), scale=50)


def test_nn_linear_and_matmul_with_size1_dims():
    r = np.random.default_rng(5)
    x = r.standard_normal((5, 16)).astype(F32)
    lin = dlcore.nn.Linear(16, 8)
    w, b = lin.weight.numpy(), lin.bias.numpy()
    xt = dlcore.tensor(x, requires_grad=True)
    y = lin(xt[:, None, :])
    assert_close(y.numpy(), (x @ w.T + b)[:, None, :], scale=10)
    y.sum().backward()
    assert_close(lin.weight.grad.numpy(), np.ones((5, 8), F32).T @ x, scale=10)
    for name, v in odd_views(x).items():
        a = v.reshape(v.shape) if v.ndim == 2 else v
        want = np.asarray(a, np.float64) @ w.T.astype(np.float64)
        assert_close(ops.matmul(a, w.T), want.astype(F32), scale=10), name
        if a.ndim == 2:
            assert_close(ops.gemm(a, w, trans_b=True), want.astype(F32), scale=10), name


# ---- item 4: thread counts are bounded up front ----------------------------------------------------

def test_thread_count_is_bounded():
    top = _core.max_num_threads()
    assert 4 <= top <= 1024
    old = dlcore.get_num_threads()
    try:
        for n in (100000, top + 1, 2**40):
            raises_named(ValueError, "set_num_threads", dlcore.set_num_threads, n)
        assert dlcore.get_num_threads() == old  # a refused count changes nothing
        # The largest allowed count works and gives the same bits as one thread.
        a = np.random.default_rng(6).standard_normal((70, 90)).astype(F32)
        dlcore.set_num_threads(1)
        want = ops.matmul(a, a.T)
        dlcore.set_num_threads(top)
        np.testing.assert_array_equal(ops.matmul(a, a.T), want)
    finally:
        dlcore.set_num_threads(old)
    for n in (4096, top + 1, 2**40, 0):
        raises_named(ValueError, "fma_peak_gflops", ops.fma_peak_gflops, threads=n, seconds=0.01)


# ---- item 5: log_softmax / cross_entropy with large logits -----------------------------------------

def _log_softmax_ref(x, axis):
    x = np.asarray(x, np.float64)
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_log_softmax_large_logits(isa, dt):
    for M in (1e3, 1e4, 1e6):
        row = np.array([M, M - 10], dt)
        want = _log_softmax_ref(row, -1)
        # The inner == 1 path (last axis) and the tiled path (axis 0 of a column).
        np.testing.assert_allclose(ops.log_softmax(row), want, rtol=1e-3)
        np.testing.assert_allclose(ops.log_softmax(row[:, None], axis=0)[:, 0], want, rtol=1e-3)
        assert ops.log_softmax(row)[0] != 0.0
    big = np.full((3, 4), 1e38, dt)
    np.testing.assert_allclose(ops.log_softmax(big), np.full((3, 4), -np.log(4)), rtol=1e-6)
    np.testing.assert_allclose(ops.log_softmax(big, axis=0), np.full((3, 4), -np.log(3)), rtol=1e-6)
    # The backward reuses the forward's output: exp(y) must sum to 1 on such rows.
    y = ops.log_softmax(np.array([[1e4, 1e4 - 10, 1e4 - 3]], dt))
    g = np.array([[1.0, 0.0, 0.0]], dt)
    gx = ops.log_softmax_backward(g, y)
    p = np.exp(_log_softmax_ref([[1e4, 1e4 - 10, 1e4 - 3]], -1))
    np.testing.assert_allclose(gx, g - p, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_cross_entropy_of_confident_prediction_is_not_zero(isa, dt):
    for M in (1e3, 1e4, 1e6):
        logits = np.array([[M, M - 10], [M - 10, M]], dt)
        target = np.array([0, 1])
        want = -_log_softmax_ref(logits, -1)[[0, 1], [0, 1]]
        np.testing.assert_allclose(ops.cross_entropy(logits, target, reduction="none"), want, rtol=1e-3)
        loss = ops.cross_entropy(logits, target)
        assert loss != 0.0
        np.testing.assert_allclose(loss, want.mean(), rtol=1e-3)
        # Label smoothing, class weights and probability targets go through the same formula.
        w = np.array([2.0, 0.5], dt)
        ls = -_log_softmax_ref(logits, -1)
        sm = 0.1
        q = np.eye(2)[target] * (1 - sm) + sm / 2
        want_sm = (q * w * ls).sum(1)
        np.testing.assert_allclose(
            ops.cross_entropy(logits, target, weight=w, label_smoothing=sm, reduction="none"), want_sm, rtol=1e-3)
        probs = np.array([[1.0, 0.0], [0.0, 1.0]], dt)
        np.testing.assert_allclose(ops.cross_entropy(logits, probs, reduction="none"), want, rtol=1e-3)
    row = np.full((1, 4), 1e38, dt)
    np.testing.assert_allclose(ops.cross_entropy(row, np.array([2])), np.log(4), rtol=1e-6)


# ---- item 6: overlapping copies, zero-stride outputs, exact int64 fills -------------------------------

def test_copy_with_overlapping_source_and_destination():
    x = np.arange(10, dtype=F32)
    ops.copy_(x, x[::-1])  # wrote half-reversed data before the fix
    np.testing.assert_array_equal(x, np.arange(10, dtype=F32)[::-1])
    y = np.arange(10, dtype=np.int64)
    ops.copy_(y[1:], y[:-1])  # NumPy: y[1:] = y[:-1] reads every source element first
    np.testing.assert_array_equal(y, [0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
    z = np.arange(12.0).reshape(3, 4)
    ops.copy_(z, z[::-1, ::-1])
    np.testing.assert_array_equal(z, np.arange(12.0).reshape(3, 4)[::-1, ::-1])
    t = dlcore.tensor(np.arange(6, dtype=F32))
    ops.copy_(t, t.numpy()[::-1])
    np.testing.assert_array_equal(t.numpy(), np.arange(6, dtype=F32)[::-1])


def test_writes_into_zero_stride_outputs_raise():
    base = np.zeros(4, F32)
    expanded = np.lib.stride_tricks.as_strided(base, (3, 4), (0, 4))  # writable, 3 rows on one row
    raises_named(ValueError, "copy_", ops.copy_, expanded, np.ones((3, 4), F32))
    raises_named(ValueError, "masked_fill_", ops.masked_fill_, expanded, np.ones((3, 4), bool), 1.0)
    raises_named(ValueError, "index_put_", ops.index_put_, expanded, (slice(None),), np.ones((3, 4), F32))
    a = np.ones((3, 2), F32)
    b = np.ones((2, 4), F32)
    raises_named(ValueError, "gemm", ops.gemm, a, b, expanded)
    np.testing.assert_array_equal(base, 0)  # nothing was written
    # A zero stride on a size-1 dim is harmless and still accepted.
    one = np.lib.stride_tricks.as_strided(np.zeros(4, F32), (1, 4), (0, 4))
    ops.copy_(one, np.ones((1, 4), F32))
    np.testing.assert_array_equal(one, 1)
    # masked_fill (out of place) reads a broadcast input fine.
    np.testing.assert_array_equal(ops.masked_fill(np.broadcast_to(base, (3, 4)), np.eye(3, 4, dtype=bool), 2.0),
                                  np.eye(3, 4) * 2)


def test_fill_int64_exact_and_refuses_non_finite():
    x = np.zeros(3, np.int64)
    ops.fill_(x, 2**62 + 1)  # went through a double: stored 2**62
    assert (x == 2**62 + 1).all()
    ops.fill_(x, np.int64(-(2**63)))
    assert (x == -(2**63)).all()
    ops.fill_(x, 2.9)  # floats truncate toward zero, like torch
    assert (x == 2).all()
    for bad in (float("nan"), float("inf"), -float("inf"), 1e300, 2.0**63, 2**63, -(2**63) - 1):
        raises_named(ValueError, "fill_", ops.fill_, x, bad)
    assert (x == 2).all()
    raises_named(TypeError, "fill_", ops.fill_, x, "3")
    # Float tensors take big ints through a double; full keeps int64 exact too.
    f = np.zeros(2, np.float64)
    ops.fill_(f, 2**70)
    assert (f == 2.0**70).all()
    np.testing.assert_array_equal(np.asarray(dlcore.full((2,), 2**62 + 1, dtype=dlcore.int64).numpy()),
                                  [2**62 + 1] * 2)
    t = dlcore.zeros(2, dtype=dlcore.int64)
    t.fill_(2**62 + 1)
    assert int(t.numpy()[0]) == 2**62 + 1


# ---- item 8 (C++ side): errors name the op the user called ------------------------------------------

def test_cpp_errors_name_the_called_op():
    x = np.zeros((3, 4), F32)
    raises_named(ValueError, "tensor_split", ops.tensor_split, x, 0)
    raises_named(ValueError, "tensor_split", ops.tensor_split, np.zeros((), F32), 2)
    raises_named(IndexError, "slice_copy", ops.slice_copy, x, (5,))
    raises_named(ValueError, "min_backward", ops.min_backward, x[:, 0], np.zeros(3, np.int64), (3, 4), 7)
    raises_named(ValueError, "max_backward", ops.max_backward, x[:, 0], np.zeros(3, np.int64), (3, 4), 7)
    raises_named(IndexError, "min_backward", ops.min_backward, x[:, 0], np.full(3, 9, np.int64), (3, 4), 1)
    raises_named(TypeError, "min_with_indices", ops.min_with_indices, x, "a")
    raises_named(TypeError, "log_softmax", ops.log_softmax, x, "a")
    raises_named(TypeError, "log_softmax_backward", ops.log_softmax_backward, x, x, "a")
    raises_named(TypeError, "softmax", ops.softmax, x, 1.5)
    # slice_copy is a copy even when the slice is contiguous.
    y = ops.slice_copy(x, (0,))
    y[0] = 5
    assert x[0, 0] == 0


@pytest.mark.skipif(bool(os.environ.get("DLCORE_SANITIZED")),
                    reason="ASan's allocator aborts on a huge request instead of throwing std::bad_alloc")
def test_bad_alloc_is_a_memory_error_naming_the_op():
    # A zero-copy broadcast claims 2**40 elements; 2**49 sections cannot be listed.  This was a
    # bare "std::bad_alloc".
    huge = np.broadcast_to(np.float32(0), (2**40,))
    raises_named(MemoryError, "tensor_split", ops.tensor_split, huge, 2**49)
    with pytest.raises(MemoryError) as info:
        ops.pad(np.zeros((1, 3), F32), (2**40, 0))
    assert str(info.value).startswith("pad:"), str(info.value)


def test_bool_is_not_an_int_argument():
    x = np.zeros((3, 4), F32)
    raises_named(TypeError, "sum", ops.sum, x, np.bool_(True))
    raises_named(TypeError, "sum", ops.sum, x, [True])
    raises_named(TypeError, "reshape", ops.reshape, x, (True, 12))
    assert ops.reshape(x, (np.int64(4), np.int32(3))).shape == (4, 3)

"""dlcore.ops batch/layer/group/instance norm, forward and backward, against the float64 NumPy
reference (tests/reference/norm.py) at odd sizes on every ISA; running statistics; output masks;
thread-count determinism; errors naming the op.  (nn modules and torch parity: test_norm_nn.py.)"""
from __future__ import annotations

import numpy as np
import pytest

from dlcore import ops
from tests.conftest import assert_close, rng, run_threads_bitwise
from tests.reference import norm as ref

SIZES = (1, 3, 7, 31, 33, 65)
F32 = dict(rtol=2e-4, atol=2e-5)  # float32 normalisation: one rounding of rstd times values of O(1)


def _x(shape, dtype, seed=0, offset=0.0):
    """Normal values (std 2); `offset` shifts float64 data only: float32 rows of a few values far
    from zero are ill-conditioned (the saved float32 mean alone moves the gradient by 1e-4)."""
    return (rng(seed).standard_normal(shape) * 2 + (offset if dtype == np.float64 else 0.0)).astype(dtype)


def _close(got, want, dtype):
    if np.dtype(dtype) == np.float32:
        assert_close(got, np.asarray(want).astype(np.float32), **F32)
    else:
        assert_close(got, want)


# ---- batch norm ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", SIZES)
def test_batch_norm_training_matches_reference(isa, size, dtype):
    for shape in ((size + 1, 3), (2, size, 5), (size, 4, 3, size)):
        x = _x(shape, dtype, offset=3.0)
        c = shape[1]
        w, b = _x((c,), dtype, 1), _x((c,), dtype, 2)
        rm, rv = _x((c,), dtype, 3), np.abs(_x((c,), dtype, 4)) + 0.5
        rm_ref, rv_ref = rm.astype(np.float64), rv.astype(np.float64)
        y, mean, rstd = ops.batch_norm(x, rm, rv, w, b, True, 0.3, 1e-5, return_stats=True)
        _close(y, ref.batch_norm(x, rm_ref, rv_ref, w, b, True, 0.3, 1e-5), dtype)
        _close(rm, rm_ref, dtype)
        _close(rv, rv_ref, dtype)
        g = _x(shape, dtype, 5)
        for got, want in zip(ops.batch_norm_backward(g, x, w, mean, rstd, True),
                             ref.batch_norm_backward(g, x, w, True)):
            _close(got, want, dtype)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("size", (1, 7, 33))
def test_batch_norm_eval_uses_running_stats(size, affine):
    x = _x((3, size, 4), np.float64)
    rm, rv = _x((size,), np.float64, 3), np.abs(_x((size,), np.float64, 4)) + 0.5
    w, b = (_x((size,), np.float64, 1), _x((size,), np.float64, 2)) if affine else (None, None)
    keep = rm.copy(), rv.copy()
    y, mean, rstd = ops.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-3, return_stats=True)
    assert_close(y, ref.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-3))
    assert rm.tobytes() == keep[0].tobytes() and rv.tobytes() == keep[1].tobytes()
    g = _x(x.shape, np.float64, 5)
    want = ref.batch_norm_backward(g, x, w, False, rm, rv, 1e-3)
    got = ops.batch_norm_backward(g, x, w, mean, rstd, False)
    for a, e in zip(got, want):
        assert_close(a, e)


def test_batch_norm_is_stable_far_from_zero():
    """Shifted sums and centred scaling: a float32 batch with mean 1e3 and std 1e-1 keeps its variance."""
    x = (1e3 + 0.1 * rng(1).standard_normal((64, 2, 50))).astype(np.float32)
    y = ops.batch_norm(x, training=True)
    assert_close(y, ref.batch_norm(x.astype(np.float64), training=True).astype(np.float32), rtol=5e-3, atol=5e-3)
    assert abs(float(y.std()) - 1.0) < 1e-2


def test_batch_norm_empty_batch_leaves_running_stats():
    x = np.zeros((0, 3, 4))
    rm, rv = np.ones(3), np.full(3, 2.0)
    y = ops.batch_norm(x, rm, rv, training=True)
    assert y.shape == (0, 3, 4) and (rm == 1).all() and (rv == 2).all()
    gx, gw, gb = ops.batch_norm_backward(x, x, np.ones(3), np.zeros(3), np.ones(3), True)
    assert gx.shape == x.shape and (gw == 0).all() and (gb == 0).all()


def test_output_mask_leaves_out_gradients():
    x, g = _x((4, 3, 5), np.float64), _x((4, 3, 5), np.float64, 1)
    _, m, r = ops.batch_norm(x, training=True, return_stats=True)
    gx, gw, gb = ops.batch_norm_backward(g, x, None, m, r, True, (True, False, False))
    assert gw is None and gb is None
    assert_close(gx, ref.batch_norm_backward(g, x, None, True)[0])
    _, m, r = ops.layer_norm(x, (5,), return_stats=True)
    gx, gw, gb = ops.layer_norm_backward(g, x, (5,), m, r, None, (False, True, True))
    assert gx is None
    want = ref.layer_norm_backward(g, x, (5,))
    assert_close(gw, want[1])
    assert_close(gb, want[2])


# ---- layer norm ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", SIZES)
def test_layer_norm_matches_reference(isa, size, dtype):
    for shape, ns in (((5, size), (size,)), ((size, 3, 7), (3, 7)), ((70, size + 2), (size + 2,))):
        x = _x(shape, dtype, offset=-5.0)
        for affine in (True, False):
            w = _x(ns, dtype, 1) if affine else None
            b = _x(ns, dtype, 2) if affine else None
            y, mean, rstd = ops.layer_norm(x, ns, w, b, 1e-5, return_stats=True)
            _close(y, ref.layer_norm(x, ns, w, b), dtype)
            assert mean.shape == shape[:len(shape) - len(ns)]
            g = _x(shape, dtype, 5)
            got = ops.layer_norm_backward(g, x, ns, mean, rstd, w)
            want = ref.layer_norm_backward(g, x, ns, w)
            for a, e in zip(got, want):
                _close(a, e, dtype)


# ---- group and instance norm ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("size", SIZES)
def test_group_norm_matches_reference(isa, size, dtype):
    for shape, groups in (((2, 6, size), 3), ((size, 4, 3, 5), 2), ((3, 8, size, 2), 8), ((2, 5), 1)):
        x = _x(shape, dtype, offset=2.0)
        for affine in (True, False):
            c = shape[1]
            w = _x((c,), dtype, 1) if affine else None
            b = _x((c,), dtype, 2) if affine else None
            y, mean, rstd = ops.group_norm(x, groups, w, b, 1e-5, return_stats=True)
            _close(y, ref.group_norm(x, groups, w, b), dtype)
            assert mean.shape == (shape[0], groups)
            g = _x(shape, dtype, 5)
            for a, e in zip(ops.group_norm_backward(g, x, groups, mean, rstd, w),
                            ref.group_norm_backward(g, x, groups, w)):
                _close(a, e, dtype)


@pytest.mark.parametrize("size", SIZES)
def test_instance_norm_matches_reference(size):
    x = _x((3, 4, size + 1), np.float64, offset=1.0)
    w, b = _x((4,), np.float64, 1), _x((4,), np.float64, 2)
    rm, rv = np.zeros(4), np.ones(4)
    rm_ref, rv_ref = rm.copy(), rv.copy()
    y, mean, rstd = ops.instance_norm(x, rm, rv, w, b, True, 0.2, 1e-5, return_stats=True)
    assert_close(y, ref.instance_norm(x, rm_ref, rv_ref, w, b, True, 0.2))
    assert_close(rm, rm_ref)
    assert_close(rv, rv_ref, rtol=1e-8)  # rebuilt from rstd: 1/rstd^2 - eps
    g = _x(x.shape, np.float64, 5)
    for a, e in zip(ops.instance_norm_backward(g, x, w, mean, rstd, True), ref.instance_norm_backward(g, x, w)):
        assert_close(a, e)
    # running statistics instead of the input's
    y, mean, rstd = ops.instance_norm(x, rm, rv, w, b, False, return_stats=True)
    assert_close(y, ref.batch_norm(x, rm, rv, w, b, False))
    for a, e in zip(ops.instance_norm_backward(g, x, w, mean, rstd, False),
                    ref.batch_norm_backward(g, x, w, False, rm, rv)):
        assert_close(a, e)


# ---- determinism ---------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["batch", "layer", "group", "instance"])
def test_one_two_three_threads_bitwise(which):
    x = _x((6, 16, 17, 19), np.float32, offset=1.0)
    g = _x(x.shape, np.float32, 1)
    w, b = _x((16,), np.float32, 2), _x((16,), np.float32, 3)

    def run():
        if which == "batch":
            rm, rv = np.zeros(16, np.float32), np.ones(16, np.float32)
            y, m, r = ops.batch_norm(x, rm, rv, w, b, True, return_stats=True)
            return (y, rm, rv) + ops.batch_norm_backward(g, x, w, m, r, True)
        if which == "layer":
            xl, gl = x.reshape(6 * 16 * 17, 19), g.reshape(6 * 16 * 17, 19)
            y, m, r = ops.layer_norm(xl, 19, xl[0], xl[1], return_stats=True)
            return (y,) + ops.layer_norm_backward(gl, xl, 19, m, r, xl[0])
        if which == "group":
            y, m, r = ops.group_norm(x, 4, w, b, return_stats=True)
            return (y,) + ops.group_norm_backward(g, x, 4, m, r, w)
        y, m, r = ops.instance_norm(x, None, None, w, b, return_stats=True)
        return (y,) + ops.instance_norm_backward(g, x, w, m, r)

    run_threads_bitwise(run)


# ---- errors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, op", [
    (lambda: ops.layer_norm(np.zeros((2, 3)), (2,)), ValueError, "layer_norm"),
    (lambda: ops.layer_norm(np.zeros((2, 3)), (3,), np.ones(2)), ValueError, "layer_norm"),
    (lambda: ops.layer_norm(np.zeros((2, 3), np.float32), (3,), np.ones(3)), TypeError, "layer_norm"),
    (lambda: ops.group_norm(np.zeros((2, 6, 3)), 4), ValueError, "group_norm"),
    (lambda: ops.group_norm(np.zeros((2, 6, 3)), -2), ValueError, "group_norm"),
    (lambda: ops.batch_norm(np.zeros((2, 3, 4)), np.zeros(4), np.ones(4), training=True), ValueError, "batch_norm"),
    (lambda: ops.batch_norm(np.zeros((2, 3)), np.zeros(3), None, training=True), ValueError, "batch_norm"),
    (lambda: ops.batch_norm(np.zeros((1, 3)), training=True), ValueError, "batch_norm"),
    (lambda: ops.batch_norm(np.zeros((1, 3, 1, 1)), training=True), ValueError, "batch_norm"),
    (lambda: ops.batch_norm(np.zeros((4, 3), np.int64), training=True), TypeError, "batch_norm"),
    (lambda: ops.batch_norm(np.zeros(3), training=True), ValueError, "batch_norm"),
    (lambda: ops.instance_norm(np.zeros((2, 3, 1))), ValueError, "instance_norm"),
    (lambda: ops.instance_norm(np.zeros((2, 3, 4)), np.zeros(2), np.ones(2)), ValueError, "instance_norm"),
    (lambda: ops.instance_norm(np.zeros((2, 3, 4)), np.zeros(3), np.ones(3), np.ones(2), use_input_stats=False),
     ValueError, "instance_norm"),
    (lambda: ops.batch_norm_backward(np.zeros((2, 3)), np.zeros((2, 3)), None, np.zeros(3), np.ones(3),
                                     output_mask=(1, 1)), ValueError, "batch_norm_backward"),
    (lambda: ops.layer_norm_backward(np.zeros((2, 3)), np.zeros((2, 3), np.float32), 3, np.zeros(2), np.ones(2)),
     TypeError, "layer_norm_backward"),
])
def test_errors_name_the_op(call, exc, op):
    with pytest.raises(exc) as e:
        call()
    assert str(e.value).startswith(op + ":"), str(e.value)


def test_batch_norm_one_value_per_channel_message_matches_torch():
    with pytest.raises(ValueError, match="expected more than 1 value per channel when training"):
        ops.batch_norm(np.zeros((1, 3)), training=True)
    ops.batch_norm(np.zeros((1, 3)), np.zeros(3), np.ones(3), training=False)  # eval is fine


def test_statistics_of_empty_rows_are_nan():
    y, mean, rstd = ops.layer_norm(np.zeros((3, 0)), (0,), return_stats=True)
    assert y.shape == (3, 0) and mean.shape == (3,) and np.isnan(mean).all() and np.isnan(rstd).all()
    y, mean, rstd = ops.group_norm(np.zeros((2, 4, 0)), 2, return_stats=True)
    assert y.shape == (2, 4, 0) and mean.shape == (2, 2) and np.isnan(mean).all()


def test_layer_norm_rows_far_from_zero():
    """Shifted one-pass row statistics: rows with mean 1e4 and std 1 (float64) stay exact."""
    x = 1e4 + rng(2).standard_normal((5, 300))
    assert_close(ops.layer_norm(x, 300), ref.layer_norm(x, 300), rtol=1e-9, atol=1e-9)


def test_outputs_beyond_the_streaming_threshold_match_reference():
    """Float32 outputs of 8 MiB and more are written with non-temporal stores from an L1 stage
    (rows starting at unaligned addresses here: odd row lengths)."""
    x = _x((3, 6, 331, 353), np.float32)  # 2.1M values, S odd
    g = _x(x.shape, np.float32, 1)
    w, b = _x((6,), np.float32, 2), _x((6,), np.float32, 3)
    y, m, r = ops.batch_norm(x, None, None, w, b, True, return_stats=True)
    _close(y, ref.batch_norm(x, None, None, w, b, True), np.float32)
    for got, want in zip(ops.batch_norm_backward(g, x, w, m, r, True), ref.batch_norm_backward(g, x, w, True)):
        assert_close(got, want.astype(np.float32), rtol=1e-3, atol=1e-3)  # sums over 350k values
    y, m, r = ops.group_norm(x, 3, w, b, return_stats=True)
    _close(y, ref.group_norm(x, 3, w, b), np.float32)
    _close(ops.group_norm_backward(g, x, 3, m, r, w)[0], ref.group_norm_backward(g, x, 3, w)[0], np.float32)
    xl, gl = x.reshape(-1)[:2101 * 1001].reshape(2101, 1001), g.reshape(-1)[:2101 * 1001].reshape(2101, 1001)
    wl, bl = _x((1001,), np.float32, 4), _x((1001,), np.float32, 5)
    y, m, r = ops.layer_norm(xl, 1001, wl, bl, return_stats=True)
    # y = w * xhat + b with |w * xhat| up to ~10 and y near 0 where they cancel: an absolute
    # tolerance of float32 rounding at that magnitude (the sanitizer build vectorises differently)
    assert_close(y, ref.layer_norm(xl, 1001, wl, bl).astype(np.float32), rtol=2e-4, atol=1e-4)
    _close(ops.layer_norm_backward(gl, xl, 1001, m, r, wl)[0], ref.layer_norm_backward(gl, xl, 1001, wl)[0],
           np.float32)

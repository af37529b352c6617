import itertools

import numpy as np
import pytest

import dlcore
from dlcore import ops
from tests.conftest import assert_close, finite_difference_grad, rng, run_threads_bitwise, views
from tests.reference import reduce as ref

FLOATS = ["float32", "float64"]
SHAPES = [(0,), (1,), (33,), (3, 0), (31, 5), (3, 33, 2), (2, 3, 5, 7), (1, 4, 1, 65)]


def all_axes(ndim):
    out = [None]
    for k in range(1, ndim + 1):
        out += list(itertools.combinations(range(ndim), k))
    return out


# ---- reductions: every axis combination, odd and empty shapes, non-contiguous views ---------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
def test_sum_mean_var_all_axes(isa, shape, dtype):
    x = rng(1).standard_normal(shape).astype(dtype)
    for axis in all_axes(len(shape)):
        axis = axis if axis is None or len(axis) > 1 or len(shape) == 1 else axis[0]
        for kd in (False, True):
            assert_close(ops.sum(x, axis, kd), ref.sum(x, axis, kd), scale=4)
            n = x.size if axis is None else np.prod([shape[a] for a in np.atleast_1d(axis)])
            with np.errstate(all="ignore"):
                assert_close(ops.mean(x, axis, kd), ref.mean(x, axis, kd), scale=4)
                assert_close(ops.var(x, axis, keepdims=kd), ref.var(x, axis, 1, kd), scale=20)
                if n > 0:
                    assert_close(ops.max(x, axis, kd), ref.max(x, axis, kd))
                    assert_close(ops.min(x, axis, kd), ref.min(x, axis, kd))


@pytest.mark.parametrize("shape", [(33,), (31, 5), (3, 33, 2), (2, 3, 5, 7)], ids=str)
def test_reductions_non_contiguous(shape):
    a = rng(2).standard_normal(shape)
    for name, x in views(a):
        for axis in all_axes(len(shape)):
            assert_close(ops.sum(x, axis), ref.sum(x, axis), err_msg=name)
            assert_close(ops.var(x, axis, correction=0), ref.var(x, axis, 0), err_msg=name)
            assert_close(ops.max(x, axis), ref.max(x, axis), err_msg=name)
        for axis in [None] + list(range(len(shape))):
            assert_close(ops.argmax(x, axis), ref.argmax(x, axis), err_msg=name)
            assert_close(ops.argmin(x, axis, keepdims=True), ref.argmin(x, axis, keepdims=True), err_msg=name)


def test_negative_axes_and_lists():
    x = rng(3).standard_normal((3, 4, 5))
    assert_close(ops.sum(x, (-1, 0)), x.sum((0, 2)))
    assert_close(ops.sum(x, [0, -2]), x.sum((0, 1)))
    assert_close(ops.sum(x, ()), x)  # NumPy: an empty tuple reduces nothing
    assert_close(ops.max(x, np.int64(1)), x.max(1))


@pytest.mark.parametrize("shape", [(1,), (65,), (31, 33), (2, 3, 5, 7)], ids=str)
def test_argmax_argmin(isa, shape):
    x = rng(4).integers(-3, 3, shape).astype(np.float32)  # many ties: first occurrence wins
    for axis in [None] + list(range(len(shape))):
        for kd in (False, True):
            assert_close(ops.argmax(x, axis, kd), ref.argmax(x, axis, kd))
            assert_close(ops.argmin(x, axis, kd), ref.argmin(x, axis, kd))
            got = ops.argmax(x, axis, kd)
            assert got.dtype == np.int64


def test_nan_propagates_like_torch(torch):
    x = rng(5).standard_normal((5, 70)).astype(np.float32)
    x[1, 7] = x[1, 40] = np.nan
    x[3, 0] = np.nan
    tx = torch.tensor(x)
    assert_close(ops.argmax(x, 1), tx.argmax(1).numpy())
    assert_close(ops.argmin(x, 1), tx.argmin(1).numpy())
    assert_close(ops.argmax(x), tx.argmax().numpy())
    np.testing.assert_array_equal(ops.max(x, 1), tx.amax(1).numpy())
    np.testing.assert_array_equal(ops.min(x, 0), tx.amin(0).numpy())
    assert np.isnan(ops.max(x)) and np.isnan(ops.min(x))
    assert_close(ops.argmax(x.T.copy(), 0), tx.T.argmax(0).numpy())  # column path


@pytest.mark.parametrize("shape,axis", [((7, 33), 1), ((7, 33), 0), ((2, 300, 5), 1), ((4, 1, 3), 1)])
def test_max_with_indices_matches_torch(torch, shape, axis):
    x = rng(6).integers(-4, 4, shape).astype(np.float32)
    for kd in (False, True):
        v, i = ops.max_with_indices(x, axis, kd)
        tv, ti = torch.max(torch.tensor(x), dim=axis, keepdim=kd)
        assert_close(v, tv.numpy())
        assert_close(i, ti.numpy())
        v, i = ops.min_with_indices(x, axis, kd)
        tv, ti = torch.min(torch.tensor(x), dim=axis, keepdim=kd)
        assert_close(v, tv.numpy())
        assert_close(i, ti.numpy())


def test_integer_and_bool_sums():
    x = rng(7).integers(-1000, 1000, (5, 33))
    assert ops.sum(x).dtype == np.int64
    assert_close(ops.sum(x, 1), x.sum(1))
    assert_close(ops.sum(x.T, 1), x.T.sum(1))
    b = x > 0
    assert_close(ops.sum(b, 0), b.sum(0).astype(np.int64))
    assert_close(ops.max(x, 0), x.max(0))
    assert_close(ops.argmin(x, 1), x.argmin(1))
    big = np.full(20000, 2**40, np.int64)
    assert ops.sum(big) == 20000 * 2**40


def test_empty_reductions():
    e = np.zeros((0, 3), np.float32)
    assert_close(ops.sum(e), np.float32(0))
    assert_close(ops.sum(e, 0), np.zeros(3, np.float32))
    assert np.all(np.isnan(ops.mean(e, 0))) and ops.mean(e, 0).shape == (3,)
    assert np.isnan(ops.var(e))
    assert ops.max(e, 1).shape == (0,)
    with pytest.raises(ValueError, match="^max: "):
        ops.max(e)
    with pytest.raises(ValueError, match="^min: "):
        ops.min(e, 0)
    with pytest.raises(ValueError, match="^argmax: "):
        ops.argmax(e, 0)


def test_zero_dim_input():
    x = np.array(2.5)
    assert_close(ops.sum(x), x)
    assert_close(ops.max(x, 0), x)
    assert ops.argmax(x) == 0
    assert np.isnan(ops.var(x))  # one element, correction 1, like torch


def test_var_correction_matches_torch(torch):
    x = rng(8).standard_normal((6, 35)).astype(np.float32)
    for c in (0, 1, 2):
        assert_close(ops.var(x, 1, correction=c), torch.var(torch.tensor(x), 1, correction=c).numpy())


def test_tensor_in_tensor_out():
    x = dlcore.tensor(rng(9).standard_normal((4, 5)).astype(np.float32))
    s = ops.sum(x, 1)
    assert isinstance(s, dlcore.Tensor) and s.shape == (4,)
    v, i = ops.max_with_indices(x, 0)
    assert isinstance(v, dlcore.Tensor) and isinstance(i, dlcore.Tensor)
    assert isinstance(ops.softmax(x), dlcore.Tensor)


# ---- accuracy and determinism ---------------------------------------------------------------

def test_float32_sum_accuracy_1e6():
    x = rng(10).uniform(0, 1, 1_000_000).astype(np.float32)  # same-sign: the hard case for naive sums
    exact = x.astype(np.float64).sum()
    got = float(ops.sum(x))
    assert abs(got - exact) / exact < 2e-6, (got, exact)
    naive_err = abs(float(np.cumsum(x, dtype=np.float32)[-1]) - exact) / exact
    assert abs(got - exact) / exact < naive_err / 10
    xc = x.reshape(1000, 1000)  # the column path (reduced axis not innermost)
    col = ops.sum(xc, 0)
    assert np.max(np.abs(col - xc.astype(np.float64).sum(0)) / xc.sum(0)) < 2e-6


@pytest.mark.parametrize("case", ["full_sum", "col_sum", "var", "argmax", "max", "mean_axes", "strided"])
def test_threads_bitwise(case):
    r = rng(11)
    if case == "full_sum":
        x = r.standard_normal(1_000_003).astype(np.float32)
        got = run_threads_bitwise(lambda: ops.sum(x).copy())
        assert_close(got, ref.sum(x), rtol=1e-5, atol=1e-2)
    elif case == "col_sum":
        x = r.standard_normal((8, 513, 67)).astype(np.float32)
        got = run_threads_bitwise(lambda: ops.sum(x, 1).copy())
        assert_close(got, ref.sum(x, 1), scale=10)
    elif case == "var":
        x = r.standard_normal((3, 200_001))
        got = run_threads_bitwise(lambda: ops.var(x, 1).copy())
        assert_close(got, ref.var(x, 1), scale=100)
    elif case == "argmax":
        x = r.standard_normal(300_000).astype(np.float32)
        x[[1000, 250_000]] = 9.0
        assert run_threads_bitwise(lambda: ops.argmax(x).copy()) == 1000
    elif case == "max":
        x = r.standard_normal((2, 100_000)).astype(np.float32)
        assert_close(run_threads_bitwise(lambda: ops.max(x, 1).copy()), x.max(1))
    elif case == "mean_axes":
        x = r.standard_normal((64, 33, 130)).astype(np.float32)
        run_threads_bitwise(lambda: ops.mean(x, (0, 2)).copy())
    else:
        x = r.standard_normal((400, 600)).astype(np.float32)[::2, ::3]
        run_threads_bitwise(lambda: ops.sum(x, 0).copy())


# ---- reduction backwards --------------------------------------------------------------------

@pytest.mark.parametrize("axis,kd", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_var_backward_gradcheck(axis, kd):
    r = rng(17)
    x = r.standard_normal((3, 4, 5))
    for c in (0, 1):
        w = r.standard_normal(np.shape(ops.var(x, axis, c, kd)))
        num = finite_difference_grad(lambda v: float((ops.var(v, axis, c, kd) * w).sum()), x)
        got = ops.var_backward(w, x, axis, c, kd)
        assert_close(got, num, rtol=1e-6, atol=1e-8)
        assert_close(got, ref.var_backward(w, x, axis, c, kd))
    xt = x.transpose(2, 0, 1)
    w = r.standard_normal(np.shape(ops.var(xt, 1)))
    assert_close(ops.var_backward(w, xt, 1), ref.var_backward(w, xt, 1))


@pytest.mark.parametrize("axis,kd", [(0, False), (1, True), (-1, False)])
def test_max_backward_gradcheck(axis, kd):
    r = rng(18)
    x = r.permutation(60).reshape(3, 4, 5).astype(np.float64)  # distinct values: differentiable
    v, i = ops.max_with_indices(x, axis, kd)
    w = r.standard_normal(v.shape)
    num = finite_difference_grad(lambda z: float((ops.max_with_indices(z, axis, kd)[0] * w).sum()), x)
    got = ops.max_backward(w, i, x.shape, axis, kd)
    assert_close(got, num, rtol=1e-6, atol=1e-8)
    assert_close(got, ref.max_backward(w, i, x.shape, axis, kd))
    _, i = ops.min_with_indices(x, axis, kd)
    num = finite_difference_grad(lambda z: float((ops.min_with_indices(z, axis, kd)[0] * w).sum()), x)
    assert_close(ops.min_backward(w, i, x.shape, axis, kd), num, rtol=1e-6, atol=1e-8)


def test_sum_mean_backward():
    g = rng(19).standard_normal((3, 5))
    assert_close(ops.sum_backward(g, (3, 4, 5), 1), np.broadcast_to(g[:, None], (3, 4, 5)))
    assert_close(ops.mean_backward(g[:, None], (3, 4, 5), 1, keepdims=True), np.broadcast_to(g[:, None] / 4, (3, 4, 5)))
    assert_close(ops.sum_backward(np.float64(2.0), (2, 3)), np.full((2, 3), 2.0))
    with pytest.raises(ValueError, match="^sum_backward: "):
        ops.sum_backward(g, (3, 4, 5), 0)


# ---- bad input ------------------------------------------------------------------------------

def test_bad_inputs():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="^sum: "):
        ops.sum(x, 2)
    with pytest.raises(ValueError, match="^sum: .*duplicate"):
        ops.sum(x, (1, -1))
    with pytest.raises(ValueError, match="^mean: "):
        ops.mean(x, -3)
    with pytest.raises(TypeError, match="^mean: "):
        ops.mean(np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="^max: "):
        ops.max(np.zeros(3, bool))
    with pytest.raises(ValueError, match="^argmax: "):
        ops.argmax(x, (0, 1))
    with pytest.raises(ValueError, match="^var: "):
        ops.var(x, correction=-1)
    with pytest.raises(ValueError, match="^max_backward: "):
        ops.max_backward(np.zeros(3), np.zeros(4, np.int64), (3, 4), 1)
    with pytest.raises(IndexError, match="^max_backward: "):
        ops.max_backward(np.zeros(3), np.full(3, 4, np.int64), (3, 4), 1)

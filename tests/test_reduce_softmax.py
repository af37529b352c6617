"""softmax, log_softmax, cross_entropy and nll_loss (csrc/ops/reduce_softmax*): forward and
backward against the NumPy reference, views, ISAs, threads, gradchecks, torch parity, bad input."""
import numpy as np
import pytest

from dlcore import ops
from tests.conftest import assert_close, finite_difference_grad, rng, run_threads_bitwise, views
from tests.reference import reduce_softmax as ref

FLOATS = ["float32", "float64"]


def test_threads_bitwise_softmax_and_loss():
    r = rng(12)
    x = r.standard_normal((257, 4099)).astype(np.float32)
    run_threads_bitwise(lambda: ops.softmax(x).copy())
    run_threads_bitwise(lambda: ops.log_softmax(x, 0).copy())
    t = r.integers(0, 4099, 257)
    run_threads_bitwise(lambda: ops.cross_entropy(x, t, label_smoothing=0.1).copy())
    run_threads_bitwise(lambda: ops.cross_entropy_backward(np.float32(1), x, t).copy())


# ---- softmax ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1,), (3, 31), (33, 65), (2, 3, 33), (0, 5), (4, 0)], ids=str)
@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_forward_backward(isa, shape, dtype):
    r = rng(13)
    x = (r.standard_normal(shape) * 5).astype(dtype)
    g = r.standard_normal(shape).astype(dtype)
    for axis in range(-len(shape), len(shape)):
        for fn, bw, rf, rb in [(ops.softmax, ops.softmax_backward, ref.softmax, ref.softmax_backward),
                               (ops.log_softmax, ops.log_softmax_backward, ref.log_softmax,
                                ref.log_softmax_backward)]:
            y = fn(x, axis)
            if x.size == 0:  # torch: empty in, empty out
                assert y.shape == shape and bw(g, y, axis).shape == shape
                continue
            assert_close(y, rf(x, axis).astype(dtype), scale=2)
            assert_close(bw(g, y, axis), rb(g.astype(np.float64), y.astype(np.float64), axis).astype(dtype),
                         scale=4)


def test_softmax_non_contiguous_and_extremes():
    a = rng(14).standard_normal((5, 40)) * 30
    for name, x in views(a):
        assert_close(ops.softmax(x, 0), ref.softmax(x, 0), err_msg=name)
        assert_close(ops.log_softmax(x), ref.log_softmax(x), err_msg=name)
    x = np.array([[1000.0, 0.0, -1000.0], [-np.inf, 0.0, 1.0]], np.float32)
    assert_close(ops.softmax(x), ref.softmax(x).astype(np.float32))
    ls = ops.log_softmax(x)
    assert np.all(np.isfinite(ls[0, :2])) and ls[1, 0] == -np.inf and np.isfinite(ls[1, 1])


def test_exp_accuracy_float32():
    x = np.linspace(-87, 88, 200_001).astype(np.float32)
    x = x.reshape(-1, 1)  # softmax over a size-1 axis is exp(x - x) = 1; use a 2-column trick instead
    z = np.concatenate([x, np.zeros_like(x)], axis=1)
    # softmax([x, 0])[1] = 1 / (1 + e^x): checks exp over the whole range through the kernel
    got = ops.softmax(z)[:, 1].astype(np.float64)
    want = 1 / (1 + np.exp(x[:, 0].astype(np.float64)))
    ok = want > 1e-30
    assert np.max(np.abs(got[ok] - want[ok]) / want[ok]) < 4e-7


@pytest.mark.parametrize("shape,axis", [((3, 5), 1), ((3, 5), 0), ((2, 4, 3), 1)])
def test_softmax_gradcheck(shape, axis):
    r = rng(15)
    x = r.standard_normal(shape)
    w = r.standard_normal(shape)
    for fn, bw in [(ops.softmax, ops.softmax_backward), (ops.log_softmax, ops.log_softmax_backward)]:
        num = finite_difference_grad(lambda v: float((fn(v, axis) * w).sum()), x)
        assert_close(bw(w, fn(x, axis), axis), num, rtol=1e-6, atol=1e-8)


def test_softmax_matches_torch(torch):
    r = rng(16)
    x = r.standard_normal((7, 33, 5)).astype(np.float32) * 3
    g = r.standard_normal(x.shape).astype(np.float32)
    for axis in (0, 1, 2):
        for fn, bw, tf in [(ops.softmax, ops.softmax_backward, torch.softmax),
                           (ops.log_softmax, ops.log_softmax_backward, torch.log_softmax)]:
            tx = torch.tensor(x, requires_grad=True)
            ty = tf(tx, axis)
            ty.backward(torch.tensor(g))
            y = fn(x, axis)
            assert_close(y, ty.detach().numpy(), scale=2)
            assert_close(bw(g, y, axis), tx.grad.numpy(), scale=4)


# ---- cross-entropy ---------------------------------------------------------------------------

CE_CASES = [
    dict(),
    dict(weight=True),
    dict(ignore=True),
    dict(weight=True, ignore=True, label_smoothing=0.2),
    dict(label_smoothing=0.3),
    dict(probs=True),
    dict(probs=True, weight=True, label_smoothing=0.1),
]


def ce_inputs(shape, case, dtype, seed=20):
    r = rng(seed)
    x = r.standard_normal(shape).astype(dtype)
    C = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    if case.get("probs"):
        t = r.uniform(0, 1, shape)
        t = (t / t.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)).astype(dtype)
    else:
        t = r.integers(0, C, tshape)
        if case.get("ignore") and t.size:
            t.reshape(-1)[::3] = -100
    w = r.uniform(0.5, 2, C).astype(dtype) if case.get("weight") else None
    return x, t, w, case.get("label_smoothing", 0.0)


@pytest.mark.parametrize("shape", [(5, 4), (3, 7, 2, 3), (6,)], ids=str)
@pytest.mark.parametrize("case", CE_CASES, ids=lambda c: "-".join(c) or "plain")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradcheck(shape, case, reduction):
    x, t, w, eps = ce_inputs(shape, case, np.float64)
    kw = dict(weight=w, reduction=reduction, label_smoothing=eps)
    loss = ops.cross_entropy(x, t, **kw)
    assert_close(loss, np.asarray(ref.cross_entropy(x, t, **kw)))
    g = rng(21).standard_normal(np.shape(loss))
    if np.isnan(loss).any():  # every target ignored: torch's gradient is zero
        assert_close(ops.cross_entropy_backward(g, x, t, **kw), np.zeros_like(x))
        return
    num = finite_difference_grad(lambda v: float((ops.cross_entropy(v, t, **kw) * g).sum()), x)
    assert_close(ops.cross_entropy_backward(g, x, t, **kw), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", [(33, 65), (4, 5, 3, 2), (65,)], ids=str)
@pytest.mark.parametrize("case", CE_CASES, ids=lambda c: "-".join(c) or "plain")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(torch, isa, shape, case, reduction):
    x, t, w, eps = ce_inputs(shape, case, np.float32, seed=22)
    tx = torch.tensor(x, requires_grad=True)
    kw = dict(reduction=reduction, label_smoothing=eps)
    tl = torch.nn.functional.cross_entropy(tx, torch.tensor(t), weight=None if w is None else torch.tensor(w), **kw)
    g = rng(23).standard_normal(tuple(tl.shape)).astype(np.float32)
    tl.backward(torch.tensor(g))
    loss = ops.cross_entropy(x, t, weight=w, **kw)
    assert_close(loss, tl.detach().numpy(), scale=5)
    assert_close(ops.cross_entropy_backward(g, x, t, weight=w, **kw), tx.grad.numpy(), scale=5)


def test_cross_entropy_all_ignored_is_nan(torch):
    x = rng(24).standard_normal((3, 4)).astype(np.float32)
    t = np.full(3, -100)
    assert np.isnan(ops.cross_entropy(x, t))
    assert np.isnan(torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t)).item())
    assert_close(ops.cross_entropy(x, t, reduction="sum"), np.float32(0))
    t2 = np.array([1, 7, 2])
    assert_close(ops.cross_entropy(x, t2, ignore_index=7), np.asarray(ref.cross_entropy(x, t2, ignore_index=7)),
                 dtype=np.float32)


def test_cross_entropy_non_contiguous_logits():
    a = rng(25).standard_normal((6, 5))
    t = rng(26).integers(0, 5, 6)
    for name, x in views(a):
        assert_close(ops.cross_entropy(x, t), np.asarray(ref.cross_entropy(x, t)), err_msg=name)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(torch, reduction):
    x, t, w, _ = ce_inputs((7, 5, 3), dict(weight=True, ignore=True), np.float64, seed=27)
    lp = ref.log_softmax(x, 1)
    kw = dict(weight=w, reduction=reduction)
    loss = ops.nll_loss(lp, t, **kw)
    tl = torch.nn.functional.nll_loss(torch.tensor(lp), torch.tensor(t), weight=torch.tensor(w), reduction=reduction)
    assert_close(loss, tl.numpy())
    g = rng(28).standard_normal(np.shape(loss))
    num = finite_difference_grad(lambda v: float((ops.nll_loss(v, t, **kw) * g).sum()), lp)
    assert_close(ops.nll_loss_backward(g, lp, t, **kw), num, rtol=1e-6, atol=1e-8)


# ---- bad input ------------------------------------------------------------------------------

def test_bad_inputs():
    x = np.zeros((3, 4), np.float32)
    logits = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match="^softmax: "):
        ops.softmax(x, 2)
    with pytest.raises(TypeError, match="^softmax: "):
        ops.softmax(np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="^cross_entropy: "):
        ops.cross_entropy(logits, np.zeros(4, bool))
    with pytest.raises(TypeError, match="^cross_entropy: "):
        ops.cross_entropy(logits, np.zeros((4, 5), np.float64))
    with pytest.raises(IndexError, match="^cross_entropy: target 7 is out of range for 5 classes"):
        ops.cross_entropy(logits, np.array([0, 7, 1, 2]))
    with pytest.raises(IndexError, match="^cross_entropy: target -1 "):
        ops.cross_entropy(logits, np.array([0, -1, 1, 2]))
    with pytest.raises(ValueError, match="^cross_entropy: "):
        ops.cross_entropy(logits, np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="^cross_entropy: "):
        ops.cross_entropy(logits, np.zeros(4, np.int64), weight=np.ones(4, np.float32))
    with pytest.raises(ValueError, match="^cross_entropy: "):
        ops.cross_entropy(logits, np.zeros(4, np.int64), reduction="avg")
    with pytest.raises(ValueError, match="^cross_entropy: "):
        ops.cross_entropy(logits, np.zeros(4, np.int64), label_smoothing=1.5)
    with pytest.raises(ValueError, match="^cross_entropy_backward: "):
        ops.cross_entropy_backward(np.zeros(4, np.float32), logits, np.zeros(4, np.int64))

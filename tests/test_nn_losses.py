"""dlcore.nn losses (functional and modules): gradcheck in float64, PyTorch parity of values and
gradients in float32, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.autograd import gradcheck
from dlcore.nn import functional as F
from tests.conftest import assert_close, rng

REDUCTIONS = ("mean", "sum", "none")


def T(a, requires_grad=False):
    t = dlcore.tensor(np.asarray(a))
    return t.requires_grad_(True) if requires_grad else t


def _parity(torch, dl_fn, t_fn, arrays, grad_of, scale=8, finite_grads=()):
    """Run dl_fn and t_fn on the same float32 arrays; compare outputs and the gradients of the
    inputs listed in grad_of (indices into arrays) for a random output gradient.  For inputs in
    finite_grads, torch's inf/nan gradient entries (degenerate points) must be finite in dlcore
    and only the other entries are compared."""
    d_in = [T(a, i in grad_of) for i, a in enumerate(arrays)]
    t_in = [torch.tensor(np.array(a), requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    y, ty = dl_fn(*d_in), t_fn(*t_in)
    assert_close(y.numpy(), ty.detach().numpy(), scale=scale)
    g = rng(99).standard_normal(y.shape).astype(np.float32)
    y.backward(T(g))
    ty.backward(torch.tensor(g))
    for i in grad_of:
        ours, theirs = d_in[i].grad.numpy(), t_in[i].grad.numpy()
        if i in finite_grads:
            ok = np.isfinite(theirs)
            assert not ok.all(), "the degenerate point no longer gives torch a non-finite gradient"
            assert np.isfinite(ours).all()
            ours, theirs = ours[ok], theirs[ok]
        assert_close(ours, theirs, scale=scale)


def _f32(shape, seed):
    return rng(seed).standard_normal(shape).astype(np.float32)


def _f64(shape, seed, requires_grad=True):
    return T(rng(seed).standard_normal(shape), requires_grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_l1(reduction, torch):
    x, t = _f32((4, 5), 0), _f32((4, 5), 1)
    for ours, theirs, mod, tmod in ((F.mse_loss, torch.nn.functional.mse_loss, nn.MSELoss, torch.nn.MSELoss),
                                    (F.l1_loss, torch.nn.functional.l1_loss, nn.L1Loss, torch.nn.L1Loss)):
        _parity(torch, lambda a, b: ours(a, b, reduction=reduction), lambda a, b: theirs(a, b, reduction=reduction),
                (x, t), (0, 1))
        _parity(torch, mod(reduction=reduction), tmod(reduction=reduction), (x, t), (0,))
        assert gradcheck(lambda a, b: ours(a, b, reduction=reduction), (_f64((3, 2), 2), _f64((3, 2), 3)))


@pytest.mark.parametrize("var_shape", [(6, 3), (6, 1), (6,)])
@pytest.mark.parametrize("full, reduction", [(False, "mean"), (True, "sum"), (True, "none")])
def test_gaussian_nll(var_shape, full, reduction, torch):
    x, t = _f32((6, 3), 4), _f32((6, 3), 5)
    var = np.abs(_f32(var_shape, 6)) + 0.1
    var.reshape(-1)[0] = 1e-8  # below eps: clamped, gradient still flows as in torch
    _parity(torch, lambda a, b, v: F.gaussian_nll_loss(a, b, v, full=full, reduction=reduction),
            lambda a, b, v: torch.nn.functional.gaussian_nll_loss(a, b, v, full=full, reduction=reduction),
            (x, t, var), (0, 1, 2), scale=16)
    _parity(torch, nn.GaussianNLLLoss(full=full, reduction=reduction),
            torch.nn.GaussianNLLLoss(full=full, reduction=reduction), (x, t, var), (0, 2), scale=16)
    v64 = T(np.abs(rng(7).standard_normal(var_shape)) + 0.5, True)
    assert gradcheck(lambda a, b, v: F.gaussian_nll_loss(a, b, v, full=full, reduction=reduction),
                     (_f64((6, 3), 8), _f64((6, 3), 9), v64))


def test_gaussian_nll_bad_input():
    x = dlcore.ones(4, 3)
    with pytest.raises(ValueError, match="^gaussian_nll_loss: var is of incorrect size"):
        F.gaussian_nll_loss(x, x, dlcore.ones(4, 2))
    with pytest.raises(ValueError, match="^gaussian_nll_loss: var has negative"):
        F.gaussian_nll_loss(x, x, -dlcore.ones(4, 3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce(reduction, weighted, torch):
    x = 1 / (1 + np.exp(-_f32((5, 4), 10)))
    t = rng(11).random((5, 4)).astype(np.float32)
    x[0, 0], x[0, 1], t[0, 0], t[0, 1] = 0.0, 1.0, 1.0, 0.0  # logs clamped at -100, finite gradients
    w = np.abs(_f32((4,), 12)) if weighted else None
    wt = (lambda: torch.tensor(w)) if weighted else (lambda: None)
    wd = (lambda: T(w)) if weighted else (lambda: None)
    _parity(torch, lambda a, b: F.binary_cross_entropy(a, b, wd(), reduction=reduction),
            lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, wt(), reduction=reduction), (x, t), (0, 1),
            finite_grads=(1,))
    _parity(torch, nn.BCELoss(wd(), reduction=reduction), torch.nn.BCELoss(wt(), reduction=reduction), (x, t), (0,))
    x64 = T(rng(13).uniform(0.05, 0.95, (3, 4)), True)
    w64 = None if not weighted else T(np.abs(rng(14).standard_normal(4)) + 0.1)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, w64, reduction=reduction),
                     (x64, T(rng(15).random((3, 4)), True)))


def test_bce_bad_input():
    with pytest.raises(ValueError, match="^binary_cross_entropy: all elements"):
        F.binary_cross_entropy(T(np.array([0.5, 1.5], np.float32)), dlcore.ones(2))
    with pytest.raises(ValueError, match="^binary_cross_entropy: "):
        F.binary_cross_entropy(dlcore.ones(2) * 0.5, dlcore.ones(3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_with_logits(reduction, weighted, torch):
    x = _f32((5, 4), 20) * 4
    x[0, :3] = [40.0, -40.0, 0.0]  # far in the tails: stable, no overflow
    t = rng(21).random((5, 4)).astype(np.float32)
    w = np.abs(_f32((5, 1), 22)) if weighted else None
    pw = np.abs(_f32((4,), 23)) + 0.5 if weighted else None
    tw = (lambda a: None if a is None else torch.tensor(a))
    dw = (lambda a: None if a is None else T(a))
    _parity(torch, lambda a, b: F.binary_cross_entropy_with_logits(a, b, dw(w), reduction, dw(pw)),
            lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(a, b, tw(w), reduction=reduction,
                                                                             pos_weight=tw(pw)), (x, t), (0, 1))
    _parity(torch, nn.BCEWithLogitsLoss(dw(w), reduction, dw(pw)),
            torch.nn.BCEWithLogitsLoss(tw(w), reduction=reduction, pos_weight=tw(pw)), (x, t), (0,))
    assert np.isfinite(F.binary_cross_entropy_with_logits(T(np.array([1e4, -1e4], np.float32)),
                                                          T(np.array([0.0, 1.0], np.float32))).item())
    pw64 = None if pw is None else T(pw.astype(np.float64))
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction, pos_weight=pw64),
                     (_f64((3, 4), 24), T(rng(25).random((3, 4)), True)))


CE_CASES = [
    dict(),
    dict(weight=True),
    dict(ignore_index=1),
    dict(label_smoothing=0.1),
    dict(weight=True, ignore_index=2, label_smoothing=0.2),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES, ids=lambda c: "-".join(c) or "plain")
def test_cross_entropy(case, reduction, torch):
    x = _f32((6, 4), 30)
    y = np.array([0, 1, 3, 2, 1, 3])
    w = np.abs(_f32((4,), 31)) + 0.2 if case.get("weight") else None
    kw = dict(ignore_index=case.get("ignore_index", -100), label_smoothing=case.get("label_smoothing", 0.0),
              reduction=reduction)
    _parity(torch, lambda a: F.cross_entropy(a, T(y), None if w is None else T(w), **kw),
            lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(y), None if w is None else torch.tensor(w),
                                                        **kw), (x,), (0,))
    _parity(torch, lambda a: nn.CrossEntropyLoss(None if w is None else T(w), **kw)(a, y),
            lambda a: torch.nn.CrossEntropyLoss(None if w is None else torch.tensor(w), **kw)(a, torch.tensor(y)),
            (x,), (0,))
    w64 = None if w is None else T(w.astype(np.float64))
    assert gradcheck(lambda a: F.cross_entropy(a, y, w64, **kw), (_f64((6, 4), 32),))


def test_cross_entropy_probabilities_and_spatial(torch):
    p = rng(33).random((5, 3)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    _parity(torch, lambda a: F.cross_entropy(a, T(p), label_smoothing=0.1),
            lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(p), label_smoothing=0.1),
            (_f32((5, 3), 34),), (0,))
    y = rng(35).integers(0, 3, (2, 4, 5))
    _parity(torch, lambda a: F.cross_entropy(a, y, reduction="none"),
            lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(y), reduction="none"),
            (_f32((2, 3, 4, 5), 36),), (0,))


def test_cross_entropy_bad_input():
    with pytest.raises(IndexError):
        F.cross_entropy(dlcore.ones(2, 3), np.array([0, 3]))
    with pytest.raises(ValueError, match="^cross_entropy: reduction"):
        F.cross_entropy(dlcore.ones(2, 3), np.array([0, 1]), reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction, torch):
    x = _f32((5, 4), 40)
    y = np.array([3, 0, 1, 1, 2])
    w = np.abs(_f32((4,), 41)) + 0.1
    _parity(torch, lambda a: F.nll_loss(F.log_softmax(a, 1), y, T(w), ignore_index=0, reduction=reduction),
            lambda a: torch.nn.functional.nll_loss(torch.log_softmax(a, 1), torch.tensor(y), torch.tensor(w),
                                                   ignore_index=0, reduction=reduction), (x,), (0,))
    _parity(torch, nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction), (x, y), (0,))
    assert gradcheck(lambda a: F.nll_loss(a, y, reduction=reduction), (_f64((5, 4), 42),))
    with pytest.raises(IndexError):
        F.nll_loss(dlcore.ones(2, 3), np.array([0, 5]))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("reduction", REDUCTIONS + ("batchmean",))
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target, torch):
    x = np.log(np.random.default_rng(50).dirichlet(np.ones(4), 3)).astype(np.float32)
    t = np.random.default_rng(51).dirichlet(np.ones(4), 3).astype(np.float32)
    t[0, 1] = 0.0  # 0 * log 0 = 0
    if log_target:
        t = np.log(t + 0.01).astype(np.float32)
    _parity(torch, lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
            lambda a, b: torch.nn.functional.kl_div(a, b, reduction=reduction, log_target=log_target),
            (x, t), (0, 1), finite_grads=() if log_target else (1,))
    _parity(torch, nn.KLDivLoss(reduction, log_target), torch.nn.KLDivLoss(reduction=reduction, log_target=log_target),
            (x, t), (0,))
    t64 = T(np.random.default_rng(52).dirichlet(np.ones(4), 3) if not log_target else
            rng(53).standard_normal((3, 4)), True)
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                     (_f64((3, 4), 54), t64))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_kl_standard_normal(reduction):
    mu, logvar = rng(60).standard_normal((5, 3)), rng(61).standard_normal((5, 3))
    per = 0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar).sum(-1)
    expect = {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    got = F.gaussian_kl_standard_normal(T(mu), T(logvar), reduction=reduction)
    assert_close(got.numpy(), np.asarray(expect))
    # Against the definition: KL of N(mu, s^2) to N(0, 1) = log(1/s) + (s^2 + mu^2)/2 - 1/2 per dim.
    s = np.exp(0.5 * logvar)
    assert_close(np.asarray(per), (np.log(1 / s) + (s ** 2 + mu ** 2) / 2 - 0.5).sum(-1))
    assert gradcheck(lambda m, lv: F.gaussian_kl_standard_normal(m, lv, reduction=reduction),
                     (_f64((4, 3), 62), _f64((4, 3), 63)))
    zero = F.gaussian_kl_standard_normal(T(np.zeros((2, 3))), T(np.zeros((2, 3))))
    assert zero.item() == 0.0


def test_bad_reduction():
    for fn in (F.mse_loss, F.l1_loss, F.kl_div):
        with pytest.raises(ValueError, match="reduction"):
            fn(dlcore.ones(2), dlcore.ones(2), reduction="avg")
    assert math.isclose(F.kl_div(dlcore.zeros(2), dlcore.ones(2) * 0.5, reduction="batchmean").item(),
                        0.5 * math.log(0.5), rel_tol=1e-6)

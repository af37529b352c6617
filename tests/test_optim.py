"""dlcore.optim and the fused optimizer kernels: kernels vs the NumPy reference (every option, odd
sizes, every ISA, 1 vs 2 threads), the Optimizer API, PyTorch parity of trajectories and of the
schedulers' lrs, state_dict round trips, gradient clipping and bad input."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import dlcore
from dlcore import nn, ops, optim
from dlcore.optim import lr_scheduler
from tests.conftest import assert_close, isa_scope, rng, run_threads_bitwise
from tests.reference import optim as ref

# One group holds every odd size plus a tensor of several parallel chunks (kOptimChunk = 32768).
SIZES = (0, 1, 3, 31, 33, 65, 1000, 70001)
STEPS = 3  # the first step creates SGD's momentum buffer; later ones update it


def _group(dtype, sizes=SIZES, seed=0):
    """(params, grads per step) as NumPy arrays."""
    r = rng(seed)
    params = [r.standard_normal(n).astype(dtype) for n in sizes]
    grads = [[r.standard_normal(n).astype(dtype) for n in sizes] for _ in range(STEPS)]
    return params, grads


# ---- kernels vs reference ---------------------------------------------------------------------------
def _sgd_kernel(params, grads, **kw):
    params = [p.copy() for p in params]
    bufs = [None] * len(params)
    for g in grads:
        ops.sgd_step(params, g, bufs, **kw)
    return tuple(params) + (tuple(bufs) if kw.get("momentum") else ())


def _sgd_reference(params, grads, **kw):
    out, bufs = [], []
    for i, p in enumerate(params):
        buf = None
        for g in grads:
            p, buf = ref.sgd(p, g[i], buf, **kw)
        out.append(p)
        bufs.append(buf)
    return tuple(out) + (tuple(bufs) if kw.get("momentum") else ())


def _adam_kernel(params, grads, **kw):
    params = [p.copy() for p in params]
    m, v, vmax = ([np.zeros_like(p) for p in params] for _ in range(3))
    for step, g in enumerate(grads, 1):
        ops.adam_step(params, g, m, v, vmax, steps=step, **kw)
    return tuple(params) + tuple(m) + tuple(v) + tuple(vmax)


def _adam_reference(params, grads, **kw):
    outs = []
    for i, p in enumerate(params):
        m, v, vmax = (np.zeros_like(p) for _ in range(3))
        for step, g in enumerate(grads, 1):
            p, m, v, vmax = ref.adam(p, g[i], m, v, vmax, step=step, **kw)
        outs.append((p, m, v, vmax))
    return tuple(o[k] for k in range(4) for o in outs)


def _rmsprop_kernel(params, grads, **kw):
    params = [p.copy() for p in params]
    sq, buf, gavg = ([np.zeros_like(p) for p in params] for _ in range(3))
    for g in grads:
        ops.rmsprop_step(params, g, sq, buf, gavg, **kw)
    return tuple(params) + tuple(sq) + tuple(buf) + tuple(gavg)


def _rmsprop_reference(params, grads, **kw):
    outs = []
    for i, p in enumerate(params):
        sq, buf, gavg = (np.zeros_like(p) for _ in range(3))
        for g in grads:
            p, sq, buf, gavg = ref.rmsprop(p, g[i], sq, buf, gavg, **kw)
        outs.append((p, sq, buf, gavg))
    return tuple(o[k] for k in range(4) for o in outs)


def _options(**choices):
    keys = list(choices)
    return [dict(zip(keys, values)) for values in itertools.product(*choices.values())]


SGD_OPTIONS = [o for o in _options(momentum=(0.0, 0.9), dampening=(0.0, 0.5), nesterov=(False, True),
                                   weight_decay=(0.0, 0.1), maximize=(False, True))
               if not (o["nesterov"] and o["dampening"]) and (o["momentum"] or not (o["nesterov"] or o["dampening"]))]
# beta1 = 0.3 and alpha = 0.3 take lerp's other formula (weight 0.7 >= 0.5).
ADAM_OPTIONS = _options(beta1=(0.9, 0.3), weight_decay=(0.0, 0.1), amsgrad=(False, True), maximize=(False, True),
                        decoupled_weight_decay=(False, True))
RMSPROP_OPTIONS = _options(alpha=(0.99, 0.3), weight_decay=(0.0, 0.1), momentum=(0.0, 0.5), centered=(False, True),
                           maximize=(False, True))
CASES = ([("sgd", dict(lr=0.1, **o)) for o in SGD_OPTIONS] + [("adam", dict(lr=0.01, **o)) for o in ADAM_OPTIONS]
         + [("rmsprop", dict(lr=0.01, **o)) for o in RMSPROP_OPTIONS])
KERNELS = {"sgd": (_sgd_kernel, _sgd_reference), "adam": (_adam_kernel, _adam_reference),
           "rmsprop": (_rmsprop_kernel, _rmsprop_reference)}


def _case_id(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items() if k != "lr")


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_kernel_matches_reference_float64(case):
    name, kw = case
    kernel, reference = KERNELS[name]
    params, grads = _group(np.float64)
    for got, want in zip(kernel(params, grads, **kw), reference(params, grads, **kw)):
        assert_close(got, want)


@pytest.mark.parametrize("name,kw", [
    ("sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("rmsprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
])
def test_kernel_matches_reference_float32(name, kw):
    kernel, reference = KERNELS[name]
    params, grads = _group(np.float32)
    for got, want in zip(kernel(params, grads, **kw), reference(params, grads, **kw)):
        assert got.dtype == np.float32
        assert_close(got, want)


ALL_ON = [("sgd", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True)),
          ("adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
          ("rmsprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1, maximize=True))]


@pytest.mark.parametrize("name,kw", ALL_ON)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_bitwise_across_threads_and_isas(name, kw, dtype):
    kernel = KERNELS[name][0]
    params, grads = _group(dtype, sizes=(70001, 3, 40000))
    with isa_scope("baseline"):
        baseline = kernel(params, grads, **kw)
    for isa in dlcore.available_isas():
        with isa_scope(isa):
            got = run_threads_bitwise(kernel, params, grads, **kw)
        for a, b in zip(got, baseline):
            assert a.tobytes() == b.tobytes(), f"{isa} differs from baseline"


def test_adam_steps_per_tensor():
    # Parameters of one group may have taken different numbers of steps (grads that were None).
    params, grads = _group(np.float64, sizes=(5, 7))
    m, v = [np.zeros(5), np.zeros(7)], [np.zeros(5), np.zeros(7)]
    got = [p.copy() for p in params]
    ops.adam_step(got, grads[0], m, v, steps=[1, 4], lr=0.1)
    for i, step in enumerate((1, 4)):
        want = ref.adam(params[i], grads[0][i], np.zeros_like(params[i]), np.zeros_like(params[i]), None,
                        step=step, lr=0.1)[0]
        assert_close(got[i], want)


def test_amsgrad_maximum_propagates_nan():
    # torch.maximum semantics: a NaN already in max_exp_avg_sq stays, whatever exp_avg_sq holds.
    p, g, m, v, vmax = np.zeros(3), np.ones(3), np.zeros(3), np.zeros(3), np.array([np.nan, 0.0, 0.0])
    want = ref.adam(p, g, m, v, vmax, step=1, lr=0.1, amsgrad=True)
    ops.adam_step([p], [g], [m], [v], [vmax], steps=1, lr=0.1, amsgrad=True)
    assert_close(p, want[0])
    assert np.isnan(p[0]) and np.isnan(vmax[0])


def test_sgd_new_buffers_take_the_parameters_kind():
    p_np, p_dl = np.ones(3), dlcore.tensor(np.ones(3))
    bufs = [None, None]
    ops.sgd_step([p_np, p_dl], [np.full(3, 2.0), dlcore.tensor(np.full(3, 2.0))], bufs, lr=0.5, momentum=0.9)
    assert isinstance(bufs[0], np.ndarray) and isinstance(bufs[1], dlcore.Tensor)
    assert_close(bufs[1].numpy(), np.full(3, 2.0))
    assert_close(p_dl.numpy(), np.zeros(3))


def test_strided_gradient_is_read_correctly():
    g = np.arange(12.0).reshape(3, 4).T  # not contiguous
    p1, p2 = np.zeros((4, 3)), np.zeros((4, 3))
    ops.sgd_step([p1], [g], lr=1.0)
    ops.sgd_step([p2], [np.ascontiguousarray(g)], lr=1.0)
    assert_close(p1, p2)
    assert_close(p1, -g)


# ---- kernel bad input --------------------------------------------------------------------------------
def _ro(a):
    a.setflags(write=False)
    return a


BUF, BASE = np.zeros(4), np.zeros(8)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: ops.sgd_step([np.zeros(4)], [np.zeros(4), np.zeros(4)], lr=0.1), ValueError, "one gradient per"),
    (lambda: ops.sgd_step([np.zeros(4)], [np.zeros(5)], lr=0.1), ValueError, r"grads\[0\] to have the shape"),
    (lambda: ops.sgd_step([np.zeros(4)], [np.zeros(4, np.float32)], lr=0.1), TypeError, "dtype"),
    (lambda: ops.sgd_step([np.zeros(4, np.int64)], [np.zeros(4, np.int64)], lr=0.1), TypeError, "float32 or float64"),
    (lambda: ops.sgd_step([np.zeros((4, 4)).T], [np.zeros((4, 4))], lr=0.1), ValueError, "contiguous"),
    (lambda: ops.sgd_step([_ro(np.zeros(4))], [np.zeros(4)], lr=0.1), ValueError, "read-only"),
    (lambda: ops.sgd_step(np.zeros(4), [np.zeros(4)], lr=0.1), TypeError, "list of arrays"),
    (lambda: dlcore._core.sgd_step(np.zeros((2, 4)), [np.zeros(4)] * 2, None, [], 0.1, 0, 0, 0, False, False),
     TypeError, "list of arrays"),
    (lambda: ops.sgd_step([[0.0, 1.0]], [np.zeros(2)], lr=0.1), TypeError, "updated in place"),
    (lambda: ops.sgd_step([np.zeros(4)], [np.zeros(4)], lr=0.1, momentum=0.9), ValueError, "momentum_buffers"),
    (lambda: ops.sgd_step([np.zeros(4)], [np.zeros(4)], [], lr=0.1, momentum=0.9), ValueError,
     "one entry of momentum_buffers"),
    (lambda: ops.sgd_step([BUF], [np.zeros(4)], [BUF], lr=0.1, momentum=0.9), ValueError, "overlap"),
    (lambda: ops.adam_step([np.zeros(4)], [np.zeros(4)], [np.zeros(4)], [np.zeros(4)], steps=0), ValueError,
     r"steps\[0\] >= 1"),
    (lambda: ops.adam_step([np.zeros(4)], [np.zeros(4)], [np.zeros(3)], [np.zeros(4)], steps=1), ValueError,
     r"exp_avgs\[0\]"),
    (lambda: ops.adam_step([np.zeros(4)], [np.zeros(4)], [np.zeros(4)], [np.zeros(4)], steps=1, amsgrad=True),
     ValueError, "max_exp_avg_sqs"),
    (lambda: ops.rmsprop_step([np.zeros(4)], [np.zeros(4)], [np.zeros(4)], centered=True), ValueError, "grad_avgs"),
    (lambda: ops.rmsprop_step([BASE[:4]], [np.zeros(4)], [BASE[2:6]]), ValueError, "overlap"),
])
def test_kernel_bad_input(call, exc, match):
    with pytest.raises(exc, match=match) as info:
        call()
    assert str(info.value).split(":")[0] in ("sgd_step", "adam_step", "rmsprop_step")


# ---- Optimizer API -------------------------------------------------------------------------------------
def _params(*shapes, dtype=np.float64, seed=0):
    r = rng(seed)
    return [nn.Parameter(dlcore.tensor(r.standard_normal(s).astype(dtype))) for s in shapes]


def _set_grads(params, seed):
    r = rng(seed)
    for p in params:
        p.grad = dlcore.tensor(r.standard_normal(p.shape).astype(p.dtype))


def test_param_groups_defaults_and_add_param_group():
    a, b, c = _params((2,), (3,), (4,))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[0]["momentum"] == 0 and opt.defaults["lr"] == 0.1
    opt.add_param_group({"params": [c], "weight_decay": 0.1})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["weight_decay"] == 0.1
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.add_param_group({"params": _params((1,)), "lr": -1.0})
    named = optim.Adam([("w", a), ("b", b)])
    assert named.param_groups[0]["param_names"] == ["w", "b"]
    assert "SGD (" in repr(opt) and "Parameter Group 2" in repr(opt)


def test_required_option_must_be_given_by_every_group():
    class Plain(optim.Optimizer):
        def __init__(self, params, lr=optim.optimizer.required):
            super().__init__(params, {"lr": lr})

    with pytest.raises(ValueError, match="^Plain: .*required optimization parameter lr"):
        Plain(_params((2,)))
    assert Plain([{"params": _params((2,)), "lr": 0.1}]).param_groups[0]["lr"] == 0.1


def test_step_skips_params_without_grad_and_runs_closure():
    a, b = _params((3,), (3,))
    before = b.numpy().copy()
    opt = optim.Adam([a, b], lr=0.1)
    calls = []

    def closure():
        calls.append(dlcore.is_grad_enabled())
        _set_grads([a], seed=1)
        return 1.5

    with dlcore.no_grad():
        assert opt.step(closure) == 1.5
    assert calls == [True]
    assert np.array_equal(b.numpy(), before) and b not in opt.state
    assert opt.state[a]["step"] == 1.0 and opt.step() is None


def test_zero_grad():
    a, b = _params((3,), (2,))
    opt = optim.SGD([a, b], lr=0.1)
    _set_grads([a, b], seed=1)
    opt.zero_grad(set_to_none=False)
    assert np.array_equal(a.grad.numpy(), np.zeros(3))
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_step_bumps_the_version_counter():
    # An op that saved the parameter must refuse to backward after the in-place update.
    (a,) = _params((3,))
    y = (a * a).sum()
    opt = optim.SGD([a], lr=0.1)
    _set_grads([a], seed=1)
    opt.step()
    with pytest.raises(RuntimeError):
        y.backward()


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.SGD(p, lr=-0.1), "Invalid learning rate"),
    (lambda p: optim.SGD(p, momentum=-0.5), "Invalid momentum value"),
    (lambda p: optim.SGD(p, weight_decay=-1), "Invalid weight_decay value"),
    (lambda p: optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.SGD(p, differentiable=True), "not supported"),
    (lambda p: optim.Adam(p, lr=-1e-3), "Invalid learning rate"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (lambda p: optim.Adam(p, betas=(0.9,)), "betas must be a pair"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "Invalid epsilon value"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "Invalid weight_decay value"),
    (lambda p: optim.Adam(p, capturable=True), "not supported"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "Invalid alpha value"),
    (lambda p: optim.RMSprop(p, momentum=-0.1), "Invalid momentum value"),
    (lambda p: optim.RMSprop(p, eps=-1.0), "Invalid epsilon value"),
])
def test_bad_hyper_parameters(make, match):
    with pytest.raises(ValueError, match=match) as info:
        make(_params((2,)))
    assert str(info.value).split(":")[0] in ("SGD", "Adam", "AdamW", "RMSprop")


@pytest.mark.parametrize("params,exc,match", [
    (lambda: _params((2,))[0], TypeError, "iterable of Tensors"),
    (lambda: [], ValueError, "empty parameter list"),
    (lambda: [np.zeros(2)], TypeError, "can only optimize Tensors"),
    (lambda: set(_params((2,))), TypeError, "ordered collections"),
    (lambda: [_params((2,))[0] * 2.0], ValueError, "non-leaf"),
    (lambda: [dlcore.tensor(np.zeros(2, np.int64))], TypeError, "float32 or float64"),
    (lambda: 2 * _params((2,)), ValueError, "duplicate parameters"),
])
def test_bad_params(params, exc, match):
    with pytest.raises(exc, match=match):
        optim.SGD(params(), lr=0.1)


# ---- PyTorch parity -------------------------------------------------------------------------------------
PARITY_SHAPES = [(3, 4), (5,), (1,), (33,)]
TORCH_TOL = {np.float64: dict(rtol=1e-12, atol=1e-13), np.float32: dict(rtol=2e-6, atol=2e-6)}


def _torch_parity(torch, name, groups_of, dtype, steps=20, skip=lambda step, i: False):
    """Run dlcore's and torch's optimizer `name` on the same weights and gradient sequence;
    compare the parameters after every step."""
    r = rng(3)
    init = [r.standard_normal(s).astype(dtype) for s in PARITY_SHAPES]
    grads = [[r.standard_normal(s).astype(dtype) for s in PARITY_SHAPES] for _ in range(steps)]
    dl = [nn.Parameter(dlcore.tensor(a.copy())) for a in init]
    tp = [torch.nn.Parameter(torch.tensor(a.copy())) for a in init]
    args, kw = groups_of(dl)
    dl_opt = getattr(optim, name)(args, **kw)
    args, kw = groups_of(tp)
    t_opt = getattr(torch.optim, name)(args, **kw, foreach=False)
    for step in range(steps):
        for i, (a, b) in enumerate(zip(dl, tp)):
            g = None if skip(step, i) else grads[step][i]
            a.grad = None if g is None else dlcore.tensor(g)
            b.grad = None if g is None else torch.tensor(g)
        dl_opt.step()
        t_opt.step()
        for a, b in zip(dl, tp):
            assert_close(a.numpy(), b.detach().numpy(), **TORCH_TOL[dtype])
    return dl_opt, t_opt


def _one_group(**kw):
    return lambda params: (params, kw)


PARITY = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, momentum=0.5, centered=True, weight_decay=0.1)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name,kw", PARITY, ids=[f"{n}-{','.join(kw)}" for n, kw in PARITY])
def test_torch_parity_trajectories(torch, name, kw, dtype):
    _torch_parity(torch, name, _one_group(**kw), dtype)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_torch_parity_groups_and_missing_grads(torch, name):
    def groups_of(params):
        extra = {"momentum": 0.5} if name != "Adam" else {"betas": (0.8, 0.99)}
        return [{"params": params[:2]}, {"params": params[2:], "lr": 0.2, **extra}], {"lr": 0.05}

    # Parameter 1 has no gradient every third step: per-parameter step counts drift apart.
    _torch_parity(torch, name, groups_of, np.float64, skip=lambda step, i: i == 1 and step % 3 == 1)


def test_torch_parity_training_a_linear_model(torch):
    r = rng(5)
    x, y = r.standard_normal((16, 4)).astype(np.float32), r.standard_normal((16, 3)).astype(np.float32)
    model, tmodel = nn.Linear(4, 3), torch.nn.Linear(4, 3)
    with torch.no_grad():
        tmodel.weight.copy_(torch.tensor(model.weight.numpy()))
        tmodel.bias.copy_(torch.tensor(model.bias.numpy()))
    opt = optim.AdamW(model.parameters(), lr=0.05)
    topt = torch.optim.AdamW(tmodel.parameters(), lr=0.05, foreach=False)
    for _ in range(20):
        opt.zero_grad()
        nn.functional.mse_loss(model(dlcore.tensor(x)), dlcore.tensor(y)).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.mse_loss(tmodel(torch.tensor(x)), torch.tensor(y)).backward()
        topt.step()
    assert_close(model.weight.numpy(), tmodel.weight.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert_close(model.bias.numpy(), tmodel.bias.detach().numpy(), rtol=1e-5, atol=1e-5)


# ---- state_dict ---------------------------------------------------------------------------------------------
def _train(opt, params, seeds):
    for s in seeds:
        _set_grads(params, s)
        opt.step()


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    lambda p: optim.AdamW([{"params": p[:1]}, {"params": p[1:], "lr": 0.1}]),
    lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
])
def test_state_dict_round_trip(make):
    params = _params((3, 2), (4,))
    opt = make(params)
    _train(opt, params, range(5))
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"] and sorted(sd["state"]) == [0, 1]
    assert [i for g in sd["param_groups"] for i in g["params"]] == [0, 1]
    assert all(isinstance(v, (dlcore.Tensor, float)) for entry in sd["state"].values() for v in entry.values())

    twins = [nn.Parameter(dlcore.tensor(p.numpy().copy())) for p in params]
    twin = make(twins)
    twin.load_state_dict(sd)
    _train(opt, params, range(5, 10))
    _train(twin, twins, range(5, 10))
    for a, b in zip(params, twins):
        assert a.numpy().tobytes() == b.numpy().tobytes()


def test_load_torch_state_dict_then_continue(torch):
    # torch's Adam state_dict (tensors, or converted to NumPy) loads into dlcore's Adam.
    def groups_of(params):
        return params, {"lr": 0.01, "amsgrad": True}

    dl_opt, t_opt = _torch_parity(torch, "Adam", groups_of, np.float64, steps=4)
    sd = t_opt.state_dict()
    numpy_sd = {"state": {k: {n: v.numpy() for n, v in s.items()} for k, s in sd["state"].items()},
                "param_groups": sd["param_groups"]}
    for state_dict in (sd, numpy_sd):
        params = [p for g in dl_opt.param_groups for p in g["params"]]
        fresh = optim.Adam(params, lr=0.01, amsgrad=True)
        fresh.load_state_dict(state_dict)
        for p in params:
            for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
                assert_close(fresh.state[p][key].numpy(), dl_opt.state[p][key].numpy(), **TORCH_TOL[np.float64])
            assert fresh.state[p]["step"] == 4.0
        assert set(fresh.param_groups[0]) == set(sd["param_groups"][0]) | {"params"}

    # Continued from torch's state, dlcore follows torch's trajectory.
    tparams = t_opt.param_groups[0]["params"]
    params = [nn.Parameter(dlcore.tensor(p.detach().numpy().copy())) for p in tparams]
    resumed = optim.Adam(params, lr=0.01, amsgrad=True)
    resumed.load_state_dict(numpy_sd)
    for seed in range(3):
        _set_grads(params, seed)
        for a, b in zip(params, tparams):
            b.grad = torch.tensor(a.grad.numpy().copy())
        resumed.step()
        t_opt.step()
    for a, b in zip(params, tparams):
        assert_close(a.numpy(), b.detach().numpy(), **TORCH_TOL[np.float64])


def test_adamw_stays_decoupled_when_loading_adam_state():
    params = _params((2,))
    adamw = optim.AdamW(params)
    adamw.load_state_dict(optim.Adam(params, weight_decay=0.1).state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] and adamw.param_groups[0]["weight_decay"] == 0.1


def test_load_state_dict_bad_input():
    a, b, c = _params((2,), (3,), (3,))
    sd = optim.SGD([a, b], lr=0.1, momentum=0.9).state_dict()
    with pytest.raises(ValueError, match="^SGD.load_state_dict: .*different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([a, b, c], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        optim.SGD([a, b], lr=0.1).load_state_dict({"state": {}})
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    _train(opt, [a, b], [1])
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="momentum_buffer.*shape"):
        optim.SGD([b, a], lr=0.1, momentum=0.9).load_state_dict(sd)


# ---- schedulers ------------------------------------------------------------------------------------------------
SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),  # 25 steps pass the minimum and climb back
    ("LinearLR", dict(start_factor=0.25, total_iters=6)),
    ("LinearLR", dict()),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e)),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1.0 / (e + 1), lambda e: 0.5 ** (e // 4)])),
]


def _both_optimizers(torch):
    dl = optim.SGD([{"params": _params((2,))}, {"params": _params((2,)), "lr": 0.01}], lr=0.1)
    tp = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)]},
                          {"params": [torch.zeros(2, requires_grad=True)], "lr": 0.01}], lr=0.1)
    return dl, tp


def _lr_sequence(opt, schedulers, steps=25):
    seq = [schedulers[-1].get_last_lr()]
    for _ in range(steps):
        opt.step()
        for s in schedulers:
            s.step()
        seq.append(schedulers[-1].get_last_lr())
    return seq


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_scheduler_matches_torch(torch, name, kw):
    dl, tp = _both_optimizers(torch)
    got = _lr_sequence(dl, [getattr(lr_scheduler, name)(dl, **kw)])
    want = _lr_sequence(tp, [getattr(torch.optim.lr_scheduler, name)(tp, **kw)])
    assert got == want  # the same float operations in the same order: equal, not just close
    assert [g["lr"] for g in dl.param_groups] == [g["lr"] for g in tp.param_groups]


def test_chained_schedulers_match_torch(torch):
    dl, tp = _both_optimizers(torch)
    got = _lr_sequence(dl, [lr_scheduler.LinearLR(dl, 0.1, total_iters=4), lr_scheduler.ExponentialLR(dl, 0.9)])
    want = _lr_sequence(tp, [torch.optim.lr_scheduler.LinearLR(tp, 0.1, total_iters=4),
                             torch.optim.lr_scheduler.ExponentialLR(tp, 0.9)])
    assert got == want


def test_cosine_resume_with_last_epoch_matches_torch(torch):
    dl, tp = _both_optimizers(torch)
    for opt in (dl, tp):
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
    got = _lr_sequence(dl, [lr_scheduler.CosineAnnealingLR(dl, T_max=10, last_epoch=4)], steps=8)
    want = _lr_sequence(tp, [torch.optim.lr_scheduler.CosineAnnealingLR(tp, T_max=10, last_epoch=4)], steps=8)
    assert got == want


@pytest.mark.parametrize("name,kw", SCHEDULERS[:4] + SCHEDULERS[5:6])
def test_scheduler_state_dict_round_trip(name, kw):
    def build():
        opt = optim.SGD(_params((2,)), lr=0.1, momentum=0.9)
        return opt, getattr(lr_scheduler, name)(opt, **kw)

    opt, sched = build()
    _lr_sequence(opt, [sched], steps=5)
    opt2, sched2 = build()
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    assert sched2.last_epoch == 5 and sched2.get_last_lr() == sched.get_last_lr()
    assert _lr_sequence(opt, [sched], steps=10) == _lr_sequence(opt2, [sched2], steps=10)


def test_lambda_scheduler_saves_callable_objects_only():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = optim.SGD([{"params": _params((1,))}, {"params": _params((1,))}], lr=1.0)
    sched = lr_scheduler.LambdaLR(opt, [Decay(0.5), lambda e: 1.0])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    other = lr_scheduler.LambdaLR(opt, [Decay(0.9), lambda e: 1.0])
    other.load_state_dict(sd)
    assert other.lr_lambdas[0].rate == 0.5 and "lr_lambdas" in sd


@pytest.mark.parametrize("make,exc,match", [
    (lambda o: lr_scheduler.StepLR(object(), 2), TypeError, "is not an Optimizer"),
    (lambda o: lr_scheduler.StepLR(o, 0), ValueError, "step_size must be a positive integer"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "Starting multiplicative factor"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError, "Ending multiplicative factor"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0] * 2), ValueError, "Expected 1 lr_lambdas, but got 2"),
    (lambda o: lr_scheduler.ExponentialLR(o, 0.9, last_epoch=3), KeyError, "initial_lr"),
    (lambda o: lr_scheduler.ExponentialLR(o, 0.9).step(3), TypeError, "epoch argument"),
])
def test_scheduler_bad_input(make, exc, match):
    with pytest.raises(exc, match=match):
        make(optim.SGD(_params((2,)), lr=0.1))


# ---- gradient clipping ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm, dtype):
    dl = _params((3, 5), (7,), (1,), dtype=dtype)
    _set_grads(dl, seed=2)
    dl.append(nn.Parameter(dlcore.tensor(np.zeros(2, dtype))))  # no grad: ignored
    tp = [torch.tensor(p.numpy().copy(), requires_grad=True) for p in dl]
    for a, b in zip(dl, tp):
        b.grad = None if a.grad is None else torch.tensor(a.grad.numpy().copy())
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    total = nn.utils.clip_grad_norm_(dl, max_norm, norm_type=norm_type)
    want = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type, foreach=False)
    assert isinstance(total, dlcore.Tensor) and total.dtype == dtype
    assert_close(total.numpy(), want.numpy(), **tol)
    for a, b in zip(dl[:-1], tp[:-1]):
        assert_close(a.grad.numpy(), b.grad.numpy(), **tol)


def test_clip_grad_norm_errors_threads_and_edge_cases():
    p = _params((100_000,), dtype=np.float32)
    _set_grads(p, seed=4)
    grad = p[0].grad.numpy().copy()

    def clipped():
        p[0].grad = dlcore.tensor(grad.copy())
        return nn.utils.clip_grad_norm_(p, 1.0).numpy().copy(), p[0].grad.numpy().copy()

    run_threads_bitwise(clipped)
    assert nn.utils.clip_grad_norm_(_params((2,)), 1.0).item() == 0.0  # no gradients at all
    p[0].grad = dlcore.tensor(np.array([1.0, np.inf], np.float32))
    with pytest.raises(RuntimeError, match="^clip_grad_norm_: .*non-finite"):
        nn.utils.clip_grad_norm_(p[0], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type"):
        nn.utils.clip_grad_norm_(p, 1.0, norm_type=0)


def test_clip_grad_value_matches_torch(torch):
    (p,) = _params((40,))
    _set_grads([p], seed=6)
    g = torch.tensor(p.grad.numpy().copy())
    g[3] = float("nan")
    p.grad = dlcore.tensor(g.numpy().copy())
    nn.utils.clip_grad_value_(p, 0.5)
    t = torch.zeros(40, dtype=torch.float64, requires_grad=True)
    t.grad = g
    torch.nn.utils.clip_grad_value_([t], 0.5, foreach=False)
    np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())

"""dlcore.nn normalisation and channel-dropout layers: gradcheck of the functional forms, PyTorch
parity (outputs, gradients, running statistics over several training steps, momentum=None,
state_dicts loaded from torch modules), eval mode, empty batches, Dropout1d/2d and Unflatten."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.autograd import gradcheck
from dlcore.nn import functional as F
from tests.conftest import assert_close, rng


def T(a, requires_grad=False):
    return dlcore.tensor(np.asarray(a), requires_grad=requires_grad)


def f64(shape, seed=0, offset=0.0):
    return T(rng(seed).standard_normal(shape) + offset, True)


# ---- gradcheck of the functional forms ------------------------------------------------------------

@pytest.mark.parametrize("fn, shape, nparam", [
    (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (4, 3, 2), 3),
    (lambda x, w, b: F.layer_norm(x, (3, 2), w, b), (2, 3, 2), (3, 2)),
    (lambda x, w, b: F.group_norm(x, 2, w, b), (2, 4, 3), 4),
    (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (2, 3, 4), 3),
])
def test_functional_gradcheck(fn, shape, nparam):
    x = f64(shape, offset=1.0)
    w, b = f64(nparam, 1), f64(nparam, 2)
    assert gradcheck(fn, (x, w, b))


def test_batch_norm_eval_gradcheck():
    rm, rv = T(rng(3).standard_normal(3)), T(rng(4).uniform(0.5, 2, 3))
    assert gradcheck(lambda x, w: F.batch_norm(x, rm, rv, w, None, training=False), (f64((2, 3, 2)), f64(3, 1)))


# ---- torch parity ----------------------------------------------------------------------------------

def _pair(torch, make_dl, make_torch, x, steps=3, train=True, seed=0):
    """The same module in dlcore and torch (torch's weights loaded), run `steps` times; returns
    both, comparing outputs and input/parameter gradients on each step."""
    tm = make_torch()
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.tensor(rng(seed).standard_normal(tuple(p.shape))))
            seed += 1
    dm = make_dl()
    dm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    tm.train(train)
    dm.train(train)
    for s in range(steps):
        xs = x * (1 + s) + s
        tx = torch.tensor(xs, requires_grad=True)
        dx = T(xs, True)
        ty, dy = tm(tx), dm(dx)
        assert_close(dy.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
        g = rng(10 + s).standard_normal(ty.shape)
        ty.backward(torch.tensor(g))
        dy.backward(T(g))
        assert_close(dx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-10)
        for (name, tp), dp in zip(tm.named_parameters(), dm.parameters()):
            assert_close(dp.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-10), name
            tp.grad = None
            dp.grad = None
    return dm, tm


def _same_state(dm, tm):
    ts = tm.state_dict()
    ds = dm.state_dict()
    assert list(ds) == list(ts)
    for k in ts:
        assert_close(np.asarray(ds[k].numpy()), ts[k].numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (3, 3, 5, 4)])
def test_batch_norm_modules_match_torch_over_several_steps(torch, shape, momentum):
    x = rng(1).standard_normal(shape) * 2 + 1
    if len(shape) == 4:
        make_dl, make_t = (lambda: nn.BatchNorm2d(3, momentum=momentum).double(),
                           lambda: torch.nn.BatchNorm2d(3, momentum=momentum).double())
    else:
        make_dl, make_t = (lambda: nn.BatchNorm1d(3, momentum=momentum).double(),
                           lambda: torch.nn.BatchNorm1d(3, momentum=momentum).double())
    dm, tm = _pair(torch, make_dl, make_t, x, steps=4)
    _same_state(dm, tm)
    assert int(dm.num_batches_tracked.item()) == 4
    # eval mode: the running statistics
    dm.eval()
    tm.eval()
    assert_close(dm(T(x)).numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_without_running_stats_or_affine_matches_torch(torch):
    x = rng(2).standard_normal((6, 4, 3))
    for kw in (dict(affine=False), dict(track_running_stats=False)):
        dm, tm = _pair(torch, lambda: nn.BatchNorm1d(4, **kw).double(), lambda: torch.nn.BatchNorm1d(4, **kw).double(),
                       x, steps=2)
        _same_state(dm, tm)
        dm.eval()
        tm.eval()
        assert_close(dm(T(x)).numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(), dict(elementwise_affine=False), dict(bias=False), dict(eps=1e-3)])
def test_layer_norm_module_matches_torch(torch, kw):
    x = rng(3).standard_normal((3, 5, 2, 7))
    dm, tm = _pair(torch, lambda: nn.LayerNorm((2, 7), **kw).double(), lambda: torch.nn.LayerNorm((2, 7), **kw).double(),
                   x, steps=1)
    _same_state(dm, tm)


@pytest.mark.parametrize("groups, affine", [(1, True), (2, True), (6, False), (3, True)])
def test_group_norm_module_matches_torch(torch, groups, affine):
    x = rng(4).standard_normal((2, 6, 3, 5))
    dm, tm = _pair(torch, lambda: nn.GroupNorm(groups, 6, affine=affine).double(),
                   lambda: torch.nn.GroupNorm(groups, 6, affine=affine).double(), x, steps=1)
    _same_state(dm, tm)


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (3, 4, 7)), ("InstanceNorm2d", (2, 4, 3, 5)),
                                        ("InstanceNorm1d", (4, 7)), ("InstanceNorm2d", (4, 3, 5))])
@pytest.mark.parametrize("kw", [dict(), dict(affine=True, track_running_stats=True)])
def test_instance_norm_modules_match_torch(torch, cls, shape, kw):
    x = rng(5).standard_normal(shape)
    dm, tm = _pair(torch, lambda: getattr(nn, cls)(4, **kw).double(), lambda: getattr(torch.nn, cls)(4, **kw).double(),
                   x, steps=3)
    _same_state(dm, tm)
    dm.eval()
    tm.eval()
    assert_close(dm(T(x)).numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-9, atol=1e-10)


def test_float32_modules_match_torch(torch):
    x = rng(6).standard_normal((8, 16, 9, 9)).astype(np.float32)
    for dm, tm in ((nn.BatchNorm2d(16), torch.nn.BatchNorm2d(16)), (nn.GroupNorm(4, 16), torch.nn.GroupNorm(4, 16)),
                   (nn.LayerNorm(9), torch.nn.LayerNorm(9))):
        tx, dx = torch.tensor(x, requires_grad=True), T(x, True)
        ty, dy = tm(tx), dm(dx)
        assert_close(dy.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
        (ty * ty).sum().backward()
        (dy * dy).sum().backward()
        assert_close(dx.grad.numpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-4)
        if isinstance(dm, nn.BatchNorm2d):
            assert_close(dm.running_var.numpy(), tm.running_var.numpy(), rtol=1e-5, atol=1e-6)


def test_state_dict_keys_and_loading_errors():
    m = nn.BatchNorm2d(3)
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert m.state_dict()["num_batches_tracked"].dtype == np.int64
    with pytest.raises(RuntimeError, match="size mismatch for running_mean"):
        m.load_state_dict({**{k: v.numpy() for k, v in m.state_dict().items()}, "running_mean": np.zeros(4)})
    assert list(nn.InstanceNorm2d(3).state_dict()) == []
    assert list(nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]


# ---- behaviour ---------------------------------------------------------------------------------------

def test_empty_batch_forward_and_backward():
    for m, shape in ((nn.BatchNorm2d(3), (0, 3, 4, 4)), (nn.LayerNorm(4), (0, 4)), (nn.GroupNorm(3, 3), (0, 3, 5)),
                     (nn.InstanceNorm1d(3), (0, 3, 5))):
        x = T(np.zeros(shape, np.float32), True)
        y = m(x)
        assert y.shape == shape
        y.sum().backward()
        assert x.grad.shape == shape
    bn = nn.BatchNorm1d(3)
    bn(T(np.zeros((0, 3), np.float32)))
    assert (bn.running_mean.numpy() == 0).all() and (bn.running_var.numpy() == 1).all()


def test_module_errors():
    with pytest.raises(ValueError, match="^GroupNorm: num_channels"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="^BatchNorm2d: expected 4D input"):
        nn.BatchNorm2d(3)(T(np.zeros((2, 3, 4))))
    with pytest.raises(ValueError, match="^batch_norm: expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(T(np.zeros((1, 3), np.float32)))
    with pytest.raises(ValueError, match="^layer_norm: expected input of shape"):
        nn.LayerNorm(5)(T(np.zeros((2, 4), np.float32)))
    with pytest.raises(ValueError, match="^instance_norm: expected more than 1 spatial element"):
        nn.InstanceNorm1d(3)(T(np.zeros((2, 3, 1), np.float32)))
    with pytest.raises(TypeError, match="^batch_norm:"):
        nn.BatchNorm1d(3)(T(np.zeros((4, 3), np.float64)))  # float32 parameters, float64 input


def test_ops_with_grad_tensors_record_autograd():
    x = f64((4, 3, 2))
    y = dlcore.ops.batch_norm(x, training=True)
    assert y.grad_fn is not None
    y = dlcore.ops.layer_norm(x, 2)
    y.sum().backward()
    assert x.grad is not None
    with pytest.raises(RuntimeError, match="^group_norm: return_stats"):
        dlcore.ops.group_norm(x, 3, return_stats=True)


# ---- channel dropout and Unflatten ----------------------------------------------------------------

@pytest.mark.parametrize("fn, shape", [(F.dropout2d, (4, 6, 3, 5)), (F.dropout2d, (4, 6, 7)), (F.dropout1d, (4, 6, 7)),
                                       (F.dropout1d, (6, 7))])
def test_channel_dropout_zeroes_whole_channels(fn, shape):
    x = T(np.ones(shape, np.float32), True)
    dlcore.manual_seed(3)
    y = fn(x, 0.5)
    dlcore.manual_seed(3)
    assert y.numpy().tobytes() == fn(x, 0.5).numpy().tobytes()  # seeded
    lead = 2 if len(shape) > 2 else 1
    per_channel = y.numpy().reshape(shape[:lead] + (-1,))
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    assert 0 < (per_channel[..., 0] == 0).sum() < per_channel[..., 0].size
    y.sum().backward()
    assert_close(x.grad.numpy(), y.detach().numpy())
    assert fn(x, 0.5, training=False) is x
    assert (fn(x, 1.0).numpy() == 0).all()


def test_channel_dropout_modules_and_errors():
    m = nn.Dropout2d(0.25)
    x = T(np.ones((2, 8, 3, 3), np.float32))
    assert set(np.unique(m(x).numpy())) <= {0.0, np.float32(1 / 0.75)}
    m.eval()
    assert m(x) is x
    assert nn.Dropout1d(0.3).extra_repr() == "p=0.3, inplace=False"
    with pytest.raises(ValueError, match="^dropout1d:"):
        F.dropout1d(x, 0.5)
    with pytest.raises(ValueError, match="^dropout2d:"):
        F.dropout2d(T(np.ones((2, 3))), 0.5)
    with pytest.raises(ValueError, match="^dropout2d: dropout probability"):
        F.dropout2d(x, 1.5)
    with pytest.raises(ValueError, match="^Dropout1d:"):
        nn.Dropout1d(-0.1)


def test_unflatten():
    x = T(np.arange(24.0).reshape(2, 12), True)
    y = nn.Unflatten(1, (3, -1))(x)
    assert y.shape == (2, 3, 4)
    assert (y.numpy() == np.arange(24.0).reshape(2, 3, 4)).all()
    y.sum().backward()
    assert x.grad.shape == (2, 12)
    assert nn.Unflatten(-1, (2, 2, 3))(x).shape == (2, 2, 2, 3)
    with pytest.raises(ValueError, match="^Unflatten:"):
        nn.Unflatten(1, (5, 2))(x)
    with pytest.raises(IndexError, match="^Unflatten:"):
        nn.Unflatten(3, (2, 6))(x)

"""dlcore.nn: Module API, containers, layers (gradcheck, PyTorch parity), init and Dropout."""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.autograd import gradcheck
from dlcore.nn import functional as F
from tests.conftest import assert_close, rng


def T(a, requires_grad=False):
    t = dlcore.tensor(np.asarray(a))
    return t.requires_grad_(True) if requires_grad else t


def f64(shape, seed=0, requires_grad=True):
    return T(rng(seed).standard_normal(shape), requires_grad)


def to_torch(torch, t, requires_grad=False):
    return torch.tensor(np.array(t), requires_grad=requires_grad)


# ---- Parameter and Module API ---------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor():
    p = nn.Parameter(dlcore.zeros(2, 3))
    assert isinstance(p, nn.Parameter) and isinstance(p, dlcore.Tensor)
    assert p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\n")
    assert not nn.Parameter(dlcore.zeros(2), requires_grad=False).requires_grad
    # A Parameter enters autograd like any tensor.
    (p * 2.0).sum().backward()
    assert_close(p.grad.numpy(), np.full((2, 3), 2.0, np.float32))


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.blocks = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
        self.scale = nn.Parameter(dlcore.ones(1))
        self.register_buffer("running", dlcore.zeros(2))
        self.register_buffer("scratch", dlcore.zeros(2), persistent=False)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.blocks(self.fc(x)) * self.scale + self.running


def test_named_parameters_children_modules():
    net = _Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc.weight", "fc.bias", "blocks.0.weight", "blocks.0.bias", "blocks.2.weight"]
    assert len(list(net.parameters())) == 6
    assert [n for n, _ in net.named_children()] == ["fc", "blocks", "drop"]
    assert len(list(net.modules())) == 7
    assert [n for n, _ in net.named_modules()][:4] == ["", "fc", "blocks", "blocks.0"]
    assert [n for n, _ in net.named_buffers()] == ["running", "scratch"]
    assert list(net.state_dict()) == ["scale", "running", "fc.weight", "fc.bias", "blocks.0.weight",
                                      "blocks.0.bias", "blocks.2.weight"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    # Shared parameters are listed once.
    shared = nn.Sequential(net.fc, net.fc)
    assert len(list(shared.parameters())) == 2
    with pytest.raises(AttributeError):
        net.nothing
    with pytest.raises(TypeError):
        net.scale = dlcore.ones(1)  # a plain tensor cannot replace a parameter


def test_train_eval_toggles_dropout():
    net = _Net()
    assert net.training and net.drop.training
    assert net.eval() is net
    assert not net.training and not net.drop.training and not net.blocks[1].training
    x = dlcore.ones(4, 8)
    assert_close(net.drop(x).numpy(), x.numpy())
    net.train()
    assert net.drop.training
    y = net.drop(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and (y == 0).any()


def test_zero_grad():
    lin = nn.Linear(3, 2)
    lin(dlcore.ones(4, 3)).sum().backward()
    assert lin.weight.grad is not None
    lin.zero_grad(set_to_none=False)
    assert_close(lin.weight.grad.numpy(), np.zeros((2, 3), np.float32))
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


def test_apply_to_and_repr():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Linear", "Sequential"]
    w = net[0].weight
    assert net.to("cpu") is net and net[0].weight is w
    net.double()
    assert net[0].weight.dtype == np.float64 and net[0].weight is w
    assert repr(net) == ("Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n  (1): ReLU()\n"
                         "  (2): Linear(in_features=4, out_features=2, bias=False)\n)")
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25, inplace=False)"
    assert repr(nn.Embedding(5, 3, padding_idx=0)) == "Embedding(5, 3, padding_idx=0)"


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    with pytest.raises(IndexError):
        seq[3]
    named = nn.Sequential(OrderedDict(first=nn.Linear(2, 2), act=nn.Tanh()))
    assert list(named.state_dict()) == ["first.weight", "first.bias"]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.Identity())
    assert len(ml) == 4 and list(ml.state_dict())[-1] == "2.bias"
    md = nn.ModuleDict({"enc": nn.Linear(2, 3), "dec": nn.Linear(3, 2)})
    assert "enc" in md and list(md.keys()) == ["enc", "dec"]
    assert [n for n, _ in md.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    x = dlcore.ones(1, 2)
    assert seq(x).shape == (1, 1)


def test_state_dict_round_trip_and_errors():
    a, b = _Net(), _Net()
    sd = a.state_dict()
    assert all(not v.requires_grad for v in sd.values())
    res = b.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert_close(vb.numpy(), va.numpy())
    # NumPy values load too, and copies (not aliases) land in the parameters.
    np_sd = {k: np.array(v.numpy()) + 1 for k, v in sd.items()}
    b.load_state_dict(np_sd)
    assert_close(b.fc.weight.numpy(), sd["fc.weight"].numpy() + 1)

    bad = dict(np_sd)
    del bad["fc.bias"]
    bad["extra.weight"] = np.zeros(3, np.float32)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "fc.bias"') as e:
        b.load_state_dict(bad)
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in str(e.value)
    res = b.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["fc.bias"] and res.unexpected_keys == ["extra.weight"]

    wrong = dict(np_sd)
    wrong["fc.weight"] = np.zeros((5, 3), np.float32)
    before = b.fc.bias.numpy().copy()
    with pytest.raises(RuntimeError, match=r"size mismatch for fc.weight: .*\(5, 3\).*\(4, 3\)"):
        b.load_state_dict(wrong, strict=False)
    assert_close(b.fc.bias.numpy(), before)  # nothing was half-loaded


def test_torch_state_dict_loads(torch):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Embedding(10, 6), torch.nn.Flatten(), torch.nn.Linear(18, 16),
                             torch.nn.ReLU(), torch.nn.Linear(16, 5))
    dm = nn.Sequential(nn.Embedding(10, 6), nn.Flatten(), nn.Linear(18, 16), nn.ReLU(), nn.Linear(16, 5))
    assert list(dm.state_dict()) == list(tm.state_dict())
    dm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    idx = rng(1).integers(0, 10, (7, 3))
    expect = tm(torch.tensor(idx)).detach().numpy()
    assert_close(dm(dlcore.tensor(idx)).numpy(), expect, scale=4)
    # torch tensors themselves are accepted as well.
    dm2 = nn.Sequential(nn.Embedding(10, 6), nn.Flatten(), nn.Linear(18, 16), nn.ReLU(), nn.Linear(16, 5))
    dm2.load_state_dict(tm.state_dict())
    assert_close(dm2(dlcore.tensor(idx)).numpy(), expect, scale=4)


# ---- layers: gradcheck and torch parity ----------------------------------------------------------
ACTS = [
    (lambda: nn.ReLU(), "ReLU", {}),
    (lambda: nn.LeakyReLU(0.2), "LeakyReLU", {"negative_slope": 0.2}),
    (lambda: nn.Sigmoid(), "Sigmoid", {}),
    (lambda: nn.Tanh(), "Tanh", {}),
    (lambda: nn.GELU(), "GELU", {}),
    (lambda: nn.GELU("tanh"), "GELU", {"approximate": "tanh"}),
    (lambda: nn.SiLU(), "SiLU", {}),
    (lambda: nn.Softplus(), "Softplus", {}),
    (lambda: nn.Softmax(dim=1), "Softmax", {"dim": 1}),
    (lambda: nn.LogSoftmax(dim=-1), "LogSoftmax", {"dim": -1}),
    (lambda: nn.Flatten(), "Flatten", {}),
    (lambda: nn.Identity(), "Identity", {}),
]


@pytest.mark.parametrize("make, tname, kw", ACTS, ids=[f"{a[1]}{i}" for i, a in enumerate(ACTS)])
def test_activation_layers_torch_parity_and_gradcheck(make, tname, kw, torch):
    x = rng(2).standard_normal((3, 5, 2)).astype(np.float32)
    x[0, 0, 0] = 0.5
    layer = make()
    xd = T(x, True)
    y = layer(xd)
    tx = to_torch(torch, x, True)
    ty = getattr(torch.nn, tname)(**kw)(tx)
    assert_close(y.numpy(), ty.detach().numpy(), scale=4)
    g = rng(3).standard_normal(y.shape).astype(np.float32)
    y.backward(T(g))
    ty.backward(torch.tensor(g))
    assert_close(xd.grad.numpy(), tx.grad.numpy(), scale=4)
    if tname != "Identity":
        assert gradcheck(layer, (f64((2, 3, 2), 4),))


def test_functional_activations_gradcheck():
    x = f64((3, 4), 5)
    for fn in (F.relu, F.sigmoid, F.tanh, F.silu, F.softplus, lambda t: F.leaky_relu(t, 0.1),
               lambda t: F.gelu(t, "tanh"), lambda t: F.softmax(t, 0), lambda t: F.log_softmax(t, 1)):
        assert gradcheck(fn, (x,))


def test_linear_torch_parity(torch):
    tl = torch.nn.Linear(7, 5)
    dl = nn.Linear(7, 5)
    dl.load_state_dict(tl.state_dict())
    x = rng(6).standard_normal((4, 3, 7)).astype(np.float32)
    xd, tx = T(x, True), to_torch(torch, x, True)
    y, ty = dl(xd), tl(tx)
    assert_close(y.numpy(), ty.detach().numpy(), scale=8)
    g = rng(7).standard_normal(y.shape).astype(np.float32)
    y.backward(T(g))
    ty.backward(torch.tensor(g))
    assert_close(xd.grad.numpy(), tx.grad.numpy(), scale=8)
    assert_close(dl.weight.grad.numpy(), tl.weight.grad.numpy(), scale=16)
    assert_close(dl.bias.grad.numpy(), tl.bias.grad.numpy(), scale=16)


def test_linear_gradcheck_and_no_bias():
    lin = nn.Linear(3, 2).double()
    x = f64((4, 3), 8)
    assert gradcheck(lambda a, w, b: F.linear(a, w, b), (x, lin.weight, lin.bias))
    nb = nn.Linear(3, 2, bias=False).double()
    assert nb.bias is None and list(nb.state_dict()) == ["weight"]
    assert gradcheck(lambda a, w: F.linear(a, w), (x, nb.weight))
    assert_close(nb(x).detach().numpy(), x.detach().numpy() @ nb.weight.detach().numpy().T)


def test_linear_bad_input():
    with pytest.raises(ValueError, match="linear"):
        nn.Linear(3, 2)(dlcore.ones(4, 5))


def test_embedding_torch_parity_and_grad(torch):
    te = torch.nn.Embedding(9, 4, padding_idx=2)
    de = nn.Embedding(9, 4, padding_idx=2)
    assert_close(de.weight.numpy()[2], np.zeros(4, np.float32))
    de.load_state_dict(te.state_dict())
    idx = np.array([[1, 2, 8], [2, 2, 0]])
    y, ty = de(dlcore.tensor(idx)), te(torch.tensor(idx))
    assert_close(y.numpy(), ty.detach().numpy())
    g = rng(9).standard_normal(y.shape).astype(np.float32)
    y.backward(T(g))
    ty.backward(torch.tensor(g))
    assert_close(de.weight.grad.numpy(), te.weight.grad.numpy())
    assert_close(de.weight.grad.numpy()[2], np.zeros(4, np.float32))
    w = f64((5, 3), 10)
    assert gradcheck(lambda w: F.embedding(np.array([0, 4, 4, 1]), w), (w,))
    with pytest.raises(IndexError):
        de(dlcore.tensor(np.array([9])))


# ---- Dropout ------------------------------------------------------------------------------------
def test_dropout_reproducible_scaled_and_eval_identity():
    x = dlcore.ones(64, 64)
    d = nn.Dropout(0.25)
    dlcore.manual_seed(123)
    a = d(x).numpy().copy()
    dlcore.manual_seed(123)
    b = d(x).numpy().copy()
    assert np.array_equal(a, b)
    assert set(np.unique(a)) == {0.0, np.float32(1 / 0.75)}
    assert abs((a == 0).mean() - 0.25) < 0.03
    c = d(x).numpy()
    assert not np.array_equal(a, c)
    d.eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert (nn.Dropout(1.0)(x).numpy() == 0).all()
    with pytest.raises(ValueError, match="^Dropout: "):
        nn.Dropout(1.5)


def test_dropout_gradient_uses_the_mask():
    x = T(np.ones((8, 16), np.float32), True)
    y = F.dropout(x, 0.5, training=True)
    y.sum().backward()
    assert_close(x.grad.numpy(), y.detach().numpy())


# ---- init -----------------------------------------------------------------------------------------
def test_default_init_matches_torch_bounds():
    dlcore.manual_seed(0)
    lin = nn.Linear(400, 300)
    w, b = lin.weight.numpy(), lin.bias.numpy()
    bound = 1 / math.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(b).max() <= bound and abs(b.mean()) < 0.1 * bound
    emb = nn.Embedding(200, 100).weight.numpy()
    assert abs(emb.std() - 1) < 0.02 and abs(emb.mean()) < 0.02


@pytest.mark.parametrize("mode, fan", [("fan_in", 300), ("fan_out", 200), ("fan_avg", 250)])
def test_kaiming(mode, fan):
    t = dlcore.empty(200, 300)
    nn.init.kaiming_normal_(t, mode=mode, nonlinearity="relu")
    std = math.sqrt(2 / fan)
    assert abs(t.numpy().std() - std) < 0.02 * std and abs(t.numpy().mean()) < 0.02 * std
    nn.init.kaiming_uniform_(t, mode=mode, nonlinearity="relu")
    bound = math.sqrt(3) * std
    assert np.abs(t.numpy()).max() <= bound and abs(t.numpy().std() - std) < 0.02 * std
    with pytest.raises(ValueError, match="kaiming_normal_"):
        nn.init.kaiming_normal_(t, mode="fan_max")


def test_xavier_and_simple_inits():
    t = dlcore.empty(100, 300)
    nn.init.xavier_uniform_(t, gain=2.0)
    a = 2.0 * math.sqrt(6 / 400)
    assert np.abs(t.numpy()).max() <= a and np.abs(t.numpy()).max() > 0.98 * a
    nn.init.xavier_normal_(t)
    assert abs(t.numpy().std() - math.sqrt(2 / 400)) < 0.02 * math.sqrt(2 / 400)
    nn.init.normal_(t, 3.0, 0.5)
    assert abs(t.numpy().mean() - 3) < 0.01 and abs(t.numpy().std() - 0.5) < 0.01
    nn.init.uniform_(t, -2, -1)
    assert t.numpy().min() >= -2 and t.numpy().max() < -1
    assert (nn.init.zeros_(t).numpy() == 0).all() and (nn.init.ones_(t).numpy() == 1).all()
    assert (nn.init.constant_(t, 0.5).numpy() == 0.5).all()
    p = nn.Parameter(dlcore.zeros(3, 3))
    nn.init.ones_(p)  # in place on a leaf that requires grad (no_grad inside)
    assert (p.numpy() == 1).all() and p.requires_grad
    dlcore.manual_seed(5)
    a1 = nn.init.normal_(dlcore.empty(4, 4)).numpy().copy()
    dlcore.manual_seed(5)
    assert np.array_equal(a1, nn.init.normal_(dlcore.empty(4, 4)).numpy())


def test_calculate_gain(torch):
    for nl, param in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                      ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)]:
        assert nn.init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param))
    with pytest.raises(ValueError):
        nn.init.calculate_gain("swishy")


def test_sequential_fuses_linear_relu_without_changing_results():
    dlcore.manual_seed(0)
    model = nn.Sequential(nn.Linear(40, 70), nn.ReLU(), nn.Linear(70, 70), nn.ReLU(), nn.Linear(70, 5))
    x = dlcore.randn(33, 40)
    y = model(x)
    y.sum().backward()
    fused = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    h = x
    for m in model:  # the same modules one by one: no fusion
        h = m(h)
    h.sum().backward()
    assert np.array_equal(y.detach().numpy(), h.detach().numpy())
    for a, p in zip(fused, model.parameters()):
        assert np.array_equal(a, p.grad.numpy())

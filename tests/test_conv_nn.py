"""nn.functional conv/pad with autograd and the Conv*/ConvTranspose*/padding modules: torch
parity (loading torch weights), constructor checks, default initialisation, output_size."""
from __future__ import annotations

import math

import numpy as np
import pytest

import dlcore
from dlcore import nn

torch = pytest.importorskip("torch", reason="torch not installed: parity tests skipped")

MODULES = [
    (lambda m: m.Conv2d(4, 6, 3, stride=2, padding=1, padding_mode="reflect"), (2, 4, 9, 9), None),
    (lambda m: m.Conv2d(4, 8, (3, 2), padding="same", dilation=(2, 1), groups=4, bias=False), (4, 7, 6), None),
    (lambda m: m.Conv1d(4, 6, 3, padding="same", dilation=2, padding_mode="circular"), (2, 4, 11), None),
    (lambda m: m.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), (2, 4, 5, 5), None),
    (lambda m: m.ConvTranspose2d(3, 2, 3, stride=2), (1, 3, 4, 4), (10, 10)),
    (lambda m: m.ConvTranspose1d(4, 6, 3, stride=2), (4, 5), None),
]


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_modules_load_torch_weights_and_match_forward_and_backward(i):
    make, shape, out_size = MODULES[i]
    tm, dm = make(torch.nn), make(nn)
    assert set(dm.state_dict()) == set(tm.state_dict())
    dm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(i).standard_normal(shape).astype(np.float32)
    tx, dx = torch.tensor(x, requires_grad=True), dlcore.tensor(x, requires_grad=True)
    ty = tm(tx, output_size=out_size) if out_size else tm(tx)
    dy = dm(dx, output_size=out_size) if out_size else dm(dx)
    (ty * ty).sum().backward()
    (dy * dy).sum().backward()
    np.testing.assert_allclose(dy.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dm.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_default_init_bounds_as_torch():
    m = nn.Conv2d(8, 16, 3)
    bound = 1 / math.sqrt(8 * 9)
    w, b = m.weight.numpy(), m.bias.numpy()
    assert w.shape == (16, 8, 3, 3) and np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound
    t = nn.ConvTranspose2d(8, 6, 3, groups=2)
    assert t.weight.shape == (8, 3, 3, 3)
    assert np.abs(t.bias.numpy()).max() <= 1 / math.sqrt(3 * 9)


def test_constructor_and_output_size_errors():
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError):
        nn.Conv2d(4, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError):
        nn.ConvTranspose2d(4, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError):
        nn.ConvTranspose2d(3, 2, 3, stride=2)(dlcore.tensor(np.ones((1, 3, 4, 4), np.float32)), output_size=(12, 12))


@pytest.mark.parametrize("name, mode, pad", [("ZeroPad2d", "constant", (1, 2, 0, 3)), ("ReflectionPad2d", "reflect", 2),
                                             ("ReplicationPad1d", "replicate", (3, 1)), ("CircularPad2d", "circular", 1),
                                             ("ConstantPad1d", "constant", 2)])
def test_padding_modules_and_functional_pad_gradient(name, mode, pad):
    nd = 1 if name.endswith("1d") else 2
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6)[: 2 + nd])
    args = (pad, 0.5) if name.startswith("Constant") else (pad,)
    tm, dm = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    tx, dx = torch.tensor(x, requires_grad=True), dlcore.tensor(x, requires_grad=True)
    ty, dy = tm(tx), dm(dx)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    (dy * dlcore.tensor(g)).sum().backward()
    np.testing.assert_allclose(dy.numpy(), ty.detach().numpy())
    np.testing.assert_allclose(dx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_ops_conv2d_records_autograd_and_fused_relu_gradient():
    rng = np.random.default_rng(2)
    x = dlcore.tensor(rng.standard_normal((2, 3, 6, 6)), requires_grad=True)
    w = dlcore.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    b = dlcore.tensor(rng.standard_normal(4), requires_grad=True)
    y = dlcore.ops.conv2d(x, w, b, padding=1, activation="relu")
    y.sum().backward()
    tx, tw, tb = (torch.tensor(v.detach().numpy(), requires_grad=True) for v in (x, w, b))
    torch.relu(torch.nn.functional.conv2d(tx, tw, tb, padding=1)).sum().backward()
    for d, t in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)
    z = nn.functional.conv_transpose2d(x, dlcore.tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True),
                                       stride=2)
    assert z.shape == (2, 2, 12, 12) and z.grad_fn is not None

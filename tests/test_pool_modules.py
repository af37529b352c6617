"""nn modules of the pool family (issue 24 part A): PyTorch's constructor arguments, defaults,
attributes and repr, outputs and gradients equal to torch's modules, and no parameters or buffers."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import nn

# (constructor args, kwargs, input shape): each built as nn.<name> and torch.nn.<name>.
MODULES = [
    ("MaxPool1d", (3,), {}, (2, 3, 11)), ("MaxPool1d", (3, 2, 1), {"dilation": 2, "ceil_mode": True}, (2, 3, 11)),
    ("MaxPool2d", (3, 2, 1), {}, (2, 3, 9, 8)), ("MaxPool2d", ((2, 3),), {"ceil_mode": True}, (3, 9, 8)),
    ("AvgPool1d", (3,), {}, (2, 3, 11)), ("AvgPool1d", (3, 2, 1), {"count_include_pad": False}, (2, 3, 11)),
    ("AvgPool2d", (2,), {}, (2, 3, 9, 8)), ("AvgPool2d", (3, 2, 1), {"ceil_mode": True, "divisor_override": 4}, (2, 3, 9, 8)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 11)), ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 9, 8)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 9, 8)), ("AdaptiveMaxPool2d", ((4, 3),), {}, (2, 3, 9, 8)),
    ("Upsample", (), {"scale_factor": 2}, (2, 3, 5, 4)), ("Upsample", ((7, 9),), {"mode": "bilinear"}, (2, 3, 5, 4)),
    ("Upsample", (), {"scale_factor": 1.5, "mode": "linear", "align_corners": True}, (2, 3, 5)),
    ("Upsample", (), {"scale_factor": (2, 3), "mode": "nearest-exact"}, (2, 3, 5, 4)),
    ("UpsamplingNearest2d", (), {"scale_factor": 3}, (2, 3, 5, 4)),
    ("UpsamplingBilinear2d", ((8, 7),), {}, (2, 3, 5, 4)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 4)), ("PixelUnshuffle", (2,), {}, (2, 2, 6, 4)),
]


@pytest.mark.parametrize("name, args, kwargs, shape", MODULES)
def test_module_matches_torch(torch, name, args, kwargs, shape):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == [] and list(ours.parameters()) == []
    x = np.random.default_rng(0).standard_normal(shape)
    xd, xt = dlcore.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    got, want = ours(xd), theirs(xt)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(want.shape)
    got.backward(dlcore.tensor(g))
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_module_attributes_follow_torch(torch):
    for name, args, kwargs, _ in MODULES:
        ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
        for attr in ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "count_include_pad",
                     "divisor_override", "output_size", "return_indices", "size", "scale_factor", "mode",
                     "align_corners", "upscale_factor", "downscale_factor"):
            if hasattr(theirs, attr):
                assert getattr(ours, attr) == getattr(theirs, attr), (name, attr)


def test_max_pool_indices_feed_max_unpool_like_torch(torch):
    x = np.random.default_rng(2).standard_normal((2, 3, 9, 8))
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    tpool, tunpool = torch.nn.MaxPool2d(2, return_indices=True), torch.nn.MaxUnpool2d(2)
    assert repr(unpool) == repr(tunpool)
    out, idx = pool(dlcore.tensor(x))
    tout, tidx = tpool(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    np.testing.assert_array_equal(unpool(out, idx, output_size=(9, 8)).numpy(),
                                  tunpool(tout, tidx, output_size=(9, 8)).numpy())
    t = nn.AdaptiveMaxPool2d(3, return_indices=True)(dlcore.tensor(x))
    tt = torch.nn.AdaptiveMaxPool2d(3, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(t[1].numpy(), tt[1].numpy())


def test_modules_compose_in_a_sequential_and_train():
    dlcore.manual_seed(0)
    model = nn.Sequential(nn.MaxPool2d(2), nn.Upsample(scale_factor=2, mode="bilinear"), nn.AvgPool2d(3, 1, 1),
                          nn.PixelUnshuffle(2), nn.PixelShuffle(2), nn.AdaptiveAvgPool2d(1))
    x = dlcore.tensor(np.random.default_rng(3).standard_normal((2, 3, 8, 8)), requires_grad=True)
    model(x).sum().backward()
    assert x.grad.shape == (2, 3, 8, 8) and np.isfinite(x.grad.numpy()).all() and np.abs(x.grad.numpy()).sum() > 0

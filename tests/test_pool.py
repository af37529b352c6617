"""Pooling, unpooling and upsampling (issue 24 part A): forward and backward against the float64
NumPy reference (tests/reference/pool.py) at odd sizes across the parameter grid, PyTorch parity
(indices, ties, NaN, float32 index arithmetic), every ISA, 1/2/3 threads bitwise, gradcheck of the
autograd versions, empty batches and bad input.  Modules: tests/test_pool_modules.py."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import dlcore
from dlcore import ops
from dlcore.autograd import gradcheck
from dlcore.nn import functional as F
from tests.conftest import assert_close, run_threads_bitwise
from tests.reference import pool as R

SIZES = (1, 3, 7, 31, 33, 65)
# (kernel, stride, padding, dilation, ceil_mode): sampled from the product so that every value of
# each parameter meets every size, with overlapping (stride < kernel) and gapped windows.
WINDOWS = [(1, 1, 0, 1, False), (2, 2, 0, 1, True), (3, 2, 1, 1, False), (3, 1, 1, 2, True), (2, 3, 1, 1, True),
           (3, 3, 0, 2, False), ((3, 2), (2, 1), (1, 0), (1, 2), True), (5, 2, 2, 1, True)]


def _x(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _fits(n, k, s, p, d, ceil_mode):
    return R.out_size(n, k, s, p, d, ceil_mode) >= 1


def _cases(spatial):
    for size, (k, s, p, d, c) in itertools.product(SIZES, WINDOWS):
        h, w = (size, SIZES[(SIZES.index(size) + 2) % len(SIZES)]) if spatial == 2 else (1, size)
        kk = k if isinstance(k, tuple) else (k, k)
        if spatial == 1 and isinstance(k, tuple):
            continue
        yield h, w, k, s, p, d, c, kk


@pytest.mark.parametrize("spatial", [1, 2])
def test_max_pool_forward_and_backward_match_reference_on_the_grid(spatial):
    fwd, bwd = (ops.max_pool2d, ops.max_pool2d_backward) if spatial == 2 else (ops.max_pool1d, ops.max_pool1d_backward)
    ref = R.max_pool2d if spatial == 2 else R.max_pool1d
    ran = refused = 0
    for h, w, k, s, p, d, c, kk in _cases(spatial):
        x = _x(2, 2, h, w)[:, :, 0] if spatial == 1 else _x(2, 2, h, w)
        pp, dd, ss = [(v if isinstance(v, tuple) else (v, v)) for v in (p, d, s)]
        dims = (h, w) if spatial == 2 else (w,)
        ok = all(_fits(n, kk[i], ss[i], pp[i], dd[i], c) for i, n in enumerate(dims))
        if not ok:
            with pytest.raises(ValueError, match="output size is too small"):
                fwd(x, k, s, p, d, c)
            refused += 1
            continue
        out, idx = fwd(x, k, s, p, d, c, return_indices=True)
        want, want_idx = ref(x, k, s, p, d, c, return_indices=True)
        assert_close(out, want)
        np.testing.assert_array_equal(idx, want_idx)
        if np.isinf(out).any():  # a window wholly in the padding (dilation): PyTorch's off-plane index
            continue
        g = _x(*out.shape, seed=1)
        assert_close(bwd(g, x, idx, k, s, p, d, c), ref_bwd(g, x, want_idx, spatial))
        ran += 1
    assert ran > 20 and refused > 0


def ref_bwd(g, x, idx, spatial):
    return (R.max_pool2d_backward if spatial == 2 else R.max_pool1d_backward)(g, x, idx)


@pytest.mark.parametrize("spatial", [1, 2])
@pytest.mark.parametrize("count_include_pad, divisor_override", [(True, None), (False, None), (True, 5)])
def test_avg_pool_forward_and_backward_match_reference_on_the_grid(spatial, count_include_pad, divisor_override):
    fwd, bwd = (ops.avg_pool2d, ops.avg_pool2d_backward) if spatial == 2 else (ops.avg_pool1d, ops.avg_pool1d_backward)
    ref, ref_b = (R.avg_pool2d, R.avg_pool2d_backward) if spatial == 2 else (R.avg_pool1d, R.avg_pool1d_backward)
    ran = 0
    for h, w, k, s, p, d, c, kk in _cases(spatial):
        if d != 1:
            continue
        x = _x(2, 3, h, w)[:, :, 0] if spatial == 1 else _x(2, 3, h, w)
        kw = dict(ceil_mode=c, count_include_pad=count_include_pad, divisor_override=divisor_override)
        try:
            want = ref(x, k, s, p, **kw)
            fits = want.size > 0 and min(want.shape[2:]) >= 1
        except ValueError:
            fits = False
        if not fits:
            with pytest.raises(ValueError, match="output size is too small"):
                fwd(x, k, s, p, **kw)
            continue
        out = fwd(x, k, s, p, **kw)
        assert_close(out, want)
        g = _x(*out.shape, seed=2)
        assert_close(bwd(g, x, k, s, p, **kw), ref_b(g, x, k, s, p, **kw))
        ran += 1
    assert ran > 15


@pytest.mark.parametrize("size", SIZES)
def test_adaptive_pools_match_reference(size):
    x = _x(2, 3, size, SIZES[-1 - SIZES.index(size)])
    for o in [(1, 1), (3, 2), (size, 7), (7, 31)]:
        assert_close(ops.adaptive_avg_pool2d(x, o), R.adaptive_avg_pool2d(x, o))
        out, idx = ops.adaptive_max_pool2d(x, o, return_indices=True)
        want, want_idx = R.adaptive_max_pool2d(x, o, return_indices=True)
        assert_close(out, want)
        np.testing.assert_array_equal(idx, want_idx)
        g = _x(*out.shape, seed=3)
        assert_close(ops.adaptive_avg_pool2d_backward(g, x), R.adaptive_avg_pool2d_backward(g, x))
        assert_close(ops.adaptive_max_pool2d_backward(g, x, idx), R.adaptive_max_pool2d_backward(g, x, want_idx))
    x1 = x[:, :, 0]
    for o in (1, 3, size, 40):
        assert_close(ops.adaptive_avg_pool1d(x1, o), R.adaptive_avg_pool1d(x1, o))
        g = _x(2, 3, o, seed=4)
        assert_close(ops.adaptive_avg_pool1d_backward(g, x1), R.adaptive_avg_pool1d_backward(g, x1))


INTERP = [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True)]


@pytest.mark.parametrize("mode, align_corners", INTERP)
def test_interpolate_2d_matches_reference(mode, align_corners):
    for size in SIZES:
        x = _x(2, 2, size, SIZES[(SIZES.index(size) + 3) % len(SIZES)])
        h, w = x.shape[2:]
        for kw in (dict(size=(2 * h, 2 * w)), dict(size=(h, w)), dict(size=(3, 33)), dict(scale_factor=1.7),
                   dict(scale_factor=(0.5, 3.0)), dict(scale_factor=2.5, recompute_scale_factor=True)):
            if "scale_factor" in kw and min(R.interpolate(x[:1, :1], mode=mode, align_corners=align_corners,
                                                          **kw).shape[2:], default=0) < 1:
                with pytest.raises(ValueError, match="interpolate: output size is too small"):
                    ops.interpolate(x, mode=mode, align_corners=align_corners, **kw)
                continue
            out = ops.interpolate(x, mode=mode, align_corners=align_corners, **kw)
            assert_close(out, R.interpolate(x, mode=mode, align_corners=align_corners, **kw))
            g = _x(*out.shape, seed=5)
            assert_close(ops.interpolate_backward(g, x.shape, mode=mode, align_corners=align_corners, **kw),
                         R.interpolate_backward(g, x.shape, mode=mode, align_corners=align_corners, **kw))


@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("nearest-exact", None), ("linear", False),
                                                 ("linear", True)])
def test_interpolate_1d_matches_reference(mode, align_corners):
    for size in SIZES:
        x = _x(2, 3, size)
        for kw in (dict(size=2 * size), dict(size=size), dict(size=5), dict(scale_factor=1.3)):
            out = ops.interpolate(x, mode=mode, align_corners=align_corners, **kw)
            assert_close(out, R.interpolate(x, mode=mode, align_corners=align_corners, **kw))
            g = _x(*out.shape, seed=6)
            assert_close(ops.interpolate_backward(g, x.shape, mode=mode, align_corners=align_corners, **kw),
                         R.interpolate_backward(g, x.shape, mode=mode, align_corners=align_corners, **kw))


def test_max_unpool_and_pixel_shuffle_match_reference():
    for size in (2, 6, 30, 64):
        x = _x(2, 3, size, size + 2)
        o, i = ops.max_pool2d(x, 2, return_indices=True)
        assert_close(ops.max_unpool2d(o, i, 2), R.max_unpool2d(o, i, 2))
        assert_close(ops.max_unpool2d(o, i, 2, output_size=(size + 1, size + 3)),
                     R.max_unpool2d(o, i, 2, output_size=(size + 1, size + 3)))
        g = _x(2, 3, size, size + 2, seed=7)
        assert_close(ops.max_unpool2d_backward(g, i), R.max_unpool2d_backward(g, i))
    for r in (1, 2, 3):
        x = _x(2, 2 * r * r, 5, 3)
        assert_close(ops.pixel_shuffle(x, r), R.pixel_shuffle(x, r))
        assert_close(ops.pixel_unshuffle(ops.pixel_shuffle(x, r), r), x)
        assert_close(ops.pixel_shuffle_backward(ops.pixel_shuffle(x, r), r), x)


# ---- PyTorch parity ------------------------------------------------------------------------------

def test_max_pool_indices_ties_and_nan_match_torch(torch):
    TF = torch.nn.functional
    x = np.random.default_rng(0).integers(0, 3, (2, 3, 13, 17)).astype(np.float32)  # many ties
    x[0, 0, 2, 3] = x[0, 1, 5, 5] = x[0, 1, 5, 6] = np.nan
    x[1, 2, :3, :3] = -np.inf
    for k, s, p, d, c in [(3, 2, 1, 1, False), (3, 1, 1, 1, True), (2, 2, 0, 1, True), (3, 2, 1, 2, False)]:
        out, idx = ops.max_pool2d(x, k, s, p, d, c, return_indices=True)
        t, ti = TF.max_pool2d(torch.tensor(x), k, s, p, d, c, return_indices=True)
        np.testing.assert_array_equal(out, t.numpy())
        np.testing.assert_array_equal(idx, ti.numpy())
        out, idx = ops.max_pool1d(x[0], k, s, p, d, c, return_indices=True)
        t, ti = TF.max_pool1d(torch.tensor(x[0]), k, s, p, d, c, return_indices=True)
        np.testing.assert_array_equal(out, t.numpy())
        np.testing.assert_array_equal(idx, ti.numpy())
    out, idx = ops.adaptive_max_pool2d(x, (4, 5), return_indices=True)
    t, ti = TF.adaptive_max_pool2d(torch.tensor(x), (4, 5), return_indices=True)
    np.testing.assert_array_equal(out, t.numpy())
    np.testing.assert_array_equal(idx, ti.numpy())


def test_forward_and_backward_match_torch_float32(torch):
    TF = torch.nn.functional
    x = _x(3, 4, 19, 23, dtype=np.float32)
    cases = [
        (lambda a, m: m.max_pool2d(a, 3, 2, 1), "max 3x3/s2/p1"), (lambda a, m: m.avg_pool2d(a, 2), "avg 2x2"),
        (lambda a, m: m.avg_pool2d(a, 3, 2, 1, True, False), "avg ceil no-pad"),
        (lambda a, m: m.avg_pool2d(a, 3, 1, 1, divisor_override=2), "avg divisor"),
        (lambda a, m: m.adaptive_avg_pool2d(a, (5, 7)), "adaptive avg"),
        (lambda a, m: m.adaptive_max_pool2d(a, (5, 7)), "adaptive max"),
        (lambda a, m: m.interpolate(a, scale_factor=2, mode="bilinear", align_corners=False), "bilinear 2x"),
        (lambda a, m: m.interpolate(a, size=(7, 40), mode="bilinear", align_corners=True), "bilinear ac"),
        (lambda a, m: m.interpolate(a, scale_factor=1.3, mode="nearest"), "nearest 1.3"),
        (lambda a, m: m.interpolate(a, scale_factor=0.7, mode="nearest-exact"), "nearest-exact 0.7"),
        (lambda a, m: m.interpolate(a[0], scale_factor=2.2, mode="linear"), "linear 1d"),
        (lambda a, m: m.pixel_shuffle(a, 2), "pixel_shuffle"), (lambda a, m: m.pixel_unshuffle(a[..., :18, :22], 2), "unshuffle"),
    ]
    g_rng = np.random.default_rng(9)
    for fn, name in cases:
        xt = torch.tensor(x, requires_grad=True)
        want = fn(xt, TF)
        xd = dlcore.tensor(x, requires_grad=True)
        got = fn(xd, F)
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
        g = g_rng.standard_normal(want.shape).astype(np.float32)
        want.backward(torch.tensor(g))
        got.backward(dlcore.tensor(g))
        np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)


def test_unbatched_inputs_and_unpool_match_torch(torch):
    TF = torch.nn.functional
    x = _x(3, 9, 8)
    np.testing.assert_allclose(ops.max_pool2d(x, 2), TF.max_pool2d(torch.tensor(x), 2).numpy())
    np.testing.assert_allclose(ops.avg_pool1d(x[0], 3, 2, 1), TF.avg_pool1d(torch.tensor(x[0]), 3, 2, 1).numpy())
    np.testing.assert_allclose(ops.adaptive_avg_pool2d(x, (None, 3)), TF.adaptive_avg_pool2d(torch.tensor(x), (None, 3)))
    o, i = ops.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(ops.max_unpool2d(o, i, 2, output_size=(9, 8)),
                                  TF.max_unpool2d(torch.tensor(o), torch.tensor(i), 2, output_size=(9, 8)).numpy())


# ---- every ISA, threads, gradcheck, empty batches ------------------------------------------------

def test_every_isa_matches_the_reference_in_float32(isa):
    x = _x(2, 3, 33, 31, dtype=np.float32)
    x64 = x.astype(np.float64)
    out, idx = ops.max_pool2d(x, 3, 2, 1, return_indices=True)
    want, want_idx = R.max_pool2d(x64, 3, 2, 1, return_indices=True)
    assert_close(out, want.astype(np.float32))
    np.testing.assert_array_equal(idx, want_idx)
    g = _x(*out.shape, seed=1, dtype=np.float32)
    assert_close(ops.max_pool2d_backward(g, x, idx, 3, 2, 1), R.max_pool2d_backward(g, x64, want_idx))
    assert_close(ops.avg_pool2d(x, 2), R.avg_pool2d(x64, 2))
    g = _x(2, 3, 16, 15, seed=2, dtype=np.float32)
    assert_close(ops.avg_pool2d_backward(g, x, 2), R.avg_pool2d_backward(g, x64, 2))
    for mode, ac in INTERP:
        assert_close(ops.interpolate(x, scale_factor=2, mode=mode, align_corners=ac),
                     R.interpolate(x64, scale_factor=2, mode=mode, align_corners=ac), atol=2e-5)
        g = _x(2, 3, 66, 62, seed=3, dtype=np.float32)
        assert_close(ops.interpolate_backward(g, x.shape, scale_factor=2, mode=mode, align_corners=ac),
                     R.interpolate_backward(g, x.shape, scale_factor=2, mode=mode, align_corners=ac), atol=5e-5)


@pytest.mark.parametrize("name", ["max_bwd", "avg_bwd", "bilinear_bwd", "nearest_bwd", "adaptive_bwd", "fwd"])
def test_backward_with_overlapping_windows_is_bitwise_identical_for_1_2_3_threads(name):
    x = _x(4, 8, 33, 31, dtype=np.float32)
    if name == "max_bwd":
        o, i = ops.max_pool2d(x, 3, 1, 1, return_indices=True)
        run_threads_bitwise(lambda: ops.max_pool2d_backward(_x(*o.shape, dtype=np.float32), x, i, 3, 1, 1))
    elif name == "avg_bwd":
        run_threads_bitwise(lambda: ops.avg_pool2d_backward(_x(4, 8, 17, 16, dtype=np.float32), x, 3, 2, 1, True))
    elif name == "adaptive_bwd":
        run_threads_bitwise(lambda: ops.adaptive_avg_pool2d_backward(_x(4, 8, 13, 11, dtype=np.float32), x))
    elif name == "fwd":
        run_threads_bitwise(lambda: (ops.max_pool2d(x, 3, 2, 1), ops.avg_pool2d(x, 3, 1, 1, divisor_override=7),
                                     ops.interpolate(x, scale_factor=1.7, mode="bilinear")))
    else:
        mode = "bilinear" if name == "bilinear_bwd" else "nearest"
        run_threads_bitwise(lambda: ops.interpolate_backward(_x(4, 8, 56, 53, dtype=np.float32), x.shape,
                                                             size=(56, 53), mode=mode))


def _leaf(*shape, seed=0):
    return dlcore.tensor(_x(*shape, seed=seed), requires_grad=True)


@pytest.mark.parametrize("name, fn, shape", [
    ("max_pool2d", lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), (2, 2, 6, 7)),
    ("max_pool2d dilated", lambda t: F.max_pool2d(t, 2, 1, 1, dilation=2), (1, 2, 5, 6)),
    ("max_pool1d", lambda t: F.max_pool1d(t, 3, 2, 1), (2, 3, 9)),
    ("avg_pool2d", lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 2, 6, 7)),
    ("avg_pool1d", lambda t: F.avg_pool1d(t, 2, 1, 1), (2, 3, 7)),
    ("adaptive_avg_pool2d", lambda t: F.adaptive_avg_pool2d(t, (3, 4)), (2, 2, 7, 5)),
    ("adaptive_avg_pool1d", lambda t: F.adaptive_avg_pool1d(t, 4), (2, 3, 7)),
    ("adaptive_max_pool2d", lambda t: F.adaptive_max_pool2d(t, (3, 2)), (2, 2, 7, 5)),
    ("bilinear", lambda t: F.interpolate(t, scale_factor=1.7, mode="bilinear"), (1, 2, 4, 5)),
    ("bilinear ac", lambda t: F.interpolate(t, size=(7, 3), mode="bilinear", align_corners=True), (1, 2, 4, 5)),
    ("nearest", lambda t: F.interpolate(t, size=(7, 3), mode="nearest"), (1, 2, 4, 5)),
    ("nearest-exact", lambda t: F.interpolate(t, scale_factor=2, mode="nearest-exact"), (1, 2, 3, 2)),
    ("linear", lambda t: F.interpolate(t, size=9, mode="linear"), (2, 2, 5)),
    ("pixel_shuffle", lambda t: F.pixel_shuffle(t, 2), (1, 8, 2, 3)),
    ("pixel_unshuffle", lambda t: F.pixel_unshuffle(t, 2), (1, 2, 4, 6)),
])
def test_gradcheck(name, fn, shape):
    assert gradcheck(fn, (_leaf(*shape),))


def test_gradcheck_max_unpool2d():
    o, i = ops.max_pool2d(_x(1, 2, 6, 6), 2, return_indices=True)
    assert gradcheck(lambda t: F.max_unpool2d(t, i, 2), (dlcore.tensor(o, requires_grad=True),))


def test_ops_namespace_records_autograd_and_returns_indices_without_grad():
    t = _leaf(1, 2, 6, 6)
    out, idx = ops.max_pool2d(t, 2, return_indices=True)
    assert out.requires_grad and not idx.requires_grad and idx.dtype == np.int64
    out.sum().backward()
    assert t.grad.numpy().sum() == 18


def test_empty_batches_go_through_forward_and_backward():
    t = dlcore.tensor(np.zeros((0, 3, 8, 8)), requires_grad=True)
    for fn in (lambda a: F.max_pool2d(a, 2), lambda a: F.avg_pool2d(a, 3, 1, 1), lambda a: F.adaptive_max_pool2d(a, 3),
               lambda a: F.interpolate(a, scale_factor=2, mode="bilinear"), lambda a: F.pixel_unshuffle(a, 2)):
        out = fn(t)
        assert out.shape[0] == 0
        out.sum().backward()
        assert t.grad.shape == (0, 3, 8, 8)


# ---- bad input -----------------------------------------------------------------------------------

BAD = [
    ("max_pool2d", lambda: ops.max_pool2d(_x(1, 1, 6, 6), 3, padding=2), ValueError, "half of the kernel"),
    ("max_pool2d", lambda: ops.max_pool2d(_x(1, 1, 2, 2), 3), ValueError, "output size is too small"),
    ("max_pool2d", lambda: ops.max_pool2d(_x(1, 1, 6, 6), 2, stride=0), ValueError, "stride"),
    ("max_pool2d", lambda: ops.max_pool2d(_x(1, 1, 6, 6), -1), ValueError, "kernel size"),
    ("max_pool2d", lambda: ops.max_pool2d(_x(6, 6), 2), ValueError, "dimensions"),
    ("max_pool2d", lambda: ops.max_pool2d(_x(1, 0, 6, 6), 2), ValueError, "non-zero"),
    ("max_pool2d", lambda: ops.max_pool2d(np.ones((1, 1, 4, 4), np.int32), 2), TypeError, "float32 or float64"),
    ("max_pool1d", lambda: ops.max_pool1d(_x(2, 6), 2, dilation=0), ValueError, "dilation"),
    ("avg_pool1d", lambda: ops.avg_pool1d(_x(2, 6), 4, padding=3), ValueError, "half of the kernel"),
    ("avg_pool2d", lambda: ops.avg_pool2d(_x(1, 1, 4, 4), 2, divisor_override=0), ValueError, "divisor"),
    ("adaptive_avg_pool2d", lambda: ops.adaptive_avg_pool2d(_x(1, 1, 4, 4), (0, 2)), ValueError, "at least 1"),
    ("max_unpool2d", lambda: ops.max_unpool2d(_x(1, 1, 2, 2), np.full((1, 1, 2, 2), 16), 2), IndexError,
     "index 16 is out of range"),
    ("max_unpool2d", lambda: ops.max_unpool2d(_x(1, 1, 2, 2), np.full((1, 1, 2, 2), -3), 2), IndexError, "index -3"),
    ("max_unpool2d_backward", lambda: ops.max_unpool2d_backward(_x(1, 1, 4, 4), np.full((1, 1, 2, 2), 16)),
     IndexError, "out of range"),
    ("max_pool2d_backward", lambda: ops.max_pool2d_backward(_x(1, 1, 2, 2), _x(1, 1, 4, 4),
                                                            np.full((1, 1, 2, 2), 16), 2), IndexError, "out of range"),
    ("max_pool2d_backward", lambda: ops.max_pool2d_backward(_x(1, 1, 3, 2), _x(1, 1, 4, 4),
                                                            np.zeros((1, 1, 2, 2), np.int64), 2), ValueError, "shape"),
    ("interpolate", lambda: ops.interpolate(_x(1, 1, 4, 4), size=8, mode="bicubic"), ValueError, "mode"),
    ("interpolate", lambda: ops.interpolate(_x(1, 1, 4, 4), scale_factor=0.2), ValueError, "too small"),
    ("interpolate", lambda: ops.interpolate(_x(1, 1, 4, 4), size=(2, 2, 2)), ValueError, "size"),
    ("interpolate", lambda: ops.interpolate(_x(1, 1, 4), size=8, mode="bilinear"), ValueError, "4-D"),
    ("interpolate", lambda: ops.interpolate(_x(1, 1, 4, 4), size=8, align_corners=True), ValueError, "align_corners"),
    ("pixel_shuffle", lambda: ops.pixel_shuffle(_x(1, 6, 2, 2), 2), ValueError, "divisible"),
    ("pixel_unshuffle", lambda: ops.pixel_unshuffle(_x(1, 1, 5, 4), 2), ValueError, "divisible"),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_input_raises_naming_the_op(i):
    name, call, exc, words = BAD[i]
    with pytest.raises(exc) as e:
        call()
    assert str(e.value).startswith(f"{name}:") and words in str(e.value), str(e.value)


# ---- the tap paths of the window pools: chosen in one place, logged, forcible --------------------

def test_window_pools_log_their_tap_path():
    x = _x(2, 3, 9, 10)
    with dlcore.kernel_log() as log:
        ops.max_pool2d(x, 3, 2, 1)
        ops.avg_pool2d(x, 3, 1, 1)
        ops.max_pool1d(x[0], 3, 3)
        ops.avg_pool2d_backward(_x(2, 3, 4, 5), x, 2)
    assert [(r.op, r.algorithm) for r in log.records] == [
        ("max_pool2d", "split"), ("avg_pool2d", "direct"), ("max_pool1d", "strided"), ("avg_pool2d_backward", "split")]


@pytest.mark.parametrize("stride", [1, 2])
def test_forced_strided_taps_give_the_same_bits(stride):
    x = _x(2, 3, 33, 31, dtype=np.float32)
    g = _x(2, 3, *ops.avg_pool2d(x, 3, stride, 1).shape[2:], seed=1, dtype=np.float32)
    calls = {"max_pool2d": lambda: ops.max_pool2d(x, 3, stride, 1, return_indices=True),
             "avg_pool2d": lambda: ops.avg_pool2d(x, 3, stride, 1, count_include_pad=False),
             "avg_pool2d_backward": lambda: ops.avg_pool2d_backward(g, x, 3, stride, 1, count_include_pad=False)}
    for name, call in calls.items():
        want = call()
        with dlcore.force_algorithm(name, "strided"), dlcore.kernel_log() as log:
            got = call()
        assert log.algorithms(name) == ["strided"]
        for a, b in zip(want if isinstance(want, tuple) else (want,), got if isinstance(got, tuple) else (got,)):
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), name


def test_a_forced_tap_path_that_cannot_run_is_refused():
    x = _x(1, 2, 8, 8)
    with dlcore.force_algorithm("max_pool2d", "split"):
        with pytest.raises(ValueError, match="^max_pool2d: algorithm 'split' does not apply"):
            ops.max_pool2d(x, 3, 1, 1)
    with dlcore.force_algorithm("avg_pool2d", "winograd"):
        with pytest.raises(ValueError, match="^avg_pool2d: algorithm 'winograd' does not apply"):
            ops.avg_pool2d(x, 2)

"""conv1d/conv2d/conv_transpose1d/2d forward and backward against the float64 NumPy reference
(tests/reference/conv.py) on a random sample of shapes and parameters, every algorithm forced
where it applies, thread determinism, the kernel log, workspace bounds and bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import _core, ops
from tests.reference import conv as R


def _case(rng):
    """One random conv2d configuration (within the issue's ranges, kept small for time)."""
    groups = int(rng.choice([1, 1, 2, 4, 0]))
    cg, kg = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    if groups == 0:  # depthwise: groups == C
        c = int(rng.integers(1, 18))
        groups, cg, kg = c, 1, int(rng.choice([1, 1, 2]))
    C, K = cg * groups, kg * groups
    kh, kw = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    d = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    form = rng.choice(["int", "pair", "same", "valid"])
    if form == "same":
        s = (1, 1)
        padding = "same"
    elif form == "valid":
        padding = "valid"
    elif form == "int":
        padding = int(rng.integers(0, 4))
    else:
        padding = (int(rng.integers(0, 4)), int(rng.integers(0, 4)))
    mode = str(rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"]))
    lo = R._explicit(padding, 2, (kh, kw), d)
    H = int(rng.integers(max(1, d[0] * (kh - 1) + 1 - sum(lo[0])), 34))
    W = int(rng.integers(max(1, d[1] * (kw - 1) + 1 - sum(lo[1])), 34))
    if mode == "reflect" and max(lo[0]) >= H or mode == "reflect" and max(lo[1]) >= W:
        mode = "zeros"
    if mode == "circular" and (max(lo[0]) > H or max(lo[1]) > W):
        mode = "zeros"
    N = int(rng.integers(1, 4))
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((K, cg, kh, kw))
    b = rng.standard_normal(K) if rng.random() < 0.7 else None
    return x, w, b, dict(stride=s, padding=padding, dilation=d, groups=groups, padding_mode=mode)


CASES = list(range(40))


@pytest.mark.parametrize("seed", CASES)
def test_conv2d_random_sample_matches_reference(seed):
    rng = np.random.default_rng(seed)
    x, w, b, kw = _case(rng)
    want = R.conv(2, x, w, b, **kw)
    np.testing.assert_allclose(ops.conv2d(x, w, b, **kw), want, rtol=1e-9, atol=1e-9)
    g = rng.standard_normal(want.shape)
    gx, gw, gb = ops.conv2d_backward(g, x, w, **kw)
    rx, rw, rb = R.conv_backward(2, g, x, w, **kw)
    np.testing.assert_allclose(gx, rx, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(gw, rw, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(gb, rb, rtol=1e-9, atol=1e-9)


def _applies(algo, x, w, kw):
    K, cg, kh, kwid = w.shape
    C = x.shape[1]
    if algo == "gemm_1x1":
        return kh == kwid == 1 and kw["stride"] == (1, 1) and R._explicit(kw["padding"], 2, (1, 1), (1, 1)) == [(0, 0)] * 2
    if algo == "depthwise":
        return kw["groups"] == C == K
    if algo == "winograd":
        return kh == kwid == 3 and kw["stride"] == (1, 1) and kw["dilation"] == (1, 1) and kw["groups"] == 1
    return True


@pytest.mark.parametrize("algo", ["direct", "implicit_gemm", "gemm_1x1", "depthwise", "winograd"])
def test_every_algorithm_forced_matches_reference(algo):
    rng = np.random.default_rng(100)
    ran = 0
    for _ in range(60):
        x, w, b, kw = _case(rng)
        if algo == "gemm_1x1":
            w = w[:, :, :1, :1].copy()
            kw.update(stride=(1, 1), padding=0)
        if algo == "winograd":  # 3x3, stride 1, dilation 1, groups 1; any padding form and mode
            w = rng.standard_normal((w.shape[0], x.shape[1], 3, 3))
            kw.update(stride=(1, 1), dilation=(1, 1), groups=1)
            if x.shape[2] + 2 * 3 < 3 or x.shape[3] + 2 * 3 < 3 or min(x.shape[2:]) < 3:
                continue
        if not _applies(algo, x, w, kw) or ran >= 6:
            continue
        ran += 1
        want = R.conv(2, x, w, b, **kw)
        g = rng.standard_normal(want.shape)
        with dlcore.kernel_log() as log:
            bwd_algo = "implicit_gemm" if algo == "winograd" else algo  # (Winograd: forward only)
            with dlcore.force_algorithm("conv2d", algo), dlcore.force_algorithm("conv2d_backward", bwd_algo):
                got = ops.conv2d(x, w, b, **kw)
                grads = ops.conv2d_backward(g, x, w, **kw)
        assert [r.algorithm for r in log.records] == [algo, bwd_algo]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
        for a, r in zip(grads, R.conv_backward(2, g, x, w, **kw)):
            np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-9)
    assert ran >= 3


# Shapes past the random sample's range: output rows wider than a vector and a 16-column run
# (depthwise weight gradient at stride > 1), forward K slices that start inside a tap's channels
# (Kdim = 60 * 9 > KC), several pixel slices in the weight gradient, stride-1 grad_input
# through the forward kernel with padding smaller and larger than the kernel's reach, and the
# cases noted in the list.
LARGE = [
    ((2, 8, 40, 41), (8, 1, 3, 3), dict(stride=2, padding=1, groups=8)),
    ((1, 3, 23, 70), (3, 1, 5, 5), dict(stride=(3, 2), padding=2, dilation=2, groups=3)),
    ((1, 60, 19, 37), (7, 60, 3, 3), dict(padding=1)),
    ((2, 5, 41, 45), (6, 5, 3, 3), dict(padding=(0, 3), dilation=(1, 2))),
    ((1, 6, 30, 33), (4, 3, 3, 5), dict(stride=(2, 1), padding=(1, 2), groups=2)),
    # stride-2 columns (vector patch packing of the weight gradient) and weight-gradient slices
    # that cross image boundaries (3 x 14 x 15 = 630 pixels: two slices, each over several images)
    ((3, 20, 29, 31), (10, 20, 4, 4), dict(stride=2, padding=1)),
    ((2, 7, 11, 37), (5, 7, 3, 3), dict(stride=(1, 2), padding=(1, 2))),
    ((6, 5, 9, 11), (7, 5, 3, 3), dict(stride=2, padding=1)),  # grad_x: several small images per task
]


@pytest.mark.parametrize("xs, ws, kw", LARGE)
def test_large_planes_match_reference(xs, ws, kw):
    rng = np.random.default_rng(5)
    for dtype, tol in ((np.float64, 1e-9), (np.float32, 2e-4)):
        x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
        want = R.conv(2, x.astype(np.float64), w.astype(np.float64), None, **kw)
        g = rng.standard_normal(want.shape)
        np.testing.assert_allclose(ops.conv2d(x, w, **kw), want, rtol=tol, atol=tol * 10)
        got = ops.conv2d_backward(g.astype(dtype), x, w, output_mask=(True, True, False), **kw)
        ref = R.conv_backward(2, g, x.astype(np.float64), w.astype(np.float64), **kw)
        for a, r in zip(got[:2], ref[:2]):
            np.testing.assert_allclose(a, r, rtol=tol, atol=tol * 10 * max(1.0, float(np.abs(r).max())))


@pytest.mark.parametrize("algo", ["direct", "implicit_gemm", "depthwise"])
def test_transposed_forced_algorithms(algo):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 6, 5, 7))
    w = rng.standard_normal((6, 1, 3, 2))
    kw = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=6, dilation=(2, 1))
    want = R.conv_transpose(2, x, w, None, **kw)
    g = rng.standard_normal(want.shape)
    with dlcore.force_algorithm("conv_transpose2d", algo), dlcore.force_algorithm("conv_transpose2d_backward", algo):
        np.testing.assert_allclose(ops.conv_transpose2d(x, w, **kw), want, rtol=1e-9, atol=1e-9)
        for a, r in zip(ops.conv_transpose2d_backward(g, x, w, **kw), R.conv_transpose_backward(2, g, x, w, **kw)):
            np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_transposed_and_1d_random_sample(seed):
    rng = np.random.default_rng(1000 + seed)
    g_ = int(rng.choice([1, 2, 3]))
    cin, cout = g_ * int(rng.integers(1, 5)), g_ * int(rng.integers(1, 5))
    nd = int(rng.integers(1, 3))
    k = tuple(int(rng.integers(1, 6)) for _ in range(nd))
    s = tuple(int(rng.integers(1, 4)) for _ in range(nd))
    d = tuple(int(rng.integers(1, 4)) for _ in range(nd))
    op_ = tuple(int(rng.integers(0, max(si, di))) for si, di in zip(s, d))
    size = tuple(int(rng.integers(1, 12)) for _ in range(nd))
    p = tuple(int(rng.integers(0, 1 + ((sz - 1) * si + di * (ki - 1)) // 2)) for sz, si, di, ki in zip(size, s, d, k))
    batch = () if rng.random() < 0.25 else (int(rng.integers(1, 4)),)
    x = rng.standard_normal(batch + (cin,) + size)
    w = rng.standard_normal((cin, cout // g_) + k)
    b = rng.standard_normal(cout)
    kw = dict(stride=s, padding=p, output_padding=op_, groups=g_, dilation=d)
    f = ops.conv_transpose1d if nd == 1 else ops.conv_transpose2d
    fb = ops.conv_transpose1d_backward if nd == 1 else ops.conv_transpose2d_backward
    want = R.conv_transpose(nd, x, w, b, **kw)
    np.testing.assert_allclose(f(x, w, b, **kw), want, rtol=1e-9, atol=1e-9)
    g = rng.standard_normal(want.shape)
    for a, r in zip(fb(g, x, w, **kw), R.conv_transpose_backward(nd, g, x, w, **kw)):
        np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-9)
    # and the forward conv of the same shapes, 1-D or unbatched
    cw = rng.standard_normal((cout, cin // g_) + k)
    ckw = dict(stride=s, padding=p, dilation=d, groups=g_)
    cf = ops.conv1d if nd == 1 else ops.conv2d
    cb = ops.conv1d_backward if nd == 1 else ops.conv2d_backward
    xx = rng.standard_normal(batch + (cin,) + tuple(d_ * (k_ - 1) + 1 + int(rng.integers(0, 9)) for d_, k_ in zip(d, k)))
    want = R.conv(nd, xx, cw, b, **ckw)
    np.testing.assert_allclose(cf(xx, cw, b, **ckw), want, rtol=1e-9, atol=1e-9)
    g = rng.standard_normal(want.shape)
    for a, r in zip(cb(g, xx, cw, **ckw), R.conv_backward(nd, g, xx, cw, **ckw)):
        np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_fused_activation(activation):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 5, 9, 8)), rng.standard_normal((7, 5, 3, 3)), rng.standard_normal(7)
    for algo in ("implicit_gemm", "direct"):
        with dlcore.force_algorithm("conv2d", algo):
            np.testing.assert_allclose(ops.conv2d(x, w, b, padding=1, activation=activation),
                                       R.conv(2, x, w, b, padding=1, activation=activation), rtol=1e-9, atol=1e-9)
    xd, wd = rng.standard_normal((2, 4, 6, 6)), rng.standard_normal((4, 1, 3, 3))
    np.testing.assert_allclose(ops.conv2d(xd, wd, None, groups=4, activation=activation),
                               R.conv(2, xd, wd, None, groups=4, activation=activation), rtol=1e-9, atol=1e-9)


def test_winograd_float32_error_within_tolerance():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 128, 11, 10)).astype(np.float32)
    w = (rng.standard_normal((130, 128, 3, 3)) / 30).astype(np.float32)
    with dlcore.kernel_log() as log:
        y = ops.conv2d(x, w, padding="same")
    assert log.records[0].algorithm == "winograd"
    np.testing.assert_allclose(y, R.conv(2, x, w, padding="same"), rtol=1e-4, atol=1e-4)


def test_float32_within_tolerance_of_float64_reference():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 32, 17, 19)).astype(np.float32)
    w = rng.standard_normal((24, 32, 3, 3)).astype(np.float32)
    y = ops.conv2d(x, w, padding=1)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, R.conv(2, x, w, padding=1), rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(y.shape).astype(np.float32)
    for a, r in zip(ops.conv2d_backward(g, x, w, padding=1), R.conv_backward(2, g, x, w, padding=1)):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=2e-3)


@pytest.mark.parametrize("shape, kw", [
    ((3, 16, 21, 23, 20, 3, 3), dict(padding=1)),
    ((2, 16, 15, 15, 24, 1, 1), {}),
    ((2, 12, 19, 18, 12, 3, 3), dict(padding=2, dilation=2, groups=12)),
    ((2, 6, 23, 20, 8, 5, 3), dict(stride=(2, 3), padding=(2, 1), groups=2)),
    ((2, 128, 9, 7, 128, 3, 3), dict(padding=1)),  # Winograd by default
    ((5, 16, 14, 14, 32, 4, 4), dict(stride=2, padding=1)),  # weight-gradient slices span images
])
def test_bitwise_identical_for_one_two_three_threads(shape, kw):
    N, C, H, W, K, kh, kwid = shape
    rng = np.random.default_rng(5)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((K, C // kw.get("groups", 1), kh, kwid)).astype(np.float32)
    b = rng.standard_normal(K).astype(np.float32)
    before = dlcore.get_num_threads()
    outs = []
    try:
        for n in (1, 2, 3):
            dlcore.set_num_threads(n)
            y = ops.conv2d(x, w, b, **kw)
            grads = ops.conv2d_backward(y, x, w, **kw)
            yt = ops.conv_transpose2d(y, w, None, stride=kw.get("stride", 1), padding=kw.get("padding", 0),
                                      groups=kw.get("groups", 1), dilation=kw.get("dilation", 1))
            outs.append([a.tobytes() for a in (y, yt) + tuple(grads)])
    finally:
        dlcore.set_num_threads(before)
    assert outs[0] == outs[1] == outs[2]


def test_kernel_log_records_the_default_choice():
    x = np.ones((1, 8, 6, 6), np.float32)
    with dlcore.kernel_log() as log:
        ops.conv2d(x, np.ones((8, 8, 1, 1), np.float32))
        ops.conv2d(x, np.ones((8, 1, 3, 3), np.float32), groups=8)
        ops.conv2d(x, np.ones((4, 8, 3, 3), np.float32))
        ops.conv1d(x[0, :, 0], np.ones((4, 8, 3), np.float32))
        ops.conv2d(np.ones((1, 128, 5, 5), np.float32), np.ones((128, 128, 3, 3), np.float32))
    assert [(r.op, r.algorithm) for r in log.records] == [
        ("conv2d", "gemm_1x1"), ("conv2d", "depthwise"), ("conv2d", "implicit_gemm"), ("conv1d", "implicit_gemm"),
        ("conv2d", "winograd")]


@pytest.mark.parametrize("op, algo, why", [("conv2d", "gemm_1x1", "1x1"), ("conv2d", "depthwise", "groups"),
                                           ("conv2d", "winograd", "3x3"), ("conv2d_backward", "winograd", "forward"),
                                           ("conv2d", "fft", "unknown")])
def test_forcing_an_algorithm_that_does_not_apply_raises(op, algo, why):
    x, w = np.ones((1, 4, 6, 6)), np.ones((4, 4, 3, 3))
    with dlcore.force_algorithm(op, algo), pytest.raises(ValueError, match=why) as e:
        if op == "conv2d":
            ops.conv2d(x, w, stride=2 if algo == "winograd" else 1)
        else:
            ops.conv2d_backward(np.ones((1, 4, 4, 4)), x, w)
    assert str(e.value).startswith(f"{op}:")


def test_workspace_is_bounded_and_independent_of_the_batch():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    sizes = []
    for n in (1, 4, 9):
        x = rng.standard_normal((n, 16, 40, 40)).astype(np.float32)
        y = ops.conv2d(x, w, padding=1)
        fwd = _core.conv_last_workspace_bytes()
        ops.conv2d_backward(y, x, w, padding=1)
        sizes.append((fwd, _core.conv_last_workspace_bytes()))
    # (backward data runs batches of 4+ one image per thread, smaller ones one image at a time)
    assert sizes[1] == sizes[2]
    assert 0 < max(max(s) for s in sizes) <= 32 << 20


def test_zero_batch_and_non_contiguous_inputs():
    rng = np.random.default_rng(8)
    w = rng.standard_normal((5, 3, 3, 3))
    y = ops.conv2d(np.zeros((0, 3, 6, 6)), w, padding=1)
    assert y.shape == (0, 5, 6, 6)
    gx, gw, gb = ops.conv2d_backward(np.zeros((0, 5, 6, 6)), np.zeros((0, 3, 6, 6)), w, padding=1)
    assert gx.shape == (0, 3, 6, 6) and not gw.any() and not gb.any()
    x = rng.standard_normal((2, 6, 9, 10))[:, ::2, :, ::-1]
    np.testing.assert_allclose(ops.conv2d(x, w), R.conv(2, x, w), rtol=1e-9, atol=1e-9)


BAD = [
    (lambda: ops.conv2d(np.ones((1, 4, 5, 5)), np.ones((2, 3, 3, 3))), ValueError, "conv2d"),        # channels
    (lambda: ops.conv2d(np.ones((1, 4, 5, 5)), np.ones((3, 2, 3, 3)), groups=2), ValueError, "conv2d"),  # K % groups
    (lambda: ops.conv2d(np.ones((1, 3, 2, 2)), np.ones((2, 3, 3, 3))), ValueError, "conv2d"),        # kernel too big
    (lambda: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3)), padding=-1), ValueError, "conv2d"),
    (lambda: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3)), stride=0), ValueError, "conv2d"),
    (lambda: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3)), dilation=(1, 0)), ValueError, "conv2d"),
    (lambda: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3)), stride=2, padding="same"), ValueError, "conv2d"),
    (lambda: ops.conv2d(np.ones((3, 5, 5)), np.ones((2, 3, 3))), ValueError, "conv2d"),              # weight rank
    (lambda: ops.conv2d(np.ones((5, 5)), np.ones((2, 3, 3, 3))), ValueError, "conv2d"),              # input rank
    (lambda: ops.conv2d(np.ones((1, 3, 5, 5), np.int64), np.ones((2, 3, 3, 3), np.int64)), TypeError, "conv2d"),
    (lambda: ops.conv2d(np.ones((1, 3, 5, 5), np.float32), np.ones((2, 3, 3, 3))), TypeError, "conv2d"),
    (lambda: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3)), np.ones(3)), ValueError, "conv2d"),
    (lambda: ops.conv2d(np.ones((1, 3, 3, 3)), np.ones((2, 3, 3, 3)), padding=3, padding_mode="reflect"),
     ValueError, "conv2d"),
    (lambda: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3)), padding_mode="mirror"), ValueError, "conv2d"),
    (lambda: ops.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3)), activation="tanh"), ValueError, "conv2d"),
    (lambda: ops.conv1d(np.ones((1, 3, 5, 5)), np.ones((2, 3, 3))), ValueError, "conv1d"),
    (lambda: ops.conv_transpose2d(np.ones((1, 3, 5, 5)), np.ones((3, 2, 3, 3)), stride=2, output_padding=2),
     ValueError, "conv_transpose2d"),
    (lambda: ops.conv_transpose2d(np.ones((1, 3, 5, 5)), np.ones((3, 2, 3, 3)), output_padding=1), ValueError,
     "conv_transpose2d"),
    (lambda: ops.conv_transpose2d(np.ones((1, 3, 1, 1)), np.ones((3, 2, 1, 1)), padding=1), ValueError,
     "conv_transpose2d"),
    (lambda: ops.conv_transpose1d(np.ones((1, 4, 5)), np.ones((3, 2, 3))), ValueError, "conv_transpose1d"),
    (lambda: ops.conv2d_backward(np.ones((1, 2, 4, 4)), np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3))), ValueError,
     "conv2d_backward"),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_input_raises_naming_the_op(i):
    fn, exc, op = BAD[i]
    with pytest.raises(exc) as e:
        fn()
    assert str(e.value).startswith(f"{op}:"), str(e.value)

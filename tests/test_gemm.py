import itertools

import numpy as np
import pytest

import dlcore
from dlcore import ops
from tests.conftest import (assert_close, finite_difference_grad, rng, run_in_python_threads, run_threads_bitwise,
                            threads_scope)
from tests.reference import gemm as ref

SIZES = (1, 2, 3, 7, 17, 31, 33, 63, 65, 127, 129, 255, 257, 1000)
_ALL = list(itertools.product(SIZES, repeat=3))
# A broad, fixed sample of the 14^3 grid (every size appears in every position), plus the corners.
_pick = np.random.default_rng(1234).choice(len(_ALL), size=26, replace=False)
SAMPLED = sorted({_ALL[i] for i in _pick} | {(1, 1, 1), (1000, 1000, 1000), (1, 1000, 1), (1000, 1, 1000),
                                            (257, 255, 1000), (65, 33, 1)})


def tol(dtype, k):
    """float32 sums of k products of N(0,1) values: error grows with k."""
    if np.dtype(dtype) == np.float64:
        return dict(rtol=1e-11, atol=1e-12 * max(1, k))
    return dict(rtol=2e-5, atol=2e-6 * max(1, k))


def randn(shape, dtype=np.float32, seed=0):
    return rng(seed).standard_normal(shape).astype(dtype)


def layout(x, kind):
    """The same values in another memory layout: 'c' contiguous, 'f' Fortran order (transposed
    strides), 's' a strided slice of a bigger buffer at an offset."""
    if kind == "c":
        return np.ascontiguousarray(x)
    if kind == "f":
        return np.asfortranarray(x)
    big = np.zeros((x.shape[0] * 2 + 3, x.shape[1] * 3 + 1), x.dtype)
    big[3::2, 1::3] = x
    return big[3::2, 1::3]


# ---- correctness over sizes, transposes and ISAs ---------------------------------------------
@pytest.mark.parametrize("mnk", SAMPLED, ids=lambda t: "x".join(map(str, t)))
def test_gemm_sizes_all_isas(isa, mnk):
    m, n, k = mnk
    if isa == "baseline" and m * n * k > 3e7:
        pytest.skip("the portable kernel is covered on smaller sizes (keeps the file fast)")
    ta, tb = (m + n) % 2 == 1, (n + k) % 2 == 1  # all four combinations occur across the sample
    a = randn((k, m) if ta else (m, k), seed=m)
    b = randn((n, k) if tb else (k, n), seed=n + 1)
    got = ops.gemm(a, b, trans_a=ta, trans_b=tb)
    np.testing.assert_allclose(got, ref.gemm(a, b, trans_a=ta, trans_b=tb), **tol(np.float32, k))


@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kinds", [("c", "c", "c"), ("f", "s", "c"), ("s", "f", "f"), ("s", "s", "s")])
def test_gemm_transposes_alpha_beta_layouts(isa, ta, tb, dtype, kinds):
    m, n, k = 67, 35, 300
    a = layout(randn((k, m) if ta else (m, k), dtype, 1), kinds[0])
    b = layout(randn((n, k) if tb else (k, n), dtype, 2), kinds[1])
    c = layout(randn((m, n), dtype, 3), kinds[2])
    expected = ref.gemm(a, b, c, alpha=-0.75, beta=1.5, trans_a=ta, trans_b=tb)
    out = ops.gemm(a, b, c, alpha=-0.75, beta=1.5, trans_a=ta, trans_b=tb)
    assert out is c
    np.testing.assert_allclose(c, expected, **tol(dtype, k))


def test_gemm_beta_zero_ignores_nan_in_c():
    a, b = randn((5, 4)), randn((4, 6))
    c = np.full((5, 6), np.nan, np.float32)
    ops.gemm(a, b, c, alpha=2.0, beta=0.0)
    assert_close(c, ref.gemm(a, b, alpha=2.0))


def test_gemm_c_aliasing_input():
    a, b = randn((33, 33), np.float64, 1), randn((33, 33), np.float64, 2)
    expected = ref.gemm(a, b, a, beta=1.0)
    ops.gemm(a, b, a, beta=1.0)
    assert_close(a, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_c_overlapping_views_of_one_buffer(dtype):
    # c and the inputs are different NumPy views of one buffer (separate wrappers, partial
    # overlap): the product must be computed from the inputs as they were before the call.
    buf = randn((48, 80), dtype, 3)
    a, c = buf[:, 10:58], buf[:, 0:48]  # columns 10..47 of c are columns 0..37 of a
    bt = buf[:, 32:80].T  # b^T overlaps c too
    expected = ref.gemm(a.copy(), bt.copy(), c.copy(), alpha=0.5, beta=2.0)
    ops.gemm(a, bt, c, alpha=0.5, beta=2.0)
    assert_close(c, expected, dtype, scale=48)
    x = randn((36, 36), dtype, 4)
    expected = ref.matmul(x, x)
    ops.gemm(x, x.copy(), x)  # small path, A read in place, C is A
    assert_close(x, expected, dtype, scale=36)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_wide_n_deep_k_float64_tight(isa, dtype):
    # N above the column block (NC) and K above the depth block (KC) of every ISA.
    a, b = randn((7, 600), dtype, 1), randn((600, 3100), dtype, 2)
    np.testing.assert_allclose(ops.matmul(a, b), ref.matmul(a, b), **tol(dtype, 600))


def test_negative_strides_and_offsets():
    a = randn((40, 50))[::-1, 3:45:2]
    b = randn((30, 60))[2:23, ::-3]
    np.testing.assert_allclose(ops.matmul(a, b), ref.matmul(a, b), **tol(np.float32, 21))


# ---- matmul semantics ------------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb", [
    ((5,), (5,)), ((5,), (5, 3)), ((4, 5), (5,)), ((2, 4, 5), (5,)), ((5,), (3, 5, 2)),
    ((2, 1, 4, 5), (3, 5, 6)), ((1, 4, 5), (3, 5, 6)), ((3, 4, 5), (5, 6)), ((4, 5), (2, 3, 5, 6)),
    ((0, 4, 5), (5, 6)), ((4, 0), (0, 6)), ((0, 5), (5, 3)), ((2, 3, 0), (2, 0, 4)),
    ((32, 128, 64), (32, 64, 128)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_broadcasting_matches_numpy(sa, sb, dtype):
    a, b = randn(sa, dtype, 1), randn(sb, dtype, 2)
    got = ops.matmul(a, b)
    expected = np.matmul(a, b)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, ref.matmul(a, b), **tol(dtype, sa[-1]))


def test_matmul_batched_noncontiguous():
    a = randn((3, 10, 8, 9)).transpose(1, 0, 3, 2)[::3]   # (4, 3, 9, 8), odd strides
    b = randn((8, 3, 7)).transpose(1, 0, 2)               # (3, 8, 7)
    np.testing.assert_allclose(ops.matmul(a, b), ref.matmul(a, b), **tol(np.float32, 8))


def test_tensor_in_tensor_out():
    a, b = randn((3, 4)), randn((4, 2))
    out = ops.matmul(dlcore.from_numpy(a), b)
    assert isinstance(out, dlcore.Tensor)
    assert_close(out.numpy(), ref.matmul(a, b), np.float32)


# ---- determinism -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["square", "tall", "batched", "linear", "small", "beta", "many_rows", "shared_b",
                                  "shared_b_deep", "shared_b_wide", "skinny", "small_parallel"])
def test_one_vs_two_threads_bitwise(isa, case):
    if case == "skinny":  # few rows or a short K: parallel for the packing and C traffic alone
        g, x, w = randn((256, 10)), randn((256, 1024), np.float32, 1), randn((10, 1024), np.float32, 2)
        np.testing.assert_allclose(ops.matmul(g.T, x), ref.matmul(g.T, x), **tol(np.float32, 256))
        fn = lambda: (ops.gemm(g, x, trans_a=True), ops.matmul(g, w))  # noqa: E731
    elif case == "many_rows":  # column chunks over several A blocks (3 of 20 or 19 panels) and K slices
        a, b = randn((701, 700)), randn((700, 301), np.float32, 1)
        np.testing.assert_allclose(ops.matmul(a, b), ref.matmul(a, b), **tol(np.float32, 700))
        fn = lambda: ops.matmul(a, b)  # noqa: E731
    elif case == "shared_b":  # more rows than the column scheme takes: threads share packed B
        a, b = randn((800, 400)), randn((400, 301), np.float32, 1)
        np.testing.assert_allclose(ops.matmul(a, b), ref.matmul(a, b), **tol(np.float32, 400))
        fn = lambda: ops.matmul(a, b)  # noqa: E731
    elif case == "shared_b_deep":  # the shared-B scheme's deeper K slices: 700 is one, 1700 three
        a, b = randn((1500, 1700)), randn((1700, 70), np.float32, 1)
        np.testing.assert_allclose(ops.matmul(a[:, :700], b[:700]), ref.matmul(a[:, :700], b[:700]),
                                   **tol(np.float32, 700))
        np.testing.assert_allclose(ops.matmul(a, b), ref.matmul(a, b), **tol(np.float32, 1700))
        fn = lambda: (ops.matmul(a[:, :700], b[:700]), ops.matmul(a, b))  # noqa: E731
    elif case == "shared_b_wide":  # two column blocks (N > NC) of two or more K slices each, beta read once
        a, b, c = randn((750, 800)), randn((800, 3100), np.float32, 1), randn((750, 3100), np.float32, 2)
        np.testing.assert_allclose(ops.gemm(a, b, c.copy(), beta=0.5), ref.matmul(a, b) + 0.5 * c,
                                   **tol(np.float32, 800))
        fn = lambda: ops.gemm(a, b, c.copy(), beta=0.5)  # noqa: E731
    elif case == "square":
        a, b = randn((300, 513)), randn((513, 1000))
        fn = lambda: ops.matmul(a, b)  # noqa: E731
    elif case == "tall":
        a, b = randn((1000, 100)), randn((100, 65), np.float32, 1)
        fn = lambda: ops.gemm(a.T.copy(), b, trans_a=True)  # noqa: E731
    elif case == "batched":
        a, b = randn((8, 64, 65)), randn((8, 65, 63))
        fn = lambda: ops.matmul(a, b)  # noqa: E731
    elif case == "linear":
        x, w, bias = randn((257, 300)), randn((129, 300), np.float32, 1), randn((129,), np.float32, 2)
        fn = lambda: ops.linear(x, w, bias, "gelu")  # noqa: E731
    elif case == "small":
        a, b = randn((17, 31)), randn((31, 33))
        fn = lambda: ops.matmul(a, b)  # noqa: E731
    elif case == "small_parallel":  # small products big enough for two threads: direct and packed-A paths
        sh = [(64, 64, 64), (72, 72, 72), (128, 16, 128), (61, 100, 37)]
        ab = [(randn((m, k)), randn((k, n), np.float32, 1)) for m, k, n in sh]
        fn = lambda: tuple([ops.matmul(a, b) for a, b in ab] +  # noqa: E731
                           [ops.gemm(a.T.copy(), b, trans_a=True) for a, b in ab])
    else:
        a, b, c = randn((200, 300)), randn((400, 300), np.float32, 1), randn((200, 400), np.float32, 2)
        fn = lambda: ops.gemm(a, b, c.copy(), alpha=0.5, beta=-2.0, trans_b=True)  # noqa: E731
    run_threads_bitwise(fn)


# Row tails: 64 and 100 split their last panels (8 + 8); 128 = 10 x 12 + 8 reads its 8-row tail in
# place; 37 (... + 8 + 5) and 141 (11 x 12 + 9) pack it.
@pytest.mark.parametrize("mnk", [(64, 64, 64), (1, 70, 5), (100, 33, 384), (50, 40, 512), (1000, 100, 64),
                                 (37, 1000, 16), (1024, 64, 256), (128, 128, 64), (141, 50, 70)],
                         ids=lambda t: "x".join(map(str, t)))
def test_small_path_same_bits_as_packed_path(isa, mnk):
    # One K slice and a small row-major B: the kernel reads B in place instead of packing it.  A
    # Fortran-ordered copy of B (unit row stride) must be packed, so it takes the packed path:
    # the two must agree bit for bit, also with alpha/beta, a transposed A and on 1 or 2 threads.
    m, n, k = mnk
    a, b, c = randn((m, k)), randn((k, n), np.float32, 1), randn((m, n), np.float32, 2)
    small, packed = ops.matmul(a, b), ops.matmul(a, np.asfortranarray(b))
    assert np.array_equal(small, packed)
    np.testing.assert_allclose(small, ref.matmul(a, b), **tol(np.float32, k))
    at = np.ascontiguousarray(a.T)
    got = ops.gemm(at, b, c.copy(), alpha=0.5, beta=-2.0, trans_a=True)
    assert np.array_equal(got, ops.gemm(at, np.asfortranarray(b), c.copy(), alpha=0.5, beta=-2.0, trans_a=True))
    np.testing.assert_allclose(got, 0.5 * ref.matmul(a, b) - 2.0 * c, **tol(np.float32, k))
    # Full row panels of a row-major A are read in place, also with a row stride wider than K.
    got = ops.gemm(a, b, c.copy(), alpha=0.5, beta=-2.0)
    assert np.array_equal(got, ops.gemm(a, np.asfortranarray(b), c.copy(), alpha=0.5, beta=-2.0))
    wide = np.zeros((m, k + 5), np.float32)
    wide[:, 2:k + 2] = a
    assert np.array_equal(ops.matmul(wide[:, 2:k + 2], b), small)
    run_threads_bitwise(lambda: ops.matmul(a, b))
    # linear with a weight stored as its transpose (W^T contiguous): bias and relu in the epilogue.
    w_t, bias = randn((k, n), np.float32, 3), randn((n,), np.float32, 4)
    y = ops.linear(a, w_t.T, bias, "relu")
    assert np.array_equal(y, ops.linear(a, np.ascontiguousarray(w_t.T), bias, "relu"))


# A last column panel of at most one vector (N = 100: 3 x 32 + 4 on AVX-512, 6 x 16 + 4 on AVX2)
# runs a one-vector kernel; its columns must get the very bits they get when zero columns pad
# that panel to full width (the two-vector kernel).  Small path, column scheme, shared-B scheme.
@pytest.mark.parametrize("mnk", [(100, 100, 100), (300, 700, 33), (1000, 300, 200), (64, 64, 16 + 32 * 5)],
                         ids=lambda t: "x".join(map(str, t)))
def test_narrow_last_column_panel_same_bits_as_padded(isa, mnk):
    m, k, n = mnk
    a, b = randn((m, k)), randn((k, n), np.float32, 1)
    padded = np.zeros((k, n + 64), np.float32)
    padded[:, :n] = b
    for threads in (1, 2):
        with threads_scope(threads):
            got = ops.matmul(a, b)
            assert np.array_equal(got, ops.matmul(a, padded)[:, :n])
            np.testing.assert_allclose(got, ref.matmul(a, b), **tol(np.float32, k))
            y = ops.linear(a, np.ascontiguousarray(b.T), randn((n,), np.float32, 2), "relu")
            assert np.array_equal(y, ops.linear(a, np.ascontiguousarray(padded.T), np.pad(randn((n,), np.float32, 2), (0, 64)),
                                                "relu")[:, :n])


# The direct small path (AVX-512: 8 x 48 tiles over A and B read in place) must give the bits of
# the 12 x 32 small path, which a transposed A (packed, never direct) takes.  Row remainders of
# 0, <= 4 and > 4 rows; column remainders of 0, whole vectors (read in place) and part vectors
# (packed); a remainder of at most one vector split with the last full panel into two two-vector
# panels (float32 112 = 48 + 32 + 32, 64, 256, 100 = 48 + 32 + 20, 50; float64 32 = 16 + 16,
# 128 = 4 x 24 + 16 + 16); N = 17; K of 1, 64 and 300; alpha and beta; 1 and 2 threads.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mn", [(8, 48), (13, 96), (20, 128), (128, 70), (37, 81), (1, 176), (20, 112), (9, 64),
                                (33, 256), (12, 32), (100, 100), (16, 50), (24, 17)],
                         ids=lambda t: "x".join(map(str, t)))
def test_direct_small_path_same_bits_as_packed_small_path(isa, dtype, mn):
    m, n = mn
    for k in (1, 64, 300):
        a, b, c = randn((m, k), dtype), randn((k, n), dtype, 1), randn((m, n), dtype, 2)
        a_t = np.ascontiguousarray(a.T).T  # the same values, column-major: A is packed
        for threads in (1, 2):
            with threads_scope(threads):
                got = ops.matmul(a, b)
                assert np.array_equal(got, ops.matmul(a_t, b))
                np.testing.assert_allclose(got, ref.matmul(a, b), **tol(dtype, k))
                g1 = ops.gemm(a, b, c.copy(), alpha=0.5, beta=2.0)
                assert np.array_equal(g1, ops.gemm(a_t, b, c.copy(), alpha=0.5, beta=2.0))
                np.testing.assert_allclose(g1, 0.5 * ref.matmul(a, b) + 2.0 * c, **tol(dtype, k))


# The narrow path (N up to one vector, a row-major A read in place by 8-, 4-, 2- and 1-row
# kernels, op(B) packed per thread) against the reference, and against the bits of a
# column-major A (packed, never narrow; K <= 256 is one K slice on every ISA): rows 8, 15
# (8 + 4 + 2 + 1), 64, 67; N of 1, 7, 10 and a whole vector; B row-major, transposed (a Linear
# weight) and strided; alpha and beta; bias with relu and gelu; 1 and 2 threads.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [8, 15, 64, 67])
@pytest.mark.parametrize("n", [1, 7, 10, 16])
def test_narrow_path(isa, dtype, m, n):
    n = min(n, 8) if dtype == np.float64 and isa == "avx512" else n
    for k in (1, 33, 250, 1100):
        a, c = randn((m, k), dtype), randn((m, n), dtype, 2)
        bs = {"rows": randn((k, n), dtype, 1), "weight": randn((n, k), dtype, 1).T,
              "strided": randn((k, 2 * n + 1), dtype, 1)[:, 1::2]}
        a_t = np.ascontiguousarray(a.T).T
        for threads in (1, 2):
            with threads_scope(threads):
                for b in bs.values():
                    got = ops.matmul(a, b)
                    np.testing.assert_allclose(got, ref.matmul(a, b), **tol(dtype, k))
                    g = ops.gemm(a, b, c.copy(), alpha=0.5, beta=2.0)
                    np.testing.assert_allclose(g, 0.5 * ref.matmul(a, b) + 2.0 * c, **tol(dtype, k))
                    if k <= 256:  # one K slice on every ISA
                        assert np.array_equal(got, ops.matmul(a_t, b))
                        assert np.array_equal(g, ops.gemm(a_t, b, c.copy(), alpha=0.5, beta=2.0))
                w, bias = bs["weight"].T, randn((n,), dtype, 3)
                for act in (None, "relu", "gelu"):
                    got = ops.linear(a, w, bias, act)
                    np.testing.assert_allclose(got, ref.linear(a, w, bias, act), **tol(dtype, k))
                    if k <= 256:  # one K slice on every ISA
                        assert np.array_equal(got, ops.linear(a_t, w, bias, act))


def test_dynamic_work_sharing_gives_the_same_bits_every_call():
    # Which thread runs a column chunk, a row panel or a task depends on timing (the faster core
    # takes more); the bits must not.  Column scheme (several K slices), small path, shared B,
    # a batch of small products.
    cases = [(randn((256, 1000)), randn((1000, 700), np.float32, 1)),
             (randn((1000, 64)), randn((64, 100), np.float32, 2)),
             (randn((1500, 200)), randn((200, 300), np.float32, 3)),
             (randn((16, 128, 64)), randn((16, 64, 128), np.float32, 4))]  # batch items, guided
    with threads_scope(2):
        for a, b in cases:
            first = ops.matmul(a, b)
            for _ in range(8):
                assert np.array_equal(ops.matmul(a, b), first)
            assert np.array_equal(first, run_threads_bitwise(lambda: ops.matmul(a, b)))


# ---- linear -----------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
@pytest.mark.parametrize("xshape", [(33,), (65, 33), (2, 3, 33), (0, 33)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_matches_reference(isa, activation, xshape, dtype):
    x, w, b = randn(xshape, dtype, 1), randn((31, 33), dtype, 2), randn((31,), dtype, 3)
    got = ops.linear(x, w, b, activation)
    np.testing.assert_allclose(got, ref.linear(x, w, b, activation), **tol(dtype, 33))
    got_nb = ops.linear(x, w, None, activation)
    np.testing.assert_allclose(got_nb, ref.linear(x, w, None, activation), **tol(dtype, 33))


@pytest.mark.parametrize("activation", [None, "relu"])
def test_linear_vector_epilogue_matches_scalar_edges(isa, activation):
    # 70 columns: whole micro-tiles (vector epilogue) and an edge tile (scalar epilogue) side by
    # side; both must give the reference, NaN propagating through relu as in torch.relu.
    x, w, b = randn((29, 40)), randn((70, 40), np.float32, 1), randn((70,), np.float32, 2)
    x[3, 7] = np.nan
    got = ops.linear(x, w, b, activation)
    want = ref.linear(x, w, b, activation)
    assert np.isnan(got[3]).all()
    np.testing.assert_allclose(got, want, **tol(np.float32, 40))
    assert (got[~np.isnan(got)] >= 0).all() if activation == "relu" else True
    run_threads_bitwise(lambda: ops.linear(x, w, b, activation))


@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
@pytest.mark.parametrize("out_features", [1, 3, 10])
def test_linear_narrow_output_runs_transposed(isa, activation, out_features):
    # Few output columns: the kernel computes C^T = W X^T (bias down the rows); same results.
    x, w, b = randn((203, 77)), randn((out_features, 77), np.float32, 1), randn((out_features,), np.float32, 2)
    np.testing.assert_allclose(ops.linear(x, w, b, activation), ref.linear(x, w, b, activation), **tol(np.float32, 77))
    run_threads_bitwise(lambda: ops.linear(x, w, b, activation))
    # The product alone is bitwise the same as with the columns padded wide (untransposed).
    wide = np.concatenate([w, randn((64, 77), np.float32, 3)])
    assert np.array_equal(ops.matmul(x, w.T), ops.matmul(x, wide.T)[:, :out_features])


def test_linear_noncontiguous_inputs():
    x = randn((4, 20, 50))[:, ::2, 5:38]  # rows not evenly spaced across dims
    w = randn((66, 33), np.float32, 1)[::2]
    b = randn((66,), np.float32, 2)[::2]
    np.testing.assert_allclose(ops.linear(x, w, b), ref.linear(x, w, b), **tol(np.float32, 33))


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_linear_matches_torch(torch, activation):
    x, w, b = randn((64, 96)), randn((80, 96), np.float32, 1), randn((80,), np.float32, 2)
    y = torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b))
    y = torch.relu(y) if activation == "relu" else torch.nn.functional.gelu(y)
    np.testing.assert_allclose(ops.linear(x, w, b, activation), y.numpy(), rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("xshape", [(3, 5, 33), (65, 33), (33,), (0, 33)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_backward_matches_reference(isa, xshape, dtype):
    x, w = randn(xshape, dtype, 1), randn((31, 33), dtype, 2)
    g = randn(xshape[:-1] + (31,), dtype, 3)
    gx, gw, gb = ops.linear_backward(g, x, w)
    ex, ew, eb = ref.linear_backward(g, x, w)
    k = max(1, int(np.prod(xshape[:-1])))
    np.testing.assert_allclose(gx, ex, **tol(dtype, 31))
    np.testing.assert_allclose(gw, ew, **tol(dtype, k))
    np.testing.assert_allclose(gb, eb, **tol(dtype, k))
    assert ops.linear_backward(g, x, w, need=(False, True, False))[0::2] == (None, None)


def test_linear_backward_threads_bitwise():
    x, w, g = randn((700, 300)), randn((200, 300), np.float32, 1), randn((700, 200), np.float32, 2)
    run_threads_bitwise(lambda: ops.linear_backward(g, x, w))


def test_linear_gradcheck_float64():
    x, w, b = randn((3, 4), np.float64, 1), randn((5, 4), np.float64, 2), randn((5,), np.float64, 3)
    g = randn((3, 5), np.float64, 4)
    gx, gw, gb = ops.linear_backward(g, x, w)
    f = lambda xx, ww, bb: float(np.sum(g * ops.linear(xx, ww, bb)))  # noqa: E731
    assert_close(gx, finite_difference_grad(lambda v: f(v, w, b), x), rtol=1e-6, atol=1e-7)
    assert_close(gw, finite_difference_grad(lambda v: f(x, v, b), w), rtol=1e-6, atol=1e-7)
    assert_close(gb, finite_difference_grad(lambda v: f(x, w, v), b), rtol=1e-6, atol=1e-7)


# ---- errors -----------------------------------------------------------------------------------
def test_bad_inputs_raise_naming_the_op():
    f32, f64 = randn((3, 4)), randn((4, 5), np.float64)
    with pytest.raises(TypeError, match="^matmul: "):
        ops.matmul(f32, f64)
    with pytest.raises(TypeError, match="^matmul: "):
        ops.matmul(np.ones((3, 4), np.int64), np.ones((4, 2), np.int64))
    with pytest.raises(ValueError, match="^matmul: .*not aligned"):
        ops.matmul(randn((3, 4)), randn((5, 2)))
    with pytest.raises(ValueError, match="^matmul: .*broadcast"):
        ops.matmul(randn((2, 3, 4)), randn((3, 4, 2)))
    with pytest.raises(ValueError, match="^matmul: "):
        ops.matmul(np.float32(1.0), randn((3,)))
    with pytest.raises(ValueError, match="^gemm: "):
        ops.gemm(randn((3, 4)), randn((3, 4)))
    with pytest.raises(ValueError, match="^gemm: "):
        ops.gemm(randn((3,)), randn((3, 4)))
    with pytest.raises(ValueError, match="^gemm: .*shape"):
        ops.gemm(randn((3, 4)), randn((4, 2)), np.zeros((2, 3), np.float32))
    with pytest.raises(TypeError, match="^gemm: "):
        ops.gemm(randn((3, 4)), randn((4, 2)), np.zeros((3, 2), np.float64))
    ro = np.zeros((3, 2), np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="^gemm: "):
        ops.gemm(randn((3, 4)), randn((4, 2)), ro)
    with pytest.raises(ValueError, match="^linear: .*activation"):
        ops.linear(randn((3, 4)), randn((2, 4)), None, "tanh")
    with pytest.raises(ValueError, match="^linear: .*bias"):
        ops.linear(randn((3, 4)), randn((2, 4)), randn((3,)))
    with pytest.raises(ValueError, match="^linear: "):
        ops.linear(randn((3, 4)), randn((2, 5)))
    with pytest.raises(ValueError, match="^linear_backward: .*grad_out"):
        ops.linear_backward(randn((3, 3)), randn((3, 4)), randn((2, 4)))
    with pytest.raises(TypeError, match="^linear_backward: "):
        ops.linear_backward(randn((3, 2), np.float64), randn((3, 4)), randn((2, 4)))


# ---- CUDA -------------------------------------------------------------------------------------
needs_cuda = pytest.mark.skipif(not dlcore.cuda.is_available(), reason="no CUDA device (or a build without CUDA)")


@needs_cuda
@pytest.mark.parametrize("mnk", [(1, 1, 1), (7, 17, 33), (128, 128, 8), (129, 255, 257), (1000, 1000, 1000),
                                 (64, 3100, 65)], ids=str)
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
def test_cuda_gemm_matches_numpy(mnk, ta, tb):
    m, n, k = mnk
    a = randn((k, m) if ta else (m, k), seed=1)
    b = randn((n, k) if tb else (k, n), seed=2)
    ga, gb = dlcore.from_numpy(a).to("cuda"), dlcore.from_numpy(b).to("cuda")
    out = ops.gemm(ga, gb, trans_a=ta, trans_b=tb)
    assert out.is_cuda
    np.testing.assert_allclose(out.cpu().numpy(), ref.gemm(a, b, trans_a=ta, trans_b=tb), **tol(np.float32, k))


@needs_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_matmul_batched_linear_and_beta(dtype):
    a, b = randn((4, 33, 65), dtype, 1), randn((65, 31), dtype, 2)
    out = ops.matmul(dlcore.from_numpy(a).to("cuda"), dlcore.from_numpy(b).to("cuda"))
    np.testing.assert_allclose(out.cpu().numpy(), ref.matmul(a, b), **tol(dtype, 65))
    x, w, bias = randn((70, 33), dtype, 3), randn((45, 33), dtype, 4), randn((45,), dtype, 5)
    y = ops.linear(*(dlcore.from_numpy(v).to("cuda") for v in (x, w, bias)), activation="gelu")
    np.testing.assert_allclose(y.cpu().numpy(), ref.linear(x, w, bias, "gelu"), **tol(dtype, 33))
    c = randn((70, 45), dtype, 6)
    gc = dlcore.from_numpy(c).to("cuda")
    ops.gemm(dlcore.from_numpy(x).to("cuda"), dlcore.from_numpy(w).to("cuda"), gc, alpha=0.5, beta=2.0,
             trans_b=True)
    np.testing.assert_allclose(gc.cpu().numpy(), ref.gemm(x, w, c, 0.5, 2.0, trans_b=True), **tol(dtype, 33))


def test_concurrent_calls_from_python_threads():
    # Each calling thread has its own OpenMP team and packing space: results stay exact.
    shapes = [(256, 300, 513), (1500, 100, 300), (203, 77, 10), (64, 64, 64)]  # column, shared-B, narrow, small
    cases = [(randn((m, k)), randn((k, n), np.float32, 1)) for m, k, n in shapes]
    want = [ops.matmul(a, b) for a, b in cases]
    bad = []

    def work():
        for _ in range(5):
            for (a, b), w in zip(cases, want):
                if not np.array_equal(ops.matmul(a, b), w):
                    bad.append(a.shape)

    run_in_python_threads(work)
    assert not bad

import numpy as np
import pytest

import dlcore
from dlcore import ops
from tests.conftest import assert_close, finite_difference_grad, rng, run_threads_bitwise
from tests.reference import shape as ref

DTYPES = ["float32", "float64", "int64", "bool"]


def rand(shape, dtype="float32", seed=0):
    r = rng(seed)
    if dtype == "bool":
        return r.random(shape) > 0.5
    if dtype == "int64":
        return r.integers(-100, 100, shape, dtype=np.int64)
    return r.standard_normal(shape).astype(dtype)


def strided(a, kind):
    """The same values as `a`, laid out as a non-contiguous or offset view."""
    if kind == "contig":
        return a
    if kind == "transposed":
        return np.ascontiguousarray(np.swapaxes(a, 0, -1)).swapaxes(0, -1)
    if kind == "stepped":  # every other element of a bigger array, starting at an offset
        big = np.zeros(tuple(2 * s + 1 for s in a.shape), a.dtype)
        v = big[(slice(1, None, 2),) * a.ndim]
        v[...] = a
        return v
    raise ValueError(kind)


LAYOUTS = ["contig", "transposed", "stepped"]


# ---- views ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_views_match_numpy_and_share_memory(dtype):
    a = rand((2, 3, 4), dtype)
    cases = [
        (lambda x: ops.reshape(x, (4, -1)), lambda x: x.reshape(4, -1)),
        (lambda x: ops.view(x, (6, 4)), lambda x: x.reshape(6, 4)),
        (lambda x: ops.flatten(x, 1), lambda x: x.reshape(2, 12)),
        (lambda x: ops.unsqueeze(x, -1), lambda x: x[..., None]),
        (lambda x: ops.squeeze(ops.unsqueeze(x, 1)), lambda x: x),
        (lambda x: ops.transpose(x, 0, 2), lambda x: x.transpose(2, 1, 0)),
        (lambda x: ops.permute(x, (1, 2, 0)), lambda x: x.transpose(1, 2, 0)),
        (lambda x: ops.narrow(x, 2, 1, 2), lambda x: x[:, :, 1:3]),
        (lambda x: ops.index(x, (slice(None, None, -1), None, Ellipsis, 1)), lambda x: x[::-1, None, ..., 1]),
    ]
    for f, g in cases:
        x = a.copy()
        v = f(x)
        assert isinstance(v, np.ndarray)
        assert_close(v, g(a))
        assert np.shares_memory(v, x)
        # write through the view, read through the input ...
        fill = np.array(1 if dtype != "bool" else True, dtype)
        v[(0,) * v.ndim] = fill + v[(0,) * v.ndim] if dtype != "bool" else not v[(0,) * v.ndim]
        assert_close(v, g(x))
        # ... and the other way round.
        x[(1,) * x.ndim] = x[(1,) * x.ndim] * 0 if dtype != "bool" else not x[(1,) * x.ndim]
        assert_close(v, g(x))


def test_views_of_tensor_share_memory():
    t = dlcore.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    v = ops.transpose(t, 0, 1)
    assert isinstance(v, dlcore.Tensor) and v.shape == (4, 3) and v.stride() == (1, 4)
    v.numpy()[0, 2] = -5
    assert t.numpy()[2, 0] == -5


def test_reshape_copies_when_strides_forbid_a_view_and_view_raises():
    a = rand((4, 6))
    t = a.T
    r = ops.reshape(t, (-1,))
    assert_close(r, t.reshape(-1))
    assert not np.shares_memory(r, a)
    with pytest.raises(ValueError, match="^view: .*use reshape"):
        ops.view(t, (24,))
    # Splitting or merging dims that stay contiguous is still a view.
    assert np.shares_memory(ops.view(t, (3, 2, 4)), a)
    s = a[:, ::2]
    assert np.shares_memory(ops.view(s, (2, 2, 3)), a)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0, 2), (1,), (), (2, 1, 3)])
def test_view_ops_on_odd_shapes(shape):
    a = rand(shape)
    assert_close(ops.reshape(a, (-1,)), a.reshape(-1))
    assert_close(ops.flatten(a), a.reshape(-1) if a.ndim else a.reshape(1))
    assert_close(ops.squeeze(a), np.squeeze(a))
    assert_close(ops.unsqueeze(a, 0), a[None])
    if a.ndim >= 2:
        assert_close(ops.contiguous(ops.transpose(a, 0, -1)), np.swapaxes(a, 0, -1))


def test_expand_and_broadcast_to():
    a = rand((3, 1))
    e = ops.expand(a, (2, 3, 4))
    assert_close(e, np.broadcast_to(a, (2, 3, 4)))
    assert np.shares_memory(e, a) and e.strides[0] == 0 and e.strides[2] == 0
    assert_close(ops.expand(a, (-1, 5)), np.broadcast_to(a, (3, 5)))
    assert_close(ops.broadcast_to(a, (3, 0)), np.zeros((3, 0), np.float32))
    assert_close(ops.contiguous(e), np.broadcast_to(a, (2, 3, 4)))
    with pytest.raises(ValueError, match="^expand: "):
        ops.expand(a, (2, 4))
    with pytest.raises(ValueError, match="^broadcast_to: "):
        ops.broadcast_to(a, (3,))


def test_view_op_errors():
    a = rand((2, 3))
    with pytest.raises(ValueError, match="^reshape: "):
        ops.reshape(a, (4, -1))
    with pytest.raises(ValueError, match="^reshape: "):
        ops.reshape(a, (-1, -1))
    with pytest.raises(ValueError, match="^transpose: "):
        ops.transpose(a, 0, 2)
    with pytest.raises(ValueError, match="^permute: "):
        ops.permute(a, (0, 0))
    with pytest.raises(ValueError, match="^permute: "):
        ops.permute(a, (0,))
    with pytest.raises(ValueError, match="^unsqueeze: "):
        ops.unsqueeze(a, 3)
    with pytest.raises(ValueError, match="^flatten: "):
        ops.flatten(a, 1, 0)
    with pytest.raises(ValueError, match="^narrow: "):
        ops.narrow(a, 1, 2, 2)
    with pytest.raises(TypeError, match="^reshape: "):
        ops.reshape(a, (2.5, 3))


# ---- cat / stack / split ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cat_matches_numpy(isa, dtype, axis):
    shapes = [(3, 31, 5), (3, 31, 5), (3, 31, 5)]
    xs = [rand(s, dtype, seed=i) for i, s in enumerate(shapes)]
    ax = axis % 3
    xs[1] = rand(tuple(1 if d == ax else s for d, s in enumerate(shapes[1])), dtype, 1)
    xs[2] = rand(tuple(0 if d == ax else s for d, s in enumerate(shapes[2])), dtype, 2)
    inputs = [strided(xs[0], "transposed"), strided(xs[1], "stepped"), xs[2]]
    assert_close(ops.cat(inputs, axis), np.concatenate(xs, axis))
    assert_close(ops.concatenate(inputs, axis), np.concatenate(xs, axis))
    assert_close(ops.stack([xs[0], strided(xs[0], "stepped")], axis), np.stack([xs[0], xs[0]], axis))


def test_cat_large_blocks_threads_bitwise():
    xs = [rand((65, 300), seed=i) for i in range(3)]
    got = run_threads_bitwise(lambda: ops.cat(xs, 1).copy())
    assert_close(got, np.concatenate(xs, 1))


def test_cat_stack_errors():
    a, b = rand((2, 3)), rand((2, 4))
    with pytest.raises(ValueError, match="^cat: .*at index 1"):
        ops.cat([a, b], 0)
    with pytest.raises(TypeError, match="^cat: .*at index 1"):
        ops.cat([a, a.astype(np.float64)], 0)
    with pytest.raises(ValueError, match="^cat: "):
        ops.cat([], 0)
    with pytest.raises(ValueError, match="^cat: "):
        ops.cat([a, a], 2)
    with pytest.raises(ValueError, match="^cat: "):
        ops.cat([np.float32(1.0), np.float32(2.0)], 0)
    with pytest.raises(ValueError, match="^stack: .*at index 1"):
        ops.stack([a, b], 0)


def test_cat_skips_legacy_empty_1d(torch):
    a = rand((2, 3))
    e = np.zeros((0,), np.float32)
    assert_close(ops.cat([e, a, e], 1), torch.cat([torch.from_numpy(e), torch.from_numpy(a)], 1).numpy())


def test_split_views_and_torch_parity(torch):
    a = rand((7, 5))
    for s, axis in [(2, 0), ([1, 4, 2], 0), (5, 1), ([0, 5], 1), (3, -1)]:
        got = ops.split(a, s, axis)
        want = torch.split(torch.from_numpy(a), s, dim=axis)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_close(g, w.numpy())
            assert g.size == 0 or np.shares_memory(g, a)
    parts = ops.tensor_split(a, 3, 0)
    for g, w in zip(parts, torch.tensor_split(torch.from_numpy(a), 3, 0)):
        assert_close(g, w.numpy())
    with pytest.raises(ValueError, match="^split: "):
        ops.split(a, [3, 3], 0)
    with pytest.raises(ValueError, match="^split: "):
        ops.split(a, 0, 0)


# ---- indexing ---------------------------------------------------------------------------------

KEYS = [
    0, -1, (1, 2), slice(None), slice(1, None, 2), slice(None, None, -1), slice(-2, 0, -2), slice(10, -10, -3),
    (Ellipsis, 1), (None, 1, Ellipsis, None), (slice(None), None, slice(3, 1, -1)), (Ellipsis,),
    (1, slice(5, 2)), (slice(None), np.int64(-2), slice(None, None, 3)), (),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_index_basic_keys_are_views(dtype, layout):
    a = rand((4, 5, 6), dtype)
    x = strided(a, layout)
    for key in KEYS:
        v = ops.index(x, key)
        assert_close(v, a[key])
        if v.size:
            assert np.shares_memory(v, x)
        assert_close(ops.slice_copy(x, key), a[key])


def test_index_errors():
    a = rand((3, 4))
    with pytest.raises(IndexError, match="^index: "):
        ops.index(a, 3)
    with pytest.raises(IndexError, match="^index: "):
        ops.index(a, (0, -5))
    with pytest.raises(IndexError, match="^index: "):
        ops.index(a, (0, 0, 0))
    with pytest.raises(IndexError, match="^index: "):
        ops.index(a, (Ellipsis, 0, Ellipsis))
    with pytest.raises(ValueError, match="^index: "):
        ops.index(a, slice(None, None, 0))
    with pytest.raises(TypeError, match="^index: "):
        ops.index(a, [0, 1])
    with pytest.raises(TypeError, match="^index: "):
        ops.index(a, True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_put_broadcasts(dtype):
    a = rand((4, 5, 6), dtype)
    for key, value in [((1, slice(None, None, 2)), rand((1, 6), dtype, 3)), (Ellipsis, rand((6,), dtype, 4)),
                       ((slice(None, None, -1), 2), 1), ((None, 0, 0, 0), rand((1, 1), dtype, 5))]:
        want = a.copy()
        want[key] = value
        x = a.copy()
        assert ops.index_put_(x, key, value) is x
        assert_close(x, want)
    x = a.copy()
    with pytest.raises(ValueError, match="^index_put_: "):
        ops.index_put_(x, 0, rand((3, 6), dtype))
    ro = a.copy()
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="^index_put_: "):
        ops.index_put_(ro, 0, 1)


def test_index_put_overlapping_value():
    a = np.arange(10, dtype=np.float32)
    want = a.copy()
    want[1:] = want[:-1].copy()
    ops.index_put_(a, slice(1, None), a[:-1])
    assert_close(a, want)


# ---- index_select ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_index_select_matches_reference(isa, dtype, axis):
    a = rand((5, 33, 3), dtype)
    x = strided(a, "transposed")
    n = a.shape[axis]
    for idx in [np.array([0, n - 1, 1, 1, -1]), np.array([], np.int64), np.arange(n)[::-1]]:
        assert_close(ops.index_select(x, axis, idx), ref.index_select(a, axis, idx))
    # A 0-d index keeps the axis with size 1, as torch.index_select does.
    assert_close(ops.index_select(x, axis, np.array(2)), ref.index_select(a, axis, np.array([2])))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_index_select_backward_matches_reference(isa, dtype):
    shape, axis = (4, 31, 3), 1
    idx = rng(1).integers(-31, 31, 65)
    g = rand((4, 65, 3), dtype)
    got = run_threads_bitwise(lambda: ops.index_select_backward(strided(g, "stepped"), axis, idx, shape).copy())
    assert_close(got, ref.index_select_backward(g, axis, idx, shape), scale=10)


def test_index_select_backward_threads_bitwise_large():
    idx = rng(2).integers(0, 1000, 5000)
    g = rand((5000, 64))
    got = run_threads_bitwise(lambda: ops.index_select_backward(g, 0, idx, (1000, 64)).copy())
    assert_close(got, ref.index_select_backward(g, 0, idx, (1000, 64)), scale=50)


def test_index_select_gradcheck():
    x = rand((3, 4), "float64")
    idx = np.array([2, 0, 2, 3, -1])
    w = rand((3, 5), "float64", 7)
    num = finite_difference_grad(lambda v: float((ops.index_select(v, 1, idx) * w).sum()), x)
    assert_close(ops.index_select_backward(w, 1, idx, x.shape), num, rtol=1e-7, atol=1e-8)


def test_index_select_errors():
    a = rand((3, 4))
    with pytest.raises(IndexError, match="^index_select: "):
        ops.index_select(a, 0, np.array([3]))
    with pytest.raises(TypeError, match="^index_select: "):
        ops.index_select(a, 0, np.array([0.0]))
    with pytest.raises(ValueError, match="^index_select: "):
        ops.index_select(a, 2, np.array([0]))
    with pytest.raises(ValueError, match="^index_select: "):
        ops.index_select(a, 0, np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match="^index_select_backward: "):
        ops.index_select_backward(rand((2, 4)), 0, np.array([0, 1, 2]), (3, 4))
    with pytest.raises(TypeError, match="^index_select_backward: "):
        ops.index_select_backward(np.zeros((1, 4), np.int64), 0, np.array([0]), (3, 4))


# ---- pad --------------------------------------------------------------------------------------

PAD_CASES = [
    ("constant", (2, 3, 4), (1, 2)), ("constant", (2, 3, 4), (0, 0, 2, 1, 1, 0)), ("constant", (2, 3, 4), (-1, 2, 1, -2)),
    ("constant", (3, 5), (1, 1, 1, 1)), ("constant", (5,), (3, 0)), ("constant", (2, 3, 4), (0, 0, -3, 0)),
    ("reflect", (2, 3, 5), (2, 4)), ("reflect", (2, 3, 4, 5), (1, 3, 2, 1)), ("reflect", (1, 2, 3, 4, 5), (1, 2, 2, 1, 1, 0)),
    ("reflect", (3, 5), (-1, 2)), ("reflect", (2, 3, 5), (2, -1)),
    ("replicate", (2, 3, 5), (3, 4)), ("replicate", (2, 3, 4, 5), (1, 2, 0, 3)), ("replicate", (2, 2, 3, 4, 2), (2, 1, 1, 1, 0, 2)),
    ("replicate", (2, 5), (3, -2)),
    ("circular", (2, 3, 5), (5, 2)), ("circular", (2, 3, 4, 5), (1, 2, 4, 3)), ("circular", (1, 2, 3, 4, 5), (1, 2, 2, 1, 1, 3)),
    ("circular", (2, 5), (-1, 2)), ("circular", (2, 3, 5), (3, -2)),
]


@pytest.mark.parametrize("mode,shape,pad", PAD_CASES)
def test_pad_matches_reference_and_torch(isa, torch, mode, shape, pad):
    for dtype in DTYPES:
        a = rand(shape, dtype)
        x = strided(a, "stepped")
        got = ops.pad(x, pad, mode, value=3)
        assert_close(got, ref.pad(a, pad, mode, value=3))
        if dtype in ("float32", "float64"):
            want = torch.nn.functional.pad(torch.from_numpy(a), pad, mode=mode,
                                           **({"value": 3.0} if mode == "constant" else {}))
            assert_close(got, want.numpy())


@pytest.mark.parametrize("mode,shape,pad", PAD_CASES)
def test_pad_backward_matches_reference_and_torch(isa, torch, mode, shape, pad):
    out_shape = ref.pad(np.zeros(shape), pad, mode).shape
    for dtype in ("float32", "float64"):
        g = rand(out_shape, dtype, 3)
        got = ops.pad_backward(strided(g, "transposed"), shape, pad, mode)
        assert_close(got, ref.pad_backward(g, shape, pad, mode), scale=4)
        t = torch.from_numpy(rand(shape, dtype)).requires_grad_()
        torch.nn.functional.pad(t, pad, mode=mode).backward(torch.from_numpy(g))
        assert_close(got, t.grad.numpy(), scale=4)


@pytest.mark.parametrize("mode,pad", [("constant", (1, -1, 2, 0)), ("reflect", (2, 1, 1, 2)),
                                      ("replicate", (2, 3, 1, 0)), ("circular", (3, 1, -1, 2))])
def test_pad_gradcheck(mode, pad):
    x = rand((2, 3, 4), "float64")
    out_shape = ref.pad(x, pad, mode).shape
    w = rand(out_shape, "float64", 5)
    num = finite_difference_grad(lambda v: float((ops.pad(v, pad, mode) * w).sum()), x)
    assert_close(ops.pad_backward(w, x.shape, pad, mode), num, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_threads_bitwise(mode):
    x = rand((4, 8, 40, 41))
    run_threads_bitwise(lambda: ops.pad(x, (1, 2, 3, 1), mode).copy())
    g = rand((4, 8, 44, 44))
    got = run_threads_bitwise(lambda: ops.pad_backward(g, x.shape, (1, 2, 3, 1), mode).copy())
    assert_close(got, ref.pad_backward(g, x.shape, (1, 2, 3, 1), mode), scale=4)


def test_pad_zero_size():
    assert ops.pad(np.zeros((2, 0), np.float32), (1, 1), value=2).tolist() == [[2, 2], [2, 2]]
    assert ops.pad(np.zeros((0, 3), np.float32), (1, 1)).shape == (0, 5)
    assert ops.pad_backward(np.zeros((0, 5), np.float32), (0, 3), (1, 1)).shape == (0, 3)
    assert_close(ops.pad_backward(np.zeros((2, 0), np.float32), (2, 2), (-1, -1)), np.zeros((2, 2), np.float32))


def test_pad_errors():
    x = rand((2, 3, 4))
    with pytest.raises(ValueError, match="^pad: .*less than"):
        ops.pad(x, (4, 0), "reflect")
    with pytest.raises(ValueError, match="^pad: .*more than once"):
        ops.pad(x, (5, 0), "circular")
    with pytest.raises(ValueError, match="^pad: .*divisible by 2"):
        ops.pad(x, (1,))
    with pytest.raises(ValueError, match="^pad: "):
        ops.pad(x, (1,) * 8)
    with pytest.raises(ValueError, match="^pad: "):
        ops.pad(x, (1,) * 6, "reflect")  # 3 padded dims need a 4-d or 5-d input
    with pytest.raises(ValueError, match="^pad: "):
        ops.pad(x[0, 0], (1, 1), "replicate")
    with pytest.raises(ValueError, match="^pad: "):
        ops.pad(x, (-3, -2))
    with pytest.raises(ValueError, match="^pad: "):
        ops.pad(x, (1, 1), "wrap")
    with pytest.raises(ValueError, match="^pad_backward: "):
        ops.pad_backward(rand((2, 3, 5)), (2, 3, 4), (1, 1))
    with pytest.raises(TypeError, match="^pad_backward: "):
        ops.pad_backward(np.zeros((2, 3, 6), np.int64), (2, 3, 4), (1, 1))


# ---- embedding ----------------------------------------------------------------------------------

@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch(isa, torch, padding_idx):
    w = rand((7, 33), "float32")
    idx = rng(4).integers(0, 7, (3, 31))
    idx[0, :3] = 6
    got = ops.embedding(strided(w, "transposed"), idx, padding_idx=padding_idx)
    wt = torch.from_numpy(w).requires_grad_()
    out = torch.nn.functional.embedding(torch.from_numpy(idx), wt, padding_idx=padding_idx)
    assert_close(got, out.detach().numpy())
    g = rand(got.shape, "float32", 9)
    out.backward(torch.from_numpy(g))
    gw = ops.embedding_backward(g, idx, 7, padding_idx=padding_idx)
    assert_close(gw, wt.grad.numpy(), scale=10)
    assert_close(gw, ref.embedding_backward(g, idx, 7, padding_idx), scale=10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_dtypes_and_shapes(dtype):
    w = rand((5, 3), dtype)
    for idx in [np.array(4), np.zeros((0,), np.int64), np.array([[1, 4], [0, 0]]), np.zeros((2, 0, 3), np.int64)]:
        assert_close(ops.embedding(w, idx), ref.embedding(w, idx))


def test_embedding_backward_threads_bitwise():
    idx = rng(5).integers(0, 1000, (40, 50))
    g = rand((40, 50, 96))
    got = run_threads_bitwise(lambda: ops.embedding_backward(g, idx, 1000, padding_idx=3).copy())
    assert_close(got, ref.embedding_backward(g, idx, 1000, 3), scale=100)


def test_embedding_gradcheck():
    w = rand((4, 3), "float64")
    idx = np.array([[0, 3, 3], [1, 0, 3]])
    r = rand((2, 3, 3), "float64", 2)
    num = finite_difference_grad(lambda v: float((ops.embedding(v, idx) * r).sum()), w)
    assert_close(ops.embedding_backward(r, idx, 4), num, rtol=1e-7, atol=1e-8)


def test_embedding_errors():
    w = rand((5, 3))
    with pytest.raises(IndexError, match="^embedding: "):
        ops.embedding(w, np.array([5]))
    with pytest.raises(IndexError, match="^embedding: "):
        ops.embedding(w, np.array([-1]))
    with pytest.raises(TypeError, match="^embedding: "):
        ops.embedding(w, np.array([1.0]))
    with pytest.raises(ValueError, match="^embedding: "):
        ops.embedding(w[0], np.array([1]))
    with pytest.raises(ValueError, match="^embedding: "):
        ops.embedding(w, np.array([1]), padding_idx=5)
    with pytest.raises(ValueError, match="^embedding_backward: "):
        ops.embedding_backward(rand((2, 3)), np.array([1, 2, 3]), 5)
    with pytest.raises(IndexError, match="^embedding_backward: "):
        ops.embedding_backward(rand((1, 3)), np.array([7]), 5)


# ---- masked_fill ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_shape", [(4, 33), (33,), (4, 1), (1,), ()])
def test_masked_fill(isa, dtype, mask_shape):
    a = rand((4, 33), dtype)
    mask = rng(3).random(mask_shape) > 0.5
    x = strided(a, "transposed")
    value = 1 if dtype != "float32" else -2.5
    assert_close(ops.masked_fill(x, mask, value), ref.masked_fill(a, mask, value))
    assert_close(x, a)  # out of place
    ops.masked_fill_(x, mask, value)
    assert_close(x, ref.masked_fill(a, mask, value))
    y = a.copy()
    assert ops.masked_fill_(y, mask, value) is y
    assert_close(y, ref.masked_fill(a, mask, value))


def test_masked_fill_large_and_errors():
    a = rand((300, 257))
    mask = rng(1).random((1, 257)) > 0.3
    got = run_threads_bitwise(lambda: ops.masked_fill(a, mask, 7.0).copy())
    assert_close(got, ref.masked_fill(a, mask, 7.0))
    with pytest.raises(TypeError, match="^masked_fill: "):
        ops.masked_fill(a, mask.astype(np.int64), 1.0)
    with pytest.raises(ValueError, match="^masked_fill: "):
        ops.masked_fill(a, np.zeros((2, 257), bool), 1.0)
    with pytest.raises(ValueError, match="^masked_fill: "):
        ops.masked_fill(a[0], np.zeros((300, 257), bool), 1.0)


def test_tensor_and_dlpack_inputs(torch):
    a = rand((3, 4))
    t = dlcore.from_numpy(a.copy())
    out = ops.cat([t, ops.index(t, (slice(None, None, -1),))], 0)
    assert isinstance(out, dlcore.Tensor)
    assert_close(out.numpy(), np.concatenate([a, a[::-1]]))
    e = ops.embedding(t, dlcore.tensor([[2, 0]]))
    assert isinstance(e, dlcore.Tensor) and e.shape == (1, 2, 4)
    tt = torch.from_numpy(a.copy())
    assert_close(ops.pad(tt, (1, 1), "reflect"), torch.nn.functional.pad(tt[None], (1, 1), mode="reflect")[0].numpy())
    v = ops.transpose(tt, 0, 1)  # a view of torch's memory through DLPack
    v[0, 1] = 42
    assert tt[1, 0].item() == 42


def test_tensors_with_more_dims_than_shapes_keep_inline():
    # Shapes and strides keep up to 6 dims inline and move to the heap beyond: 7-9-D arrays
    # through broadcasting, reductions, views, copies and batched matmul must still agree.
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 1, 3, 1, 2, 2, 1, 3, 2)).astype(np.float32)
    b = rng.standard_normal((1, 2, 1, 2, 1, 2, 3, 1, 2)).astype(np.float32)
    assert_close(ops.add(a, b), a + b)
    assert_close(ops.sum(a * 1, axis=(0, 4, 8)), a.sum(axis=(0, 4, 8)))
    p = ops.permute(a, (8, 0, 7, 1, 6, 2, 5, 3, 4))
    assert_close(p, np.transpose(a, (8, 0, 7, 1, 6, 2, 5, 3, 4)))
    assert_close(ops.contiguous(p), np.ascontiguousarray(np.transpose(a, (8, 0, 7, 1, 6, 2, 5, 3, 4))))
    t = np.transpose(a, (8, 0, 7, 1, 6, 2, 5, 3, 4))
    assert_close(ops.reshape(p, (3, 2, 2, 2, 3, 1, 2, 1)), t.reshape(3, 2, 2, 2, 3, 1, 2, 1))
    x = rng.standard_normal((2, 1, 2, 1, 2, 1, 4, 5)).astype(np.float32)
    y = rng.standard_normal((1, 2, 1, 2, 1, 2, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(ops.matmul(x, y), np.matmul(x, y), rtol=1e-5, atol=1e-5)
    assert ops.expand(np.float32(1.0) * np.ones((1,) * 8, np.float32), (2,) * 8).shape == (2,) * 8

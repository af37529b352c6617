"""gather / scatter / scatter_add, cumsum, boolean-mask and integer-array indexing (issue 21):
forward vs the NumPy reference at odd sizes and every dim, strided inputs, backward vs reference,
gradcheck, torch parity, determinism across thread counts and bad inputs."""
import numpy as np
import pytest

import dlcore
from dlcore import ops
from dlcore.autograd import gradcheck
from tests.conftest import assert_close, isa_scope, rng, run_threads_bitwise, views
from tests.reference import index_ops as ref

DTYPES = ["float32", "float64", "int64", "bool"]


def rand(shape, dtype="float64", seed=0):
    r = rng(seed)
    if dtype == "bool":
        return r.random(shape) > 0.5
    if dtype == "int64":
        return r.integers(-50, 50, shape, dtype=np.int64)
    return r.standard_normal(shape).astype(dtype)


def index_for(xshape, dim, seed=1, shrink=True):
    """An int64 index for gather/scatter along dim: other dims no larger than x's (smaller when
    shrink, to exercise torch's rule), values in range, repeats included."""
    r = rng(seed)
    ishape = [max(s - 1, 1) if (shrink and d != dim) else s for d, s in enumerate(xshape)]
    ishape[dim] = xshape[dim] + 2  # more picks than entries: repeats guaranteed
    return r.integers(0, xshape[dim], ishape, dtype=np.int64)


def t64(a, grad=False):
    return dlcore.tensor(np.asarray(a, np.float64), dtype="float64", requires_grad=grad)


# ---- gather ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5,), (3, 7), (2, 3, 33)])
def test_gather_matches_reference_every_dim_and_layout(dtype, shape):
    a = rand(shape, dtype)
    for dim in range(len(shape)):
        idx = index_for(shape, dim)
        expected = ref.gather(a, dim, idx)
        for name, x in views(a):
            for iname, i in views(idx):
                out = ops.gather(x, dim, i)
                assert out.dtype == a.dtype, (name, iname)
                assert_close(out, expected)
        assert_close(ops.gather(a, dim - len(shape), idx), expected)  # negative dim


def test_gather_torch_parity_and_gradient(torch):
    a = rand((4, 5, 6))
    for dim in range(3):
        idx = index_for(a.shape, dim, seed=dim)
        x = t64(a, True)
        out = x.gather(dim, dlcore.tensor(idx))
        tx = torch.tensor(a, requires_grad=True)
        tout = tx.gather(dim, torch.tensor(idx))
        assert_close(out.numpy(), tout.detach().numpy())
        g = rand(idx.shape, seed=5)
        out.backward(dlcore.tensor(g))
        tout.backward(torch.tensor(g))
        assert_close(x.grad.numpy(), tx.grad.numpy())
        assert_close(x.grad.numpy(), ref.scatter(np.zeros_like(a), dim, idx, g, add=True))


def test_gather_gradcheck():
    x = t64(rand((3, 4)), True)
    idx = dlcore.tensor([[0, 0, 2], [1, 3, 3], [2, 1, 0]])
    assert gradcheck(lambda t: t.gather(1, idx), (x,))
    assert gradcheck(lambda t: dlcore.gather(t, 0, dlcore.tensor([[2, 0], [2, 1]])), (x,))


def test_gather_0d_and_empty():
    assert ops.gather(np.float64(3.5), 0, np.int64(0)) == 3.5
    out = ops.gather(rand((3, 4)), 1, np.zeros((3, 0), np.int64))
    assert out.shape == (3, 0)


@pytest.mark.parametrize("bad,exc,msg", [
    (lambda x: ops.gather(x, 1, np.array([[4]])), IndexError, "out of bounds"),
    (lambda x: ops.gather(x, 1, np.array([[-1]])), IndexError, "out of bounds"),
    (lambda x: ops.gather(x, 1, np.array([[0.0]])), TypeError, "int64"),
    (lambda x: ops.gather(x, 1, np.array([0])), ValueError, "dimensions"),
    (lambda x: ops.gather(x, 2, np.array([[0]])), IndexError, "dim"),
    (lambda x: ops.gather(x, 1, np.zeros((4, 1), np.int64)), ValueError, "no larger"),
])
def test_gather_bad_inputs(bad, exc, msg):
    with pytest.raises(exc, match="^gather: .*" + msg):
        bad(rand((3, 4)))


# ---- scatter / scatter_add ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 4, 31)])
def test_scatter_add_and_scatter_match_reference(dtype, shape):
    a = rand(shape, dtype)
    for dim in range(len(shape)):
        idx = index_for(shape, dim)
        src = rand(tuple(s + 1 for s in idx.shape), dtype, seed=3)  # larger than index: corner read
        for name, x in views(a):
            assert_close(ops.scatter_add(x, dim, idx, src), ref.scatter(a, dim, idx, src, add=True), scale=10)
            assert_close(ops.scatter(x, dim, idx, src), ref.scatter(a, dim, idx, src), err_msg=name)
    # a number as src
    assert_close(ops.scatter(a, 0, index_for(shape, 0), 7), ref.scatter(a, 0, index_for(shape, 0),
                                                                         np.full(index_for(shape, 0).shape, 7, dtype)))


def test_scatter_torch_parity_gradients_and_inplace(torch):
    a, src = rand((4, 6)), rand((3, 6), seed=2)
    idx = np.array([[0, 1, 2, 3, 0, 1], [2, 3, 0, 1, 2, 3], [1, 0, 3, 2, 1, 0]])  # unique per column
    for add in (False, True):
        x, s = t64(a, True), t64(src, True)
        out = x.scatter_add(0, dlcore.tensor(idx), s) if add else x.scatter(0, dlcore.tensor(idx), s)
        tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(src, requires_grad=True)
        tout = tx.scatter_add(0, torch.tensor(idx), ts) if add else tx.scatter(0, torch.tensor(idx), ts)
        assert_close(out.numpy(), tout.detach().numpy())
        g = rand(a.shape, seed=9)
        out.backward(dlcore.tensor(g))
        tout.backward(torch.tensor(g))
        assert_close(x.grad.numpy(), tx.grad.numpy())
        assert_close(s.grad.numpy(), ts.grad.numpy())
    y = dlcore.tensor(a)
    assert y.scatter_(0, dlcore.tensor(idx), 5.0) is y
    assert_close(y.numpy(), torch.tensor(a).scatter_(0, torch.tensor(idx), 5.0).numpy())
    y.scatter_add_(1, dlcore.tensor(idx[:, :2]), dlcore.tensor(src[:, :2]))
    assert_close(y.numpy(), torch.tensor(a).scatter_(0, torch.tensor(idx), 5.0).scatter_add_(
        1, torch.tensor(idx[:, :2]), torch.tensor(src[:, :2])).numpy())


def test_scatter_gradcheck_with_repeats():
    idx = dlcore.tensor([[0, 0, 2], [2, 2, 0]])
    x, s = t64(rand((3, 3)), True), t64(rand((2, 4), seed=1), True)  # src larger than index
    assert gradcheck(lambda a, b: a.scatter_add(0, idx, b), (x, s))
    unique = dlcore.tensor([[0, 2, 1], [2, 1, 0]])  # scatter with repeats is not differentiable
    assert gradcheck(lambda a, b: dlcore.scatter(a, 1, unique, b), (x, s))


def test_scatter_repeats_last_write_wins_and_threads_bitwise():
    r = rng(4)
    x = r.standard_normal((40, 3000)).astype(np.float32)
    idx = r.integers(0, 40, (400, 3000), dtype=np.int64)
    src = r.standard_normal((400, 3000)).astype(np.float32)
    out = run_threads_bitwise(ops.scatter_add, x, 0, idx, src)
    # the loop reference is slow at this size: check a slice of columns (columns are independent)
    assert_close(out[:, :8], ref.scatter(x[:, :8], 0, idx[:, :8], src[:, :8], add=True), scale=10)
    last = run_threads_bitwise(ops.scatter, x, 0, idx, src)
    assert_close(last[:, :8], ref.scatter(x[:, :8], 0, idx[:, :8], src[:, :8]))
    g = run_threads_bitwise(ops.gather, x, 0, idx)
    assert_close(g, np.take_along_axis(x, idx, 0))


@pytest.mark.parametrize("bad,exc,msg", [
    (lambda x: ops.scatter_add(x, 0, np.array([[3]]), np.ones((1, 1))), IndexError, "out of bounds"),
    (lambda x: ops.scatter_add(x, 0, np.array([[0]]), np.ones((1, 1), np.float32)), TypeError, "dtype"),
    (lambda x: ops.scatter_add(x > 0, 0, np.array([[0]]), np.ones((1, 1), bool)), TypeError, "accumulate"),
    (lambda x: ops.scatter_add(x, 0, np.array([[0, 0]]), np.ones((1, 1))), ValueError, "no larger than src"),
    (lambda x: ops.scatter(x, 0, np.array([[0]]), "a"), TypeError, "src"),
])
def test_scatter_bad_inputs(bad, exc, msg):
    with pytest.raises(exc, match="^scatter(_add)?: .*" + msg):
        bad(rand((3, 4)))


# ---- cumsum -----------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 3, 31, 33, 65])
def test_cumsum_matches_reference_every_dim_and_layout(n):
    a = rand((3, n, 5))
    for dim in range(-3, 3):
        for name, x in views(a):
            assert_close(ops.cumsum(x, dim), ref.cumsum(a, dim % 3), scale=10)
        assert_close(ops.cumsum_backward(a, dim), ref.cumsum_backward(a, dim % 3), scale=10)
    ints = rand((4, n), "int64")
    assert ops.cumsum(ints, 1).dtype == np.int64 and (ops.cumsum(ints, 1) == np.cumsum(ints, 1)).all()
    assert ops.cumsum(ints > 0, 0).dtype == np.int64
    assert ops.cumsum(np.float32(2.0), 0).shape == ()
    # the first element is copied, so -0.0 keeps its sign on both the last-dim and the strided path
    z = np.array([[-0.0, 1.0], [2.0, 3.0]])
    assert np.signbit(ops.cumsum(z, 1)[0, 0]) and np.signbit(ops.cumsum(z.T, 0)[0, 0])
    assert np.signbit(ops.cumsum_backward(z[:, ::-1], 1)[0, 1])


def test_cumsum_torch_parity_gradcheck_and_threads(torch):
    a = rand((4, 5))
    x = t64(a, True)
    y = x.cumsum(1)
    ty = torch.tensor(a, requires_grad=True)
    assert_close(y.numpy(), ty.cumsum(1).detach().numpy())
    assert gradcheck(lambda t: t.cumsum(0), (t64(a, True),))
    assert gradcheck(lambda t: dlcore.cumsum(t, -1), (t64(a, True),))
    big = rng(1).standard_normal((70, 5000)).astype(np.float32)
    for dim in (0, 1):
        assert_close(run_threads_bitwise(ops.cumsum, big, dim), np.cumsum(big.astype(np.float64), dim),
                     rtol=1e-3, atol=1e-3)
    with pytest.raises(IndexError, match="^cumsum: dim"):
        ops.cumsum(a, 2)


# ---- boolean masks ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_mask_select_rows_matches_reference(dtype):
    a = rand((5, 33, 3), dtype)
    for k in (1, 2, 3):
        m = rand(a.shape[:k], "bool", seed=k)
        for name, x in views(a):
            assert_close(ops.mask_select_rows(x, m), ref.mask_rows(a, m))
    assert_close(ops.masked_select(a, np.array([True, False, True])), a[..., [0, 2]].reshape(-1))


def test_mask_indexing_tensor_torch_parity_and_gradcheck(torch):
    a = rand((4, 3, 2))
    for m in (a > 0, a[:, :, 0] > 0, a[:, 0, 0] > 0):
        x = t64(a, True)
        out = x[dlcore.tensor(m)]
        assert_close(out.numpy(), torch.tensor(a)[torch.tensor(m)].numpy())
        out.sum().backward()
        assert_close(x.grad.numpy(), np.broadcast_to(m.reshape(m.shape + (1,) * (3 - m.ndim)), a.shape) * 1.0)
        assert gradcheck(lambda t: t[m], (t64(a, True),))
    assert_close(dlcore.masked_select(t64(a), dlcore.tensor(a[0] > 0)).numpy(),
                 torch.masked_select(torch.tensor(a), torch.tensor(a[0] > 0)).numpy())


def test_mask_assignment(torch):
    a = rand((4, 5))
    m = a > 0
    cases = [1.5, dlcore.tensor(np.arange(m.sum(), dtype=np.float64)), dlcore.tensor(np.ones(5) * 2)]
    for v in cases:
        for mask in (m, m[:, 0]):
            if isinstance(v, dlcore.Tensor) and v.shape[0] != (mask.sum() if mask.ndim == 2 else 5):
                continue
            x, tx = dlcore.tensor(a), torch.tensor(a)
            x[dlcore.tensor(mask)] = v
            tx[torch.tensor(mask)] = v if not isinstance(v, dlcore.Tensor) else torch.tensor(v.numpy())
            assert_close(x.numpy(), tx.numpy())
    # a non-contiguous target is written through its strides
    base = dlcore.tensor(np.zeros((5, 4)))
    view = base.t()
    view[dlcore.tensor(m)] = 1.0
    assert_close(base.numpy(), m.T * 1.0)
    with pytest.raises(IndexError, match="^masked_put_: the shape of the mask"):
        dlcore.tensor(a)[dlcore.tensor(np.ones(3, bool))] = 1.0
    with pytest.raises(IndexError, match="^mask_select_rows: the shape of the mask"):
        dlcore.tensor(a)[np.ones((4, 4), bool)]


def test_mask_ops_threads_bitwise():
    r = rng(2)
    x = r.standard_normal((3000, 50)).astype(np.float32)
    m = r.random(3000) > 0.3
    assert_close(run_threads_bitwise(ops.mask_select_rows, x, m), x[m])

    def put():
        y = x.copy()
        ops.masked_put_(y, m, np.float32(2.0))
        return y

    z = x.copy()
    z[m] = 2.0
    assert_close(run_threads_bitwise(put), z)


# ---- integer-array indexing and assignment -----------------------------------------------------

def test_multi_array_getitem_and_gradcheck(torch):
    a = rand((4, 5, 3))
    rows, cols = np.array([[0, 3], [3, 1]]), np.array([4, -1])
    x = dlcore.tensor(a)
    assert_close(x[rows, cols].numpy(), a[rows, cols])
    assert_close(x[:, [1, 2], [0, 0]].numpy(), a[:, [1, 2], [0, 0]])
    assert_close(x[dlcore.tensor(rows), 2].numpy(), a[rows, 2])
    assert_close(x[rows, cols].numpy(), torch.tensor(a)[torch.tensor(rows), torch.tensor(cols)].numpy())
    assert gradcheck(lambda t: t[rows, cols], (t64(a, True),))
    # ints next to the arrays join the block; a block after ':' keeps its place
    assert_close(x[1, [0, 2]].numpy(), a[1, [0, 2]])
    assert gradcheck(lambda t: t[:, [1, 2], [0, 0]], (t64(a, True),))
    assert gradcheck(lambda t: t[1, [0, 2]], (t64(a, True),))
    with pytest.raises(IndexError, match="^index: index 5 is out of bounds"):
        x[[0], [5]]
    with pytest.raises(TypeError, match="^index: integer-array indices must be adjacent"):
        x[[0], :, [1]]


def test_integer_array_assignment_matches_reference_and_torch(torch):
    a = rand((5, 4, 3))
    idx = (np.array([0, 2, 0, 4]), np.array([1, 1, 1, 3]))
    vals = rand((4, 3), seed=7)
    for accumulate in (False, True):
        x = dlcore.tensor(a)
        x.index_put_(tuple(dlcore.tensor(i) for i in idx), dlcore.tensor(vals), accumulate=accumulate)
        assert_close(x.numpy(), ref.index_put(a, idx, vals, accumulate))
        tx = torch.tensor(a).index_put_(tuple(torch.tensor(i) for i in idx), torch.tensor(vals),
                                        accumulate=accumulate)
        if accumulate:
            assert_close(x.numpy(), tx.numpy())
    x = dlcore.tensor(a)
    x[[1, 3]] = 0.0
    x[idx] = dlcore.tensor(vals)
    x[:, [0, 2]] = -1.0
    x[2, [1, 3]] = dlcore.tensor(vals[:2])
    y = a.copy()
    y[[1, 3]] = 0.0
    y[idx] = vals
    y[:, [0, 2]] = -1.0
    y[2, [1, 3]] = vals[:2]
    assert_close(x.numpy(), y)
    assert_close(x.index_put((dlcore.tensor([0]),), dlcore.tensor(2.0)).numpy()[0], np.full((4, 3), 2.0))
    with pytest.raises(IndexError, match="^index: index 5 is out of bounds"):
        x[[5]] = 1.0
    with pytest.raises(RuntimeError, match="^setitem: "):
        t64(a, True)[[0]] = 1.0


def test_index_put_accumulate_threads_bitwise():
    r = rng(3)
    x = r.standard_normal((50, 400)).astype(np.float32)
    rows = r.integers(-50, 50, 5000, dtype=np.int64)
    v = r.standard_normal((5000, 400)).astype(np.float32)

    def put():
        y = x.copy()
        ops.index_put_rows_(y, 1, rows, v, accumulate=True)
        return y

    expected = x.astype(np.float64).copy()
    np.add.at(expected, rows, v)
    assert_close(run_threads_bitwise(put), expected, rtol=1e-4, atol=1e-4)


def test_mask_forms_list_and_index_put_accumulate(torch):
    a = rand((3, 4))
    x = dlcore.tensor(a)
    assert_close(x[[True, False, True]].numpy(), a[[True, False, True]])
    m = np.array([True, False, True])
    x.index_put_((dlcore.tensor(m),), dlcore.tensor(np.ones(4)), accumulate=True)
    tx = torch.tensor(a).index_put_((torch.tensor(m),), torch.ones(4, dtype=torch.float64), accumulate=True)
    assert_close(x.numpy(), tx.numpy())
    x.index_put_((dlcore.tensor(m),), 0.0)
    assert (x.numpy()[m] == 0).all() and (x.numpy()[1] == a[1]).all()


def test_array_level_backwards_take_and_return_numpy():
    a = rand((3, 5))
    idx = index_for(a.shape, 1, shrink=False)
    g = rand(idx.shape, seed=2)
    out = ops.gather_backward(g, 1, idx, a.shape)
    assert isinstance(out, np.ndarray)
    assert_close(out, ref.scatter(np.zeros_like(a), 1, idx, g, add=True))
    gx, gs = ops.scatter_add_backward(a, 1, idx, idx.shape)
    assert isinstance(gs, np.ndarray)
    assert_close(gx, a)
    assert_close(gs, ref.gather(a, 1, idx))
    m = a[:, 0] > 0
    rows = ops.mask_select_rows(a, m)
    assert_close(ops.mask_select_rows_backward(rows, m, a.shape), a * m[:, None])


def test_assignment_into_graph_tensors_is_differentiable(torch):
    a, m = rand((4, 3)), rand((4, 3), seed=1) > 0
    vals = rand(int(m.sum()), seed=2)

    def run(lib, x, v, key):
        y = x * 2.0
        y[key] = v
        return (y * y).sum()

    for key_np, v_np in ((m, vals), (m[:, 0], rand(3, seed=3)), (([0, 2, 3], [1, 1, 0]), rand(3, seed=4)),
                         (m, 1.5)):
        x = t64(a, True)
        v = t64(v_np, True) if isinstance(v_np, np.ndarray) else v_np
        key = dlcore.tensor(key_np) if isinstance(key_np, np.ndarray) else key_np
        run(dlcore, x, v, key).backward()
        tx = torch.tensor(a, requires_grad=True)
        tv = torch.tensor(v_np, requires_grad=True) if isinstance(v_np, np.ndarray) else v_np
        tkey = torch.tensor(key_np) if isinstance(key_np, np.ndarray) else tuple(torch.tensor(k) for k in key_np)
        run(torch, tx, tv, tkey).backward()
        assert_close(x.grad.numpy(), tx.grad.numpy())
        if isinstance(v_np, np.ndarray):
            assert_close(v.grad.numpy(), tv.grad.numpy())
    assert gradcheck(lambda x, v: run(dlcore, x, v, dlcore.tensor(m)), (t64(a, True), t64(vals, True)))
    # a node that saved the tensor before the assignment refuses to use it afterwards
    y = t64(a, True) * 1.0
    z = y * y
    y[dlcore.tensor(m)] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    with pytest.raises(RuntimeError, match="^setitem: integer-array assignment after ':'"):
        (t64(a, True) * 1.0)[:, [0]] = 1.0


def test_index_kernels_same_bits_on_every_isa(isa):
    r = rng(6)
    x = r.standard_normal((33, 65)).astype(np.float32)
    idx = r.integers(0, 33, (40, 65), dtype=np.int64)
    src = r.standard_normal((40, 65)).astype(np.float32)
    m = r.random(33) > 0.5
    got = [ops.gather(x, 0, idx), ops.scatter_add(x, 0, idx, src), ops.cumsum(x, 0), ops.cumsum(x, 1),
           ops.mask_select_rows(x, m)]
    with isa_scope("baseline"):
        want = [ops.gather(x, 0, idx), ops.scatter_add(x, 0, idx, src), ops.cumsum(x, 0), ops.cumsum(x, 1),
                ops.mask_select_rows(x, m)]
    for g, w in zip(got, want):
        assert g.tobytes() == w.tobytes(), isa


def test_masked_select_backward_sums_over_broadcast_dims(torch):
    a = rand((3, 1, 4))
    m = rand((2, 4), "bool", seed=4)
    x = torch.tensor(a, requires_grad=True)
    out = torch.masked_select(x, torch.tensor(m))
    g = rand(out.shape, seed=5)
    out.backward(torch.tensor(g))
    assert_close(ops.masked_select(a, m), out.detach().numpy())
    assert_close(ops.masked_select_backward(g, m, a.shape), x.grad.numpy())

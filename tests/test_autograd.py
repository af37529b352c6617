"""Autograd: gradcheck of every differentiable op, broadcasting, matmul shapes, engine semantics
(accumulation, retain_graph, freed graphs, version counters, deep graphs), grad modes, detach,
indexing, torch parity."""
from __future__ import annotations

import gc
import sys
import threading

import numpy as np
import pytest

import dlcore
from dlcore.autograd import gradcheck
from tests.conftest import assert_close

R = np.random.default_rng(1234)


def leaf(shape, positive=False, lo=None, dtype=np.float64):
    a = R.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    if lo is not None:
        a = a + lo
    t = dlcore.from_numpy(np.array(a, dtype=dtype, order="C"))
    t.requires_grad = True
    return t


def distinct(shape):
    """Values with no ties and gaps well above the finite-difference step (max/min gradchecks)."""
    n = int(np.prod(shape))
    a = R.permutation(n).astype(np.float64).reshape(shape) * 0.1
    t = dlcore.from_numpy(a)
    t.requires_grad = True
    return t


# ---- gradcheck: binary operators with broadcasting and scalars -----------------------------------
BCAST = [((3, 1), (1, 4)), ((5,), (2, 5)), ((2, 5), (5,)), ((), (2, 3)), ((2, 3), ()), ((4, 1, 3), (2, 1)),
         ((1,), (3,)), ((2, 3), (2, 3))]
OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
}


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("sa,sb", BCAST)
def test_gradcheck_binary_broadcast(op, sa, sb):
    a = leaf(sa, positive=op in ("pow", "div"))
    b = leaf(sb, positive=op in ("div",))
    assert gradcheck(OPS[op], (a, b))
    # .grad has each input's own shape
    out = OPS[op](a, b)
    out.sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb


@pytest.mark.parametrize("op,fn", [
    ("radd", lambda x: 2.0 + x), ("rsub", lambda x: 2.0 - x), ("rmul", lambda x: 3.0 * x),
    ("rdiv", lambda x: 2.0 / x), ("rpow", lambda x: 2.0 ** x), ("add_s", lambda x: x + 2.0),
    ("sub_s", lambda x: x - 2.0), ("div_s", lambda x: x / 3.0), ("pow_s", lambda x: x ** 3),
    ("pow_half", lambda x: x ** 0.5), ("neg", lambda x: -x), ("np_scalar", lambda x: np.float64(2.0) * x),
])
def test_gradcheck_scalar_operands(op, fn):
    x = leaf((2, 3), positive=True)
    out = fn(x)
    assert isinstance(out, dlcore.Tensor) and out.requires_grad
    assert gradcheck(fn, (x,))


def test_same_tensor_both_sides():
    x = leaf((3,))
    assert gradcheck(lambda t: t * t + t / (t * t + 1.0), (x,))


# ---- gradcheck: unary, reductions, softmax -----------------------------------------------------------
UNARY = {
    "exp": (lambda t: t.exp(), False), "log": (lambda t: t.log(), True), "sqrt": (lambda t: t.sqrt(), True),
    "tanh": (lambda t: t.tanh(), False), "sigmoid": (lambda t: t.sigmoid(), False),
    "relu": (lambda t: t.relu(), False), "gelu": (lambda t: t.gelu(), False),
    "gelu_tanh": (lambda t: t.gelu(approximate="tanh"), False),
    "softmax0": (lambda t: t.softmax(0), False), "softmax-1": (lambda t: t.softmax(-1), False),
    "log_softmax1": (lambda t: t.log_softmax(1), False),
    "sum": (lambda t: t.sum(), False), "sum1": (lambda t: t.sum(1), False),
    "sum02k": (lambda t: t.sum(dim=(0, 2), keepdim=True), False), "mean": (lambda t: t.mean(), False),
    "mean-1": (lambda t: t.mean(-1), False), "var": (lambda t: t.var(), False),
    "var1_c0": (lambda t: t.var(1, correction=0), False), "var0k": (lambda t: t.var(0, keepdim=True), False),
    "abs": (lambda t: t.abs(), True),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_gradcheck_unary(name):
    fn, positive = UNARY[name]
    x = leaf((2, 3, 5), positive=positive)
    if name.startswith("relu"):  # keep away from the kink at 0
        x = dlcore.from_numpy(np.where(np.abs(x.numpy()) < 0.05, 0.3, x.numpy())).requires_grad_()
    assert gradcheck(fn, (x,))


def test_gradcheck_functional_api():
    from dlcore.autograd import api as A

    x, y = leaf((3, 4)), leaf((4, 2))
    p = leaf((3, 4), positive=True)
    assert gradcheck(lambda a, b: A.matmul(a, b), (x, y))
    for f in (A.exp, A.tanh, A.sigmoid, A.relu, lambda t: A.softmax(t, 1), lambda t: A.log_softmax(t, 0),
              lambda t: A.sum(t, 1), lambda t: A.mean(t, [0, 1], keepdim=True)):
        assert gradcheck(f, (x,))
    assert gradcheck(A.log, (p,)) and gradcheck(A.sqrt, (p,))
    cond = dlcore.tensor(R.random((3, 4)) > 0.5)
    b = leaf((4,))
    assert gradcheck(lambda a, c: A.where(cond, a, c), (x, b))
    assert gradcheck(lambda a: A.where(cond, a, 0.0), (x,))


def test_functional_api_bad_input():
    from dlcore.autograd import api as A

    with pytest.raises(TypeError, match="^cat: "):
        A.cat(leaf((2,)))
    with pytest.raises(ValueError, match="^stack: "):
        A.stack([])
    with pytest.raises(ValueError, match="^cat: "):
        A.cat([leaf((2, 3)), leaf((2, 4))], dim=0)


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_gradcheck_max_min(reduce):
    x = distinct((3, 4, 5))
    assert gradcheck(lambda t: getattr(t, reduce)(), (x,))
    for dim, keep in ((0, False), (1, True), (-1, False)):
        assert gradcheck(lambda t: getattr(t, reduce)(dim, keepdim=keep).values, (x,))


def test_max_ties_like_torch(torch):
    data = np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 3.0]], np.float32)
    x = dlcore.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    x.max().backward()
    xt.max().backward()
    assert_close(x.grad.numpy(), xt.grad.numpy())  # the all-reduce splits evenly among the 4 ties
    for dim in (0, 1):
        x.grad = None
        xt.grad = None
        v, i = x.max(dim)
        vt, it = xt.max(dim)
        (v * dlcore.tensor([1.0, 2.0, 3.0][:v.shape[0]])).sum().backward()
        (vt * torch.tensor([1.0, 2.0, 3.0][:vt.shape[0]])).sum().backward()
        # max(dim) routes each gradient to the returned index only (as torch)
        g = np.zeros_like(data)
        np.put_along_axis(g, np.expand_dims(i.numpy(), dim), np.expand_dims(np.array([1.0, 2.0, 3.0][:v.shape[0]],
                          np.float32), dim), dim)
        assert_close(x.grad.numpy(), g)
        assert (x.grad.numpy() != 0).sum() == (xt.grad.numpy() != 0).sum() == v.shape[0]


# ---- shape ops, indexing, cat/stack ---------------------------------------------------------------
SHAPE = {
    "reshape": lambda t: t.reshape(6, 4), "view": lambda t: t.view(-1), "flatten": lambda t: t.flatten(),
    "flatten1": lambda t: t.flatten(1), "unsqueeze": lambda t: t.unsqueeze(1),
    "squeeze": lambda t: t.unsqueeze(0).squeeze(0), "transpose": lambda t: t.transpose(0, 2),
    "permute": lambda t: t.permute(2, 0, 1), "T": lambda t: t.T, "expand": lambda t: t[:, :1].expand(2, 5, 4),
    "expand_new": lambda t: t.expand(3, 2, 3, 4), "contiguous": lambda t: t.transpose(0, 1).contiguous(),
    "clone": lambda t: t.clone(), "basic_slices": lambda t: t[1:, ::2], "negstep": lambda t: t[::-1, 1, None],
    "ellipsis": lambda t: t[..., 2], "int": lambda t: t[1],
    "list_ax0": lambda t: t[[1, 0, 1]], "list_ax1": lambda t: t[:, [2, 0, 2, -1]],
    "np_ax2": lambda t: t[:, :, np.array([[3, 0], [0, 0]])],
    "tensor_ax1": lambda t: t[:, dlcore.tensor([1, 1, 2])],
    "masked_fill": lambda t: t.masked_fill(dlcore.tensor(np.arange(24).reshape(2, 3, 4) % 3 == 0), 0.5),
}


@pytest.mark.parametrize("name", sorted(SHAPE))
def test_gradcheck_shape_and_index(name):
    x = leaf((2, 3, 4))
    assert gradcheck(SHAPE[name], (x,))


def test_index_repeated_rows_accumulate():
    x = leaf((3, 2))
    x[[0, 0, 2, 0]].sum().backward()
    assert_close(x.grad.numpy(), np.array([[3, 3], [0, 0], [1, 1]], np.float64))
    x.grad = None
    x[1:, ::2].sum().backward()
    assert_close(x.grad.numpy(), np.array([[0, 0], [1, 0], [1, 0]], np.float64))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gradcheck_cat_stack(dim):
    a, b, c = leaf((2, 3)), leaf((2, 3)), leaf((2, 3))
    assert gradcheck(lambda x, y, z: dlcore.autograd.api.cat([x, y, z], dim=dim), (a, b, c))
    assert gradcheck(lambda x, y, z: dlcore.autograd.api.stack([x, y, z], dim=dim), (a, b, c))
    d = leaf((2, 5)) if dim != 0 else leaf((4, 3))
    assert gradcheck(lambda x, y: dlcore.autograd.api.cat([x, y], dim=dim), (a, d))


def test_cat_with_constant_part():
    a = leaf((2, 3))
    const = dlcore.ones(1, 3, dtype=np.float64)
    out = dlcore.autograd.api.cat([const, a, const], dim=0)
    (out * out).sum().backward()
    assert_close(a.grad.numpy(), 2 * a.numpy())
    assert const.grad is None


# ---- matmul ----------------------------------------------------------------------------------------
MATMUL = [((4,), (4,)), ((4,), (4, 3)), ((2, 4), (4,)), ((2, 4), (4, 3)), ((5, 2, 4), (4, 3)),
          ((4,), (2, 4, 3)), ((2, 1, 2, 4), (3, 4, 5)), ((3, 2, 4), (4,)), ((1, 2, 3), (5, 3, 2))]


@pytest.mark.skipif(not hasattr(dlcore.ops, "matmul"), reason="ops.matmul (GEMM family) not merged yet")
@pytest.mark.parametrize("sa,sb", MATMUL)
def test_gradcheck_matmul(sa, sb):
    a, b = leaf(sa), leaf(sb)
    assert (a @ b).shape == np.matmul(a.numpy(), b.numpy()).shape
    assert gradcheck(lambda x, y: x @ y, (a, b))
    # a constant operand on either side
    assert gradcheck(lambda x: x @ dlcore.from_numpy(b.numpy()), (a,))
    assert gradcheck(lambda y: a.detach() @ y, (b,))


# ---- PyTorch parity --------------------------------------------------------------------------------
def test_torch_parity_composite_float32(torch):
    data = {k: R.standard_normal(s).astype(np.float32) for k, s in
            (("x", (5, 4)), ("w", (4, 3)), ("b", (3,)), ("s", (5, 1)))}
    ours = {k: dlcore.tensor(v, requires_grad=True) for k, v in data.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in data.items()}

    def f(m, x, w, b, s):
        h = (x @ w + b).tanh() * s.sigmoid()
        h = h.gelu() if hasattr(h, "gelu") else m.nn.functional.gelu(h)
        p = h.log_softmax(-1)
        y = (p[:, [0, 2]] ** 2).mean() - (h / (1.0 + h * h)).var(0).sum() + (2.0 - x.exp()).max(1)[0].sum()
        return y + (x.abs() + 1.0).sqrt().log().sum() / 3.0

    yo = f(dlcore, **ours)
    yt = f(torch, **theirs)
    yo.backward()
    yt.backward()
    assert_close(yo.item(), yt.item(), dtype=np.float32, scale=5)
    for k in data:
        assert_close(ours[k].grad.numpy(), theirs[k].grad.numpy(), dtype=np.float32, scale=10)


# ---- engine semantics -------------------------------------------------------------------------------
def test_accumulation_and_retain_graph():
    x = leaf((3,))
    y = (x * x).sum()
    y.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    y.backward()
    assert_close(x.grad.numpy(), 2 * g1)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_twice_without_saved_tensors_is_allowed():
    x = leaf((3,))
    y = (x + 1.0).sum()
    y.backward()
    y.backward()  # nothing was saved, so nothing was freed (as torch)
    assert_close(x.grad.numpy(), np.full(3, 2.0))


def test_inplace_change_of_saved_tensor_raises():
    a, b = leaf((3,)), leaf((3,))
    x2 = a * b
    with dlcore.no_grad():
        b.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        x2.sum().backward()
    # an output saved by its node (exp saves y), changed in place
    x = leaf((3,))
    y = x.exp()
    with dlcore.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    # a view shares its base's version counter
    x = leaf((2, 3))
    base = x * 1.0
    z = base * x  # saves base (for x's gradient)
    with dlcore.no_grad():
        base.reshape(6)[0:2].fill_(0.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_inplace_unneeded_operand_is_fine():
    a = leaf((3,))
    b = dlcore.tensor([1.0, 2.0, 3.0], dtype=np.float64)
    y = a * b
    with dlcore.no_grad():
        a.mul_(5.0)  # a is saved only for b's gradient, which nobody needs
    y.sum().backward()
    assert_close(a.grad.numpy(), [1.0, 2.0, 3.0])


def test_inplace_on_nonleaf_records_graph(torch):
    data = np.array([0.5, -1.0, 2.0], np.float32)
    wdat = np.array([1.5, 2.0, -0.5], np.float32)
    res = []
    for m in (dlcore, torch):
        p = m.tensor(data, requires_grad=True)
        w = m.tensor(wdat, requires_grad=True)
        y = p * 2.0
        y.mul_(w)
        y.add_(w, alpha=2.0)
        y.sub_(p)
        y.div_(3.0)
        (y * y).sum().backward()
        res.append((np.array(y.detach().numpy()), np.array(p.grad.numpy()), np.array(w.grad.numpy())))
    for o, t in zip(*res):
        assert_close(o, t, dtype=np.float32)


def test_inplace_refusals():
    x = leaf((3,))
    with pytest.raises(RuntimeError, match="^add_: a leaf tensor that requires grad"):
        x.add_(1.0)
    with pytest.raises(RuntimeError, match="^mul_: in-place operation on a detached tensor"):
        (x * 1.0).detach().mul_(x)
    with pytest.raises(RuntimeError, match="^fill_: in-place operation on a detached tensor .*expanded view"):
        (x * 1.0).expand(2, 3).fill_(2.0)  # (views and non-leaves are recorded: test_tensor_semantics)
    with dlcore.no_grad():
        x.add_(1.0)  # allowed: an optimizer step


def test_detach_shares_memory_not_graph():
    x = leaf((3,))
    y = x * 2.0
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    assert d._impl.data_ptr == y._impl.data_ptr
    d.numpy()[0] = 42.0
    assert y.numpy()[0] == 42.0
    (d * x).sum().backward()
    assert_close(x.grad.numpy(), d.numpy())


def test_grad_modes_nesting_decorator_and_threads():
    x = leaf((2,))
    with dlcore.no_grad():
        assert not (x * 2).requires_grad
        with dlcore.enable_grad():
            assert (x * 2).requires_grad
            with dlcore.no_grad():
                assert not dlcore.is_grad_enabled()
            assert dlcore.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @dlcore.no_grad()
    def f(t):
        return t * 2

    @dlcore.no_grad
    def g(t):
        return t * 2

    @dlcore.enable_grad()
    def h(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad
    with dlcore.no_grad():
        assert h(x).requires_grad
    with dlcore.set_grad_enabled(False):
        assert not dlcore.is_grad_enabled()
    assert dlcore.is_grad_enabled()

    seen = {}

    def worker():
        seen["thread"] = dlcore.is_grad_enabled()
        with dlcore.no_grad():
            seen["inner"] = dlcore.is_grad_enabled()
            seen["main_unaffected_later"] = True

    with dlcore.no_grad():
        th = threading.Thread(target=worker)
        th.start()
        th.join()
        assert not dlcore.is_grad_enabled()
    assert seen == {"thread": True, "inner": False, "main_unaffected_later": True}


def test_requires_grad_rules():
    x = leaf((2,))
    c = dlcore.ones(2, dtype=np.float64)
    assert not (c * 2).requires_grad and (c * x).requires_grad and (c + 1).grad_fn is None
    y = x * c
    assert not y.is_leaf and x.is_leaf and c.is_leaf
    with pytest.raises(RuntimeError, match="only floating point"):
        dlcore.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="only floating point"):
        dlcore.tensor([1, 2], requires_grad=True)
    t = dlcore.tensor([1, 2])
    with pytest.raises(RuntimeError, match="only floating point"):
        t.requires_grad = True
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    assert dlcore.zeros(2, requires_grad=True).requires_grad
    # comparisons: bool results, no graph
    cmp = [x > 0, x < c, x == x, x != 0.5, x >= c, x <= 1.0]
    assert all(r.dtype == np.bool_ and not r.requires_grad and r.grad_fn is None for r in cmp)
    # argmax / max indices are int64 and never require grad
    v, i = x.max(0)
    assert v.requires_grad and not i.requires_grad and i.dtype == np.int64


def test_leaf_vs_nonleaf_grad_and_grad_ownership():
    x, w = leaf((3,)), leaf((3,))
    y = x * 2.0
    z = (y + w).sum()
    z.backward()
    assert y.grad is None  # non-leaf grads are not populated
    assert_close(x.grad.numpy(), np.full(3, 2.0))
    # x + w hands the same buffer to both; the .grads must not share memory
    a, b = leaf((3,)), leaf((3,))
    (a + b).sum().backward()
    assert a.grad._impl.data_ptr != b.grad._impl.data_ptr
    with dlcore.no_grad():
        a.grad.mul_(0.0)
    assert_close(b.grad.numpy(), np.ones(3))
    # the caller's gradient tensor is never adopted as .grad
    gy = dlcore.ones(3, dtype=np.float64)
    c = leaf((3,))
    (c + 0.0).backward(gy)
    assert c.grad._impl.data_ptr != gy._impl.data_ptr


def test_backward_argument_errors():
    x = leaf((2, 3))
    y = x * 2.0
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        y.backward()
    with pytest.raises(ValueError, match="^backward: gradient has shape"):
        y.backward(dlcore.ones(3, 2, dtype=np.float64))
    with pytest.raises(RuntimeError, match="does not require grad"):
        dlcore.ones(2).sum().backward()
    y.backward(dlcore.ones(2, 3, dtype=np.float64))
    assert_close(x.grad.numpy(), np.full((2, 3), 2.0))


def test_broadcast_input_grad_shape():
    b = leaf((1, 4))
    s = leaf(())
    x = leaf((3, 4))
    (x * b + s).sum().backward()
    assert b.grad.shape == (1, 4) and s.grad.shape == ()
    assert_close(b.grad.numpy(), x.numpy().sum(0, keepdims=True), dtype=np.float64)
    assert_close(s.grad.numpy(), 12.0)


def test_multiple_outputs_and_unused_branches():
    x = leaf((4, 3))
    v, i = x.max(1)
    (v.sum() + x.sum()).backward()
    expect = np.ones((4, 3))
    expect[np.arange(4), i.numpy()] += 1
    assert_close(x.grad.numpy(), expect)
    # a branch whose gradient is None for an input that requires grad must not stall the rest
    from dlcore.autograd.function import Function

    class Half(Function):
        @staticmethod
        def forward(ctx, a, b):
            return dlcore.ops.add(a, b)

        @staticmethod
        def backward(ctx, g):
            return g, None

    p, q = leaf((2,)), leaf((2,))
    r = q * 3.0
    (Half.apply(p, r) + r).sum().backward()
    assert_close(p.grad.numpy(), np.ones(2))
    assert_close(q.grad.numpy(), np.full(2, 3.0))


def test_autograd_backward_many_roots():
    x = leaf((3,))
    y1, y2 = x * 2.0, x.exp()
    dlcore.autograd.backward([y1, y2], [dlcore.ones(3, dtype=np.float64), dlcore.ones(3, dtype=np.float64)])
    assert_close(x.grad.numpy(), 2.0 + np.exp(x.numpy()))


def test_deep_graph_and_deletion():
    x = dlcore.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    assert_close(x.grad.numpy(), [1.0001 ** 10_000], dtype=np.float32, scale=1e3)
    # building and deleting a 100k-deep chain never recurses (Node/Tensor deallocation included)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        y = x
        for _ in range(100_000):
            y = y + 1.0
        y.backward(dlcore.ones(1))
        del y
        y = x
        for _ in range(100_000):
            y = y + 1.0
        del y  # never backwarded: the whole graph is still attached
        gc.collect()
    finally:
        sys.setrecursionlimit(old)
    assert_close(x.grad.numpy(), [1.0001 ** 10_000 + 1.0], dtype=np.float32, scale=1e3)


def test_gradcheck_detects_wrong_gradient():
    from dlcore.autograd.function import Function

    class BadExp(Function):
        @staticmethod
        def forward(ctx, a):
            y = dlcore.ops.exp(a)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return dlcore.ops.mul(g, dlcore.ops.mul(y, 1.01))

    x = leaf((3,))
    with pytest.raises(AssertionError, match="Jacobian mismatch"):
        gradcheck(lambda t: BadExp.apply(t), (x,))
    assert gradcheck(lambda t: BadExp.apply(t), (x,), raise_exception=False) is False
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t.exp(), (leaf((2,), dtype=np.float32),))


def test_float32_grads_stay_float32():
    x = dlcore.tensor(R.standard_normal((3, 3)).astype(np.float32), requires_grad=True)
    (x.max() + (x * 2.0).sum() + x.var()).backward()
    assert x.grad.dtype == np.float32

"""clamp, std, norm, prod, sort/argsort/topk, all/any, chunk/split, repeat/flip/roll/tril/triu,
multinomial and one_hot (issue 21): references, torch parity (values, dtypes and subgradient
conventions), gradcheck and bad inputs."""
import math

import numpy as np
import pytest

import dlcore
from dlcore import ops
from dlcore.autograd import gradcheck
from tests.conftest import assert_close, rng, views
from tests.reference import tensor_ops as ref


def rand(shape, seed=0):
    return rng(seed).standard_normal(shape)


def t64(a, grad=False):
    return dlcore.tensor(np.asarray(a, np.float64), dtype="float64", requires_grad=grad)


def grads(torch, a, fn_dl, fn_t, *others):
    """Value and input gradient of fn(x, *others) in dlcore and torch (backward of a sum of
    out * weights, so every output element counts)."""
    x = t64(a, True)
    out = fn_dl(x, *[t64(o, True) for o in others])
    w = rand(out.shape, seed=11)
    (out * dlcore.tensor(w)).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    tout = fn_t(tx, *[torch.tensor(o) for o in others])
    (tout * torch.tensor(w)).sum().backward()
    assert_close(out.detach().numpy(), tout.detach().numpy())
    assert_close(x.grad.numpy(), tx.grad.numpy())


# ---- clamp ----------------------------------------------------------------------------------

def test_clamp_values_boundaries_and_gradients_match_torch(torch):
    a = np.array([[-2.0, -1.0, 0.0], [0.5, 1.0, 3.0]])  # values exactly on the bounds included
    for lo, hi in ((-1.0, 1.0), (None, 0.5), (0.0, None), (1.0, -1.0)):
        grads(torch, a, lambda x: x.clamp(lo, hi), lambda x: x.clamp(lo, hi))
        grads(torch, a, lambda x: dlcore.clip(x, min=lo, max=hi), lambda x: torch.clip(x, lo, hi))
    lo_t, hi_t = np.array([-1.0, 0.0, 2.0]), np.array([[0.0], [1.0]])
    x, lo, hi = t64(a, True), t64(lo_t, True), t64(hi_t, True)
    out = x.clamp(lo, hi)
    tx, tlo, thi = (torch.tensor(v, requires_grad=True) for v in (a, lo_t, hi_t))
    tout = tx.clamp(tlo, thi)
    out.sum().backward()
    tout.sum().backward()
    for d, t in ((x, tx), (lo, tlo), (hi, thi)):
        assert_close(d.grad.numpy(), t.grad.numpy())
    assert_close(out.detach().numpy(), tout.detach().numpy())
    assert gradcheck(lambda t, l: t.clamp(min=l), (t64(rand((3, 4)), True), t64(rand(4, seed=1) + 0.01, True)))
    assert_close(x.grad.numpy(), ref.clamp_grad(a, lo_t, hi_t) * ((lo_t <= hi_t) * 1.0))


def test_clamp_dtypes_and_inplace(torch):
    i = dlcore.tensor([-3, 0, 5])
    assert i.clamp(-1, 2).dtype == np.int64 and i.clamp(-1, 2).tolist() == [-1, 0, 2]
    assert i.clamp(0.5).dtype == np.float32 == torch.tensor([-3, 0, 5]).clamp(0.5).numpy().dtype
    f = dlcore.tensor([0.25, 2.0, float("nan")])
    assert f.clamp_(0.0, 1.0) is f
    assert_close(f.numpy(), np.array([0.25, 1.0, np.nan], np.float32))
    assert f.clip_(max=0.1).numpy()[0] == np.float32(0.1)
    with pytest.raises(ValueError, match="^clamp: at least one"):
        f.clamp()
    with pytest.raises(RuntimeError, match="^clamp_: result type"):  # torch: RuntimeError
        i.clamp_(0.5)
    with pytest.raises(RuntimeError, match="^clamp_: a leaf"):
        t64([1.0], True).clamp_(0.0)
    with pytest.raises(TypeError, match="^clamp: min and max"):
        f.clamp("a")


# ---- std / norm / prod --------------------------------------------------------------------------

def test_std_matches_torch_and_gradcheck(torch):
    a = rand((3, 5, 4))
    cases = [((), {}), ((1,), {}), ((), {"dim": (0, 2), "keepdim": True}), ((1, False), {}),
             ((), {"dim": 2, "correction": 0}), ((False,), {})]
    for args, kw in cases:
        tkw = dict(kw)
        grads(torch, a, lambda x: x.std(*args, **kw), lambda x: x.std(*args, **tkw))
    assert gradcheck(lambda t: dlcore.std(t, 1), (t64(rand((2, 3)), True),))
    with pytest.raises(TypeError, match="^std: "):
        dlcore.tensor([1, 2]).std()


@pytest.mark.parametrize("p", ["fro", 2, 1, math.inf, 3, 1.5])
def test_norm_matches_reference_torch_and_gradcheck(torch, p):
    a = rand((3, 4, 5))
    for dim, keepdim in ((None, False), (1, False), ((0, 2), True), (-1, True)):
        if p == "fro" and isinstance(dim, int):
            continue  # torch.norm('fro') wants None or two dims
        out = dlcore.tensor(a).norm(p, dim, keepdim)
        pr = 2 if p == "fro" else p
        r = ref.norm(a, pr, dim)
        assert_close(out.numpy(), np.expand_dims(r, dim) if keepdim else r)
        grads(torch, a, lambda x: x.norm(p, dim, keepdim), lambda x: x.norm(p, dim, keepdim))
    assert gradcheck(lambda t: dlcore.norm(t, p, 1), (t64(rand((2, 3)), True),))
    for name, x in views(a):
        assert_close(ops.norm(x, p), ref.norm(a, 2 if p == "fro" else p))


def test_norm_subgradients_at_ties_and_zero_match_torch(torch):
    for a, p in ((np.array([1.0, -3.0, 3.0, 2.0]), math.inf), (np.zeros(3), 2), (np.zeros(3), 3),
                 (np.array([0.0, 1.0, -2.0]), 1)):
        grads(torch, a, lambda x: x.norm(p), lambda x: x.norm(p))
    with pytest.raises(TypeError, match="^norm: expected a float"):
        dlcore.tensor([1, 2]).norm()
    with pytest.raises(ValueError, match="^norm: p must be"):
        dlcore.tensor([1.0]).norm("nuc")


def test_prod_with_zeros_matches_reference_and_torch(torch):
    for zeros in (0, 1, 2):
        a = rand((4, 6)) + 3.0
        a[1, :zeros] = 0.0
        a[:zeros, 2] = 0.0
        for dim in (0, 1, -1):
            x = t64(a, True)
            x.prod(dim).sum().backward()
            assert_close(x.grad.numpy(), ref.prod_backward(a, dim % 2, np.ones(a.shape[1 - dim % 2])), scale=100)
            grads(torch, a, lambda t: t.prod(dim, keepdim=True), lambda t: t.prod(dim, keepdim=True))
        grads(torch, a, lambda t: t.prod(), lambda t: t.prod())
    assert gradcheck(lambda t: dlcore.prod(t, 1), (t64(rand((3, 4)), True),))
    assert dlcore.tensor([[True, True]]).prod().dtype == np.int64
    assert dlcore.tensor([2, 3]).prod(0).item() == 6
    # narrower integer arrays (NumPy here; dlcore's own int32/uint8 as they arrive) multiply in int64
    assert ops.prod(np.array([100000, 100000], np.int32)) == 10**10
    assert ops.cumsum(np.array([200, 100], np.uint8), 0).tolist() == [200, 300]


# ---- sort / argsort / topk ------------------------------------------------------------------------

def test_sort_is_stable_with_ties_and_nan():
    a = rng(0).integers(0, 4, (5, 9)).astype(np.float64)
    a[0, 3] = np.nan
    for dim in (0, 1):
        for desc in (False, True):
            vals, idx = ops.sort(a, dim, desc)
            rv, ri = ref.sort(np.nan_to_num(a, nan=np.inf), dim, desc)
            assert (idx == ri).all()
            assert_close(np.nan_to_num(vals, nan=np.inf), rv)
            assert (ops.argsort(a, dim, desc) == ri).all()
            k = 3
            tv, ti = ops.topk(a, k, dim, largest=desc)
            assert (ti == np.take(ri, range(k), axis=dim)).all()


def test_sort_topk_torch_parity_and_gradients(torch):
    a = rand((4, 7))  # distinct values: torch's indices are unambiguous
    s = dlcore.tensor(a).sort(1, descending=True)
    ts = torch.tensor(a).sort(1, descending=True)
    assert_close(s.values.numpy(), ts.values.numpy())
    assert (s.indices.numpy() == ts.indices.numpy()).all()
    v, i = dlcore.topk(dlcore.tensor(a), 3, dim=0, largest=False)
    tv, ti = torch.topk(torch.tensor(a), 3, dim=0, largest=False)
    assert_close(v.numpy(), tv.numpy())
    assert (i.numpy() == ti.numpy()).all()
    assert (dlcore.argsort(dlcore.tensor(a), 0).numpy() == torch.argsort(torch.tensor(a), 0).numpy()).all()
    grads(torch, a, lambda x: x.topk(2)[0], lambda x: x.topk(2)[0])
    grads(torch, a, lambda x: x.sort(0)[0], lambda x: x.sort(0)[0])
    assert gradcheck(lambda t: t.sort(1, descending=True).values, (t64(a, True),))
    assert gradcheck(lambda t: t.topk(3, 0).values, (t64(a, True),))
    with pytest.raises(ValueError, match="^topk: k"):
        dlcore.tensor(a).topk(8)
    with pytest.raises(IndexError, match="^sort: dim"):
        dlcore.tensor(a).sort(2)


def test_all_any(torch):
    a = rng(0).integers(0, 3, (3, 4, 5))
    for dim, keepdim in ((None, False), (1, False), (2, True), ((0, 2), False)):
        for name in ("all", "any"):
            out = getattr(dlcore.tensor(a), name)(dim=dim, keepdim=keepdim)
            expected = getattr(np, name)(a != 0, axis=dim, keepdims=keepdim)
            assert out.dtype == np.bool_ and out.shape == expected.shape and (out.numpy() == expected).all()
    assert dlcore.all(dlcore.tensor(a)).item() is torch.tensor(a).all().item()


# ---- split / chunk / rearranging copies -------------------------------------------------------------

def test_chunk_and_split_match_torch_and_gradcheck(torch):
    a = rand((7, 5))
    for chunks in (1, 2, 3, 7, 9):
        for dim in (0, 1):
            ours = [c.shape for c in dlcore.tensor(a).chunk(chunks, dim)]
            assert ours == [tuple(c.shape) for c in torch.tensor(a).chunk(chunks, dim)]
    assert [c.shape for c in dlcore.split(dlcore.tensor(a), [2, 5])] == [(2, 5), (5, 5)]
    assert [c.shape for c in dlcore.tensor(a).split(2, 1)] == [(7, 2), (7, 2), (7, 1)]
    assert [c.shape for c in dlcore.tensor(a).split(split_size=3)] == [(3, 5), (3, 5), (1, 5)]
    assert gradcheck(lambda t: t.chunk(3, 1)[1] * 2, (t64(a, True),))
    assert gradcheck(lambda t: tuple(t.split([3, 4])), (t64(a, True),))
    with pytest.raises(ValueError, match="^chunk: chunks must be positive"):
        dlcore.tensor(a).chunk(0)


def test_repeat_flip_roll_tril_triu_match_torch_and_gradcheck(torch):
    a = rand((3, 4))
    cases = [
        (lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3)),
        (lambda x: x.flip(0, 1), lambda x: x.flip(0, 1)),
        (lambda x: dlcore.flip(x, [1]), lambda x: torch.flip(x, [1])),
        (lambda x: x.roll(2), lambda x: x.roll(2)),
        (lambda x: x.roll((1, -5), (0, 1)), lambda x: x.roll((1, -5), (0, 1))),
        (lambda x: x.tril(), lambda x: x.tril()),
        (lambda x: dlcore.triu(x, 1), lambda x: torch.triu(x, 1)),
        (lambda x: x.tril(-1), lambda x: x.tril(-1)),
    ]
    for f, tf in cases:
        grads(torch, a, f, tf)
        assert gradcheck(f, (t64(a, True),))
    assert_close(ops.repeat(a, (2, 2)), ref.repeat(a, (2, 2)))
    assert ops.repeat(a, (0, 1)).shape == (0, 4)
    with pytest.raises(ValueError, match="^repeat: the number of repeat dims"):
        dlcore.tensor(a).repeat(2)
    with pytest.raises(ValueError, match="^tril: expected a tensor with at least 2"):
        dlcore.tensor([1.0]).tril()
    with pytest.raises(IndexError, match="^flip: dim"):
        dlcore.tensor(a).flip(2)


# ---- multinomial / one_hot --------------------------------------------------------------------

def test_multinomial_reproducible_and_distributed():
    p = dlcore.tensor([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 0.0, 2.0]])
    dlcore.manual_seed(3)
    s1 = p.multinomial(4000, replacement=True)
    dlcore.manual_seed(3)
    s2 = dlcore.multinomial(p, 4000, replacement=True)
    assert s1.dtype == np.int64 and s1.shape == (2, 4000) and (s1.numpy() == s2.numpy()).all()
    for row, probs in zip(s1.numpy(), ([0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.0, 0.5])):
        freq = np.bincount(row, minlength=4) / row.size
        assert np.abs(freq - probs).max() < 0.03
        assert freq[np.array(probs) == 0].sum() == 0  # a zero weight is never drawn
    dlcore.manual_seed(4)
    draws = np.array([dlcore.tensor([0.5, 0.2, 0.2, 0.1, 0.0]).multinomial(4).numpy() for _ in range(400)])
    assert all(len(set(d)) == 4 and 4 not in d for d in draws)  # without replacement: distinct, never p=0
    first = np.bincount(draws[:, 0], minlength=5) / len(draws)
    assert abs(first[0] - 0.5) < 0.08


@pytest.mark.parametrize("bad,exc,msg", [
    (lambda: dlcore.tensor([0.5, -0.1]).multinomial(1), ValueError, "non-negative"),
    (lambda: dlcore.tensor([0.0, 0.0]).multinomial(1), ValueError, "positive sum"),
    (lambda: dlcore.tensor([0.5, 0.0]).multinomial(2), ValueError, "without replacement"),
    (lambda: dlcore.tensor([0.5]).multinomial(0), ValueError, "num_samples"),
    (lambda: dlcore.tensor([1, 2]).multinomial(1), TypeError, "float"),
    (lambda: dlcore.tensor(np.ones((2, 2, 2))).multinomial(1), ValueError, "1-d or 2-d"),
])
def test_multinomial_bad_inputs(bad, exc, msg):
    with pytest.raises(exc, match="^multinomial: .*" + msg):
        bad()


def test_one_hot_matches_torch(torch):
    F = dlcore.nn.functional
    labels = np.array([[0, 3], [2, 2]])
    out = F.one_hot(dlcore.tensor(labels))
    assert out.dtype == np.int64
    assert (out.numpy() == torch.nn.functional.one_hot(torch.tensor(labels)).numpy()).all()
    assert F.one_hot(dlcore.tensor([1]), 5).shape == (1, 5)
    with pytest.raises(ValueError, match="^one_hot: class values must be smaller"):
        F.one_hot(dlcore.tensor([5]), 3)
    with pytest.raises(ValueError, match="^one_hot: class values must be non-negative"):
        F.one_hot(dlcore.tensor([-1]))
    with pytest.raises(TypeError, match="^one_hot: expected an int64"):
        F.one_hot(dlcore.tensor([1.0]))


@pytest.mark.parametrize("name,args", [
    ("clamp", (-0.5, 0.5)), ("clip", (None, 0.1)), ("std", (1,)), ("norm", (1, 0)), ("prod", (1,)), ("cumsum", (0,)),
    ("sort", (0, True)), ("argsort", (1,)), ("topk", (2,)), ("all", (1,)), ("any", ()), ("chunk", (2, 1)),
    ("split", (2,)), ("flip", ((0,),)), ("roll", (1, 1)), ("tril", (1,)), ("triu", ()),
])
def test_dlcore_functions_equal_the_methods(name, args):
    x = dlcore.tensor(rand((3, 4)))
    got, want = getattr(dlcore, name)(x, *args), getattr(x, name)(*args)
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        assert g.dtype == w.dtype and (g.numpy() == w.numpy()).all()
    assert getattr(dlcore, name).__doc__
    with pytest.raises(TypeError, match=f"^{name}: expected a Tensor"):
        getattr(dlcore, name)(rand((3, 4)), *args)


def test_array_level_backwards_with_numpy():
    a = rand((3, 4)) + 2.0
    g = rand(3, seed=1)
    assert_close(ops.prod_backward(g, a, 1), ref.prod_backward(a, 1, g), scale=10)
    r = ops.norm(a, 3, 1)
    assert isinstance(r, np.ndarray)
    fd = np.array([[(ref.norm(a + e, 3, 1) - ref.norm(a - e, 3, 1)) @ g / 2e-6
                    for e in np.eye(12).reshape(12, 3, 4)[k * 4:(k + 1) * 4] * 1e-6] for k in range(3)])
    assert_close(ops.norm_backward(g, a, r, 3, 1), fd, rtol=1e-5, atol=1e-6)
    gx, gmin, gmax = ops.clamp_backward(np.ones_like(a), a, 2.5, np.full(4, 3.0))
    assert gmin is None
    assert_close(gx, ((a >= 2.5) & (a <= 3.0)) * 1.0)
    assert_close(gmax, (a > 3.0) * 1.0)
    gr = rand((6, 4), seed=3)
    assert_close(ops.repeat_backward(gr, (3, 4), (2, 1)), gr[:3] + gr[3:])
    assert_close(ops.roll_backward(ops.roll(a, 2, 1), 2, 1), a)
    v, i = ops.sort(a, 1)
    assert_close(ops.sort_backward(v, 1, i, a.shape), a)
    s = ops.std(a, 1)
    assert_close(ops.std_backward(np.ones(3), a, s, 1), (a - a.mean(1, keepdims=True)) / (3 * s[:, None]))


@pytest.mark.parametrize("call", [
    lambda x, lib: x.clamp(-0.5, 0.5), lambda x, lib: x.std(0), lambda x, lib: x.norm(1, 1),
    lambda x, lib: x.prod(0), lambda x, lib: x.cumsum(1), lambda x, lib: x.sort(0)[0],
    lambda x, lib: x.topk(2, 0)[1], lambda x, lib: x.argsort(1), lambda x, lib: x.any(0),
    lambda x, lib: x.chunk(2, 1)[1], lambda x, lib: x.gather(1, lib.tensor([[0, 2]] * 5)),
    lambda x, lib: x.scatter_add(0, lib.tensor([[1, 0, 1]]), x[:1]), lambda x, lib: x.repeat(1, 2),
    lambda x, lib: x.flip(0), lambda x, lib: x.roll(1, 0), lambda x, lib: x.triu(), lambda x, lib: x[x > 0],
    lambda x, lib: x[[0, 4], [2, 1]],
])
def test_methods_on_strided_tensors_match_torch(torch, call):
    a = rand((3, 5))
    x = dlcore.tensor(a).t()  # (5, 3), not contiguous
    assert not x.is_contiguous()
    assert_close(call(x, dlcore).numpy(), call(torch.tensor(a).t(), torch).numpy())


def test_inplace_forms_in_the_graph_match_torch(torch):
    a = rand((3, 4))
    idx = np.array([[0, 1, 2, 0]])

    def run(lib, x):
        y = x * 2.0
        y.clamp_(-0.5, 0.5)
        y.scatter_add_(0, lib.tensor(idx), x[:1] * 3.0)
        y.scatter_(1, lib.tensor([[1], [0], [2]]), 0.0)
        return (y * y).sum()

    x, tx = t64(a, True), torch.tensor(a, requires_grad=True)
    run(dlcore, x).backward()
    run(torch, tx).backward()
    assert_close(x.grad.numpy(), tx.grad.numpy())

    def run_view(lib, x):  # clamp_ on a view of a non-leaf: recorded through the base, as in torch
        y = x * 1.0
        y[0].clamp_(0.0)
        return (y * y).sum()

    x, tx = t64(a, True), torch.tensor(a, requires_grad=True)
    run_view(dlcore, x).backward()
    run_view(torch, tx).backward()
    assert_close(x.grad.numpy(), tx.grad.numpy())


def test_ops_dispatch_table_matches_the_array_ops():
    from dlcore.autograd.ops_dispatch_indexing import GRAD_OPS, NON_DIFFERENTIABLE

    a = rand((3, 4))
    args = {"clamp": (-0.5, 0.5), "std": (1,), "norm": (2, 0), "prod": (1,), "cumsum": (0,), "sort": (1, True),
            "topk": (2,), "gather": (1, np.array([[0, 3]] * 3)), "scatter": (0, np.array([[2, 0, 1, 0]]), a[:1]),
            "scatter_add": (0, np.array([[2, 0, 1, 0]]), a[:1]), "repeat": ((2, 1),), "flip": ((0,),),
            "roll": (1, 1), "tril": (), "triu": (1,), "chunk": (2, 1), "mask_select_rows": (a[:, 0] > 0,),
            "masked_select": (a > 0,)}
    assert set(args) == set(GRAD_OPS) and not NON_DIFFERENTIABLE & set(GRAD_OPS)
    for name, fn in GRAD_OPS.items():
        x = t64(a, True)
        targs = [dlcore.tensor(v) if isinstance(v, np.ndarray) else v for v in args[name]]
        if name.startswith("scatter"):
            targs[2] = t64(args[name][2])
        got = fn(x, *targs)
        want = getattr(ops, name)(a, *args[name])
        for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
            assert_close(g.detach().numpy(), w)
        first = got[0] if isinstance(got, tuple) else got
        first.sum().backward()
        assert x.grad is not None and x.grad.shape == a.shape, name

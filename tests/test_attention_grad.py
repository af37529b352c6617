"""scaled_dot_product_attention (issue 25): torch parity, dropout (determinism, the reference mask,
backward consistent with the forward's mask), gradcheck and the autograd path
(dlcore.nn.functional.scaled_dot_product_attention, dlcore.ops on Tensors)."""
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F
from dlcore import ops
from dlcore.autograd.gradcheck import gradcheck
from tests.conftest import assert_close, finite_difference_grad
from tests.reference import attention as ref

OP = "scaled_dot_product_attention"


def _qkv(shape_q, shape_k, ev, dtype=np.float64, seed=0):
    g = np.random.default_rng(seed)
    q = g.standard_normal(shape_q).astype(dtype)
    k = g.standard_normal(shape_k).astype(dtype)
    v = g.standard_normal(shape_k[:-1] + (ev,)).astype(dtype)
    return q, k, v


@pytest.mark.parametrize("case", [
    dict(sq=(2, 3, 17, 40), sk=(2, 3, 65, 40), ev=72),
    dict(sq=(2, 3, 65, 64), sk=(2, 3, 65, 64), ev=64, is_causal=True),
    dict(sq=(1, 2, 64, 8), sk=(1, 2, 17, 8), ev=8, is_causal=True),       # L > S: top-left aligned
    dict(sq=(2, 4, 33, 16), sk=(2, 2, 47, 16), ev=24, enable_gqa=True, is_causal=True),
    dict(sq=(2, 3, 20, 8), sk=(2, 3, 30, 8), ev=8, mask="bool", scale=0.2),
    dict(sq=(2, 3, 20, 8), sk=(2, 3, 30, 8), ev=8, mask="float"),
    dict(sq=(4, 5, 8), sk=(4, 9, 8), ev=3),                               # 3-d operands
])
def test_matches_torch(torch, case):
    case = dict(case)
    sq, sk, ev, mask = case.pop("sq"), case.pop("sk"), case.pop("ev"), case.pop("mask", None)
    q, k, v = _qkv(sq, sk, ev, np.float32)
    g = np.random.default_rng(1)
    if mask == "bool":
        m = g.random((sq[-2], sk[-2])) < 0.6
        m[:, 0] = True
        case["attn_mask"] = m
    elif mask == "float":
        case["attn_mask"] = g.standard_normal((sq[0], 1, sq[-2], sk[-2])).astype(np.float32)
    out, lse = ops.scaled_dot_product_attention(q, k, v, return_logsumexp=True, **case)
    tq, tk, tv = (torch.from_numpy(x).requires_grad_() for x in (q, k, v))
    tcase = {n: (torch.from_numpy(a) if isinstance(a, np.ndarray) else a) for n, a in case.items()}
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **tcase)
    assert_close(out, tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    gout = g.standard_normal(out.shape).astype(np.float32)
    tout.backward(torch.from_numpy(gout))
    grads = ops.scaled_dot_product_attention_backward(gout, q, k, v, out, lse, **case)
    for got, t in zip(grads, (tq, tk, tv)):
        assert_close(got, t.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_dropout_same_seed_same_result_other_seed_other_result():
    q, k, v = _qkv((2, 2, 33, 8), (2, 2, 40, 8), 8)
    a = ops.scaled_dot_product_attention(q, k, v, dropout_p=0.4, dropout_seed=11)
    b = ops.scaled_dot_product_attention(q, k, v, dropout_p=0.4, dropout_seed=11)
    c = ops.scaled_dot_product_attention(q, k, v, dropout_p=0.4, dropout_seed=12)
    assert np.array_equal(a, b) and not np.allclose(a, c)
    dlcore.manual_seed(5)
    d = ops.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    e = ops.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    dlcore.manual_seed(5)
    assert np.array_equal(d, ops.scaled_dot_product_attention(q, k, v, dropout_p=0.4)) and not np.array_equal(d, e)


def test_dropout_mask_is_the_documented_one_and_has_rate_p():
    q, k, v = _qkv((1, 2, 9, 4), (1, 2, 13, 4), 5)
    for algo in ("flash", "reference"):
        with dlcore.force_algorithm(OP, algo):
            out = ops.scaled_dot_product_attention(q, k, v, dropout_p=0.3, dropout_seed=2 ** 40 + 3)
        assert_close(out, ref.sdpa(q, k, v, dropout_p=0.3, dropout_seed=2 ** 40 + 3), scale=10)
    z = ref.dropout_keep(99, 1, 64, 256, 0.3)
    assert abs((z == 0).mean() - 0.3) < 0.01


def test_dropout_backward_matches_finite_differences_of_the_forward():
    q, k, v = _qkv((1, 2, 5, 3), (1, 2, 6, 3), 4, seed=3)
    kw = dict(dropout_p=0.35, dropout_seed=4242, is_causal=True)
    out, lse = ops.scaled_dot_product_attention(q, k, v, return_logsumexp=True, **kw)
    g = np.random.default_rng(4).standard_normal(out.shape)
    grads = ops.scaled_dot_product_attention_backward(g, q, k, v, out, lse, **kw)
    for pos in range(3):
        def f(x, pos=pos):
            args = [q, k, v]
            args[pos] = x
            return float(np.sum(ops.scaled_dot_product_attention(*args, **kw) * g))
        assert_close(grads[pos], finite_difference_grad(f, (q, k, v)[pos]), rtol=1e-6, atol=1e-8)


def test_gradcheck_through_nn_functional():
    g = np.random.default_rng(6)
    q, k, v = (dlcore.tensor(g.standard_normal(s), requires_grad=True)
               for s in ((1, 4, 5, 3), (1, 2, 7, 3), (1, 2, 7, 2)))
    mask = g.standard_normal((5, 7))
    slopes = np.array([0.5, 0.25, 0.125, 0.0625])
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mask, enable_gqa=True,
                                                                      alibi_slopes=slopes, scale=0.7), (q, k, v))
    q2 = dlcore.tensor(g.standard_normal((1, 2, 9, 3)), requires_grad=True)  # L > S, causal
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True), (q2, k, v))


def test_autograd_dropout_backward_uses_the_forward_mask():
    g = np.random.default_rng(7)
    qn, kn, vn = g.standard_normal((1, 2, 6, 4)), g.standard_normal((1, 2, 8, 4)), g.standard_normal((1, 2, 8, 3))
    q, k, v = (dlcore.tensor(x, requires_grad=True) for x in (qn, kn, vn))
    dlcore.manual_seed(3)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    out.sum().backward()
    dlcore.manual_seed(3)
    seed = dlcore.ops.attention.draw_dropout_seed()  # the seed the Function drew
    assert np.array_equal(out.numpy(), ops.scaled_dot_product_attention(qn, kn, vn, dropout_p=0.5, dropout_seed=seed))
    want = ref.backward(np.ones(out.shape), qn, kn, vn, dropout_p=0.5, dropout_seed=seed)
    for t, w in zip((q, k, v), want):
        assert_close(t.grad.numpy(), w, scale=10)


def test_ops_on_tensors_record_autograd_and_return_tensors():
    g = np.random.default_rng(8)
    q, k, v = (dlcore.tensor(g.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))
    out = ops.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert isinstance(out, dlcore.Tensor) and out.grad_fn is not None
    out.sum().backward()
    want = ref.backward(np.ones((2, 3, 4)), q.numpy(), k.numpy(), v.numpy(), is_causal=True)
    assert_close(q.grad.numpy(), want[0], scale=10)
    plain = ops.scaled_dot_product_attention(q.detach(), k.detach(), v.detach())
    assert isinstance(plain, dlcore.Tensor) and plain.grad_fn is None

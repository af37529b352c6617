"""nn.MultiheadAttention, the explicit attention path, positional encodings and Embedding
(issue 25, layers part): PyTorch parity of outputs, attention weights and gradients (inputs and
parameters) with torch's weights loaded, the explicit path's kernel semantics, gradchecks,
determinism across thread counts and errors naming the module or op."""
from __future__ import annotations

import math

import numpy as np
import pytest

import dlcore
from dlcore import nn, ops
from dlcore.nn import attention as A
from dlcore.nn import functional as F
from tests.conftest import run_threads_bitwise
from tests.reference import rope as ref_rope

TOL64 = dict(rtol=1e-9, atol=1e-11)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _load_from_torch(dm, tm):
    dm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})


def _t(torch, a, grad=False):
    return None if a is None else torch.tensor(a, requires_grad=grad)


def _d(a, grad=False):
    return None if a is None else dlcore.tensor(a, requires_grad=grad)


def _compare_grads(dm, tm, pairs):
    tp = dict(tm.named_parameters())
    for name, p in dm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), err_msg=name, **TOL64)
    for dx, tx in pairs:
        np.testing.assert_allclose(dx.grad.numpy(), tx.grad.numpy(), **TOL64)


# ---- MultiheadAttention: PyTorch parity ---------------------------------------------------------------

# (batch_first, kind of inputs, mask case, need_weights, average): a sampled grid.
CASES = [
    (False, "self", None, True, True),
    (True, "self", "kpm", True, False),
    (False, "cross", "kpm", False, True),
    (True, "cross", "bool", True, True),
    (False, "kv", "float", True, False),
    (True, "kv", "causal", False, True),
    (False, "self", "causal_hint", False, True),
    (True, "self", "bool+kpm", False, True),
    (False, "cross", "float+kpm", True, True),
    (True, "kdim", "3d", True, False),
    (False, "kdim", "kpm_float", False, True),
    (True, "kdim", None, False, True),
]


def _masks(case, N, H, L, S, rng):
    kpm = np.zeros((N, S), bool)
    kpm[0, -2:] = True
    kpm[-1, :1] = True
    bool_m = rng.random((L, S)) < 0.3
    bool_m[:, 0] = False  # every query keeps a key: torch gives NaN for fully masked rows
    causal = np.triu(np.full((L, S), -np.inf), 1)
    return {
        None: (None, None, False), "kpm": (kpm, None, False), "bool": (None, bool_m, False),
        "float": (None, rng.standard_normal((L, S)), False), "causal": (None, causal, False),
        "causal_hint": (None, causal, True), "bool+kpm": (kpm, bool_m, False),
        "float+kpm": (kpm, rng.standard_normal((L, S)), False),
        "3d": (None, rng.standard_normal((N * H, L, S)), False),
        "kpm_float": (np.where(kpm, -1e4, 0.5), None, False),
    }[case]


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")  # torch's, for bool + float
@pytest.mark.parametrize("batch_first,kind,mask_case,need_weights,average", CASES)
def test_mha_matches_torch(torch, batch_first, kind, mask_case, need_weights, average):
    torch.manual_seed(0)
    rng = _rng(1)
    E, H, N = 12, 3, 2
    L, S = (5, 5) if kind == "self" or mask_case in ("causal", "causal_hint") else (4, 6)
    kdim, vdim = (7, 5) if kind == "kdim" else (None, None)
    tm = torch.nn.MultiheadAttention(E, H, kdim=kdim, vdim=vdim, batch_first=batch_first).double()
    dm = nn.MultiheadAttention(E, H, kdim=kdim, vdim=vdim, batch_first=batch_first).double()
    assert sorted(dm.state_dict()) == sorted(tm.state_dict())
    _load_from_torch(dm, tm)

    def shape(n, e):
        return (N, n, e) if batch_first else (n, N, e)

    q = rng.standard_normal(shape(L, E))
    k = rng.standard_normal(shape(S, kdim or E))
    v = rng.standard_normal(shape(S, vdim or E))
    kpm, am, hint = _masks(mask_case, N, H, L, S, rng)
    tq, dq = _t(torch, q, True), _d(q, True)
    if kind == "self":
        args_t, args_d, pairs = (tq, tq, tq), (dq, dq, dq), [(dq, tq)]
    elif kind == "kv":
        tk, dk = _t(torch, k, True), _d(k, True)
        args_t, args_d, pairs = (tq, tk, tk), (dq, dk, dk), [(dq, tq), (dk, tk)]
    else:
        tk, dk, tv, dv = _t(torch, k, True), _d(k, True), _t(torch, v, True), _d(v, True)
        args_t, args_d, pairs = (tq, tk, tv), (dq, dk, dv), [(dq, tq), (dk, tk), (dv, tv)]
    kw = dict(need_weights=need_weights, average_attn_weights=average, is_causal=hint)
    to, tw = tm(*args_t, key_padding_mask=_t(torch, kpm), attn_mask=_t(torch, am), **kw)
    do, dw = dm(*args_d, key_padding_mask=kpm, attn_mask=am, **kw)
    np.testing.assert_allclose(do.numpy(), to.detach().numpy(), **TOL64)
    if need_weights:
        np.testing.assert_allclose(dw.numpy(), tw.detach().numpy(), **TOL64)
    else:
        assert dw is None and tw is None
    gout = rng.standard_normal(to.shape)
    to.backward(torch.tensor(gout))
    do.backward(dlcore.tensor(gout))
    _compare_grads(dm, tm, pairs)


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched_matches_torch(torch, need_weights):
    torch.manual_seed(1)
    rng = _rng(2)
    E, H, L, S = 8, 2, 3, 4
    tm, dm = torch.nn.MultiheadAttention(E, H).double(), nn.MultiheadAttention(E, H).double()
    _load_from_torch(dm, tm)
    q, k = rng.standard_normal((L, E)), rng.standard_normal((S, E))
    kpm = np.array([False, False, True, False])
    am = rng.standard_normal((H, L, S))
    tq, tk, dq, dk = _t(torch, q, True), _t(torch, k, True), _d(q, True), _d(k, True)
    to, tw = tm(tq, tk, tk, key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(am),
                need_weights=need_weights, average_attn_weights=False)
    do, dw = dm(dq, dk, dk, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights,
                average_attn_weights=False)
    np.testing.assert_allclose(do.numpy(), to.detach().numpy(), **TOL64)
    if need_weights:
        assert dw.shape == (H, L, S)
        np.testing.assert_allclose(dw.numpy(), tw.detach().numpy(), **TOL64)
    to.sum().backward()
    do.sum().backward()
    _compare_grads(dm, tm, [(dq, tq), (dk, tk)])


def test_mha_bias_false_and_float32(torch):
    torch.manual_seed(2)
    tm = torch.nn.MultiheadAttention(16, 4, bias=False, batch_first=True)
    dm = nn.MultiheadAttention(16, 4, bias=False, batch_first=True)
    assert sorted(dm.state_dict()) == sorted(tm.state_dict()) == ["in_proj_weight", "out_proj.weight"]
    _load_from_torch(dm, tm)
    x = _rng(3).standard_normal((3, 9, 16)).astype(np.float32)
    to = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x), need_weights=False)[0]
    do = dm(_d(x), _d(x), _d(x), need_weights=False)[0]
    assert do.dtype == np.float32
    np.testing.assert_allclose(do.numpy(), to.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_mha_non_contiguous_inputs_and_masks():
    """Strided views (a transposed query, a stepped key, a transposed mask) read as their values."""
    dlcore.manual_seed(4)
    m = nn.MultiheadAttention(8, 2, kdim=6, vdim=6)
    rng = _rng(21)
    q = np.swapaxes(rng.standard_normal((2, 5, 8)), 0, 1).astype(np.float32)  # (5, 2, 8), not C-contiguous
    kbig = rng.standard_normal((7, 2, 12)).astype(np.float32)
    k = kbig[:, :, ::2]  # (7, 2, 6), stepped
    am = rng.standard_normal((7, 5)).astype(np.float32).T  # (5, 7), transposed
    for need_weights in (True, False):
        a, wa = m(_d(q), _d(k), _d(k), attn_mask=am, need_weights=need_weights)
        b, wb = m(_d(q.copy()), _d(k.copy()), _d(k.copy()), attn_mask=am.copy(), need_weights=need_weights)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
        if need_weights:
            np.testing.assert_allclose(wa.numpy(), wb.numpy(), rtol=1e-6, atol=1e-7)


def test_mha_init_and_parameter_names():
    dlcore.manual_seed(0)
    m = nn.MultiheadAttention(32, 4)
    assert [n for n, _ in m.named_parameters()] == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                    "out_proj.bias"]
    w = m.in_proj_weight.numpy()
    bound = math.sqrt(6.0 / (32 + 96))  # xavier_uniform over the (96, 32) matrix
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not m.in_proj_bias.numpy().any() and not m.out_proj.bias.numpy().any()
    m2 = nn.MultiheadAttention(8, 2, kdim=3, vdim=5)
    assert m2.in_proj_weight is None and m2.k_proj_weight.shape == (8, 3) and m2.v_proj_weight.shape == (8, 5)
    assert m2.head_dim == 4 and not m2._qkv_same_embed_dim


def test_mha_dropout_train_and_eval():
    dlcore.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = _d(_rng(4).standard_normal((6, 2, 8)).astype(np.float32))
    m.eval()
    ref, w_eval = m(x, x, x)
    m.train()
    dlcore.manual_seed(7)
    a, wa = m(x, x, x)
    dlcore.manual_seed(7)
    b, _ = m(x, x, x)
    assert a.numpy().tobytes() == b.numpy().tobytes()  # the seeded generator: reproducible
    assert not np.allclose(a.numpy(), ref.numpy())  # and dropout did something in training
    wa = wa.numpy()
    # weights after dropout: kept entries are scaled by 2; rows no longer sum to one
    assert np.isclose(np.asarray(w_eval.numpy()).sum(-1), 1).all() and not np.isclose(wa.sum(-1), 1).all()


def test_mha_calls_the_fused_kernel_when_present(monkeypatch):
    calls = []

    def spy(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, **kw):
        calls.append((q.shape, None if attn_mask is None else (attn_mask.dtype, attn_mask.shape), is_causal))
        return A._attention_explicit(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy, raising=False)
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    x = _d(_rng(5).standard_normal((3, 5, 8)).astype(np.float32))
    kpm = np.zeros((3, 5), bool)
    kpm[1, 3:] = True
    m(x, x, x, need_weights=False)
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    m(x, x, x, need_weights=False, attn_mask=causal, is_causal=True)
    m(x, x, x, need_weights=False, key_padding_mask=kpm)
    with dlcore.kernel_log() as log:
        m(x, x, x, need_weights=True)  # weights requested: the explicit path, not the kernel
        with dlcore.force_algorithm("MultiheadAttention", "explicit"):
            m(x, x, x, need_weights=False)
        m(x, x, x, need_weights=False)
    assert log.algorithms("MultiheadAttention") == ["explicit", "explicit", "fused"]
    assert calls[0] == ((3, 2, 5, 4), None, False)
    assert calls[1] == ((3, 2, 5, 4), None, True)  # the causal hint goes to the kernel as is_causal
    assert calls[2][1] == (np.dtype(bool), (3, 1, 1, 5)) and calls[2][2] is False  # bool, True = takes part
    assert len(calls) == 4
    with dlcore.force_algorithm("MultiheadAttention", "fused"):
        with pytest.raises(ValueError, match="^MultiheadAttention: algorithm 'fused' does not apply: need_weights"):
            m(x, x, x, need_weights=True)
    monkeypatch.delattr(F, "scaled_dot_product_attention")
    with dlcore.force_algorithm("MultiheadAttention", "fused"):
        with pytest.raises(ValueError, match="^MultiheadAttention: algorithm 'fused' does not apply: this build"):
            m(x, x, x, need_weights=False)
    with dlcore.force_algorithm("MultiheadAttention", "flash"):
        with pytest.raises(ValueError, match="^MultiheadAttention: algorithm 'flash' does not apply"):
            m(x, x, x, need_weights=False)


def test_mha_threads_bitwise():
    dlcore.manual_seed(3)
    m = nn.MultiheadAttention(24, 3, batch_first=True)
    x = _rng(6).standard_normal((2, 33, 24)).astype(np.float32)
    kpm = np.zeros((2, 33), bool)
    kpm[0, 30:] = True

    def run():
        m.zero_grad()
        xt = _d(x, True)
        out, w = m(xt, xt, xt, key_padding_mask=kpm)
        (out * out).sum().backward()
        return out.numpy().copy(), w.numpy().copy(), xt.grad.numpy().copy(), m.in_proj_weight.grad.numpy().copy()

    run_threads_bitwise(run)


# ---- the explicit path: the kernel's semantics ---------------------------------------------------------

def _ref_attention(q, k, v, allowed=None, bias=None, scale=None):
    """float64 softmax(q k^T scale + bias) v over allowed keys; rows with no key give zeros."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if bias is not None:
        s = s + bias
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    m = s.max(-1, keepdims=True)
    e = np.where(np.isfinite(m), np.exp(s - np.where(np.isfinite(m), m, 0)), 0.0)
    den = e.sum(-1, keepdims=True)
    p = np.divide(e, den, out=np.zeros_like(e), where=den > 0)
    return p @ v


@pytest.mark.parametrize("L,S", [(5, 5), (3, 7), (7, 3)])
def test_explicit_causal_is_top_left_and_bool_mask_takes_part(torch, L, S):
    rng = _rng(7)
    q, k, v = rng.standard_normal((2, 3, L, 4)), rng.standard_normal((2, 3, S, 4)), rng.standard_normal((2, 3, S, 6))
    out = A._attention_explicit(_d(q), _d(k), _d(v), is_causal=True).numpy()
    tri = np.tril(np.ones((L, S), bool))
    np.testing.assert_allclose(out, _ref_attention(q, k, v, allowed=tri), **TOL64)
    tout = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)), is_causal=True)
    np.testing.assert_allclose(out, tout.numpy(), **TOL64)
    allowed = rng.random((L, S)) < 0.6
    allowed[:, 0] = True
    out = A._attention_explicit(_d(q), _d(k), _d(v), attn_mask=allowed, scale=0.3).numpy()
    np.testing.assert_allclose(out, _ref_attention(q, k, v, allowed=allowed, scale=0.3), **TOL64)


def test_explicit_fully_masked_rows_give_zeros_and_zero_grads():
    rng = _rng(8)
    q, k, v = (rng.standard_normal((1, 2, 4, 3)) for _ in range(3))
    allowed = np.ones((1, 2, 4, 4), bool)
    allowed[0, 1, 2] = False  # head 1, query 2 sees no key
    fl = np.zeros((4, 4))
    fl[3] = -np.inf  # a float mask can mask a whole row too
    for mask in (allowed, fl):
        dq, dk, dv = _d(q, True), _d(k, True), _d(v, True)
        out = A._attention_explicit(dq, dk, dv, attn_mask=mask)
        o = out.numpy()
        assert np.isfinite(o).all()
        row = (0, 1, 2) if mask is allowed else (0, slice(None), 3)
        assert not o[row].any()
        out.sum().backward()
        assert np.isfinite(dq.grad.numpy()).all() and not dq.grad.numpy()[row].any()
        assert np.isfinite(dk.grad.numpy()).all() and np.isfinite(dv.grad.numpy()).all()
    np.testing.assert_allclose(A._attention_explicit(_d(q), _d(k), _d(v), attn_mask=allowed).numpy(),
                               _ref_attention(q, k, v, allowed=allowed), **TOL64)


def test_explicit_gqa_matches_torch(torch):
    rng = _rng(9)
    q, k, v = rng.standard_normal((2, 6, 5, 4)), rng.standard_normal((2, 2, 7, 4)), rng.standard_normal((2, 2, 7, 3))
    fm = rng.standard_normal((5, 7))
    dq, dk, dv = _d(q, True), _d(k, True), _d(v, True)
    out = A._attention_explicit(dq, dk, dv, attn_mask=fm, enable_gqa=True)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(fm), enable_gqa=True)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **TOL64)
    g = rng.standard_normal(tout.shape)
    out.backward(dlcore.tensor(g))
    tout.backward(torch.tensor(g))
    for d, t in ((dq, tq), (dk, tk), (dv, tv)):
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), **TOL64)


def test_explicit_alibi_equals_the_additive_bias():
    rng = _rng(10)
    H, L, S = 4, 5, 6
    q, k, v = rng.standard_normal((1, H, L, 8)), rng.standard_normal((1, H, S, 8)), rng.standard_normal((1, H, S, 8))
    slopes = nn.alibi_slopes(H)
    out = A._attention_explicit(_d(q), _d(k), _d(v), alibi_slopes=slopes, is_causal=True).numpy()
    s = slopes.numpy().astype(np.float64)[:, None, None]
    bias = -s * np.abs(np.arange(L)[:, None] - np.arange(S)[None, :])
    np.testing.assert_allclose(out, _ref_attention(q, k, v, allowed=np.tril(np.ones((L, S), bool)), bias=bias),
                               rtol=1e-6, atol=1e-7)  # slopes are float32


def test_explicit_alibi_matches_the_fused_kernel_without_a_causal_mask():
    """The explicit path is the kernel's fallback: same ALiBi convention, slope * (j - i)."""
    rng = _rng(11)
    H, L, S = 2, 5, 7
    q, k, v = rng.standard_normal((1, H, L, 8)), rng.standard_normal((1, H, S, 8)), rng.standard_normal((1, H, S, 8))
    slopes = nn.alibi_slopes(H)
    out = A._attention_explicit(_d(q), _d(k), _d(v), alibi_slopes=slopes).numpy()
    fused = dlcore.ops.scaled_dot_product_attention(q, k, v, alibi_slopes=slopes.numpy().astype(np.float64))
    np.testing.assert_allclose(out, fused, rtol=1e-6, atol=1e-7)
    s = slopes.numpy().astype(np.float64)[:, None, None]
    np.testing.assert_allclose(nn.positional.alibi_bias(slopes, L, S, np.float64).numpy(),
                               s * (np.arange(S)[None, :] - np.arange(L)[:, None]), rtol=1e-6)
    np.testing.assert_allclose(nn.positional.alibi_bias(slopes, L, S, np.float64, symmetric=True).numpy(),
                               -s * np.abs(np.arange(S)[None, :] - np.arange(L)[:, None]), rtol=1e-6)


def test_explicit_learned_bias_gets_its_gradient(torch):
    """A float mask that requires grad (a learned relative-position bias) receives its gradient,
    combined with is_causal-free masking by -inf entries (one row fully masked gives zeros)."""
    rng = _rng(22)
    q, k, v = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 3, 6, 5))
    bias = rng.standard_normal((3, 4, 6))
    db = dlcore.tensor(bias, requires_grad=True)
    dq = dlcore.tensor(q, requires_grad=True)
    out = A._attention_explicit(dq, _d(k), _d(v), attn_mask=db)
    tb, tq = torch.tensor(bias, requires_grad=True), torch.tensor(q, requires_grad=True)
    tout = torch.nn.functional.scaled_dot_product_attention(tq, torch.tensor(k), torch.tensor(v), attn_mask=tb)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **TOL64)
    g = rng.standard_normal(out.shape)
    out.backward(dlcore.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(db.grad.numpy(), tb.grad.numpy(), **TOL64)
    np.testing.assert_allclose(dq.grad.numpy(), tq.grad.numpy(), **TOL64)
    dead = bias.copy()
    dead[1, 2] = -np.inf
    out = A._attention_explicit(_d(q), _d(k), _d(v), attn_mask=dlcore.tensor(dead, requires_grad=True)).numpy()
    assert np.isfinite(out).all() and not out[:, 1, 2].any()


def test_explicit_gradcheck():
    rng = _rng(11)
    q, k, v = (dlcore.tensor(rng.standard_normal(s), requires_grad=True) for s in ((1, 2, 3, 4), (1, 2, 5, 4),
                                                                                     (1, 2, 5, 2)))
    mask = rng.standard_normal((3, 5))
    assert dlcore.autograd.gradcheck(lambda a, b, c: A._attention_explicit(a, b, c, attn_mask=mask), (q, k, v))
    assert dlcore.autograd.gradcheck(lambda a, b, c: A._attention_explicit(a, b, c, is_causal=True), (q, k, v))


# ---- errors ------------------------------------------------------------------------------------------

def test_mha_errors_name_the_module():
    with pytest.raises(ValueError, match="^MultiheadAttention: embed_dim must be divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(NotImplementedError, match="^MultiheadAttention"):
        nn.MultiheadAttention(8, 2, add_bias_kv=True)
    m = nn.MultiheadAttention(8, 2)
    x = _d(np.zeros((4, 2, 8), np.float32))
    cases = [
        (dict(key_padding_mask=np.zeros((2, 5), bool)), ValueError, "key_padding_mask of shape"),
        (dict(attn_mask=np.zeros((4, 3), bool)), ValueError, "attn_mask of shape"),
        (dict(attn_mask=np.zeros((3, 4, 4), np.float32)), ValueError, "attn_mask of shape"),
        (dict(attn_mask=np.zeros((4, 4), np.int64)), TypeError, "only bool and floating-point attn_mask"),
        (dict(attn_mask=np.zeros((4, 4), np.float64)), TypeError, "a float attn_mask must have the query's dtype"),
        (dict(is_causal=True), ValueError, "need attn_mask"),
    ]
    for kw, exc, msg in cases:
        with pytest.raises(exc, match=f"^MultiheadAttention: {msg}"):
            m(x, x, x, **kw)
    with pytest.raises(ValueError, match="^MultiheadAttention: expected query's last dim"):
        m(_d(np.zeros((4, 2, 6), np.float32)), x, x)
    with pytest.raises(ValueError, match="^MultiheadAttention: expected query, key and value"):
        m(_d(np.zeros((2, 4, 2, 8), np.float32)), x, x)


def test_explicit_errors_name_the_op():
    z = lambda *s: _d(np.zeros(s))  # noqa: E731
    q = z(1, 4, 3, 8)
    cases = [
        ((q, z(1, 4, 5, 6), z(1, 4, 5, 8)), {}, ValueError, "same head dim"),
        ((q, z(1, 4, 5, 8), z(1, 4, 6, 8)), {}, ValueError, "same sequence length"),
        ((q, z(1, 3, 5, 8), z(1, 3, 5, 8)), {}, ValueError, "do not broadcast"),
        ((q, z(1, 3, 5, 8), z(1, 3, 5, 8)), {"enable_gqa": True}, ValueError, "multiple"),
        ((q, z(1, 4, 5, 8), z(1, 4, 5, 8)), {"attn_mask": np.zeros((3, 4), bool)}, ValueError, "attn_mask of shape"),
        ((q, z(1, 4, 5, 8), z(1, 4, 5, 8)), {"attn_mask": np.zeros((3, 5), np.int32)}, TypeError, "attn_mask must"),
        ((q, z(1, 4, 5, 8), z(1, 4, 5, 8)), {"attn_mask": np.zeros((3, 5), bool), "is_causal": True}, ValueError,
         "pass either"),
        ((q, z(1, 4, 5, 8), z(1, 4, 5, 8)), {"dropout_p": 1.0}, ValueError, "dropout_p"),
        ((q, z(1, 4, 5, 8), z(1, 4, 5, 8)), {"alibi_slopes": np.ones(3)}, ValueError, "alibi_slopes"),
    ]
    for args, kw, exc, msg in cases:
        with pytest.raises(exc, match=f"^scaled_dot_product_attention: .*{msg}"):
            A._attention_explicit(*args, **kw)


# ---- positional encodings ------------------------------------------------------------------------

def test_sinusoidal_matches_the_formula_and_adds_along_the_sequence():
    d, L = 6, 7
    pe = nn.SinusoidalPositionalEncoding(d, max_len=50)
    table = pe.pe.numpy()
    for p in (0, 3, 49):
        for i in range(d // 2):
            assert np.isclose(table[p, 2 * i], math.sin(p / 10000 ** (2 * i / d)), rtol=1e-6, atol=1e-7)
            assert np.isclose(table[p, 2 * i + 1], math.cos(p / 10000 ** (2 * i / d)), rtol=1e-6, atol=1e-7)
    assert "pe" not in pe.state_dict()  # non-persistent: a function of the constructor arguments
    x = _rng(12).standard_normal((L, 2, d)).astype(np.float32)
    np.testing.assert_allclose(pe(_d(x)).numpy(), x + table[:L, None], rtol=1e-6)
    pe_bf = nn.SinusoidalPositionalEncoding(d, max_len=50, batch_first=True)
    xb = np.swapaxes(x, 0, 1).copy()
    np.testing.assert_allclose(pe_bf(_d(xb), offset=5).numpy(), xb + table[5:5 + L], rtol=1e-6)
    odd = nn.SinusoidalPositionalEncoding(5, max_len=4).pe.numpy()
    assert odd.shape == (4, 5) and np.isclose(odd[1, 4], math.sin(1 / 10000 ** (4 / 5)))
    with pytest.raises(ValueError, match="^SinusoidalPositionalEncoding: positions"):
        pe(_d(np.zeros((51, 6), np.float32)))


def test_learned_positional_embedding_trains_its_rows():
    dlcore.manual_seed(1)
    pe = nn.LearnedPositionalEmbedding(10, 4, batch_first=True)
    assert list(pe.state_dict()) == ["weight"] and 0.01 < pe.weight.numpy().std() < 0.04
    x = _d(np.zeros((3, 5, 4)), False).float()
    out = pe(x, offset=2)
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(pe.weight.numpy()[2:7], (3, 5, 4)))
    out.sum().backward()
    g = pe.weight.grad.numpy()
    assert (g[2:7] == 3).all() and not g[:2].any() and not g[7:].any()


@pytest.mark.parametrize("head_dim,rotary_dim", [(8, None), (10, 6)])
def test_rotary_module_matches_reference_with_offset(head_dim, rotary_dim):
    rope = nn.RotaryEmbedding(head_dim, rotary_dim=rotary_dim, max_len=8, dtype="float64")
    x = _rng(13).standard_normal((2, 3, 5, head_dim))
    out = rope(_d(x), offset=6).numpy()  # positions 6..10: the cache grows past max_len
    cos, sin = ref_rope.rope_tables(5, rotary_dim or head_dim, offset=6)
    np.testing.assert_allclose(out, ref_rope.rotary_embedding(x, cos, sin), rtol=1e-12, atol=1e-12)
    assert rope.max_len >= 11 and rope.state_dict() == {}


def test_rotary_preserves_relative_dot_products():
    """RoPE's point: <R_m q, R_n k> depends only on m - n."""
    rope = nn.RotaryEmbedding(8, dtype="float64")
    q, k = _rng(14).standard_normal((1, 8)), _rng(15).standard_normal((1, 8))
    dot = [float((rope(_d(q), offset=m).numpy() * rope(_d(k), offset=m - 3).numpy()).sum()) for m in (3, 9, 20)]
    assert np.allclose(dot, dot[0], rtol=1e-12)


def test_rotary_gradcheck_and_ops_autograd():
    rng = _rng(16)
    cos, sin = ref_rope.rope_tables(4, 6)
    x = dlcore.tensor(rng.standard_normal((2, 4, 8)), requires_grad=True)
    assert dlcore.autograd.gradcheck(lambda t: ops.rotary_embedding(t, cos, sin), (x,))
    y = ops.rotary_embedding(x, cos, sin)  # a Tensor that requires grad: recorded through GRAD_OPS
    g = rng.standard_normal(y.shape)
    y.backward(dlcore.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), ref_rope.rotary_embedding_backward(g, cos, sin), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="^RotaryEmbedding: rotary_dim"):
        nn.RotaryEmbedding(8, rotary_dim=5)


def test_alibi_slopes_are_the_standard_sequence():
    np.testing.assert_allclose(nn.alibi_slopes(8).numpy(), [2.0 ** -(i + 1) for i in range(8)])
    np.testing.assert_allclose(nn.alibi_slopes(4).numpy(), [2.0 ** (-2 * (i + 1)) for i in range(4)])
    # 6 heads: the 4-head slopes, then the odd-indexed ones of the 8-head sequence (2^-0.5, 2^-1.5)
    np.testing.assert_allclose(nn.alibi_slopes(6).numpy(), [2.0 ** -2, 2.0 ** -4, 2.0 ** -6, 2.0 ** -8,
                                                             2.0 ** -1, 2.0 ** -3], rtol=1e-6)
    with pytest.raises(ValueError, match="^alibi_slopes"):
        nn.alibi_slopes(0)


# ---- Embedding against torch ------------------------------------------------------------------------

@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch_with_repeats_and_padding(torch, padding_idx):
    w = _rng(17).standard_normal((6, 5))
    idx = np.array([[2, 0, 2, 5], [5, 5, 1, 2], [3, 0, 0, 0]])
    te = torch.nn.Embedding(6, 5, padding_idx=padding_idx).double()
    with torch.no_grad():
        te.weight.copy_(torch.tensor(w))
    de = nn.Embedding(6, 5, padding_idx=padding_idx).double()
    de.load_state_dict({"weight": w})
    to, do = te(torch.tensor(idx)), de(idx)
    np.testing.assert_array_equal(do.numpy(), to.detach().numpy())
    g = _rng(18).standard_normal(to.shape)
    to.backward(torch.tensor(g))
    do.backward(dlcore.tensor(g))
    np.testing.assert_allclose(de.weight.grad.numpy(), te.weight.grad.numpy(), rtol=1e-14, atol=1e-14)
    fresh = nn.Embedding(6, 5, padding_idx=padding_idx)
    if padding_idx is not None:
        assert not fresh.weight.numpy()[padding_idx].any()  # the padding row starts at zero, as torch's


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_matches_torch(torch, norm_type):
    w = _rng(19).standard_normal((7, 4)) * 2
    idx = np.array([[1, 3, 3], [6, 1, 0]])
    te = torch.nn.Embedding(7, 4, max_norm=1.5, norm_type=norm_type).double()
    with torch.no_grad():
        te.weight.copy_(torch.tensor(w))
    de = nn.Embedding(7, 4, max_norm=1.5, norm_type=norm_type).double()
    de.load_state_dict({"weight": w})
    to, do = te(torch.tensor(idx)), de(idx)
    np.testing.assert_allclose(do.numpy(), to.detach().numpy(), rtol=1e-12)
    # the referenced rows were rescaled in place, the others left alone
    np.testing.assert_allclose(de.weight.numpy(), te.weight.detach().numpy(), rtol=1e-12)
    assert np.array_equal(de.weight.numpy()[[2, 4, 5]], w[[2, 4, 5]]) and not np.allclose(de.weight.numpy(), w)
    g = _rng(20).standard_normal(to.shape)
    to.backward(torch.tensor(g))
    do.backward(dlcore.tensor(g))
    np.testing.assert_allclose(de.weight.grad.numpy(), te.weight.grad.numpy(), rtol=1e-12)
    with pytest.raises(IndexError, match="^embedding"):
        de(np.array([7]))


def test_dtype_arguments():
    """dtype= accepts names, NumPy types and dlcore dtypes, and reaches every parameter and table."""
    assert {str(p.dtype) for p in nn.MultiheadAttention(8, 2, kdim=3, dtype=np.float64).parameters()} == {"float64"}
    assert nn.SinusoidalPositionalEncoding(4, 10, dtype=np.float64).pe.dtype == np.float64
    assert nn.LearnedPositionalEmbedding(5, 4, dtype="float64").weight.dtype == np.float64
    assert nn.RotaryEmbedding(4, dtype=dlcore.float64).cos_cached.dtype == np.float64

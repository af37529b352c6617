"""scaled_dot_product_attention (issue 25): forward and backward against the float64 NumPy
reference (tests/reference/attention.py) over a sampled grid of sizes and options, both
algorithms (flash tiles and the row reference), every ISA, thread counts, fully masked rows,
broadcasting, kernel log and forcing, memory."""
import resource

import numpy as np
import pytest

import dlcore
from dlcore import ops
from dlcore.ops import attention as attn_mod
from tests.conftest import assert_close, run_threads_bitwise, threads_scope
from tests.reference import attention as ref

OP = "scaled_dot_product_attention"
LENGTHS = (1, 3, 17, 64, 65, 129, 257)
DIMS = (1, 8, 40, 64, 72, 128)


def _grid(n, seed=25):
    """n configurations sampled from lengths x dims x causal x mask kind x GQA x dropout x ALiBi."""
    g = np.random.default_rng(seed)
    out = []
    for i in range(n):
        L, S = int(g.choice(LENGTHS)), int(g.choice(LENGTHS))
        if i % 4 == 0:
            S = L  # square too
        E, Ev = int(g.choice(DIMS)), int(g.choice(DIMS))
        mask = ("none", "bool", "float")[i % 3]
        causal = mask == "none" and bool(g.integers(2))
        gqa = bool(g.integers(2))
        dropout = 0.3 if (i % 5 == 2 and L * S <= 65 * 65) else 0.0
        alibi = bool(g.integers(2))
        if L * S * max(E, Ev) > 129 * 257 * 64:  # keep the float64 NumPy reference quick
            E = Ev = 8
        out.append((L, S, E, Ev, causal, mask, gqa, dropout, alibi))
    return out


def _case(L, S, E, Ev, causal, mask, gqa, dropout, alibi, dtype=np.float64, seed=0):
    g = np.random.default_rng(seed + L * 7 + S * 3 + E)
    hq, hk = (4, 2) if gqa else (2, 2)
    q = g.standard_normal((2, hq, L, E)).astype(dtype)
    k = g.standard_normal((2, hk, S, E)).astype(dtype)
    v = g.standard_normal((2, hk, S, Ev)).astype(dtype)
    kw = dict(is_causal=causal, enable_gqa=gqa, dropout_p=dropout, dropout_seed=777)
    if mask == "bool":
        m = g.random((L, S)) < 0.7
        m[:, 0] = True
        kw["attn_mask"] = m
    elif mask == "float":
        kw["attn_mask"] = g.standard_normal((1, 1, L, S)).astype(dtype)
    if alibi:
        kw["alibi_slopes"] = (0.5 ** np.arange(1, hq + 1)).astype(dtype)
    return q, k, v, kw


def _check(q, k, v, kw, algo, scale=1.0):
    out_ref, lse_ref, _ = ref.forward(q, k, v, **kw)
    with dlcore.force_algorithm(OP, algo):
        out, lse = ops.scaled_dot_product_attention(q, k, v, return_logsumexp=True, **kw)
        g = np.random.default_rng(3).standard_normal(out.shape).astype(q.dtype)
        grads = ops.scaled_dot_product_attention_backward(g, q, k, v, out, lse, **kw)
    assert out.dtype == q.dtype and out.shape == out_ref.shape
    assert_close(out, out_ref, scale=scale)
    assert_close(lse, lse_ref, scale=scale)
    for got, want in zip(grads, ref.backward(g, q, k, v, **kw)):
        assert got.shape == want.shape
        assert_close(got, want, scale=scale)


@pytest.mark.parametrize("config", _grid(36), ids=lambda c: "L{}-S{}-E{}-Ev{}-causal{}-{}-gqa{}-p{}-alibi{}".format(*c))
@pytest.mark.parametrize("algo", ["flash", "reference"])
def test_forward_and_backward_match_the_float64_reference(config, algo):
    q, k, v, kw = _case(*config)
    _check(q, k, v, kw, algo, scale=10.0)


@pytest.mark.parametrize("config", _grid(6, seed=7))
def test_float32_matches_the_reference(config):
    q, k, v, kw = _case(*config, dtype=np.float32)
    _check(q, k, v, kw, "flash", scale=20.0)


def test_every_isa_matches_the_reference(isa):
    for config in [(65, 130, 40, 72, True, "none", True, 0.0, True), (17, 64, 8, 8, False, "bool", False, 0.3, False)]:
        for dtype, scale in ((np.float64, 10.0), (np.float32, 20.0)):
            q, k, v, kw = _case(*config, dtype=dtype)
            _check(q, k, v, kw, "flash", scale=scale)


def test_fully_masked_rows_give_zeros_and_zero_gradients():
    q, k, v, kw = _case(17, 9, 8, 8, False, "none", False, 0.0, False)
    m = np.ones((17, 9), bool)
    m[[0, 5, 16]] = False
    out, lse = ops.scaled_dot_product_attention(q, k, v, attn_mask=m, return_logsumexp=True)
    assert np.all(out[:, :, [0, 5, 16]] == 0) and np.all(np.isneginf(lse[:, :, [0, 5, 16]]))
    assert np.all(np.isfinite(out)) and np.any(out[:, :, 1] != 0)
    g = np.ones_like(out)
    gq, gk, gv = ops.scaled_dot_product_attention_backward(g, q, k, v, out, lse, attn_mask=m)
    assert np.all(gq[:, :, [0, 5, 16]] == 0) and np.all(np.isfinite(gk)) and np.all(np.isfinite(gv))
    for got, want in zip((gq, gk, gv), ref.backward(g, q, k, v, attn_mask=m)):
        assert_close(got, want, scale=10)
    with dlcore.force_algorithm(OP, "reference"):
        assert np.array_equal(ops.scaled_dot_product_attention(q, k, v, attn_mask=m)[:, :, 0], np.zeros((2, 2, 8)))


def test_float_mask_of_minus_inf_rows_and_empty_keys():
    q, k, v, _ = _case(5, 4, 3, 2, False, "none", False, 0.0, False)
    m = np.zeros((5, 4))
    m[2] = -np.inf
    out = ops.scaled_dot_product_attention(q, k, v, attn_mask=m)
    assert np.all(out[:, :, 2] == 0) and np.all(np.isfinite(out))
    out0, lse0 = ops.scaled_dot_product_attention(q, k[:, :, :0], v[:, :, :0], return_logsumexp=True)
    assert out0.shape == (2, 2, 5, 2) and np.all(out0 == 0) and np.all(np.isneginf(lse0))


def test_broadcast_batch_dims_heads_and_masks():
    g = np.random.default_rng(1)
    q = g.standard_normal((3, 2, 4, 6, 5))
    k = g.standard_normal((4, 7, 5))          # no batch dims: broadcast over (3, 2)
    v = g.standard_normal((2, 1, 7, 3))       # broadcast over the first batch dim and the heads
    mask = g.random((2, 1, 6, 7)) < 0.8
    mask[..., 0] = True
    kw = dict(attn_mask=mask)
    out, lse = ops.scaled_dot_product_attention(q, k, v, return_logsumexp=True, **kw)
    v_full = np.broadcast_to(v, (3, 2, 4, 7, 3))
    want = ref.sdpa(q, k, v_full, **kw)
    assert out.shape == (3, 2, 4, 6, 3)
    assert_close(out, want, scale=10)
    gout = g.standard_normal(out.shape)
    gq, gk, gv = ops.scaled_dot_product_attention_backward(gout, q, k, v, out, lse, **kw)
    rq, rk, rv = ref.backward(gout, q, k, v_full, **kw)
    assert gq.shape == q.shape and gk.shape == k.shape and gv.shape == v.shape
    assert_close(gq, rq, scale=10)
    assert_close(gk, rk, scale=10)
    assert_close(gv, ref._sum_to(rv, v.shape), scale=10)


def test_2d_operands_and_single_kv_head_without_gqa():
    g = np.random.default_rng(2)
    q, k, v = g.standard_normal((6, 4)), g.standard_normal((9, 4)), g.standard_normal((9, 2))
    assert_close(ops.scaled_dot_product_attention(q, k, v, is_causal=True), ref.sdpa(q, k, v, is_causal=True))
    q4 = g.standard_normal((2, 4, 6, 4))
    k1, v1 = g.standard_normal((2, 1, 9, 4)), g.standard_normal((2, 1, 9, 2))  # one head broadcast to four
    out = ops.scaled_dot_product_attention(q4, k1, v1)
    assert_close(out, ref.sdpa(q4, k1, v1), scale=10)
    q1, k3, v3 = g.standard_normal((2, 1, 6, 4)), g.standard_normal((2, 3, 9, 4)), g.standard_normal((2, 3, 9, 2))
    out, lse = ops.scaled_dot_product_attention(q1, k3, v3, return_logsumexp=True)  # one query head, broadcast
    assert out.shape == (2, 3, 6, 2)
    assert_close(out, ref.sdpa(q1, k3, v3), scale=10)
    gout = g.standard_normal(out.shape)
    grads = ops.scaled_dot_product_attention_backward(gout, q1, k3, v3, out, lse)
    for got, want in zip(grads, ref.backward(gout, np.broadcast_to(q1, (2, 3, 6, 4)), k3, v3)):
        assert_close(got, ref._sum_to(want, got.shape) if got.shape != want.shape else want, scale=10)
    assert grads[0].shape == q1.shape


def test_layouts_non_contiguous_inputs():
    q, k, v, kw = _case(33, 20, 8, 8, True, "none", True, 0.0, False)
    want = ops.scaled_dot_product_attention(q, k, v, **kw)
    qt = np.swapaxes(np.ascontiguousarray(np.swapaxes(q, -1, -2)), -1, -2)
    ks = np.zeros((2, 2, 40, 16))
    ks[:, :, ::2, ::2] = k
    got = ops.scaled_dot_product_attention(qt, ks[:, :, ::2, ::2], v[..., ::-1].copy()[..., ::-1], **kw)
    assert np.array_equal(got, want)


def test_thread_counts_give_identical_bits():
    for dtype in (np.float32, np.float64):
        q, k, v, kw = _case(130, 200, 40, 24, True, "none", True, 0.2, True, dtype=dtype)

        def fwd_bwd():
            out, lse = ops.scaled_dot_product_attention(q, k, v, return_logsumexp=True, **kw)
            return (out, lse) + tuple(ops.scaled_dot_product_attention_backward(np.ones_like(out), q, k, v, out, lse,
                                                                                **kw))
        run_threads_bitwise(fwd_bwd)


def test_kernel_log_records_the_algorithm_and_forcing_works():
    q, k, v, _ = _case(9, 9, 4, 4, False, "none", False, 0.0, False)
    with dlcore.kernel_log() as log:
        out, lse = ops.scaled_dot_product_attention(q, k, v, return_logsumexp=True)
        ops.scaled_dot_product_attention_backward(out, q, k, v, out, lse)
        with dlcore.force_algorithm(OP, "reference"):
            ops.scaled_dot_product_attention(q, k, v)
    assert log.algorithms(OP) == ["flash", "reference"]
    assert log.algorithms(OP + "_backward") == ["flash"]
    with dlcore.force_algorithm(OP, "winograd"):
        with pytest.raises(ValueError, match=f"^{OP}: algorithm 'winograd' does not apply"):
            ops.scaled_dot_product_attention(q, k, v)


def test_workspace_does_not_grow_with_length_and_16k_runs():
    """(1, 1, 16384, 64) forward and backward: scratch is a few tiles per thread (the same as at
    L = 1024), and the process's peak memory grows far less than one 16384^2 score matrix (1 GiB)."""
    g = np.random.default_rng(0)
    sizes = {}
    for L in (1024, 16384):
        q, k, v = (g.standard_normal((1, 1, L, 64)).astype(np.float32) for _ in range(3))
        peak0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        with threads_scope(2):
            out, lse = ops.scaled_dot_product_attention(q, k, v, is_causal=True, return_logsumexp=True)
            fwd = attn_mod.last_workspace_bytes()
            gq, gk, gv = ops.scaled_dot_product_attention_backward(out, q, k, v, out, lse, is_causal=True)
            bwd = attn_mod.last_workspace_bytes()
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak0
        sizes[L] = (fwd, bwd)
        assert 0 < fwd <= 1 << 20 and 0 < bwd <= 2 << 20, (fwd, bwd)
        assert grown < 256 << 20, grown
        assert np.all(np.isfinite(out)) and np.all(np.isfinite(gk))
    assert sizes[1024] == sizes[16384]
    # spot check the long rows against the reference on a few query rows
    rows = [0, 8191, 16383]
    s = q[0, 0, rows] @ k[0, 0].T.astype(np.float64) / 8.0
    s = np.where(np.arange(16384)[None, :] <= np.array(rows)[:, None], s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    want = (p / p.sum(-1, keepdims=True)) @ v[0, 0]
    assert_close(out[0, 0, rows], want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bad, exc, text", [
    (dict(k=np.zeros((1, 2, 5, 3))), ValueError, "head dim"),
    (dict(q=np.zeros((1, 3, 4, 4)), enable_gqa=True), ValueError, "multiple"),
    (dict(q=np.zeros((1, 4, 4, 4))), ValueError, "enable_gqa"),
    (dict(attn_mask=np.zeros((4, 6), bool)), ValueError, "broadcastable"),
    (dict(attn_mask=np.zeros((4, 5), np.int32)), TypeError, "attn_mask"),
    (dict(attn_mask=np.zeros((4, 5), np.float32)), TypeError, "attn_mask"),
    (dict(attn_mask=np.ones((4, 5), bool), is_causal=True), ValueError, "not both"),
    (dict(dropout_p=1.0), ValueError, "dropout_p"),
    (dict(dropout_p=-0.5), ValueError, "dropout_p"),
    (dict(v=np.zeros((1, 2, 6, 3))), ValueError, "length"),
])
def test_bad_inputs_raise_errors_naming_the_op(bad, exc, text):
    args = dict(q=np.zeros((1, 2, 4, 4)), k=np.zeros((1, 2, 5, 4)), v=np.zeros((1, 2, 5, 3)))
    for name in ("q", "k", "v"):
        if name in bad:
            args[name] = bad.pop(name)
    with pytest.raises(exc, match=f"^{OP}: .*{text}"):
        ops.scaled_dot_product_attention(args["q"], args["k"], args["v"], **bad)


def test_backward_errors_name_the_backward_op():
    q, k, v = np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 5, 4)), np.zeros((1, 2, 5, 3))
    out, lse = ops.scaled_dot_product_attention(q, k, v, return_logsumexp=True)
    name = OP + "_backward"
    with pytest.raises(ValueError, match=f"^{name}: expected grad_out of shape"):
        ops.scaled_dot_product_attention_backward(out[..., :2], q, k, v, out, lse)
    with pytest.raises(ValueError, match=f"^{name}: expected logsumexp of shape"):
        ops.scaled_dot_product_attention_backward(out, q, k, v, out, lse[..., :2])
    with pytest.raises(ValueError, match=f"^{name}: dropout_p > 0 needs"):
        ops.scaled_dot_product_attention_backward(out, q, k, v, out, lse, dropout_p=0.1)


@pytest.mark.parametrize("config", [
    dict(L=65, S=129, E=64, Ev=64, causal=True),
    dict(L=130, S=70, E=128, Ev=40, mask=True, alibi=True),
    dict(L=17, S=64, E=64, Ev=8, dropout=0.25, gqa=True),
])
def test_backward_with_many_heads_matches_the_reference(config, isa):
    """B * Hk >= 8 and E a multiple of the vector chunk: the backward's one-pass scheme (a task
    per key/value head accumulating dQ in place) rather than the two-pass one."""
    c = dict(dict(mask=False, alibi=False, dropout=0.0, gqa=False, causal=False), **config)
    g = np.random.default_rng(11)
    hq, hk = (8, 4) if c["gqa"] else (4, 4)
    q = g.standard_normal((2, hq, c["L"], c["E"]))
    k = g.standard_normal((2, hk, c["S"], c["E"]))
    v = g.standard_normal((2, hk, c["S"], c["Ev"]))
    kw = dict(is_causal=c["causal"], enable_gqa=c["gqa"], dropout_p=c["dropout"], dropout_seed=5)
    if c["mask"]:
        kw["attn_mask"] = g.standard_normal((hq, c["L"], c["S"]))
    if c["alibi"]:
        kw["alibi_slopes"] = 0.5 ** np.arange(1, hq + 1)
    for dtype, scale in ((np.float64, 10.0), (np.float32, 20.0)):
        _check(q.astype(dtype), k.astype(dtype), v.astype(dtype),
               {n: (x.astype(dtype) if isinstance(x, np.ndarray) else x) for n, x in kw.items()}, "flash", scale)
    q32, k32, v32 = (x.astype(np.float32) for x in (q, k, v))
    kw0 = dict(is_causal=c["causal"], enable_gqa=c["gqa"])
    out, lse = ops.scaled_dot_product_attention(q32, k32, v32, return_logsumexp=True, **kw0)
    run_threads_bitwise(lambda: ops.scaled_dot_product_attention_backward(out, q32, k32, v32, out, lse, **kw0))

"""Tensor semantics a PyTorch user relies on without thinking: in-place operators, view,
autograd through dlcore.ops, creation functions, NumPy/buffer interop, repr, pickling."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import nn


def _np(t):
    return np.asarray(t.detach().numpy())


# ---- in-place operators -------------------------------------------------------------------------
@pytest.mark.parametrize("op, expect", [
    ("+=", lambda a, b: a + b), ("-=", lambda a, b: a - b), ("*=", lambda a, b: a * b),
    ("/=", lambda a, b: a / b), ("**=", lambda a, b: a ** b), ("@=", lambda a, b: a @ b),
])
def test_augmented_assignment_is_in_place(op, expect):
    a = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    b = np.full((3, 3), 2.0, np.float32)
    x = dlcore.tensor(a)
    alias = x
    view = x[1]
    ns = {"x": x, "y": dlcore.tensor(b)}
    exec(f"x {op} y", ns)
    assert ns["x"] is alias
    np.testing.assert_allclose(alias.numpy(), expect(a, b), rtol=1e-6)
    np.testing.assert_allclose(view.numpy(), expect(a, b)[1], rtol=1e-6)
    assert alias._version[0] == 1 and view._version[0] == 1  # views share the version counter


def test_inplace_scalar_and_broadcast_operand():
    x = dlcore.zeros(2, 3)
    y = x
    x += 1
    x *= dlcore.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(y.numpy(), [[1, 2, 3], [1, 2, 3]])
    x[0] += 1  # __getitem__, in-place on the view, then __setitem__ of the same memory
    x[:, 1] *= 5
    np.testing.assert_array_equal(y.numpy(), [[2, 15, 4], [1, 10, 3]])
    with pytest.raises(RuntimeError, match=r"^__iadd__: output with shape \(3,\)"):
        z = dlcore.zeros(3)
        z += dlcore.ones(2, 3)


def test_inplace_dtype_must_be_castable():
    i = dlcore.arange(3)
    with pytest.raises(RuntimeError, match="^__iadd__: result type float32 can't be cast .* int64"):
        i += 1.5
    with pytest.raises(RuntimeError, match="^__itruediv__: result type"):
        i /= 2
    i += 2
    np.testing.assert_array_equal(i.numpy(), [2, 3, 4])
    f = dlcore.zeros(2)
    f += dlcore.tensor([1.0, 2.0], dtype=dlcore.float64)  # float64 result casts back to float32
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.numpy(), [1, 2])


def test_sgd_step_by_hand_updates_parameters():
    lin = nn.Linear(3, 2)
    before = _np(lin.weight).copy()
    opt_state = lin.weight  # the object an optimizer holds
    x = dlcore.randn(4, 3)
    lin(x).sum().backward()
    with dlcore.no_grad():
        for p in lin.parameters():
            p -= 0.1 * p.grad
    assert isinstance(lin.weight, nn.Parameter) and lin.weight is opt_state and lin.weight.is_leaf
    np.testing.assert_allclose(_np(lin.weight), before - 0.1 * _np(lin.weight.grad), rtol=1e-6)
    # An optimizer still works on the updated parameters.
    opt = dlcore.optim.SGD(lin.parameters(), lr=0.1)
    opt.zero_grad()
    lin(x).sum().backward()
    opt.step()


def test_inplace_on_leaf_that_requires_grad_raises_outside_no_grad():
    w = dlcore.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="^__isub__: a leaf tensor that requires grad"):
        w -= 1
    with pytest.raises(RuntimeError, match="^add_: a leaf tensor"):
        w.add_(1)


def test_inplace_on_saved_tensor_breaks_later_backward():
    a = dlcore.randn(3, requires_grad=True)
    b = a * 1
    c = (b * b).sum()  # saves b
    b += 1
    with pytest.raises(RuntimeError, match="^backward: one of the variables needed .* modified by an inplace"):
        c.backward()


def test_inplace_on_non_leaf_is_recorded():
    a = dlcore.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = a * 2
    h += a          # h = 3a
    h *= h          # h = 9a^2: Mul saves its input, so the old contents are kept aside
    assert h.grad_fn is not None and "MulBackward" in repr(h.grad_fn)
    h.sum().backward()
    np.testing.assert_allclose(_np(a.grad), 18 * _np(a), rtol=1e-6)
    # An operand that requires grad makes a plain tensor part of the graph, as in torch.
    buf = dlcore.zeros(3)
    buf += a
    assert buf.requires_grad and not buf.is_leaf
    # A detached tensor or an expanded view cannot be replayed on a base: it raises.
    with pytest.raises(RuntimeError, match="^__imul__: in-place operation on a detached tensor"):
        d = (a * 1).detach()
        d *= a
    with pytest.raises(RuntimeError, match="^mul_: in-place operation on a detached tensor .*expanded view"):
        (a * 1).expand(2, 3).mul_(2.0)


@pytest.mark.parametrize("update", [
    lambda h, b: h[1].mul_(b), lambda h, b: h[:, 1].add_(b[:2]), lambda h, b: h.t()[0].mul_(b[:2]),
    lambda h, b: h.view(3, 2)[1:].mul_(b[1]), lambda h, b: h[0].fill_(7.0), lambda h, b: h[0].copy_(b),
    lambda h, b: h[1].__iadd__(b), lambda h, b: h.__setitem__((1, slice(1, None)), b[:2] * 3),
    lambda h, b: h.__setitem__(0, 5.0),
])
def test_inplace_on_views_in_the_graph_matches_torch(update):
    torch = pytest.importorskip("torch")
    got = []
    for lib in (dlcore, torch):
        a = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        b = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        h = a * 2
        update(h, b)
        (h * h * lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
        got.append([None if x is None else np.asarray(x.detach().numpy()) for x in (h, a.grad, b.grad)])
    for ours, theirs in zip(*got):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_inplace_into_a_plain_tensor_from_the_graph():
    a = dlcore.tensor([1.0, 2.0, 3.0], requires_grad=True)
    buf = dlcore.zeros(2, 3)
    buf[0] += a * 2                 # in-place on a view, then __setitem__: buf joins the graph
    buf[1, 1:] = a[:2] * 3
    assert buf.requires_grad and not buf.is_leaf
    (buf * buf).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [8 + 18, 16 + 36, 24])  # d(4a^2 + 9a^2)/da, as torch gives
    w = dlcore.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="^mul_: a leaf tensor that requires grad"):
        w[0:2].mul_(2)  # a view of a leaf that requires grad, as in torch
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad"):
        w[0] = 2.0


@pytest.mark.parametrize("update", [
    lambda h, b: h.zero_(), lambda h, b: h.fill_(3.0), lambda h, b: h.copy_(b),
    lambda h, b: h.masked_fill_(b > 0, 1.0), lambda h, b: h.add_(b, alpha=2.0), lambda h, b: h.mul_(b),
])
def test_inplace_fills_and_copies_are_recorded_like_torch(update):
    torch = pytest.importorskip("torch")
    got = []
    for lib in (dlcore, torch):
        a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = lib.tensor([-1.0, 2.0, 0.5], requires_grad=True)
        h = a * 2
        assert update(h, b) is h
        (h * h + a).sum().backward()
        got.append([np.asarray(x.detach().numpy()) if x is not None else None for x in (h, a.grad, b.grad)])
    for ours, theirs in zip(*got):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    w = dlcore.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="^fill_: a leaf tensor that requires grad"):
        w.fill_(0.0)
    with dlcore.no_grad():
        w.zero_()
    assert (w.detach().numpy() == 0).all() and w.is_leaf


def test_inplace_dunders_are_generic():
    # Every augmented operator is defined; those whose binary operator does not exist (yet) give
    # Python's TypeError rather than a silent out-of-place result.
    for name in ("iadd", "isub", "imul", "itruediv", "imatmul", "ipow", "ifloordiv", "imod", "iand", "ior", "ixor"):
        assert hasattr(dlcore.Tensor, f"__{name}__")
    x = dlcore.arange(6)
    if hasattr(dlcore.Tensor, "__floordiv__"):
        y = x
        x //= 2
        np.testing.assert_array_equal(y.numpy(), [0, 0, 1, 1, 2, 2])
    else:
        with pytest.raises(TypeError):
            x //= 2


# ---- view -----------------------------------------------------------------------------------------
def test_view_never_copies():
    t = dlcore.randn(4, 6).t()
    with pytest.raises(RuntimeError, match=r"^view: .*Use \.reshape\(\.\.\.\) instead"):
        t.view(24)
    with pytest.raises(ValueError, match="^view: .*use reshape"):
        dlcore.ops.view(t, (24,))
    v = t.view(3, 2, 4)
    v[0, 0, 0] = 100.0
    assert t[0, 0].item() == 100.0  # a real view
    r = t.reshape(24)  # reshape still copies when it must
    assert r.shape == (24,)
    g = dlcore.randn(2, 3, requires_grad=True)
    g.view(6).sum().backward()
    np.testing.assert_array_equal(_np(g.grad), np.ones((2, 3)))


# ---- creation -------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: dlcore.rand(2, 3, requires_grad=True), lambda: dlcore.randn(2, 3, requires_grad=True),
    lambda: dlcore.randint(0, 5, (2, 3), dtype=dlcore.float32, requires_grad=True),
    lambda: dlcore.rand_like(dlcore.zeros(2), requires_grad=True),
    lambda: dlcore.randn_like(dlcore.zeros(2), requires_grad=True),
    lambda: dlcore.zeros_like(dlcore.zeros(2), requires_grad=True),
    lambda: dlcore.ones_like(dlcore.zeros(2), requires_grad=True),
    lambda: dlcore.full_like(dlcore.zeros(2), 3.0, requires_grad=True),
    lambda: dlcore.empty_like(dlcore.zeros(2), requires_grad=True),
    lambda: dlcore.linspace(0, 1, 5, requires_grad=True), lambda: dlcore.eye(3, requires_grad=True),
])
def test_factories_take_requires_grad(make):
    # (zeros, ones, full, empty, arange and tensor took requires_grad already.)
    t = make()
    assert t.requires_grad and t.is_leaf
    (t * 2).sum().backward()
    np.testing.assert_array_equal(_np(t.grad), np.full(t.shape, 2.0))


def test_integer_factories_cannot_require_grad():
    with pytest.raises(RuntimeError, match="^requires_grad: only floating point"):
        dlcore.randint(0, 5, (3,), requires_grad=True)
    with pytest.raises(RuntimeError, match="^requires_grad: only floating point"):
        dlcore.zeros_like(dlcore.arange(3), requires_grad=True)


def test_like_factories_keep_shape_dtype_and_allow_overrides():
    src = dlcore.arange(6).reshape(2, 3)
    for fn, val in ((dlcore.zeros_like, 0), (dlcore.ones_like, 1)):
        t = fn(src)
        assert t.shape == (2, 3) and t.dtype == np.int64 and (t.numpy() == val).all()
    t = dlcore.full_like(src, 2.7)
    assert t.dtype == np.int64 and (t.numpy() == 2).all()  # torch casts the fill value to the dtype
    t = dlcore.full_like(src, 2.5, dtype=dlcore.float64)
    assert t.dtype == np.float64 and (t.numpy() == 2.5).all()
    e = dlcore.empty_like(src, dtype=dlcore.float32)
    assert e.shape == (2, 3) and e.dtype == np.float32
    with pytest.raises(TypeError, match="^zeros_like: expected a dlcore.Tensor"):
        dlcore.zeros_like(np.zeros(3))


def test_linspace_and_eye_match_torch():
    torch = pytest.importorskip("torch")
    for start, end, steps in ((0, 1, 5), (-3.3, 7.1, 11), (0, 1, 1), (0, 1, 0), (2, -1, 8), (-1e3, 3.3, 1001)):
        for dt in ("float32", "float64"):
            got = dlcore.linspace(start, end, steps, dtype=dt)
            want = torch.linspace(start, end, steps, dtype=getattr(torch, dt)).numpy()
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-7 * max(abs(start), abs(end)))
            if steps:
                assert got[0].item() == want[0] and got[-1].item() == want[-1]  # both ends exact
    np.testing.assert_array_equal(dlcore.linspace(0, 10, 5, dtype=dlcore.int64).numpy(),
                                  torch.linspace(0, 10, 5, dtype=torch.int64).numpy())
    assert dlcore.linspace(0, 1, 3).dtype == np.float32
    for args in ((3,), (2, 4), (4, 2), (0,)):
        np.testing.assert_array_equal(dlcore.eye(*args).numpy(), torch.eye(*args).numpy())
    assert dlcore.eye(2, dtype=dlcore.int64).dtype == np.int64
    with pytest.raises(ValueError, match="^linspace: number of steps must be non-negative"):
        dlcore.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="^linspace: steps must be an int"):
        dlcore.linspace(0, 1, 2.0)
    with pytest.raises(ValueError, match="^eye: n must be greater or equal to 0"):
        dlcore.eye(-1)
    with pytest.raises(TypeError, match="^eye: m must be an int"):
        dlcore.eye(2, 1.5)


# ---- repr, format and Python number protocols ------------------------------------------------------
def test_repr_like_torch():
    torch = pytest.importorskip("torch")
    cases = [
        (dlcore.tensor([[1.0, 2.0], [3.0, 4.0]]) * 1.5, torch.tensor([[1.0, 2.0], [3.0, 4.0]]) * 1.5),
        (dlcore.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])),
        (dlcore.tensor([1e-5, 1e5]), torch.tensor([1e-5, 1e5])),
        (dlcore.arange(3), torch.arange(3)),
        (dlcore.tensor([True, False]), torch.tensor([True, False])),
        (dlcore.tensor(3.0), torch.tensor(3.0)),
        (dlcore.zeros(0, 3), torch.zeros(0, 3)),
        (dlcore.zeros(0), torch.zeros(0)),
        (dlcore.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)),
    ]
    for ours, theirs in cases:
        assert repr(ours) == repr(theirs)
    w = dlcore.tensor([1.0, 2.0], requires_grad=True)
    assert repr(w * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(dlcore.zeros(0, 3, dtype=dlcore.float64)) == "tensor([], size=(0, 3), dtype=dlcore.float64)"
    assert repr(dlcore.tensor([1.0], dtype=dlcore.float64)) == "tensor([1.], dtype=dlcore.float64)"


def test_format_index_int_float_bool():
    loss = (dlcore.tensor([1.5, 2.0], requires_grad=True) ** 2).sum()
    assert f"{loss:.4f}" == "6.2500" and f"{dlcore.tensor([3]):>3d}" == "  3"
    assert f"{dlcore.ones(2)}" == repr(dlcore.ones(2))
    with pytest.raises(TypeError, match="^__format__: unsupported format string"):
        f"{dlcore.ones(2):.2f}"
    assert list(range(dlcore.tensor(3))) == [0, 1, 2]
    assert ["a", "b", "c"][dlcore.tensor(2)] == "c" and ["a", "b"][dlcore.tensor([1])] == "b"
    for bad in (dlcore.tensor(2.0), dlcore.tensor([1, 2])):
        with pytest.raises(TypeError, match="^__index__: only integer tensors of a single element"):
            range(bad)
    assert int(dlcore.tensor([2.7])) == 2 and float(dlcore.tensor(3)) == 3.0
    for fn, name in ((int, "__int__"), (float, "__float__")):
        with pytest.raises(RuntimeError, match=f"^{name}: a Tensor with 2 elements cannot be converted"):
            fn(dlcore.ones(2))
    with pytest.raises(RuntimeError, match="^bool: the truth value of a tensor with 0 elements"):
        bool(dlcore.zeros(0))
    assert bool(dlcore.tensor([1])) and not bool(dlcore.tensor(0.0))


# ---- pickle and deepcopy ----------------------------------------------------------------------------
def test_pickle_and_deepcopy_keep_values_dtype_and_requires_grad():
    import copy
    import pickle

    for t in (dlcore.tensor([1.5, -2.0], requires_grad=True), dlcore.arange(6).reshape(2, 3).t(),
              dlcore.tensor(True), dlcore.zeros(0, 2, dtype=dlcore.float64)):
        for c in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t)):
            assert type(c) is dlcore.Tensor and c.dtype == t.dtype and c.shape == t.shape
            assert c.requires_grad == t.requires_grad and c.is_leaf
            np.testing.assert_array_equal(c.detach().numpy(), t.detach().numpy())
            if t.numel():
                assert not np.shares_memory(c.detach().numpy(), t.detach().numpy())
    w = dlcore.ones(2, requires_grad=True)
    (w * 3).sum().backward()
    c = copy.deepcopy(w)
    np.testing.assert_array_equal(c.grad.numpy(), [3, 3])  # torch copies .grad too
    with pytest.raises(RuntimeError, match="^deepcopy: only tensors created explicitly by the user"):
        copy.deepcopy(w * 2)


def test_deepcopy_of_state_dict_and_parameters():
    import copy

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    sd = copy.deepcopy(model.state_dict())
    assert list(sd) == list(model.state_dict())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(sd[k].numpy(), v.detach().numpy())
    with dlcore.no_grad():
        for p in model.parameters():
            p += 1  # the copy must not change with the model
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(sd[k].numpy() + 1, v.detach().numpy())
    m2 = copy.deepcopy(model)
    p = next(iter(m2.parameters()))
    assert isinstance(p, nn.Parameter) and p.requires_grad
    m2.load_state_dict(sd)


# ---- NumPy / buffer interop -----------------------------------------------------------------------
def test_memoryview_and_frombuffer_share_memory():
    import sys

    t = dlcore.arange(6.0).reshape(2, 3)
    m = memoryview(t)
    assert m.shape == (2, 3) and m.strides == (12, 4) and m.format == "f" and not m.readonly
    a = np.frombuffer(t, dtype=np.float32)
    a[0] = 42.0
    m[1, 2] = -1.0
    assert t[0, 0].item() == 42.0 and t[1, 2].item() == -1.0
    del t
    assert a[0] == 42.0  # the buffer keeps the memory alive
    # Strided tensors export their strides; a contiguous-only consumer gets BufferError.
    s = dlcore.arange(12).reshape(3, 4).t()[1:]
    ms = memoryview(s)
    assert ms.shape == (3, 3) and ms.strides == (8, 32) and ms.tolist() == s.tolist()
    with pytest.raises(BufferError):
        np.frombuffer(s, dtype=np.int64)
    ro = np.ones(3, np.float32)
    ro.flags.writeable = False
    assert memoryview(dlcore.from_numpy(ro)).readonly
    p = nn.Parameter(dlcore.ones(2))
    assert bytes(memoryview(p)) == np.ones(2, np.float32).tobytes()
    if sys.version_info >= (3, 12):
        assert hasattr(dlcore.Tensor, "__buffer__")


def test_array_protocols_do_not_copy():
    t = dlcore.arange(6.0).reshape(2, 3)
    for a in (np.asarray(t), np.array(t, copy=False), t.__array__(), np.asarray(t.t())):
        assert np.shares_memory(a, t.numpy())
    c = np.array(t)  # copy=True by default
    assert not np.shares_memory(c, t.numpy()) and (c == t.numpy()).all()
    d = np.asarray(t, dtype=np.float64)
    assert d.dtype == np.float64 and not np.shares_memory(d, t.numpy())
    with pytest.raises(ValueError, match="^__array__: a dtype change needs a copy"):
        t.__array__(dtype=np.float64, copy=False)
    iface = t.__array_interface__
    assert iface["shape"] == (2, 3) and iface["typestr"] == "<f4" and iface["data"][0] == t._impl.data_ptr
    v = np.asarray(type("Holder", (), {"__array_interface__": iface})())
    v[0, 1] = 7.0
    assert t[0, 1].item() == 7.0


# ---- autograd through dlcore.ops ------------------------------------------------------------------
def _grads(fn, *arrays):
    ts = [dlcore.tensor(a, dtype=dlcore.float64, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out = out[0] if isinstance(out, tuple) else out
    (out * dlcore.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape))).sum().backward()
    return [None if t.grad is None else t.grad.numpy() for t in ts], out


@pytest.mark.parametrize("op_fn, method_fn", [
    (lambda a, b: dlcore.ops.mul(dlcore.ops.add(a, b), dlcore.ops.exp(b)), lambda a, b: (a + b) * b.exp()),
    (lambda a, b: dlcore.ops.div(dlcore.ops.pow(a, 2.0), dlcore.ops.sigmoid(b)), lambda a, b: a ** 2.0 / b.sigmoid()),
    (lambda a, b: dlcore.ops.matmul(a, dlcore.ops.transpose(b, 0, 1)), lambda a, b: a @ b.t()),
    (lambda a, b: dlcore.ops.linear(a, b), lambda a, b: dlcore.nn.functional.linear(a, b)),
    (lambda a, b: dlcore.ops.sum(dlcore.ops.tanh(a), axis=1, keepdims=True), lambda a, b: a.tanh().sum(1, keepdim=True)),
    (lambda a, b: dlcore.ops.var(a, axis=0), lambda a, b: a.var(0)),
    (lambda a, b: dlcore.ops.max(a, axis=1), lambda a, b: a.max(1).values),
    (lambda a, b: dlcore.ops.softmax(a, axis=-1), lambda a, b: a.softmax(-1)),
    (lambda a, b: dlcore.ops.log_softmax(dlcore.ops.reshape(a, (-1,)), 0), lambda a, b: a.reshape(-1).log_softmax(0)),
    (lambda a, b: dlcore.ops.cat([a, b], 0), lambda a, b: dlcore.cat([a, b], 0)),
    (lambda a, b: dlcore.ops.stack([a, b], axis=1), lambda a, b: dlcore.stack([a, b], 1)),
    (lambda a, b: dlcore.ops.index(a, (slice(None), 1)), lambda a, b: a[:, 1]),
    (lambda a, b: dlcore.ops.split(a, 1, axis=1)[2], lambda a, b: a[:, 2:3]),
    (lambda a, b: dlcore.ops.tensor_split(a, 2, axis=1)[0], lambda a, b: a[:, :2]),
    (lambda a, b: dlcore.ops.flatten(dlcore.ops.unsqueeze(a, 0)), lambda a, b: a.reshape(-1)),
    (lambda a, b: dlcore.ops.gelu(a, "tanh"), lambda a, b: a.gelu("tanh")),
    (lambda a, b: dlcore.ops.where(dlcore.ops.gt(a, 0.0), a, b), lambda a, b: dlcore.where(a > 0, a, b)),
    (lambda a, b: dlcore.ops.cross_entropy(a, dlcore.tensor([0, 2])),
     lambda a, b: dlcore.nn.functional.cross_entropy(a, dlcore.tensor([0, 2]))),
])
def test_ops_record_autograd_like_tensor_methods(op_fn, method_fn):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    g_op, out = _grads(op_fn, a, b)
    g_m, ref = _grads(method_fn, a, b)
    assert out.requires_grad and out.grad_fn is not None
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    assert g_op[0] is not None
    for x, y in zip(g_op, g_m):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)


def test_ops_without_autograd_raise_and_others_run_unchanged():
    w = dlcore.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^pad: dlcore.ops.pad does not record autograd.*nn.functional"):
        dlcore.ops.pad(w, (1, 1))
    with pytest.raises(RuntimeError, match="^maximum: dlcore.ops.maximum does not record autograd"):
        dlcore.ops.maximum(w, 0.0)
    with pytest.raises(RuntimeError, match="^exp_backward: "):
        dlcore.ops.exp_backward(w, w)
    with dlcore.no_grad():
        assert dlcore.ops.pad(w, (1, 1)).shape == (2, 5)
    assert dlcore.ops.pad(w.detach(), (1, 1)).shape == (2, 5)
    # Non-differentiable results (as in torch): comparisons, argmax.
    assert dlcore.ops.gt(w, 0.0).dtype == np.bool_ and dlcore.ops.argmax(w).dtype == np.int64
    # Plain NumPy and tensors that need no grad take the kernel itself.
    out = dlcore.ops.add(np.ones(2), np.ones(2))
    assert type(out) is np.ndarray and (out == 2).all()
    y = dlcore.ops.mul(dlcore.ones(2), 3.0)
    assert type(y) is dlcore.Tensor and not y.requires_grad
    assert "a * b" in dlcore.ops.mul.__doc__ and dlcore.ops.mul.__name__ == "mul"


# ---- losses whose operands broadcast --------------------------------------------------------------
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_regression_losses_warn_on_size_mismatch_like_torch(name):
    import warnings

    x, y = dlcore.randn(4, 1), dlcore.randn(4)
    with pytest.warns(UserWarning, match=r"^Using a target size \(\(4,\)\) that is different to the input size "
                                         r"\(\(4, 1\)\)\. This will likely lead to incorrect results due to "
                                         r"broadcasting\. Please ensure they have the same size\.$") as rec:
        getattr(dlcore.nn.functional, name)(x, y)
    assert rec[0].filename == __file__  # points at the caller, as torch's does
    module = {"mse_loss": nn.MSELoss, "l1_loss": nn.L1Loss}[name]()
    with pytest.warns(UserWarning, match="^Using a target size"):
        module(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(dlcore.nn.functional, name)(x, dlcore.randn(4, 1))

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
    # On a view of something in the graph it raises rather than losing the base's gradient.
    v = (a * 1)[1:]
    with pytest.raises(RuntimeError, match="^__imul__: in-place operation on a view"):
        v *= 2


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

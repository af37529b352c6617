"""Autograd through issue 21's ``dlcore.ops`` (autograd/ops_dispatch.py): given Tensors that
require grad, ``ops.gather``, ``ops.sort``, ``ops.clamp`` ... record the graph and give the same
values and gradients as the Tensor methods; the non-differentiable ones (argsort, all/any,
bitwise, floor_divide, one_hot, multinomial) run and return results that need no grad; the
in-place and backward kernels refuse with a RuntimeError naming the op."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import ops

IDX = dlcore.tensor(np.array([[2, 0, 1], [1, 1, 3]]))
MASK = dlcore.tensor(np.array([[True, False, True, True], [False, True, False, True]]))


def _grads(fn, *arrays):
    ts = [dlcore.tensor(a, dtype=dlcore.float64, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out = out[0] if isinstance(out, (tuple, list)) else out
    (out * dlcore.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(out.shape))).sum().backward()
    return [None if t.grad is None else t.grad.numpy() for t in ts], out


CASES = {
    "clamp": (lambda a, b: ops.clamp(a, -0.5, b), lambda a, b: a.clamp(-0.5, b)),
    "std": (lambda a, b: ops.std(a, axis=1, correction=0), lambda a, b: a.std(1, correction=0)),
    "norm": (lambda a, b: ops.norm(a, 3, 0, True), lambda a, b: a.norm(3, 0, True)),
    "prod": (lambda a, b: ops.prod(a, 1), lambda a, b: a.prod(1)),
    "cumsum": (lambda a, b: ops.cumsum(a, 1), lambda a, b: a.cumsum(1)),
    "sort": (lambda a, b: ops.sort(a, 1, True), lambda a, b: a.sort(1, True).values),
    "topk": (lambda a, b: ops.topk(a, 2, 0, False), lambda a, b: a.topk(2, 0, False).values),
    "gather": (lambda a, b: ops.gather(a, 1, IDX), lambda a, b: a.gather(1, IDX)),
    "scatter": (lambda a, b: ops.scatter(a, 1, IDX[:, :1], b), lambda a, b: a.scatter(1, IDX[:, :1], b)),
    "scatter_add": (lambda a, b: ops.scatter_add(a, 1, IDX, b), lambda a, b: a.scatter_add(1, IDX, b)),
    "masked_select": (lambda a, b: ops.masked_select(a, MASK), lambda a, b: a.masked_select(MASK)),
    "mask_select_rows": (lambda a, b: ops.mask_select_rows(a, MASK[:, 0]), lambda a, b: a[MASK[:, 0]]),
    "repeat": (lambda a, b: ops.repeat(a, (2, 1, 2)), lambda a, b: a.repeat(2, 1, 2)),
    "flip": (lambda a, b: ops.flip(a, (0, 1)), lambda a, b: a.flip(0, 1)),
    "roll": (lambda a, b: ops.roll(a, 1, 1), lambda a, b: a.roll(1, 1)),
    "tril": (lambda a, b: ops.tril(a, 1), lambda a, b: a.tril(1)),
    "triu": (lambda a, b: ops.triu(a, -1), lambda a, b: a.triu(-1)),
    "chunk": (lambda a, b: ops.chunk(a, 2, 1)[1], lambda a, b: a.chunk(2, 1)[1]),
    "remainder": (lambda a, b: ops.remainder(a, b), lambda a, b: a % b),
    "fmod": (lambda a, b: ops.fmod(a, b), lambda a, b: a.fmod(b)),
    "cast": (lambda a, b: ops.mul(ops.cast(a, "float32"), b), lambda a, b: a.to(dlcore.float32) * b),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ops_record_autograd_like_tensor_methods(name):
    op_fn, method_fn = CASES[name]
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 4)), rng.uniform(0.5, 1.5, (2, 4))
    g_op, out = _grads(op_fn, a, b)
    g_m, ref = _grads(method_fn, a, b)
    assert out.requires_grad and out.grad_fn is not None, name
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    assert g_op[0] is not None and np.abs(g_op[0]).sum() > 0
    for x, y in zip(g_op, g_m):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-12)


def test_every_differentiable_issue21_op_is_mapped():
    from dlcore.autograd.ops_dispatch import GRAD_OPS, NON_DIFFERENTIABLE

    for name in CASES:
        assert name in GRAD_OPS, name
    for name in NON_DIFF:
        assert name in NON_DIFFERENTIABLE, name


NON_DIFF = {
    "argsort": lambda w: ops.argsort(w, 1),
    "all": lambda w: ops.all(w, 1),
    "any": lambda w: ops.any(w),
    "floor_divide": lambda w: ops.floor_divide(w, 0.5),
    "multinomial": lambda w: ops.multinomial(w.abs(), 2),  # weights that require grad
}


@pytest.mark.parametrize("name", sorted(NON_DIFF))
def test_non_differentiable_ops_run_on_tensors_that_require_grad(name):
    w = dlcore.randn(3, 4, requires_grad=True)
    out = NON_DIFF[name](w)
    assert isinstance(out, dlcore.Tensor) and not out.requires_grad and out.grad_fn is None


def test_integer_ops_on_tensors_and_refusals():
    i = dlcore.tensor(np.array([[3, 5], [6, 9]], np.int32))
    assert ops.bitwise_and(i, 6).numpy().tolist() == [[2, 4], [6, 0]]
    assert ops.one_hot(dlcore.tensor(np.array([1, 0])), 3).numpy().tolist() == [[0, 1, 0], [1, 0, 0]]
    w = dlcore.randn(2, 3, requires_grad=True)
    assert not ops.cast(w, "int32").requires_grad  # an integer result carries no gradient (torch)
    with pytest.raises(RuntimeError, match="^masked_put_: dlcore.ops.masked_put_ does not record autograd"):
        ops.masked_put_(w, MASK[:, :3], 0.0)
    with pytest.raises(RuntimeError, match="^gather_backward: "):
        ops.gather_backward(w, 1, IDX[:, :3], (2, 4))
    with dlcore.no_grad():
        assert ops.masked_put_(w.detach().clone(), MASK[:, :3], 0.0).shape == (2, 3)

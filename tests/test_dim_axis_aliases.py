"""`dim`/`keepdim` on dlcore.ops reductions and softmax, `axis`/`keepdims` on the Tensor ones."""
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F
from dlcore import ops

A = np.random.default_rng(0).standard_normal((3, 4, 5))


@pytest.mark.parametrize("name", ["sum", "mean", "var", "max", "min", "argmax", "argmin"])
def test_ops_reductions_accept_dim_and_keepdim(name):
    fn = getattr(ops, name)
    np.testing.assert_array_equal(fn(A, dim=1, keepdim=True), fn(A, axis=1, keepdims=True))
    with pytest.raises(TypeError, match=f"^{name}: got both axis= and dim="):
        fn(A, axis=1, dim=1)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_ops_softmax_accepts_dim(name):
    np.testing.assert_array_equal(getattr(ops, name)(A, dim=0), getattr(ops, name)(A, axis=0))


@pytest.mark.parametrize("name", ["sum", "mean", "var", "argmax", "argmin"])
def test_tensor_reductions_accept_axis_and_keepdims(name):
    t = dlcore.from_numpy(A)
    np.testing.assert_array_equal(getattr(t, name)(axis=2, keepdims=True).numpy(),
                                  getattr(t, name)(dim=2, keepdim=True).numpy())
    with pytest.raises(TypeError, match=f"^{name}: got both dim= and axis="):
        getattr(t, name)(dim=1, axis=1)


def test_tensor_max_softmax_functions_and_gradients_with_axis():
    t = dlcore.from_numpy(A.copy())
    t.requires_grad_(True)
    v = t.max(axis=1)
    np.testing.assert_array_equal(v.values.detach().numpy(), A.max(axis=1))
    np.testing.assert_array_equal(t.softmax(axis=0).detach().numpy(), t.softmax(dim=0).detach().numpy())
    np.testing.assert_array_equal(F.log_softmax(t, axis=2).detach().numpy(), F.log_softmax(t, dim=2).detach().numpy())
    np.testing.assert_array_equal(dlcore.sum(t, axis=(0, 2)).detach().numpy(), dlcore.sum(t, dim=(0, 2)).detach().numpy())
    t.sum(axis=1).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.ones_like(A))


def test_aliases_keep_the_docstring_and_say_so():
    assert ops.sum.__doc__.startswith(ops.reduce.sum.__doc__.rstrip()[:40])
    assert "``dim=`` for ``axis``" in ops.sum.__doc__

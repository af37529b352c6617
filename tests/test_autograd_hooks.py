"""Gradient hooks and end-of-backward callbacks, against PyTorch's semantics."""
import numpy as np
import pytest

import dlcore
from dlcore.autograd.hooks import queue_callback

try:
    import torch
except ImportError:
    torch = None


def test_leaf_hook_sees_and_replaces_the_gradient():
    x = dlcore.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    (x * x).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 40.0])
    h.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert len(seen) == 1


def test_nonleaf_hook_changes_what_flows_upstream():
    x = dlcore.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g * 0 + 1)
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])  # d(3x)/dx times the replaced 1


def test_post_accumulate_hook_runs_once_after_every_contribution():
    w = dlcore.tensor([1.0, -1.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.numpy().copy()))
    a = w * 2
    b = w * w
    (a.sum() + b.sum() + (w * 5).sum()).backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], 2 + 2 * w.numpy() + 5)
    (w.sum()).backward()  # accumulates: the hook sees the running total
    np.testing.assert_array_equal(calls[1], 2 + 2 * w.numpy() + 5 + 1)


def test_post_accumulate_hooks_fire_during_backward_in_reverse_layer_order():
    """The last layer's weight is final long before the first's: its hook fires first, and
    before the backward pass ends (the end-of-backward callback runs after every hook)."""
    dlcore.manual_seed(0)
    layers = [dlcore.nn.Linear(4, 4) for _ in range(3)]
    order = []
    for i, l in enumerate(layers):
        l.weight.register_post_accumulate_grad_hook(lambda p, i=i: order.append(i))
    x = dlcore.randn(2, 4)
    for l in layers:
        x = l(x).relu()

    def first_hook_queues():
        order.append("end")
    queue_callback(first_hook_queues)
    x.sum().backward()
    assert order == [2, 1, 0, "end"]


def test_errors():
    x = dlcore.tensor([1.0])
    with pytest.raises(RuntimeError, match="^register_hook: cannot register"):
        x.register_hook(lambda g: g)
    y = dlcore.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="^register_post_accumulate_grad_hook: post accumulate"):
        y.register_post_accumulate_grad_hook(lambda p: None)
    z = dlcore.tensor([1.0], requires_grad=True)
    z.register_hook(lambda g: dlcore.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="^register_hook: a hook changed the gradient's shape"):
        (z * 2).sum().backward()


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_matches_torch_on_a_small_graph():
    xs = np.array([0.5, -1.5, 2.0])
    x = dlcore.tensor(xs, requires_grad=True)
    tx = torch.tensor(xs, requires_grad=True)
    for t, lib in ((x, dlcore), (tx, torch)):
        y = t.exp() * 2
        y.register_hook(lambda g: g * 3)
        t.register_hook(lambda g: g + 1)
        (y * t).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)

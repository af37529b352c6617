"""The backward engine: iterative (no recursion, so graphs of any depth work), dependency-counted,
deterministic in its order, and freeing each node's saved tensors as it goes unless the graph is
retained."""
from __future__ import annotations

from .. import _core, ops
from .._tensor import Tensor
from .function import Node
from .grad_mode import no_grad


def _ones_like(impl):
    return _core.full(impl.shape, 1.0, impl.dtype, impl.device)


def _accumulate(buf, g):
    return g if buf is None else ops.add(buf, g)


def run_backward(roots, grad_roots, retain_graph=False):
    """Back-propagates grad_roots (TensorImpls) from roots (Tensors) to every leaf that
    requires grad, accumulating into the leaves' .grad."""
    # 1. Discover the graph reachable from the roots and count each node's consumers.
    deps = {}
    stack = []
    for r in roots:
        if r.grad_fn is not None and r.grad_fn not in deps:
            deps[r.grad_fn] = 0
            stack.append(r.grad_fn)
    while stack:
        node = stack.pop()
        for e in node.edges:
            if e is not None and type(e[0]) is Node:
                child = e[0]
                if child in deps:
                    deps[child] += 1
                else:
                    deps[child] = 1
                    stack.append(child)

    # 2. Seed the buffers with the root gradients.
    buffers = {}
    leaf_grads = []
    for r, g in zip(roots, grad_roots):
        if r.grad_fn is None:
            leaf_grads.append((r, g))
            continue
        buf = buffers.setdefault(r.grad_fn, [None] * r.grad_fn.n_outputs)
        buf[r._output_nr] = _accumulate(buf[r._output_nr], g)

    # 3. Run nodes whose consumers have all delivered their gradients.
    ready = [n for n in buffers if deps[n] == 0]
    with no_grad():
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            for i, g in enumerate(grads):
                if g is None:  # an output nobody used: its gradient is zero
                    shape, dtype = node.out_meta[i]
                    grads[i] = _core.zeros(shape, dtype, "cpu")
            if node.ctx._saved is None:
                node.ctx.saved_tensors  # raises the "backward through the graph a second time" error
            result = node.function.backward(node.ctx, *grads)
            if type(result) is not tuple:
                result = (result,)
            if not retain_graph:
                node.release()
            for e, g in zip(node.edges, result):
                if e is None or g is None:
                    continue
                target, nr = e
                if type(target) is Node:
                    buf = buffers.get(target)
                    if buf is None:
                        buf = buffers[target] = [None] * target.n_outputs
                    buf[nr] = _accumulate(buf[nr], g)
                    deps[target] -= 1
                    if deps[target] == 0:
                        ready.append(target)
                else:
                    leaf_grads.append((target, g))
        for leaf, g in leaf_grads:
            _accumulate_leaf(leaf, g)


def _accumulate_leaf(leaf, g):
    if tuple(g.shape) != tuple(leaf.shape):  # a broadcast view of a gradient: materialise it
        g = ops.contiguous(ops.broadcast_to(g, leaf.shape))
    if leaf.grad is None:
        # Own the memory: a gradient may be a view of another tensor's gradient.
        leaf.grad = Tensor(g if g.is_contiguous() and g.shape == leaf._impl.shape else g.contiguous())
    else:
        leaf.grad = Tensor(ops.add(leaf.grad._impl, g))


def backward(tensors, grad_tensors=None, retain_graph=None):
    """``dlcore.autograd.backward``: like ``torch.autograd.backward``."""
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    tensors = tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    elif isinstance(grad_tensors, Tensor) or not isinstance(grad_tensors, (tuple, list)):
        grad_tensors = (grad_tensors,)
    roots, grads = [], []
    for t, g in zip(tensors, grad_tensors):
        if not t.requires_grad:
            raise RuntimeError("backward: element of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for scalar outputs, "
                                   f"got shape {t.shape}")
            gi = _ones_like(t._impl)
        else:
            gi = g._impl if isinstance(g, Tensor) else _core.as_tensor(g)
            if tuple(gi.shape) != tuple(t.shape):
                raise ValueError(f"backward: gradient has shape {tuple(gi.shape)}, expected {t.shape}")
        roots.append(t)
        grads.append(gi)
    run_backward(roots, grads, retain_graph=bool(retain_graph))

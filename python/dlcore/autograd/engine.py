"""The backward engine: iterative (no recursion, so graphs of any depth work), dependency-counted,
deterministic in its order, and freeing each node's saved tensors as it goes unless the graph is
retained."""
from __future__ import annotations

import numpy as np

from .. import _core, ops
from .._tensor import Tensor
from .function import Node
from .grad_mode import _state as _grad_state
from .hooks import apply_grad_hooks, run_callbacks


def _accumulate(buf, g):
    return g if buf is None else ops.add(buf, g)


def _discover(roots, hooked_leaves):
    """Every node reachable from the roots, with the number of edges that point at it; leaves
    with hooks get their own count in `hooked_leaves` (their gradient is final at zero)."""
    deps = {}
    stack = []
    for r in roots:
        fn = r.grad_fn
        if fn is not None and fn not in deps:
            deps[fn] = 0
            stack.append(fn)
    while stack:
        for e in stack.pop().edges:
            if e is not None:
                child = e[0]
                if type(child) is Node:
                    n = deps.get(child)
                    if n is None:
                        deps[child] = 1
                        stack.append(child)
                    else:
                        deps[child] = n + 1
                elif child._hooks is not None:
                    hooked_leaves[child] = hooked_leaves.get(child, 0) + 1
    return deps


def run_backward(roots, grad_roots, retain_graph=False):
    """Back-propagates grad_roots (TensorImpls) from roots (Tensors) to every leaf that
    requires grad, accumulating into the leaves' .grad."""
    hooked = {}  # leaf with hooks -> edges still to deliver
    deps = _discover(roots, hooked)

    # Seed the buffers with the root gradients.
    buffers = {}
    leaf_grads = {}  # leaf Tensor -> accumulated gradient (insertion order is deterministic)
    for r, g in zip(roots, grad_roots):
        fn = r.grad_fn
        if fn is None:
            leaf_grads[r] = _accumulate(leaf_grads.get(r), g)
            continue
        buf = buffers.get(fn)
        if buf is None:
            buf = buffers[fn] = [None] * fn.n_outputs
        buf[r._output_nr] = _accumulate(buf[r._output_nr], g)

    # Run nodes whose consumers have all delivered.  A node can become ready without any
    # gradient (every consumer returned None for it): it then only releases its own inputs.
    ready = [n for n in buffers if deps[n] == 0]
    prev_mode = _grad_state.enabled
    _grad_state.enabled = False
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            if grads is not None and node.hooks:
                for nr, hooks in node.hooks.items():
                    if grads[nr] is not None:
                        grads[nr] = apply_grad_hooks(hooks, grads[nr])
            if grads is None:
                result = (None,) * len(node.edges)
            else:
                for i, g in enumerate(grads):
                    if g is None:  # an output nobody used: its gradient is zero
                        shape, dtype, device = node.out_meta[i]
                        grads[i] = _core.zeros(shape, dtype, device)
                result = node.function.backward(node.ctx, *grads)
                if type(result) is not tuple:
                    result = (result,)
                if len(result) != len(node.edges):
                    raise RuntimeError(f"backward: {node.name()} returned {len(result)} gradients, "
                                       f"expected {len(node.edges)} (one per forward argument)")
            if not retain_graph:
                node.release()
            for e, g in zip(node.edges, result):
                if e is None:
                    continue
                target, nr = e
                if type(target) is Node:
                    if g is not None:
                        buf = buffers.get(target)
                        if buf is None:
                            buf = buffers[target] = [None] * target.n_outputs
                        buf[nr] = _accumulate(buf[nr], g)
                    left = deps[target] - 1
                    deps[target] = left
                    if left == 0:
                        ready.append(target)
                else:
                    if g is not None:
                        leaf_grads[target] = _accumulate(leaf_grads.get(target), g)
                    left = hooked.get(target)
                    if left is not None:
                        if left == 1:
                            del hooked[target]
                            _finish_hooked_leaf(target, leaf_grads.pop(target, None))
                        else:
                            hooked[target] = left - 1
        for leaf in [l for l in leaf_grads if l._hooks is not None]:  # root leaves (never an edge)
            _finish_hooked_leaf(leaf, leaf_grads.pop(leaf))
        _store_leaf_grads(leaf_grads, grad_roots)
        run_callbacks()
    finally:
        _grad_state.enabled = prev_mode


def _finish_hooked_leaf(leaf, g):
    """A leaf with hooks whose gradient is complete: run its gradient hooks, accumulate into
    .grad now (a private copy: the buffer may be shared with other gradients), then its
    post-accumulate hooks, while the rest of the backward pass is still to run."""
    hooks = leaf._hooks
    if g is None:
        return
    g = apply_grad_hooks(hooks.grad, g)
    if g.shape != leaf._impl.shape:
        g = ops.contiguous(ops.broadcast_to(g, leaf._impl.shape))
    leaf.grad = Tensor(g.clone()) if leaf.grad is None else Tensor(ops.add(leaf.grad._impl, g))
    for h in list(hooks.post):
        h(leaf)


def _extent(impl):
    """[lo, hi) byte range an impl's elements occupy (strides may be negative or zero)."""
    ptr, item = impl.data_ptr, _ITEMSIZE[impl.dtype]
    lo = hi = 0
    for n, st in zip(impl.shape, impl.strides):
        if n == 0:
            return (ptr, ptr)
        span = (n - 1) * st
        if span < 0:
            lo += span
        else:
            hi += span
    return (ptr + lo * item, ptr + (hi + 1) * item)


_ITEMSIZE = {"float32": 4, "float64": 8, "int64": 8, "bool": 1}


def _store_leaf_grads(leaf_grads, grad_roots):
    """Writes the gradients into .grad.  A gradient may be a view of memory something else also
    holds (x + y hands the same buffer to x and y; a root's gradient is the caller's tensor), so
    a new .grad is copied unless its memory overlaps no other new .grad and no root gradient:
    otherwise an in-place update of one .grad (clip_grad_norm_, zero_) would change another."""
    fresh = []
    for leaf, g in leaf_grads.items():
        shape = leaf._impl.shape
        if g.shape != shape:  # a broadcast gradient: materialise it
            g = ops.contiguous(ops.broadcast_to(g, shape))
            leaf_grads[leaf] = g
        if leaf.grad is None:
            fresh.append(leaf)
    if fresh:
        ranges = [_extent(leaf_grads[leaf]) for leaf in fresh]
        others = [_extent(g) for g in grad_roots]
        for k, leaf in enumerate(fresh):
            g = leaf_grads[leaf]
            lo, hi = ranges[k]
            shared = not g.is_contiguous() or any(
                lo < h and l < hi for j, (l, h) in enumerate(ranges + others) if j != k)
            leaf_grads[leaf] = g.clone() if shared else g
    for leaf, g in leaf_grads.items():
        if leaf.grad is None:
            leaf.grad = Tensor(g)
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
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"backward: got {len(grad_tensors)} gradients for {len(tensors)} tensors")
    roots, grads = [], []
    for t, g in zip(tensors, grad_tensors):
        if not t._requires_grad:
            raise RuntimeError("backward: element of tensors does not require grad and does not have a grad_fn")
        impl = t._impl
        if g is None:
            if impl.numel() != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for scalar outputs, "
                                   f"got shape {impl.shape}")
            gi = _core.full(impl.shape, 1.0, impl.dtype, impl.device)
        else:
            gi = g._impl if isinstance(g, Tensor) else _core.as_tensor(np.asarray(g, dtype=impl.dtype))
            if tuple(gi.shape) != impl.shape:
                raise ValueError(f"backward: gradient has shape {tuple(gi.shape)}, expected {impl.shape}")
            if gi.dtype != impl.dtype:
                raise TypeError(f"backward: gradient has dtype {gi.dtype}, expected {impl.dtype}")
        roots.append(t)
        grads.append(gi)
    run_backward(roots, grads, retain_graph=bool(retain_graph))

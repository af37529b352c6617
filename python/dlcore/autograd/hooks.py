"""Gradient hooks (PyTorch's names and semantics) and end-of-backward callbacks.

- ``t.register_hook(fn)``: ``fn(grad) -> Tensor or None`` runs when the gradient with respect to
  ``t`` has been fully computed, before it is used (a non-leaf: before it flows into t's grad_fn;
  a leaf: before it is accumulated into ``t.grad``); a returned Tensor replaces the gradient.
- ``p.register_post_accumulate_grad_hook(fn)``: ``fn(p)`` runs on a leaf right after its ``.grad``
  has been accumulated, *during* the backward pass, as soon as no other part of the graph can
  still contribute to it. This is what data-parallel training uses to start communicating a
  gradient while the rest of the backward pass runs.
- ``queue_callback(fn)``: ``fn()`` runs once when the current backward pass ends (torch's
  ``Variable._execution_engine.queue_callback``).

Each ``register_*`` returns a handle whose ``remove()`` unregisters the hook. Hooks run in the
order they were registered; the engine's order of work is deterministic, so hooks fire in the
same order on every run.
"""
from __future__ import annotations


class LeafHooks:
    """A leaf's hooks: on its gradient (before accumulation) and after accumulation."""

    __slots__ = ("grad", "post")

    def __init__(self):
        self.grad, self.post = [], []


class RemovableHandle:
    """Returned by ``register_*``: ``remove()`` unregisters the hook (idempotent)."""

    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        """Unregister the hook."""
        if self._hooks is not None:
            try:
                self._hooks.remove(self._fn)
            except ValueError:
                pass
            self._hooks = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_hook(tensor, hook):
    """``Tensor.register_hook``: see the module docstring."""
    if not callable(hook):
        raise TypeError(f"register_hook: expected a callable, got {type(hook).__name__}")
    if not tensor._requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient")
    fn = tensor.grad_fn
    if fn is None:
        if tensor._hooks is None:
            tensor._hooks = LeafHooks()
        hooks = tensor._hooks.grad
    else:
        if fn.hooks is None:
            fn.hooks = {}
        hooks = fn.hooks.setdefault(tensor._output_nr, [])
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def register_post_accumulate_grad_hook(tensor, hook):
    """``Tensor.register_post_accumulate_grad_hook``: leaves only; see the module docstring."""
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: expected a callable, got {type(hook).__name__}")
    if tensor.grad_fn is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be "
                           "registered on non-leaf tensors")
    if not tensor._requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a tensor that "
                           "doesn't require gradient")
    if tensor._hooks is None:
        tensor._hooks = LeafHooks()
    tensor._hooks.post.append(hook)
    return RemovableHandle(tensor._hooks.post, hook)


_callbacks = []


def queue_callback(fn):
    """Run ``fn()`` once at the end of the backward pass now running (or the next one)."""
    if not callable(fn):
        raise TypeError(f"queue_callback: expected a callable, got {type(fn).__name__}")
    _callbacks.append(fn)


def run_callbacks():
    """Run and clear the queued callbacks (the engine calls this when a backward pass ends)."""
    while _callbacks:
        _callbacks.pop(0)()


def apply_grad_hooks(hooks, g):
    """Run gradient hooks on TensorImpl g; returns the (possibly replaced) TensorImpl."""
    from .._tensor import Tensor

    for h in list(hooks):
        out = h(Tensor(g))
        if out is not None:
            if not isinstance(out, Tensor):
                raise TypeError(f"register_hook: a hook returned {type(out).__name__}, expected a Tensor or None")
            if tuple(out.shape) != tuple(g.shape):
                raise RuntimeError(f"register_hook: a hook changed the gradient's shape from {tuple(g.shape)} "
                                   f"to {tuple(out.shape)}")
            g = out._impl
    return g


def _install():
    from .._tensor import Tensor

    def _register_hook(self, hook):
        """Register ``hook(grad) -> Tensor or None`` on this tensor's gradient (see
        dlcore.autograd.hooks); returns a handle with ``remove()``."""
        return register_hook(self, hook)

    def _register_post(self, hook):
        """Register ``hook(tensor)`` to run right after this leaf's ``.grad`` is accumulated
        during backward (see dlcore.autograd.hooks); returns a handle with ``remove()``."""
        return register_post_accumulate_grad_hook(self, hook)

    Tensor.register_hook = _register_hook
    Tensor.register_post_accumulate_grad_hook = _register_post


_install()

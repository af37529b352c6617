"""Whether operations record the graph: ``no_grad`` / ``enable_grad`` / ``set_grad_enabled``
(context managers and decorators, thread-local like PyTorch's: a new thread starts enabled)."""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True  # class default: a fresh thread sees True without a getattr fallback


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


class _GradMode:
    """Base of the grad-mode context managers.  Each ``with`` pushes the previous mode on a
    per-instance stack, so one instance can be entered re-entrantly (or from a decorator called
    recursively) and still restore the right mode."""

    _mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        self._prev = []
        if func is not None and callable(func) and cls is not set_grad_enabled:
            return self(func)  # used bare as a decorator: @no_grad
        return self

    def __init__(self, func=None):
        pass

    def __enter__(self):
        self._prev.append(_state.enabled)
        _state.enabled = self._mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev.pop()
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _state.enabled
            _state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.enabled = prev

        return wrapper


class no_grad(_GradMode):
    """Operations inside do not record the graph (inference, optimizer updates).  A context
    manager, or a decorator with or without parentheses."""

    _mode = False


class enable_grad(_GradMode):
    """Re-enables recording inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(mode)``: sets the mode at once (a plain call) and, used as a context
    manager, restores the previous mode on exit; like ``torch.set_grad_enabled``."""

    def __new__(cls, mode):
        return super().__new__(cls)

    def __init__(self, mode):
        self._mode = bool(mode)
        self._entry = _state.enabled
        _state.enabled = self._mode

    def __enter__(self):
        # The mode was already set by the constructor; restore the one before it on exit.
        self._prev.append(self._entry)
        return self

"""The bridge between array-level ops and the C++ bindings.

Inputs may be NumPy arrays, dlcore Tensors, DLPack producers (PyTorch, JAX, CuPy), Python
scalars or lists; they reach C++ without copies (the binding does the conversion).  Results come
back as dlcore Tensors when any input was a Tensor (or the result lives on a GPU), else as NumPy
arrays that view the result's memory.  TensorImpl inputs (dlcore's internal C++ tensors, as
the autograd layer passes them) give TensorImpl results, with no wrapping at all.
"""
from __future__ import annotations

import functools
import inspect
import numbers
import re

import numpy as np

from .. import _core
from .._tensor import Tensor

_TensorImpl = _core.TensorImpl


def unwrap(x):
    """The TensorImpl of a dlcore Tensor; anything else passes through to the binding.  A Tensor
    that requires grad, in grad mode, raises _GradRequired (see install_autograd)."""
    if isinstance(x, Tensor):
        if x._requires_grad and _grad_state.enabled:
            raise _GradRequired("dlcore.ops: a Tensor that requires grad needs the autograd version of this op; "
                                "call it through dlcore.ops.<name>, a Tensor method or dlcore.nn.functional")
        return x._impl
    return x


def wrap(impl, *inputs):
    """Return `impl` in the caller's currency: Tensor if any input was one, else NumPy."""
    if impl is None:
        return None
    if inputs and type(inputs[0]) is _TensorImpl:  # the autograd layer's calls: no wrapping
        return impl
    if isinstance(impl, tuple):
        return tuple(wrap(i, *inputs) for i in impl)
    internal = False
    for i in inputs:
        if isinstance(i, Tensor):
            return Tensor(impl)
        internal = internal or isinstance(i, _TensorImpl)
    if internal:
        return impl
    if impl.device != "cpu":
        return Tensor(impl)
    return _core.to_numpy(impl)  # a view that keeps the memory alive; faster than np.asarray


def wants_tensor(*inputs) -> bool:
    return any(isinstance(i, Tensor) for i in inputs)


class _GradRequired(RuntimeError):
    """Raised by unwrap() for a Tensor that requires grad in grad mode; the op's wrapper (see
    install_autograd) catches it and runs the autograd version instead."""


class _GradOff:
    enabled = False  # until install_autograd hands over the real grad-mode state


_grad_state = _GradOff()


def _autograd_op(name, kernel, grad_op, non_differentiable):
    """`kernel` as it is, unless one of its Tensor arguments requires grad in grad mode (unwrap
    raises _GradRequired): then `grad_op` (same signature) runs, the kernel runs without the
    graph (non_differentiable) or RuntimeError says what to use instead."""

    def op(*args, **kwargs):
        try:
            return kernel(*args, **kwargs)
        except _GradRequired:
            pass
        except TypeError as e:
            _check_call(name, kernel, args, kwargs, e)
            raise
        if grad_op is not None:
            return grad_op(*args, **kwargs)
        if non_differentiable:
            prev, _grad_state.enabled = _grad_state.enabled, False
            try:
                return kernel(*args, **kwargs)
            finally:
                _grad_state.enabled = prev
        raise RuntimeError(
            f"{name}: dlcore.ops.{name} does not record autograd, and a Tensor that requires grad was passed "
            f"in grad mode; use the Tensor method or dlcore.nn.functional (which record it), or call it on "
            f".detach()ed tensors / under dlcore.no_grad()")

    op.__name__ = op.__qualname__ = name
    op.__doc__ = kernel.__doc__
    op.__module__ = kernel.__module__
    op.__wrapped__ = kernel  # inspect.signature shows the kernel's arguments
    op._dl_autograd = True  # install_autograd is idempotent (the kernel may itself be a wrapper)
    return op


def _check_call(name, fn, args, kwargs, e):
    """Python's own TypeError for a call that does not fit `fn`'s signature (an argument given by
    position and keyword, a missing or unexpected one) names the function, not the op in the house
    style: raise it again as "<name>: <Python's message>".  Other TypeErrors: return."""
    if str(e).startswith(f"{name}:"):
        return
    try:
        inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as bad:
        raise TypeError(f"{name}: {bad}") from None
    except ValueError:  # a builtin without a signature: nothing to check against
        return


def install_autograd(namespace, grad_ops, non_differentiable, state):
    """Makes every public op of `namespace` (the dlcore.ops package) autograd-aware, in this one
    place rather than per function.  Given a Tensor that requires grad while grad mode is on,
    ``namespace.<name>`` runs ``grad_ops[name]`` (the matching autograd Function, so gradients
    equal those of the Tensor methods and dlcore.nn.functional); runs the kernel unchanged when
    `name` is in `non_differentiable` (comparisons, argmax: no gradient in torch either); and
    raises RuntimeError naming the op otherwise.  The check lives in unwrap(), which every op
    already calls on its arguments, so NumPy inputs, TensorImpls (the autograd layer's own
    calls), plain Tensors and no_grad mode cost nothing beyond the wrapper's call.  Idempotent."""
    global _grad_state
    _grad_state = state
    for name in dir(namespace):
        fn = getattr(namespace, name)
        if name.startswith("_") or not callable(fn) or isinstance(fn, type) or \
                not getattr(fn, "__module__", "").startswith("dlcore.ops.") or \
                fn.__module__ == __name__ or getattr(fn, "_dl_autograd", False):
            continue
        setattr(namespace, name, _autograd_op(name, fn, grad_ops.get(name), name in non_differentiable))



# ---- error messages (issue 22 item 8) ------------------------------------------------------------
# A binding called with an argument pybind11 cannot convert raises "<binding>(): incompatible
# function arguments ..." with the binding's name (not always the public op's: min_with_indices
# calls max_with_indices) and a listing of C++ types.  name_binding_errors rewrites that message,
# and the few others that come from pybind11, the C++ runtime or NumPy rather than from the op,
# into the house style, in one place, for every public op.

_TYPING = ((re.compile(r"typing\.SupportsInt \| typing\.SupportsIndex"), "int"),
           (re.compile(r"typing\.SupportsFloat \| typing\.SupportsIndex"), "float"),
           (re.compile(r"dlcore\._core\.TensorImpl"), "array"), (re.compile(r"typing\.|collections\.abc\."), ""))


def _expected(msg, params):
    """What the op takes, as "name: type, ...": the public parameters, typed from the first
    overload pybind11 lists (its C++ types in plain words; parameters only the binding has, such
    as max_with_indices' is_min, are left out)."""
    m = re.search(r"1\. \((.*?)\)(?: -> |\n|$)", msg)
    sig = m.group(1) if m else ""
    for pattern, plain in _TYPING:
        sig = pattern.sub(plain, sig)
    types = {}
    for part in re.split(r", (?=\w+: )", sig):
        name, _, typ = part.partition(": ")
        types[name.strip()] = re.sub(r"\bobject\b", "array", typ.split(" = ")[0].strip())
    if params is None:
        return sig
    return ", ".join(f"{p}: {types[p]}" if p in types else p for p in params.parameters)


def _foreign_error(op, e, params, args, kwargs):
    """The house-style replacement for an exception whose message comes from pybind11, the C++
    runtime or NumPy rather than from the op (None: leave `e` alone)."""
    msg = str(e)
    if msg.startswith(f"{op}:"):
        return None
    if isinstance(e, MemoryError):  # a bare std::bad_alloc from a container inside the kernel
        return MemoryError(f"{op}: out of memory ({msg or 'no details'})")
    if isinstance(e, ValueError):  # NumPy refusing to view the result
        return ValueError(f"{op}: the result is too large for NumPy ({msg})") if msg.startswith("array is too big") else None
    mismatch = isinstance(e, TypeError) and "incompatible function arguments" in msg
    if not mismatch and not (isinstance(e, RuntimeError) and msg.startswith("Unable to cast Python instance")):
        return None
    try:
        bound = params.bind_partial(*args, **kwargs).arguments.items()
    except (AttributeError, TypeError):
        bound = [(f"arg{i}", a) for i, a in enumerate(args)] + list(kwargs.items())
    got = ", ".join(f"{k}={type(v).__name__}" for k, v in bound)
    if mismatch:
        return TypeError(f"{op}: expected ({_expected(msg, params)}), got ({got})")
    # pybind11's cast of an item (an int beyond int64 in an axis tuple, say): same type, op named
    return RuntimeError(f"{op}: an argument does not fit the kernel's C++ type (an integer beyond int64?); got ({got})")


def name_binding_errors(fn, op=None):
    """Wrap the public op `fn` so that pybind11's "incompatible function arguments" TypeError
    becomes ``TypeError("<op>: expected (<parameters>), got (<name>=<type>, ...)")``, and its
    "Unable to cast Python instance" RuntimeError, a bare std::bad_alloc MemoryError and NumPy's
    "array is too big" ValueError messages that start with "<op>: " (same exception types).

    `op` defaults to ``fn.__name__``.  Every other exception passes through unchanged; so does the
    result.  The wrapper keeps `fn`'s name, docstring and signature (``__wrapped__``)."""
    op = op or fn.__name__
    try:
        params = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: report positions only
        params = None

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (TypeError, RuntimeError, MemoryError, ValueError) as e:
            renamed = _foreign_error(op, e, params, args, kwargs)
            if renamed is None:
                raise
            raise renamed from None

    return checked


def kernel_errors(*kernels, op=None):
    """Decorator for a Python op built on other kernels (std on var, sort_backward on scatter...):
    a ValueError/TypeError/IndexError/RuntimeError whose message starts with one of `kernels`'
    names is raised again, same type, with the op's name (`op`, default the function's) in its
    place, so the message names what the caller called.  Anything else passes through."""
    def deco(fn):
        name = op or fn.__name__

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except (ValueError, TypeError, IndexError, RuntimeError) as e:
                msg = str(e)
                inner = next((k for k in kernels if msg.startswith(f"{k}:")), None)
                if inner is None or type(e) not in (ValueError, TypeError, IndexError, RuntimeError):
                    raise
                raise type(e)(name + msg[len(inner):]) from None

        wrapped.__name__ = wrapped.__qualname__ = name
        return wrapped

    return deco


def as_float(value, op, name):
    """`value` as a Python float for the binding, or TypeError "<op>: expected a real number for
    <name>, got <type>" (bools count as numbers, as in NumPy; strings do not)."""
    if isinstance(value, numbers.Real) or (hasattr(value, "__float__") and not isinstance(value, (str, bytes))):
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            pass
    raise TypeError(f"{op}: expected a real number for {name}, got {type(value).__name__}")


def as_int(value, op, name):
    """`value` as a Python int (anything with ``__index__``: int, numpy integers), or TypeError
    "<op>: expected an integer for <name>, got <type>" (floats are refused, not truncated)."""
    if not isinstance(value, bool) and hasattr(value, "__index__"):
        try:
            return value.__index__()
        except TypeError:  # an ndarray that is not a 0-d integer
            pass
    raise TypeError(f"{op}: expected an integer for {name}, got {type(value).__name__}")


def as_tuple(value, op, name):
    """`value` (any iterable but a string) as a tuple, or TypeError "<op>: expected a sequence of
    ints for <name>, got <type>" instead of tuple()'s message, which names no op."""
    try:
        if not isinstance(value, (str, bytes)):
            return tuple(value)
    except TypeError:  # not iterable (a 0-d array has __iter__ and still refuses)
        pass
    raise TypeError(f"{op}: expected a sequence of ints for {name}, got {type(value).__name__}")


def as_ints(value, op, name):
    """`value` (a sequence of ints: a shape) as a tuple of Python ints that each fit in int64, or
    TypeError (not a sequence of integers) / ValueError (an entry beyond int64) naming op."""
    out = tuple(as_int(v, op, name) for v in as_tuple(value, op, name))
    if any(not -2**63 <= v < 2**63 for v in out):
        raise ValueError(f"{op}: {name} {out} has an entry beyond int64")
    return out


def as_bool(value, op, name):
    """`value` (a bool, or an integer as NumPy accepts) as a Python bool, or TypeError naming op
    (an array's truth value would otherwise be NumPy's "ambiguous" ValueError)."""
    if isinstance(value, (bool, np.bool_, numbers.Integral)):
        return bool(value)
    raise TypeError(f"{op}: expected a bool for {name}, got {type(value).__name__}")


__all__ = ["unwrap", "wrap", "wants_tensor", "install_autograd", "_core", "name_binding_errors", "as_float",
           "as_int", "as_tuple", "as_ints", "as_bool", "kernel_errors"]

"""``dim``/``axis`` aliases: both spellings where they name the same thing.

``dlcore.ops`` speaks NumPy (``axis``, ``keepdims``); Tensor methods, ``dlcore.*`` functions and
``dlcore.nn.functional`` speak PyTorch (``dim``, ``keepdim``).  A user with either habit should not
get a TypeError for the other, so the reductions and softmax accept both: ``ops.sum(a, dim=1)``,
``t.sum(axis=1, keepdims=True)``.  Giving both spellings raises TypeError.  Only the keyword
names are translated; positional calls and every result are unchanged.

The wrappers are installed once, at import, over whatever functions are there (so reductions
added later get them too), and only where a function has the one name and not the other.
"""
from __future__ import annotations

import functools
import inspect

# Reductions and softmax-like ops, by name, wherever they exist.
NAMES = ("sum", "mean", "var", "std", "prod", "max", "min", "amax", "amin", "argmax", "argmin",
         "max_with_indices", "min_with_indices", "softmax", "log_softmax", "logsumexp", "cumsum", "all", "any",
         "norm", "sort", "argsort", "topk", "median")

# (alias, real name) pairs: NumPy's names into PyTorch's, and back.
_TO_DIM = (("axis", "dim"), ("keepdims", "keepdim"))
_TO_AXIS = (("dim", "axis"), ("keepdim", "keepdims"))


def alias(fn, name, pairs):
    """`fn`, accepting each `alias` of `pairs` ((alias, real), ...) as a keyword for `real`
    where fn has `real` and not `alias`; `fn` itself when there is nothing to add."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature: leave it alone
        return fn
    pairs = tuple((a, r) for a, r in pairs if r in params and a not in params)
    if not pairs or getattr(fn, "_dlcore_aliases", None) is not None:
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for a, r in pairs:
            if a in kwargs:
                if r in kwargs:
                    raise TypeError(f"{name}: got both {r}= and {a}= (two names for the same argument)")
                kwargs[r] = kwargs.pop(a)
        return fn(*args, **kwargs)

    wrapper._dlcore_aliases = pairs
    if fn.__doc__:
        wrapper.__doc__ = fn.__doc__.rstrip() + "\n\n" + "Also accepts " + ", ".join(
            f"``{a}=`` for ``{r}``" for a, r in pairs) + "."
    return wrapper


def _install_on(owner, pairs, prefix):
    for name in NAMES:
        fn = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
        if callable(fn) and not isinstance(fn, type):
            setattr(owner, name, alias(fn, f"{prefix}{name}", pairs))


def install():
    """Wrap the reductions and softmax of dlcore.ops, dlcore.Tensor, dlcore and dlcore.nn.functional."""
    import dlcore
    from dlcore import ops
    from dlcore.nn import functional

    _install_on(ops, _TO_AXIS, "")
    _install_on(dlcore.Tensor, _TO_DIM, "")
    _install_on(dlcore, _TO_DIM, "")
    _install_on(functional, _TO_DIM, "")

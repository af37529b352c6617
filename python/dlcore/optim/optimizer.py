"""Optimizer: the base class of dlcore's optimizers (torch.optim.Optimizer's API).

Parameters live in ``param_groups`` (dicts of a ``"params"`` list plus that group's options),
per-parameter state in ``state`` (a dict keyed by the parameter), and ``state_dict()`` /
``load_state_dict()`` use PyTorch's layout::

    {"state": {0: {"step": 3.0, "exp_avg": Tensor, ...}, ...},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1, 2]}, ...]}

where parameters are numbered in group order.  ``state["step"]`` is a Python float (torch keeps a
0-d tensor; loading accepts either).  ``step()`` runs one fused C++ kernel per group over the
parameters whose ``.grad`` is not None (see ``dlcore.ops.optim``).
"""
from __future__ import annotations

import copy
from collections import defaultdict

import numpy as np

from .. import _core
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad
from ..nn.utils import zero_grads


class _Required:
    """Marks a hyper-parameter without a default: every group must give it."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


def check_range(name, what, value, high=None):
    """Raise torch's ValueError ("Invalid learning rate: -1", prefixed by the optimizer's name)
    unless 0 <= value (< high)."""
    if not (0.0 <= value and (high is None or value < high)):
        raise ValueError(f"{name}: Invalid {what}: {value}")


def _ordered(params, name):
    """list(params), refusing sets: their order, hence the state_dict's numbering, changes between runs."""
    if isinstance(params, set):
        raise TypeError(f"{name}: optimizer parameters need to be organized in ordered collections, but the "
                        "ordering of tensors in sets will change between runs. Please use a list instead.")
    return list(params)


class Optimizer:
    """Base class: holds the groups and the state; subclasses implement ``_step_group``."""

    def __init__(self, params, defaults):
        name = type(self).__name__
        self.defaults = defaults
        self._validate(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params argument given to the optimizer should be an iterable of Tensors or "
                            f"dicts, but got {type(params).__name__}")
        groups = _ordered(params, name)
        if not groups:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- subclass hooks ------------------------------------------------------------------------
    # Options that must be >= 0, with torch's words for them in "Invalid learning rate: -1".
    _nonnegative = {"lr": "learning rate"}
    # torch flags accepted only at False (dlcore's steps run outside autograd and CUDA graphs).
    _unsupported = ()

    def _validate(self, options):
        """Raise ValueError for an out-of-range option (called on defaults and on every group)."""
        name = type(self).__name__
        for key, what in self._nonnegative.items():
            if options[key] is not required:  # defaults of a subclass with required options
                check_range(name, what, options[key])
        for flag in self._unsupported:
            if options[flag]:
                raise ValueError(f"{name}: {flag}=True is not supported (dlcore's optimizer steps run outside "
                                 "autograd and CUDA graphs)")

    def _step_group(self, group, params):
        """Update `params` (those of `group` that have a .grad) with one fused kernel call."""
        raise NotImplementedError

    # ---- groups --------------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group (a dict with "params" and any options; missing options take the defaults)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        group["params"], names = self._group_params(param_group.get("params"))
        if names is not None:
            group["param_names"] = names
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required optimization "
                                 f"parameter {key}")
            group.setdefault(key, default)
        self._validate(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _group_params(self, params):
        """The group's parameters as a list (and their names, for named_parameters() input)."""
        name = type(self).__name__
        if params is None:
            raise ValueError(f"{name}: param_group must have a 'params' entry")
        params = [params] if isinstance(params, Tensor) else _ordered(params, name)
        names = None
        if params and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in params):
            names = [n for n, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: optimizer can only optimize float32 or float64 tensors, got {p.dtype}")
        # The fused kernel would update a repeated tensor twice, from two threads at once.
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: optimizer contains a parameter group with duplicate parameters")
        return params, names

    def _buffer(self, p, key):
        """state[p][key], created as zeros on first use."""
        s = self.state[p]
        buf = s.get(key)
        if buf is None:
            buf = s[key] = Tensor(_core.zeros(p.shape, p._impl.dtype))
        return buf

    # ---- stepping ------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients: to None (default, as torch) or to zeros in place."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure=None):
        """One update of every group; `closure` (re-evaluates the model, returns the loss) runs first
        with gradients enabled.  Returns the closure's loss (None without a closure)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._step_group(group, params)
                for p in params:
                    p._bump_version()  # saved-tensor checks of autograd see the in-place change
        return loss

    # ---- state_dict ----------------------------------------------------------------------------
    def state_dict(self):
        """The state in PyTorch's layout (see the module docstring).  Like torch, the tensors are
        the optimizer's own (not copies): copy them to keep a snapshot while training goes on."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a state_dict (dlcore's, or PyTorch's converted to NumPy or not).

        Buffers are copied (as the parameter's dtype) rather than shared, so the optimizer that
        saved the state and the one that loads it never update the same memory."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}: expected a dict with keys 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}, expected {len(self.param_groups)})")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}: loaded state dict contains a parameter group that doesn't match the size "
                                 f"of optimizer's group (group {i}: {len(saved['params'])} params, expected "
                                 f"{len(group['params'])})")
        by_index = {k: p for group, saved in zip(self.param_groups, saved_groups)
                    for k, p in zip(saved["params"], group["params"])}
        state = defaultdict(dict)
        for k, entry in state_dict["state"].items():
            if k not in by_index:
                raise ValueError(f"{name}: state for parameter {k!r}, which no group contains")
            p = by_index[k]
            state[p] = {key: _load_value(name, p, k, key, value) for key, value in entry.items()}
        groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = copy.deepcopy({k: v for k, v in saved.items() if k != "params"})
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:
                new["param_names"] = group["param_names"]
            for key, default in self.defaults.items():  # options an older or foreign state_dict lacks
                new.setdefault(key, default)
            self._validate(new)
            groups.append(new)
        self.state = state
        self.param_groups = groups

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        return "\n".join(lines) + "\n)"


def _load_value(name, p, index, key, value):
    """One loaded state entry: "step" as a float, arrays as new buffers of p's dtype and shape."""
    if key == "step":
        return float(value.item() if hasattr(value, "item") else value)
    if value is None or not (isinstance(value, Tensor) or hasattr(value, "__array__") or hasattr(value, "__dlpack__")):
        return copy.deepcopy(value)
    # asarray first: torch's __array__ takes no copy= argument (NumPy 2 warns if asked to copy).
    buf = np.array(np.asarray(value), dtype=p.dtype, copy=True, order="C")
    if buf.shape != tuple(p.shape):
        raise ValueError(f"{name}: state {key!r} of parameter {index} has shape {buf.shape}, expected "
                         f"{tuple(p.shape)}")
    return Tensor(_core.as_tensor(buf))

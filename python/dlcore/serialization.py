"""dlcore.save / dlcore.load: state dicts as safetensors files (through the ``safetensors`` package).

The format is the one PyTorch's ``safetensors.torch.load_file`` reads and ``save_file`` writes:
a flat mapping of names to arrays (float32, float64, int64, bool), no pickled code, so a file is
safe to open from anyone.  Keys keep PyTorch's names (``"0.weight"``), so weights move both ways.
"""
from __future__ import annotations

import os

import numpy as np

from ._tensor import Tensor, from_numpy

_DTYPES = (np.float32, np.float64, np.int64, np.bool_)


def _safetensors_numpy(op):
    try:
        import safetensors.numpy as stn
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{op}: needs the safetensors package (pip install safetensors)") from e
    return stn


def _array(key, value):
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    elif hasattr(value, "__dlpack__") and not isinstance(value, np.ndarray):
        from .nn.module import _to_numpy
        value = _to_numpy(value)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"save: value of {key!r} must be a dlcore.Tensor, NumPy array or DLPack array, "
                        f"got {type(value).__name__}")
    if value.dtype not in _DTYPES:
        raise TypeError(f"save: value of {key!r} has unsupported dtype {value.dtype} "
                        "(supported: float32, float64, int64, bool)")
    return np.require(value, requirements="C")  # (ascontiguousarray would make 0-d arrays 1-d)


def save(state_dict, path, metadata=None) -> None:
    """Write a mapping name -> tensor to `path` in the safetensors format.

    `metadata` is an optional dict of str -> str stored in the file's header."""
    if not hasattr(state_dict, "items"):
        raise TypeError(f"save: expected a mapping of names to tensors, got {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"save: keys must be str, got {type(key).__name__}")
        arrays[key] = _array(key, value)
    _safetensors_numpy("save").save_file(arrays, os.fspath(path), metadata=metadata)


def load(path) -> dict:
    """Read a safetensors file into a dict name -> dlcore.Tensor (CPU).  The keys come sorted (the
    format stores them so); ``Module.load_state_dict`` does not depend on their order."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    stn = _safetensors_numpy("load")
    try:
        arrays = stn.load_file(path)
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise ValueError(f"load: {path!r} is not a valid safetensors file ({e})") from e
    out = {}
    for key, a in arrays.items():
        if a.dtype not in _DTYPES:
            raise TypeError(f"load: tensor {key!r} has unsupported dtype {a.dtype}")
        out[key] = from_numpy(np.require(a, requirements="C"))
    return out

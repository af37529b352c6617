"""dlcore.save / dlcore.load: checkpoints as safetensors files, no pickle.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are tensors (``dlcore.Tensor``,
NumPy arrays, DLPack arrays such as torch tensors) or plain Python values (int, float, str, bool,
None): a model's state_dict, an optimizer's state_dict, a scheduler's and the epoch, in one file::

    dlcore.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}, "ckpt.safetensors")
    ckpt = dlcore.load("ckpt.safetensors")

The file format (version 1) is a plain safetensors file, so any safetensors reader opens it and
nothing in it is executable:

- every tensor is one safetensors entry, named by its path in the structure joined with dots
  (``"model.0.weight"``, ``"optim.state.0.exp_avg"``); a flat mapping name -> tensor keeps its own
  names (``"0.weight"``), so ``safetensors.torch.load_file`` returns the same state_dict;
- the header's metadata (a str -> str map) holds the caller's ``metadata`` and, under the key
  ``"dlcore.structure"``, the structure as JSON: ``{"version": 1, "root": NODE}`` where NODE is
  ``{"tensor": name}``, ``{"dict": [[key, NODE], ...]}`` (keys str or int, in order),
  ``{"list": [NODE, ...]}``, ``{"tuple": [NODE, ...]}``, ``{"value": int | float | str | bool |
  null}`` or ``{"float": "nan" | "inf" | "-inf"}``.

The writer is dlcore's own (the safetensors package orders the metadata differently on every
call): tensors are laid out by element size, then name, and the header's keys are sorted, so the
same checkpoint gives the same bytes.  A file without ``"dlcore.structure"`` (written by another
tool, or by dlcore before version 1) loads as a flat dict name -> Tensor in the file's order.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import struct
import threading

import numpy as np

from . import _dtype
from ._tensor import Tensor, from_numpy

STRUCTURE_KEY = "dlcore.structure"
FORMAT_VERSION = 1

# NumPy dtype -> safetensors dtype name, for the dtypes dlcore tensors can hold.
_ST_NAMES = {"float64": "F64", "float32": "F32", "float16": "F16", "int64": "I64", "int32": "I32",
             "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}


def _supported():
    # Read at call time: the set of dtypes grows with the library.
    return [d for d in _dtype.SUPPORTED if d.name in _ST_NAMES]


def _array(path, value):
    """`value` as a C-contiguous little-endian NumPy array (TypeError if it is not a tensor)."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    elif hasattr(value, "__dlpack__") and not isinstance(value, np.ndarray):
        from .nn.module import _to_numpy
        value = _to_numpy(value)
    if value.dtype not in _supported():
        names = ", ".join(np.dtype(d).name for d in _supported())
        raise TypeError(f"save: value of {path!r} has unsupported dtype {value.dtype} (supported: {names})")
    return np.require(value, dtype=value.dtype.newbyteorder("<"), requirements="C")


def _is_tensor(value):
    return isinstance(value, (Tensor, np.ndarray)) or (hasattr(value, "__dlpack__") and not isinstance(value, type))


class _Writer:
    """Walks the object: collects the arrays under unique dotted names and builds the JSON tree."""

    def __init__(self):
        self.arrays = {}

    def name(self, path):
        base = ".".join(str(p) for p in path) or "tensor"
        name, n = base, 1
        while name in self.arrays:  # {"a.b": t, "a": {"b": u}} would collide
            name, n = f"{base}#{n}", n + 1
        return name

    def node(self, value, path, depth=0):
        where = ".".join(str(p) for p in path) or "<root>"
        if depth > 100:
            raise ValueError(f"save: {where!r} is nested more than 100 levels deep (a reference cycle?)")
        if _is_tensor(value):
            name = self.name(path)
            self.arrays[name] = _array(where, value)
            return {"tensor": name}
        if isinstance(value, np.generic):  # a NumPy scalar is stored as the Python value it holds
            value = value.item()
        if value is None or isinstance(value, (bool, str)):
            return {"value": value}
        if isinstance(value, numbers.Integral):
            return {"value": int(value)}
        if isinstance(value, numbers.Real):
            value = float(value)
            return {"value": value} if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, dict):
            items = []
            for k, v in value.items():
                if isinstance(k, bool) or not isinstance(k, (str, numbers.Integral)):
                    raise TypeError(f"save: keys must be str or int, got {type(k).__name__} in {where!r}")
                k = k if isinstance(k, str) else int(k)
                items.append([k, self.node(v, path + [k], depth + 1)])
            return {"dict": items}
        if isinstance(value, (list, tuple)):
            kind = "tuple" if isinstance(value, tuple) else "list"
            return {kind: [self.node(v, path + [i], depth + 1) for i, v in enumerate(value)]}
        hint = " (save its .state_dict(): objects are not pickled)" if hasattr(value, "state_dict") else ""
        raise TypeError(f"save: value of {where!r} must be a tensor, dict, list, tuple, int, float, str, bool "
                        f"or None, got {type(value).__name__}{hint}")


def _header_and_data(arrays, metadata):
    """The safetensors header (bytes, padded to 8) and the data chunks, in a fixed order."""
    # Larger elements first keeps every tensor aligned to its element size (as safetensors does).
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    header = {"__metadata__": dict(sorted(metadata.items()))} if metadata else {}
    offset, chunks = 0, []
    for k in order:
        a = arrays[k]
        header[k] = {"dtype": _ST_NAMES[a.dtype.name], "shape": list(a.shape),
                     "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        chunks.append(a)
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw, chunks


def save(obj, path, metadata=None) -> None:
    """Write a checkpoint: tensors, plain values and nested dicts/lists/tuples of them.

    Args:
        obj: a tensor, or a dict (str or int keys) / list / tuple nesting of tensors
            (``dlcore.Tensor``, NumPy arrays, DLPack arrays; any dtype dlcore holds, on CPU or
            copied from CUDA) and of int, float (nan and inf included), str, bool and None.
            NumPy scalars are stored as the Python number they hold.
        path: file to write (str or path-like); its folder must exist.  The file is written to a
            temporary name in that folder and renamed, so a failed save leaves an older file intact.
        metadata: optional dict str -> str kept in the file's header (``load(path,
            with_metadata=True)`` returns it); the key ``"dlcore.structure"`` is reserved.

    Identical arguments give identical bytes.  See the module docstring for the format.

    Raises:
        TypeError: an unsupported value, key or dtype, or metadata that is not str -> str.
        ValueError: a reserved metadata key, or nesting deeper than 100 levels.
        FileNotFoundError: the folder of `path` does not exist.
    """
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in metadata.items()):
            raise TypeError("save: metadata must be a dict of str -> str")
        if STRUCTURE_KEY in metadata:
            raise ValueError(f"save: metadata key {STRUCTURE_KEY!r} is reserved for the checkpoint's structure")
    writer = _Writer()
    root = writer.node(obj, [])
    meta = dict(metadata or {})
    meta[STRUCTURE_KEY] = json.dumps({"version": FORMAT_VERSION, "root": root}, separators=(",", ":"),
                                     ensure_ascii=False, allow_nan=False)
    head, chunks = _header_and_data(writer.arrays, meta)

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: folder {folder!r} does not exist (create it first, e.g. "
                                "os.makedirs(folder, exist_ok=True))")
    # os.open with mode 0o666 (not mkstemp's 0o600): the file gets the permissions open() would give.
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(head)
            for a in chunks:
                f.write(a.data if a.size else b"")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _rebuild(node, tensors, where="<root>"):
    """The object a structure node describes (ValueError naming the bad node)."""
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"load: malformed structure at {where!r}: {node!r}")
    (kind, body), = node.items()
    if kind == "tensor":
        if body not in tensors:
            raise ValueError(f"load: the structure names tensor {body!r}, which the file does not hold")
        return tensors[body]
    if kind == "value":
        if body is not None and not isinstance(body, (bool, int, float, str)):
            raise ValueError(f"load: malformed value at {where!r}: {body!r}")
        return body
    if kind == "float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if kind == "dict" and isinstance(body, list):
        out = {}
        for item in body:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
                raise ValueError(f"load: malformed dict entry at {where!r}: {item!r}")
            out[item[0]] = _rebuild(item[1], tensors, f"{where}.{item[0]}")
        return out
    if kind in ("list", "tuple") and isinstance(body, list):
        items = [_rebuild(v, tensors, f"{where}.{i}") for i, v in enumerate(body)]
        return items if kind == "list" else tuple(items)
    raise ValueError(f"load: malformed structure at {where!r}: {node!r}")


def load(path, *, with_metadata=False):
    """Read a checkpoint written by :func:`save` (or any safetensors file).

    Args:
        path: the file (str or path-like).
        with_metadata: also return the metadata dict (str -> str) the save was given.

    Returns:
        The saved object, with every tensor as a CPU ``dlcore.Tensor`` (a copy, not a view of the
        file) and dicts, lists, tuples and plain values as saved.  A safetensors file without
        dlcore's structure gives a dict name -> Tensor in the file's order.  With
        ``with_metadata=True``: a pair ``(obj, metadata)``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a valid safetensors file, or a malformed structure.
        TypeError: a tensor of a dtype dlcore does not hold.
        ImportError: the safetensors package is missing.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file: {path!r}")
    try:
        from safetensors import safe_open
    except ImportError as e:  # pragma: no cover - a core dependency; a broken environment
        raise ImportError("load: needs the safetensors package (pip install safetensors)") from e
    try:
        with safe_open(path, framework="numpy") as f:
            meta = dict(f.metadata() or {})
            # Checked before reading: NumPy has no bfloat16, and safetensors' own message would
            # not say which tensor or what to do.
            known = set(_ST_NAMES.values())
            for k in f.keys():
                st_dtype = f.get_slice(k).get_dtype()
                if st_dtype not in known:
                    raise TypeError(f"load: tensor {k!r} has dtype {st_dtype}, which dlcore cannot load "
                                    f"(supported: {', '.join(np.dtype(d).name for d in _supported())})")
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except TypeError:
        raise
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise ValueError(f"load: {path!r} is not a valid safetensors file ({e})") from e
    tensors = {}
    for key, a in arrays.items():
        if a.dtype not in _supported():
            raise TypeError(f"load: tensor {key!r} has unsupported dtype {a.dtype}")
        tensors[key] = from_numpy(np.require(a, dtype=a.dtype.newbyteorder("="), requirements=["C", "W"]))
    structure = meta.pop(STRUCTURE_KEY, None)
    if structure is None:
        obj = tensors
    else:
        try:
            spec = json.loads(structure)
        except ValueError as e:
            raise ValueError(f"load: {path!r} has a malformed {STRUCTURE_KEY!r} entry ({e})") from e
        if not isinstance(spec, dict) or spec.get("version") != FORMAT_VERSION or "root" not in spec:
            raise ValueError(f"load: {path!r} has checkpoint format {spec.get('version') if isinstance(spec, dict) else spec!r}; "
                             f"this dlcore reads version {FORMAT_VERSION}")
        obj = _rebuild(spec["root"], tensors)
    return (obj, meta) if with_metadata else obj

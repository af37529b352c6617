"""dtypes and devices.  dlcore's dtypes are NumPy's dtype objects, so they compare equal to and
mix freely with NumPy code: ``dlcore.float32 == np.float32``.  The one exception is
``dlcore.bfloat16``: NumPy has no bfloat16, so it is a small dtype-like object of its own (``name``,
``itemsize``, ``kind``; ``str()`` is ``"bfloat16"``) that compares equal to itself, to the string
``"bfloat16"`` and to ``torch.bfloat16``.

Supported: float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool.  float16
and bfloat16 are storage and exchange types: arithmetic on them is computed in float32 and rounded
back once (as PyTorch's CPU kernels do); reductions, matmul and the nn layers want float32/float64.
"""
from __future__ import annotations

import numpy as np


class _BFloat16:
    """The bfloat16 dtype (8 exponent bits, 7 mantissa bits): NumPy has no such dtype.

    Tensors of it are made by conversion (``t.bfloat16()``, ``t.to(dlcore.bfloat16)``), the
    factories (``zeros(..., dtype=dlcore.bfloat16)``) or DLPack (``dlcore.from_dlpack(torch_t)``);
    ``.numpy()`` raises TypeError (convert with ``.float()`` first), as torch does."""

    __slots__ = ()
    name = "bfloat16"
    _dlcore_name = "bfloat16"  # what the C++ bindings read
    itemsize = 2
    kind = "f"

    def __str__(self):
        return "bfloat16"

    def __repr__(self):
        return "dlcore.bfloat16"

    def __eq__(self, other):
        if isinstance(other, _BFloat16) or (isinstance(other, str) and other == "bfloat16"):
            return True
        return type(other).__module__ == "torch" and str(other) == "torch.bfloat16"

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash("bfloat16")

    def __reduce__(self):
        return "bfloat16"  # pickles as the module-level singleton


float32 = np.dtype("float32")
float64 = np.dtype("float64")
float16 = np.dtype("float16")
bfloat16 = _BFloat16()
int64 = np.dtype("int64")
int32 = np.dtype("int32")
int16 = np.dtype("int16")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")
bool = bool_  # noqa: A001  (torch.bool)
float = float32  # noqa: A001  (torch.float)
double = float64
half = float16
long = int64

SUPPORTED = (float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool_)
_NAMES = "float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool"
# torch spellings NumPy reads differently or not at all (np.dtype("half") is float16 already).
_ALIASES = {"bfloat16": bfloat16, "half": float16, "torch.bfloat16": bfloat16}


def as_dtype(dtype):
    """Normalise a dtype given as a dlcore/NumPy dtype, a NumPy type, a name (``"float32"``,
    ``"half"``, ``"bfloat16"``; other names mean what NumPy says) or a torch dtype to dlcore's
    (``None`` stays ``None``).  Raises TypeError for what is not a dtype or not supported."""
    if dtype is None:
        return None
    if isinstance(dtype, _BFloat16):
        return bfloat16
    if not isinstance(dtype, (str, np.dtype, type)) and hasattr(dtype, "is_floating_point"):
        dtype = str(dtype).replace("torch.", "")  # a torch.dtype
    if isinstance(dtype, str) and dtype in _ALIASES:
        return _ALIASES[dtype]
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: cannot interpret {dtype!r} as a dtype") from None
    if d not in SUPPORTED or d.byteorder == ">":
        raise TypeError(f"dtype: unsupported dtype {d} (supported: {_NAMES})")
    return d


def from_name(name: str):
    """The dlcore dtype of a C++ dtype name (``TensorImpl.dtype``)."""
    return bfloat16 if name == "bfloat16" else np.dtype(name)


def type_name(dtype) -> str:
    """torch's legacy type string of a dtype: float32 -> 'dlcore.FloatTensor' (Tensor.type())."""
    return "dlcore." + _LEGACY[str(as_dtype(dtype))]


_LEGACY = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
           "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
           "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}
_FROM_LEGACY = {v: k for k, v in _LEGACY.items()}


def from_type_name(name: str):
    """The dtype of a legacy type string ('dlcore.FloatTensor', 'torch.LongTensor', 'FloatTensor'),
    or None when `name` is not one."""
    short = name.rsplit(".", 1)[-1]
    if name.count(".") > 1 or short not in _FROM_LEGACY:
        return None
    return as_dtype(_FROM_LEGACY[short])


class device:
    """A device: ``device("cpu")``, ``device("cuda")``, ``device("cuda:1")``, ``device("cuda", 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        spec = str(spec)
        if ":" in spec:
            spec, idx = spec.split(":", 1)
            if not idx.isdigit():
                raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {spec}:{idx!r}")
            index = int(idx)
        if spec not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {spec!r}")
        self.type = spec
        self.index = None if spec == "cpu" else (0 if index is None else int(index))

    def __str__(self):
        return "cpu" if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"

    def __eq__(self, other):
        try:
            other = device(other)
        except (ValueError, TypeError):
            return NotImplemented
        return str(self) == str(other)

    def __hash__(self):
        return hash(str(self))

"""dtypes and devices.  dlcore's dtypes are NumPy's dtype objects, so they compare equal to and
mix freely with NumPy code: ``dlcore.float32 == np.float32``."""
from __future__ import annotations

import numpy as np

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")
float = float32  # noqa: A001  (torch.float)
double = float64
long = int64

SUPPORTED = (float32, float64, int64, bool_)


def as_dtype(dtype) -> np.dtype:
    """Normalise anything NumPy understands as a dtype (including a torch dtype) to ours."""
    if dtype is None:
        return None
    if not isinstance(dtype, (str, np.dtype, type)) and hasattr(dtype, "is_floating_point"):
        dtype = str(dtype).replace("torch.", "")  # a torch.dtype
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: cannot interpret {dtype!r} as a dtype") from None
    if d not in SUPPORTED:
        raise TypeError(f"dtype: unsupported dtype {d} (supported: float32, float64, int64, bool)")
    return d


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

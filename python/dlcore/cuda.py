"""CUDA status.  dlcore builds and runs without CUDA; with it, tensors can live on a GPU."""
from __future__ import annotations

from . import _core


def is_compiled() -> bool:
    """Whether this build contains CUDA kernels."""
    return _core.cuda_compiled()


def device_count() -> int:
    return _core.cuda_device_count() if _core.cuda_compiled() else 0


def is_available() -> bool:
    """Whether CUDA kernels are compiled in and at least one device is usable."""
    return device_count() > 0


def device_names() -> list:
    return list(_core.cuda_device_names()) if is_available() else []

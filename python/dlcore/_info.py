"""Threads, instruction sets and what this build and machine offer."""
from __future__ import annotations

from . import _core


def set_num_threads(n: int) -> None:
    """Number of threads dlcore's kernels use (results do not depend on it).  `n` must lie in
    ``[1, 4 x hardware threads]`` (at most 1024; ``dlcore._core.max_num_threads()``): a larger
    count raises ValueError rather than let the OpenMP runtime abort the process later."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"set_num_threads: expected an int, got {type(n).__name__}")
    _core.set_num_threads(n)


def get_num_threads() -> int:
    return _core.get_num_threads()


def set_isa(name: str) -> None:
    """Force kernels to a lower CPU instruction set ('baseline', 'avx2', 'avx512'); for tests and
    comparisons. ``set_isa(available_isas()[-1])`` restores the best."""
    _core.set_isa(name)


def available_isas() -> list:
    """The instruction sets this build has kernels for and this CPU supports, lowest first."""
    return list(_core.available_isas())


def info() -> dict:
    """What this build and machine offer: version, ISAs, threads, OpenMP, CUDA."""
    from . import __version__, cuda

    return {
        "version": __version__,
        "isa_available": available_isas(),
        "isa_detected": _core.detected_isa(),
        "isa_active": _core.active_isa(),
        "num_threads": _core.get_num_threads(),
        "openmp": _core.openmp_enabled(),
        "cuda_compiled": _core.cuda_compiled(),
        "cuda_available": cuda.is_available(),
        "cuda_devices": cuda.device_names(),
    }

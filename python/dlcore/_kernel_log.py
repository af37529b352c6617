"""Which kernel ran, and forcing one: for ops with several algorithms (convolution, attention,
recurrent layers).

    with dlcore.kernel_log() as log:
        y = dlcore.ops.conv2d(x, w, padding=1)
    log.records   # [KernelRecord(op='conv2d', device='cpu', isa='avx512', algorithm='winograd')]

    with dlcore.force_algorithm("conv2d", "implicit_gemm"):
        y = dlcore.ops.conv2d(x, w, padding=1)   # ValueError if that algorithm cannot run here

Each op chooses its algorithm in one place and records the choice; a forced algorithm that does
not apply to the call raises ``ValueError`` naming the op instead of silently running another.
Forcing is per Python thread; logs see calls from every thread while they are open.
"""
from __future__ import annotations

import contextlib
from typing import List, NamedTuple

from . import _core


class KernelRecord(NamedTuple):
    """One kernel call: the op, its device ("cpu"/"cuda"), the CPU ISA variant that ran ("" on
    CUDA) and the algorithm the op chose."""

    op: str
    device: str
    isa: str
    algorithm: str


class KernelLog:
    """The records of one ``kernel_log()`` block (filled while the block runs, final after it)."""

    def __init__(self):
        self._handle = _core.kernel_log_open()
        self._records: List[KernelRecord] = []
        self._open = True

    @property
    def records(self) -> List[KernelRecord]:
        """The calls recorded so far (all of them once the block has ended)."""
        if self._open:  # peek without closing: close and reopen keeps the facility simple
            self._records += [KernelRecord(*r) for r in _core.kernel_log_close(self._handle)]
            self._handle = _core.kernel_log_open()
        return list(self._records)

    def algorithms(self, op: str | None = None) -> List[str]:
        """The algorithms recorded, in call order (only those of ``op`` if given)."""
        return [r.algorithm for r in self.records if op is None or r.op == op]

    def _close(self):
        if self._open:
            self._records += [KernelRecord(*r) for r in _core.kernel_log_close(self._handle)]
            self._open = False

    def __repr__(self):
        return f"KernelLog({self.records!r})"


@contextlib.contextmanager
def kernel_log():
    """Record every kernel call (op, device, ISA, algorithm) made while the block runs."""
    log = KernelLog()
    try:
        yield log
    finally:
        log._close()


@contextlib.contextmanager
def force_algorithm(op: str, algorithm: str):
    """Make ``op`` use ``algorithm`` on this thread while the block runs (nested blocks restore
    the outer choice). The op raises ``ValueError`` if the algorithm cannot run a given call;
    the names each op accepts are in its docstring."""
    if not isinstance(op, str) or not isinstance(algorithm, str):
        raise TypeError("force_algorithm: expected (op: str, algorithm: str), got "
                        f"({type(op).__name__}, {type(algorithm).__name__})")
    _core.push_forced_algorithm(op, algorithm)
    try:
        yield
    finally:
        _core.pop_forced_algorithm(op)

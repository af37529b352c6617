"""Host memory: dlcore keeps freed blocks of 1 MiB and more for reuse.

A training loop allocates the same activations and gradients every step. Giving each large
block back to the OS and mapping a fresh one next step costs page faults and page zeroing
(about 3% of a step of the wide MLP in ``dlcore bench train``), so released blocks stay in a
cache, up to a limit (1 GiB, or a quarter of the machine's memory if that is less), and are
reused by the next request of the same size class.

Blocks under 1 MiB: each thread keeps the last few it freed (at most 8 blocks and 1 MiB) and
hands one back to the next allocation of the same size, so an op on small arrays does not pay
for malloc and free on every call. A block freed on a thread that has exited goes back to malloc.
"""
from __future__ import annotations

from . import _core


def empty_cache() -> None:
    """Return every cached block to the operating system: all large blocks, and the calling
    thread's small ones (tensors in use are not touched)."""
    _core.host_cache_empty()


def set_cache_limit(nbytes: int) -> None:
    """Keep at most ``nbytes`` of freed blocks of 1 MiB and more; 0 disables that cache (the
    per-thread cache of smaller blocks has its own fixed bound). Trims at once."""
    if not isinstance(nbytes, int) or isinstance(nbytes, bool):
        raise TypeError(f"set_cache_limit: expected an int, got {type(nbytes).__name__}")
    if nbytes < 0:
        raise ValueError(f"set_cache_limit: expected a limit >= 0 bytes, got {nbytes}")
    _core.host_cache_set_limit(nbytes)


def cache_stats() -> dict:
    """``cached_bytes``, ``cached_blocks``, ``limit_bytes``, and the ``hits`` and ``misses`` of
    allocations of 1 MiB and more since the process started; ``small_cached_blocks``,
    ``small_cached_bytes`` and ``small_hits``: the calling thread's cache of smaller blocks."""
    return dict(_core.host_cache_stats())

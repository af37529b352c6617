"""gemm ops (array level)."""
from __future__ import annotations

__all__: list = []

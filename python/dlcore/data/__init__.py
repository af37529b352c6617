"""Data: bundled real data sets (no downloads)."""
from __future__ import annotations

from .digits import digits

__all__ = ["digits"]

"""In-place memory ops on arrays: copy_ and fill_."""
from __future__ import annotations

from ._util import _core, unwrap


def copy_(dst, src):
    """Copy `src` into `dst` (same shape and dtype, any strides, across devices); returns dst.
    When the two overlap in memory (``copy_(x, x[::-1])``) src is read in full first, through a
    temporary (NumPy's semantics); a `dst` with a zero stride on a dim of size > 1 (an expanded
    view: several elements on one address) raises ValueError."""
    _core.copy_(unwrap(dst), unwrap(src))
    return dst


def fill_(dst, value):
    """Set every element of `dst` to `value`; returns dst.  An integer value is stored exactly into
    an int64 `dst` (no rounding through a double); NaN, infinities and values outside int64
    raise ValueError for an int64 `dst`, a non-number raises TypeError."""
    _core.fill_(unwrap(dst), value)
    return dst

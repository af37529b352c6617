"""In-place memory ops on arrays: copy_ and fill_."""
from __future__ import annotations

import numbers

from ._util import _core, unwrap


def _check_dst(dst, op):
    """An in-place op needs an array to write into: a Python number, list or tuple would be
    converted to a temporary that is written and thrown away (a silent no-op), so refuse it."""
    if dst is None or isinstance(dst, (numbers.Number, list, tuple, str, bytes)):
        raise TypeError(f"{op}: expected a writable array (numpy, dlcore, DLPack) as the destination, "
                        f"got {type(dst).__name__}")


def copy_(dst, src):
    """Copy `src` into `dst` (same shape and dtype, any strides, across devices); returns dst.
    When the two overlap in memory (``copy_(x, x[::-1])``) src is read in full first, through a
    temporary (NumPy's semantics); a `dst` with a zero stride on a dim of size > 1 (an expanded
    view: several elements on one address) raises ValueError, and a `dst` that is not an array (a
    number or list could not be written back) raises TypeError."""
    _check_dst(dst, "copy_")
    _core.copy_(unwrap(dst), unwrap(src))
    return dst


def fill_(dst, value):
    """Set every element of `dst` to `value`; returns dst.  An integer value is stored exactly into
    an int64 `dst` (no rounding through a double); NaN, infinities and values outside int64
    raise ValueError for an int64 `dst`; a `dst` that is not an array or a non-number `value`
    raises TypeError."""
    _check_dst(dst, "fill_")
    _core.fill_(unwrap(dst), value)
    return dst

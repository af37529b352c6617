"""In-place memory ops on arrays: copy_ and fill_."""
from __future__ import annotations

import numbers

from ._util import _core, as_float, unwrap


def _check_dst(dst, op):
    """An in-place op needs an array to write into: a Python number, list or tuple would be
    converted to a temporary that is written and thrown away (a silent no-op), so refuse it."""
    if dst is None or isinstance(dst, (numbers.Number, list, tuple, str, bytes)):
        raise TypeError(f"{op}: expected a writable array (numpy, dlcore, DLPack) as the destination, "
                        f"got {type(dst).__name__}")


def copy_(dst, src):
    """Copy `src` into `dst` (same shape and dtype, any strides, across devices); returns dst.

    Raises TypeError when `dst` is not an array (a number or list could not be written back)."""
    _check_dst(dst, "copy_")
    _core.copy_(unwrap(dst), unwrap(src))
    return dst


def fill_(dst, value):
    """Set every element of `dst` to `value` (a real number); returns dst.

    Raises TypeError when `dst` is not an array or `value` is not a number."""
    _check_dst(dst, "fill_")
    _core.fill_(unwrap(dst), as_float(value, "fill_", "value"))
    return dst

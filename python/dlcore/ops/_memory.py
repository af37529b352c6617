"""In-place memory ops on arrays: copy_ and fill_."""
from __future__ import annotations

from ._util import _core, unwrap


def copy_(dst, src):
    """Copy `src` into `dst` (same shape and dtype, any strides, across devices); returns dst."""
    _core.copy_(unwrap(dst), unwrap(src))
    return dst


def fill_(dst, value):
    """Set every element of `dst` to `value`; returns dst."""
    _core.fill_(unwrap(dst), float(value))
    return dst

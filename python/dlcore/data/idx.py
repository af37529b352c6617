"""The IDX file format of MNIST and Fashion-MNIST (plain or gzip-compressed).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values in C order.  ``read_idx`` checks every part of
that, so a truncated or corrupt file raises ``ValueError`` naming the file instead of returning
garbage.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

# type code -> big-endian NumPy dtype (the format's table)
_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
        f.seek(0)
        raw = f.read()
    if head == b"\x1f\x8b":  # gzip magic
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"read_idx: {path} is a truncated or corrupt gzip file ({e})") from None
    return raw


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in the IDX file at ``path`` (``.gz`` or not), in native byte order.

    Raises FileNotFoundError if it does not exist and ValueError if it is not a well-formed IDX
    file (bad magic, unknown type, or a size that does not match its header)."""
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"read_idx: {path} is not an IDX file (bad magic number)")
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} has an unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"read_idx: {path} is truncated (header of {ndim} dimensions incomplete)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"read_idx: {path} holds {len(data) - header} bytes of data, its header "
                         f"{tuple(shape)} says {expected}: the file is truncated or corrupt")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=False) if dtype.itemsize > 1 else arr

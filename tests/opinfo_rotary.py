"""Registry entries (see tests/opinfo.py) for rotary position embedding (issue 25):
``rotary_embedding`` and its backward, against tests/reference/rope.py."""
from __future__ import annotations

import numpy as np

from dlcore import ops
from tests.opinfo import ErrorInput, OpInfo, S, add, arr
from tests.reference import rope as ref_rope


def _tables(length, r, offset=0):
    return ref_rope.rope_tables(length, 2 * r, offset=offset)


def _samples(n):
    c5, s5 = _tables(5, 3)           # (5, 3): x (..., 5, 6): full rotation
    c4, s4 = _tables(4, 2, offset=7)  # partial rotary: 4 of 7 features rotate
    c1, s1 = _tables(n, 4)            # (n, 4) tables against x (2, n, 8)
    return [S(arr(n, 2, 5, 6), c5, s5), S(arr(3, 4, 7, seed=1), c4, s4), S(arr(2, n, 8, seed=2), c1, s1),
            S(arr(n, 4, 6, seed=3).astype(np.float32), c4.astype(np.float32)[:, :1].repeat(3, 1),
              s4.astype(np.float32)[:, :1].repeat(3, 1))]


_ERRORS = [ErrorInput((arr(2, 5, 4), *_tables(5, 3))),                    # 2r = 6 > 4 features
           ErrorInput((arr(2, 5, 6), *_tables(4, 3))),                    # 4 positions for 5
           ErrorInput((arr(5, 6), _tables(5, 3)[0], _tables(5, 2)[1])),   # cos, sin differ
           ErrorInput((arr(5, 6, dtype=np.int64), *_tables(5, 3)), exc=TypeError),
           ErrorInput((np.float64(1.0), np.ones(1), np.zeros(1)))]

add(OpInfo("rotary_embedding", _samples, ref=ref_rope.rotary_embedding,
           grad=lambda g, x, cos, sin: (ops.rotary_embedding_backward(g, cos, sin),), wrt=(0,), varied=None,
           errors=_ERRORS))
add(OpInfo("rotary_embedding_backward", _samples, ref=ref_rope.rotary_embedding_backward, grad_of="rotary_embedding",
           errors=_ERRORS))

"""NumPy reference for the shape family's copy kernel (contiguous() of a permuted view)."""
import itertools

import numpy as np


def permuted_copy(x, perm):
    """out[i_0, ..., i_n] = x[i at the positions perm says], element by element, C order."""
    x = np.asarray(x)
    shape = tuple(x.shape[p] for p in perm)
    out = np.empty(shape, x.dtype)
    for idx in itertools.product(*(range(n) for n in shape)):
        src = [0] * x.ndim
        for d, p in enumerate(perm):
            src[p] = idx[d]
        out[idx] = x[tuple(src)]
    return out

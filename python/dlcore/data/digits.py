"""scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes), no download.

The split is fixed and documented so accuracies are comparable across runs and versions: a
permutation of the 1,797 samples drawn by ``numpy.random.default_rng(20240607)`` gives the first
1,257 (70%) to train, the next 270 (15%) to validation and the last 270 (15%) to test.  Pixels
(0..16) are scaled to [0, 1]; images are flattened to 64 features.
"""
from __future__ import annotations

import numpy as np

SPLIT_SEED = 20240607
N_TRAIN, N_VAL = 1257, 270


def digits(flatten: bool = True, dtype=np.float32):
    """Returns {"train": (x, y), "val": (x, y), "test": (x, y)} with x float32 in [0, 1] of shape
    (n, 64) (or (n, 1, 8, 8) when flatten=False) and y int64 class labels 0..9 (NumPy arrays).

    Raises ImportError naming the install command when scikit-learn is missing."""
    from .._extras import require

    require("digits", ["sklearn"], extra="zoo")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(dtype)
    y = bunch.target.astype(np.int64)
    if not flatten:
        x = x.reshape(-1, 1, 8, 8)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    tr, va, te = np.split(order, [N_TRAIN, N_TRAIN + N_VAL])
    return {"train": (x[tr], y[tr]), "val": (x[va], y[va]), "test": (x[te], y[te])}

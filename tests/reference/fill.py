"""Reference for fill: every element set to one value."""
import numpy as np


def fill(shape, value, dtype):
    return np.full(shape, value, dtype=dtype)

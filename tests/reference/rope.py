"""NumPy float64 reference for rotary position embedding (RoPE) in the half-rotation (GPT-NeoX)
layout, written as the complex-number rotation the paper describes (independent of the
real-arithmetic formula the kernel uses)."""
import numpy as np


def rope_tables(length, rotary_dim, base=10000.0, offset=0):
    """cos, sin (length, rotary_dim / 2): angle p * base^(-2i / rotary_dim) at position p."""
    inv = base ** (-np.arange(0, rotary_dim, 2, dtype=np.float64) / rotary_dim)
    ang = np.arange(offset, offset + length, dtype=np.float64)[:, None] * inv
    return np.cos(ang), np.sin(ang)


def rotary_embedding(x, cos, sin):
    """Pair feature i with feature i + r (r = cos.shape[-1]) as the complex number x_i + i x_{i+r},
    multiply it by e^{i theta} (cos theta, sin theta given) and write it back; features past 2r pass."""
    x = np.asarray(x, np.float64)
    cos, sin = np.asarray(cos, np.float64), np.asarray(sin, np.float64)
    r = cos.shape[-1]
    z = (x[..., :r] + 1j * x[..., r:2 * r]) * (cos + 1j * sin)
    return np.concatenate([z.real, z.imag, x[..., 2 * r:]], axis=-1)


def rotary_embedding_backward(grad, cos, sin):
    """The transpose of the rotation: rotate grad by the opposite angle."""
    return rotary_embedding(grad, cos, -np.asarray(sin, np.float64))

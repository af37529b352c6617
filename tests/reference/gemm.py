"""Reference for the gemm family (plain NumPy, computed in float64)."""
import math

import numpy as np


def matmul(a, b):
    return np.matmul(np.asarray(a, np.float64), np.asarray(b, np.float64))


def gemm(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if trans_a:
        a = np.swapaxes(a, -1, -2)
    if trans_b:
        b = np.swapaxes(b, -1, -2)
    out = alpha * np.matmul(a, b)
    if c is not None and beta != 0:
        out = out + beta * np.asarray(c, np.float64)
    return out


def gelu(v):
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return 0.5 * v * (1.0 + erf(v / math.sqrt(2.0)))


def linear(x, weight, bias=None, activation=None):
    y = np.asarray(x, np.float64) @ np.asarray(weight, np.float64).T
    if bias is not None:
        y = y + np.asarray(bias, np.float64)
    if activation == "relu":
        y = np.maximum(y, 0.0)
    elif activation == "gelu":
        y = gelu(y)
    return y


def linear_backward(grad_out, x, weight):
    g = np.asarray(grad_out, np.float64)
    x = np.asarray(x, np.float64)
    w = np.asarray(weight, np.float64)
    g2 = g.reshape(-1, g.shape[-1])
    x2 = x.reshape(-1, x.shape[-1])
    return g @ w, g2.T @ x2, g2.sum(axis=0)

"""Reference for elementwise ops: plain NumPy (float64 math), written for clarity, not speed.

Semantics: NumPy broadcasting, PyTorch results (torch.nn.functional) and PyTorch promotion."""
import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])

BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
    "ge": np.greater_equal,
}

_CAT = {"bool": 0, "int64": 1, "float32": 2, "float64": 2}


def result_type(da, db, a_scalar=False, b_scalar=False):
    """PyTorch promotion over float32/float64/int64/bool with weak Python scalars."""
    da, db = str(da), str(db)
    default = {0: "bool", 1: "int64", 2: "float32"}
    if a_scalar == b_scalar:
        if a_scalar:
            return default[max(_CAT[da], _CAT[db])]
        if da == db:
            return da
        if "float64" in (da, db):
            return "float64"
        if "float32" in (da, db):
            return "float32"
        return "int64"
    arr, sc = (db, da) if a_scalar else (da, db)
    return default[_CAT[sc]] if _CAT[sc] > _CAT[arr] else arr


def binary(name, a, b, dtype):
    """`name` computed in `dtype` (the promoted dtype); comparisons return bool."""
    a = np.asarray(a).astype(dtype)
    b = np.asarray(b).astype(dtype)
    if name == "div" and np.dtype(dtype).kind != "f":
        a, b = a.astype(np.float32), b.astype(np.float32)
    with np.errstate(all="ignore"):
        return BINARY[name](a, b)


def gelu(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softplus(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta)


UNARY = {
    "neg": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x), "tanh": np.tanh, "sigmoid": sigmoid,
    "relu": lambda x: np.where(x < 0, 0, x).astype(x.dtype),
    "leaky_relu": lambda x, negative_slope=0.01: np.where(x > 0, x, x * negative_slope),
    "gelu": gelu, "silu": lambda x: x * sigmoid(x), "softplus": softplus,
}


def unary(name, x, **kw):
    x = np.asarray(x)
    with np.errstate(all="ignore"):
        return np.asarray(UNARY[name](x.astype(np.float64), **kw)).astype(x.dtype)


def _dgelu(x, approximate="none"):
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    return 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


# Derivative f'(x) of each unary, in terms of the input x.
DERIV = {
    "neg": lambda x: -np.ones_like(x), "abs": np.sign, "exp": np.exp, "log": lambda x: 1 / x,
    "sqrt": lambda x: 0.5 / np.sqrt(x), "rsqrt": lambda x: -0.5 * x**-1.5,
    "tanh": lambda x: 1 - np.tanh(x) ** 2, "sigmoid": lambda x: sigmoid(x) * (1 - sigmoid(x)),
    "relu": lambda x: (x > 0).astype(x.dtype),
    "leaky_relu": lambda x, negative_slope=0.01: np.where(x > 0, 1.0, negative_slope),
    "gelu": _dgelu, "silu": lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x))),
    "softplus": lambda x, beta=1.0, threshold=20.0: np.where(x * beta > threshold, 1.0, sigmoid(x * beta)),
}

# Backward kernels that take the forward output y instead of x.
TAKES_OUTPUT = {"exp", "sqrt", "rsqrt", "tanh", "sigmoid"}


def unary_backward(name, grad, x, **kw):
    """grad * f'(x); x is always the forward INPUT here."""
    x = np.asarray(x, dtype=np.float64)
    return np.asarray(grad, dtype=np.float64) * DERIV[name](x, **kw)


def pow_backward(grad, a, b):
    a, b, grad = (np.asarray(v, dtype=np.float64) for v in (a, b, grad))
    with np.errstate(all="ignore"):
        ga = np.where(b == 0, 0.0, grad * b * a ** (b - 1))
        gb = np.where((a == 0) & (b >= 0), 0.0, grad * a**b * np.log(a))
    return ga, gb


def where(cond, a, b):
    return np.where(cond, a, b)

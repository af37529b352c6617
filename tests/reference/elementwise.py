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

_FLOATS = ("float16", "bfloat16", "float32", "float64")
_INTS = ("uint8", "int8", "int16", "int32", "int64")
_CAT = {"bool": 0, **{d: 1 for d in _INTS}, **{d: 2 for d in _FLOATS}}
_SIZE = {"bool": 1, "uint8": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8, "float16": 2, "bfloat16": 2,
         "float32": 4, "float64": 8}
_DEFAULT = {0: "bool", 1: "int64", 2: "float32"}


def promote_types(a, b):
    """torch.promote_types: within a category the larger type; integer with floating gives the
    floating type; uint8 with int8 gives int16; float16 with bfloat16 gives float32."""
    a, b = str(a), str(b)
    if a == b:
        return a
    if _CAT[a] != _CAT[b]:
        return a if _CAT[a] > _CAT[b] else b
    if _CAT[a] == 2:
        if "float64" in (a, b):
            return "float64"
        return "float32"  # float32 with a half type, or float16 with bfloat16
    if "uint8" in (a, b):
        other = b if a == "uint8" else a
        return "int16" if other == "int8" else other
    return a if _SIZE[a] > _SIZE[b] else b


def result_type(da, db, a_scalar=False, b_scalar=False, a_0d=False, b_0d=False):
    """torch.result_type of two operands of dtypes da, db.  Each is a dimensioned tensor, a 0-d
    tensor (`*_0d`) or a scalar (`*_scalar`: a Python or NumPy number, whose dtype is its
    category's default: int64, float32, bool).  Per tier the dtypes promote; a lower tier (0-d,
    then scalars) changes the result only when its category is higher than the tiers above."""
    tiers = [[], [], []]
    for d, sc, zd in ((str(da), a_scalar, a_0d), (str(db), b_scalar, b_0d)):
        if sc:
            tiers[2].append(_DEFAULT[_CAT[d]])
        else:
            tiers[1 if zd else 0].append(d)
    dim, zero, scalar = (None if not t else t[0] if len(t) == 1 else promote_types(*t) for t in tiers)
    return _combine(dim, _combine(zero, scalar))


def _combine(higher, lower):
    """c10's combine_categories: the higher tier's dtype, unless the lower tier's category wins."""
    if higher is None:
        return lower
    if lower is None or _CAT[higher] == 2:
        return higher
    if higher == "bool" or _CAT[lower] == 2:
        return promote_types(higher, lower)
    return higher


def floor_divide(a, b):
    """Python's // (rounds toward -inf), NumPy's floor_divide; for floats as ATen's
    div_floor_floating (a / b when b == 0)."""
    with np.errstate(all="ignore"):
        if a.dtype.kind == "f":
            q = np.floor_divide(a, b)
            return np.where(b == 0, a / b, q).astype(a.dtype)
        return np.floor_divide(a, b)


def cast(x, dtype):
    """x converted like PyTorch's CPU cast: float to a narrow integer through int64 (wrapping),
    to bool as != 0; float16 by NumPy (round to nearest even)."""
    x = np.asarray(x)
    dtype = np.dtype(dtype)
    if x.dtype.kind == "f" and dtype.kind in "iu" and dtype.itemsize < 8:
        return x.astype(np.int64).astype(dtype)
    if dtype == np.bool_:
        return x != 0
    return x.astype(dtype)


def to_bfloat16_bits(x):
    """The bfloat16 bit patterns (uint16) of float32 x: round to nearest, ties to even; NaN quiet."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, np.float32))
    return np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), rounded)


def from_bfloat16_bits(bits):
    """float32 values of bfloat16 bit patterns."""
    return (np.asarray(bits, np.uint16).astype(np.uint32) << 16).view(np.float32)


INT_BINARY = {
    "floor_divide": floor_divide, "remainder": np.remainder, "fmod": np.fmod,
    "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
}


def binary(name, a, b, dtype):
    """`name` computed in `dtype` (the promoted dtype); comparisons return bool."""
    a = np.asarray(a).astype(dtype)
    b = np.asarray(b).astype(dtype)
    if name == "div" and np.dtype(dtype).kind != "f":
        a, b = a.astype(np.float32), b.astype(np.float32)
    with np.errstate(all="ignore"):
        return {**BINARY, **INT_BINARY}[name](a, b)


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

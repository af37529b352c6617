"""Elementwise ops (array level): NumPy in -> NumPy out, dlcore.Tensor in -> Tensor out.

Semantics follow NumPy broadcasting and PyTorch (``torch`` / ``torch.nn.functional``) results.
Inputs may have any strides and offsets (transposed, sliced, broadcast views): they are read in
place, never copied, unless their dtype has to be promoted.

Type promotion (decided once, in C++ ``ew_result_type``; ``result_type(a, b)`` reports it) is
PyTorch's ``torch.result_type``, exactly, over float64, float32, float16, bfloat16, int64, int32,
int16, int8, uint8 and bool:

* categories bool < integer < floating; within one the larger type wins; integer with floating
  gives the floating type; uint8 with int8 gives int16; float16 with bfloat16 gives float32.
  **float32 with int64 gives float32** (NumPy would give float64).
* three tiers: dimensioned arrays, 0-d arrays, scalars (Python numbers and NumPy scalars such as
  ``np.float64(1.0)``).  A lower tier changes the result only when its category is higher: a
  float64 0-d array with a float32 array gives float32, with an int32 array float64; a Python
  float with an int array gives float32 (the default float), with a float16 array float16; an
  int with a uint8 array stays uint8 (and must fit: ``uint8 + 300`` raises ValueError).
  This is also the rule for plain NumPy arrays given to these ops (NumPy 2 would let a 0-d
  float64 array promote a float32 one).
* float16 and bfloat16 are computed in float32 and rounded once to the result dtype.
* ``div`` is true division: integer/bool inputs give float32 (``torch.true_divide``).
* ``sub``, ``pow``, ``floor_divide``, ``remainder`` and ``fmod`` of two bools raise TypeError (as
  in PyTorch); comparisons return bool; the bitwise ops take integers and bool only (TypeError).
* integer ``pow`` with a negative exponent raises ValueError; integer ``floor_divide``,
  ``remainder`` and ``fmod`` by zero raise RuntimeError (PyTorch's ZeroDivisionError); integer
  arithmetic otherwise wraps around (two's complement), as in PyTorch and NumPy.

Backward kernels return ``grad_in = f'(.) * grad`` at the broadcast shape of their inputs.  Most
take the forward **input** ``x``; ``exp_backward``, ``sqrt_backward``, ``rsqrt_backward``,
``tanh_backward`` and ``sigmoid_backward`` take the forward **output** ``y`` instead (cheaper, and
what PyTorch does).  Gradients follow PyTorch at the kinks: relu'(0) = 0, abs'(0) = sign(0) = 0.
"""
from __future__ import annotations

from .._dtype import as_dtype
from .._tensor import Tensor
from ._util import _core, as_float, unwrap, wrap

_BINARY_DOCS = {
    "add": "a + b",
    "sub": "a - b",
    "mul": "a * b",
    "div": "a / b (true division: integer inputs give float32, like torch.true_divide)",
    "pow": "a ** b (integer ** integer stays integer; a negative integer exponent raises ValueError)",
    "maximum": "elementwise max; NaN-propagating like numpy.maximum / torch.maximum",
    "minimum": "elementwise min; NaN-propagating like numpy.minimum / torch.minimum",
    "eq": "a == b (bool)",
    "ne": "a != b (bool)",
    "lt": "a < b (bool)",
    "le": "a <= b (bool)",
    "gt": "a > b (bool)",
    "ge": "a >= b (bool)",
    "floor_divide": "a // b rounded toward -inf (torch.floor_divide, Python's //); integer division by "
                    "zero raises RuntimeError, float division by zero gives inf/nan",
    "remainder": "a - floor(a / b) * b, the sign of b (torch.remainder, Python's %); integer b == 0 raises "
                 "RuntimeError",
    "fmod": "a - trunc(a / b) * b, the sign of a (torch.fmod, C's fmod); integer b == 0 raises RuntimeError",
    "bitwise_and": "a & b (integer or bool inputs; TypeError for floating ones)",
    "bitwise_or": "a | b (integer or bool inputs; TypeError for floating ones)",
    "bitwise_xor": "a ^ b (integer or bool inputs; TypeError for floating ones)",
}


def _make_binary(name, what):
    core_fn = getattr(_core, name)

    def fn(a, b):
        return wrap(core_fn(unwrap(a), unwrap(b)), a, b)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{name}(a, b): {what}.\n\n"
                  "NumPy broadcasting; arrays, dlcore Tensors, DLPack arrays or Python numbers; "
                  "dtype from the module's promotion rules. Raises ValueError (shapes do not "
                  f"broadcast) or TypeError (unsupported dtype), messages start with '{name}: '.")
    return fn


_UNARY_DOCS = {
    "neg": ("-x (float or int64)", "grad_in = -grad (x is not used; pass anything that broadcasts, e.g. grad)", "x"),
    "abs": ("|x| (float or int64)", "grad_in = grad * sign(x), sign(0) = 0", "x"),
    "exp": ("e ** x", "grad_in = grad * y, where y = exp(x) is the forward OUTPUT", "y"),
    "log": ("natural log (log(0) = -inf, log(x<0) = nan)", "grad_in = grad / x", "x"),
    "sqrt": ("square root", "grad_in = grad / (2 y), where y = sqrt(x) is the forward OUTPUT", "y"),
    "rsqrt": ("1 / sqrt(x)", "grad_in = -grad * y**3 / 2, where y = rsqrt(x) is the forward OUTPUT", "y"),
    "tanh": ("hyperbolic tangent", "grad_in = grad * (1 - y**2), where y = tanh(x) is the forward OUTPUT", "y"),
    "sigmoid": ("1 / (1 + exp(-x))", "grad_in = grad * y * (1 - y), where y = sigmoid(x) is the forward OUTPUT", "y"),
    "relu": ("max(x, 0) (float or int64; NaN propagates)", "grad_in = grad where x > 0 else 0 (0 at x = 0)", "x"),
    "silu": ("x * sigmoid(x), computed as x / (1 + exp(-x)) like PyTorch",
             "grad_in = grad * s * (1 + x (1 - s)), s = sigmoid(x)", "x"),
}


def _make_unary(name, what):
    core_fn = getattr(_core, name)

    def fn(x):
        return wrap(core_fn(unwrap(x)), x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{name}(x): {what}; matches torch.{name}.\n\n"
                  "Integer/bool inputs of the float functions are computed in float32 (PyTorch).")
    return fn


def _make_unary_backward(name, what, arg):
    core_fn = getattr(_core, name + "_backward")

    def fn(grad, x):
        return wrap(core_fn(unwrap(grad), unwrap(x)), grad, x)

    fn.__name__ = fn.__qualname__ = name + "_backward"
    fn.__doc__ = (f"{name}_backward(grad, {arg}): {what}.\n\n"
                  "Float inputs only (TypeError otherwise); grad and the second argument broadcast.")
    return fn


for _n, _w in _BINARY_DOCS.items():
    globals()[_n] = _make_binary(_n, _w)
for _n, (_w, _bw, _arg) in _UNARY_DOCS.items():
    globals()[_n] = _make_unary(_n, _w)
    globals()[_n + "_backward"] = _make_unary_backward(_n, _bw, _arg)
del _n, _w, _bw, _arg


def where(condition, x, y):
    """where(condition, x, y): x where condition else y (numpy.where / torch.where).

    `condition` must be bool (TypeError otherwise); all three broadcast; x and y promote like a
    binary op (Python numbers are weak)."""
    return wrap(_core.where(unwrap(condition), unwrap(x), unwrap(y)), condition, x, y)


def pow_backward(grad, a, b):
    """pow_backward(grad, a, b) -> (grad_a, grad_b) for out = a ** b, as in PyTorch:

    grad_a = grad * b * a**(b-1) (0 where b == 0), grad_b = grad * a**b * log(a) (0 where a == 0
    and b >= 0).  Both have the broadcast shape of (grad, a, b): reducing them to a's and b's
    shapes is the caller's (autograd's) job."""
    return wrap(_core.pow_backward(unwrap(grad), unwrap(a), unwrap(b)), grad, a, b)


def leaky_relu(x, negative_slope=0.01):
    """leaky_relu(x, negative_slope=0.01): x if x > 0 else x * negative_slope
    (torch.nn.functional.leaky_relu)."""
    return wrap(_core.leaky_relu(unwrap(x), as_float(negative_slope, "leaky_relu", "negative_slope")), x)


def leaky_relu_backward(grad, x, negative_slope=0.01):
    """leaky_relu_backward(grad, x, negative_slope=0.01): grad if x > 0 else grad * negative_slope."""
    return wrap(_core.leaky_relu_backward(unwrap(grad), unwrap(x),
                                         as_float(negative_slope, "leaky_relu_backward", "negative_slope")), grad, x)


def gelu(x, approximate="none"):
    """gelu(x, approximate="none"|"tanh") as torch.nn.functional.gelu:

    "none": x/2 * (1 + erf(x / sqrt(2))); "tanh": x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return wrap(_core.gelu(unwrap(x), str(approximate)), x)


def gelu_backward(grad, x, approximate="none"):
    """gelu_backward(grad, x, approximate="none"|"tanh"): grad * gelu'(x) (takes the input x)."""
    return wrap(_core.gelu_backward(unwrap(grad), unwrap(x), str(approximate)), grad, x)


def softplus(x, beta=1.0, threshold=20.0):
    """softplus(x, beta=1, threshold=20) as torch.nn.functional.softplus:
    log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""
    return wrap(_core.softplus(unwrap(x), as_float(beta, "softplus", "beta"),
                                as_float(threshold, "softplus", "threshold")), x)


def softplus_backward(grad, x, beta=1.0, threshold=20.0):
    """softplus_backward(grad, x, beta=1, threshold=20): grad * sigmoid(beta x), and grad where
    beta x > threshold (takes the input x)."""
    return wrap(_core.softplus_backward(unwrap(grad), unwrap(x), as_float(beta, "softplus_backward", "beta"),
                                         as_float(threshold, "softplus_backward", "threshold")), grad, x)


def result_type(a, b):
    """The dtype name (a str, e.g. ``"float32"``) that combining a and b gives: torch.result_type
    (see the module docstring).  a, b: arrays, Tensors, DLPack arrays, Python or NumPy scalars."""
    return _core.result_type(unwrap(a), unwrap(b))


def bitwise_not(x):
    """bitwise_not(x): ~x for integer inputs, logical not for bool (torch.bitwise_not); TypeError
    for floating inputs.  Same shape and dtype as x."""
    return wrap(_core.bitwise_not(unwrap(x)), x)


def cast(x, dtype):
    """cast(x, dtype): x converted to `dtype` (a dlcore/NumPy dtype or name, ``"bfloat16"``
    included), as ``Tensor.to(dtype)``: a new contiguous array, or x itself when it already has
    the dtype.  Float to integer truncates toward zero (out-of-range values wrap through int64),
    to bool tests != 0, float16/bfloat16 round to nearest even.  A bfloat16 result can only be a
    Tensor (NumPy has no bfloat16): with NumPy input it raises TypeError.  Raises TypeError for an
    unsupported dtype."""
    try:
        dtype = as_dtype(dtype)
    except TypeError as e:
        raise TypeError(f"cast: {e}") from None
    out = _core.cast(unwrap(x), str(dtype))
    if out.dtype == "bfloat16" and not isinstance(x, (_core.TensorImpl, Tensor)):
        raise TypeError("cast: NumPy has no bfloat16; pass a dlcore Tensor (dlcore.from_numpy(x)) to get one")
    return wrap(out, x)


_UNARY_NAMES = list(_UNARY_DOCS) + ["leaky_relu", "gelu", "softplus"]
__all__ = (list(_BINARY_DOCS) + ["where", "pow_backward", "result_type", "bitwise_not", "cast"] + _UNARY_NAMES
           + [n + "_backward" for n in _UNARY_NAMES])

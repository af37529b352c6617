"""Docstrings of public names whose definitions are one-liners (lambdas attached to Tensor,
thin wrappers, small classes), kept in one table as torch does (torch/_tensor_docs.py).

``install()`` runs once at import.  It fills a docstring only where the object has none, so a
docstring written at the definition always wins, and a function shared by two names (``view``
and ``reshape`` today) is copied so that each name keeps its own text.
"""
from __future__ import annotations

import inspect
import types

_BROADCAST = ("`other` is a Tensor, NumPy array or Python number; the two broadcast (ValueError if they cannot) "
              "and promote as Tensor operators do (see the README's 'Differences from PyTorch').")
_FLOAT_UNARY = ("Elementwise, differentiable; float32/float64 (integer input raises TypeError naming the op). "
                "Returns a new tensor of the input's shape.")

TENSOR = {
    "T": "The tensor with its dimensions reversed (a view, no copy; differentiable): shape (d0, ..., dn) -> (dn, ..., d0).",
    "abs": "|x| elementwise, any numeric dtype, same shape; differentiable (gradient sign(x), 0 at 0).",
    "add": f"self + other, elementwise (torch.Tensor.add). {_BROADCAST} Differentiable.",
    "add_": "self += other in place (torch.Tensor.add_); returns self. `other` broadcasts to self's shape "
            "(ValueError otherwise). RuntimeError on a leaf that requires grad outside dlcore.no_grad().",
    "argmax": "Index (int64) of the maximum, over all elements (dim=None, a 0-d tensor) or along `dim` "
              "(keepdim keeps it as size 1). NaN counts as the maximum; ties give the first index. "
              "ValueError for an empty dimension or a dim out of range.",
    "argmin": "Index (int64) of the minimum, over all elements (dim=None) or along `dim` (keepdim keeps it). "
              "NaN counts as the minimum; ties give the first index. ValueError for an empty or out-of-range dim.",
    "bool": "A copy converted to bool (nonzero -> True), same shape; not differentiable.",
    "clone": "A copy with its own contiguous memory, same shape, dtype and device; differentiable (gradient "
             "flows back to self).",
    "contiguous": "self if its memory is already C-contiguous, else a contiguous copy (differentiable).",
    "copy_": "copy_(src): write `src` (a Tensor or array broadcastable to self's shape; converted to self's "
             "dtype) into self, in place; returns self. ValueError if the shapes do not broadcast.",
    "cpu": "This tensor on the CPU: self if it is there already, else a copy from the GPU.",
    "cuda": "cuda(index=0): a copy on CUDA device `index` (self if it is there already). RuntimeError when "
            "dlcore was built without CUDA or no device is present.",
    "data": "The tensor's data as a new tensor that shares memory but is detached from autograd (as "
            "torch's .data); assigning a tensor of the same shape and dtype replaces the values.",
    "device": "The device the memory is on: dlcore.device('cpu') or dlcore.device('cuda:N').",
    "dim": "Number of dimensions (an int; same as .ndim).",
    "div": f"self / other, true division: integer inputs give float32 (torch.true_divide). {_BROADCAST} "
           "Differentiable.",
    "div_": "self /= other in place; returns self. Integer self raises (the result would be float). "
            "RuntimeError on a leaf that requires grad outside dlcore.no_grad().",
    "double": "A copy converted to float64 (self if already float64); differentiable for float input.",
    "dtype": "The element type, a NumPy dtype object (dlcore.float32 == numpy.float32).",
    "eq": f"self == other elementwise, a bool tensor of the broadcast shape. {_BROADCAST}",
    "exp": f"e ** x. {_FLOAT_UNARY}",
    "expand": "expand(*sizes): a broadcast view (no copy) with size-1 dimensions stretched to `sizes` (-1 keeps "
              "a size; new leading dimensions may be added). ValueError if a size other than 1 would change. "
              "Differentiable (the gradient is summed back).",
    "expand_as": "expand_as(other): self.expand(other.shape).",
    "fill_": "fill_(value): set every element to the Python number `value` (converted to self's dtype), in "
             "place; returns self.",
    "flatten": "flatten(start_dim=0, end_dim=-1): dimensions start_dim..end_dim merged into one (a view when the "
               "strides allow, else a copy); differentiable.",
    "float": "A copy converted to float32 (self if already float32); differentiable for float input.",
    "ge": f"self >= other elementwise, a bool tensor of the broadcast shape. {_BROADCAST}",
    "gelu": "gelu(approximate='none'): x * Phi(x) ('none', exact erf) or the tanh approximation ('tanh'). "
            f"{_FLOAT_UNARY}",
    "gt": f"self > other elementwise, a bool tensor of the broadcast shape. {_BROADCAST}",
    "is_contiguous": "True if the elements are laid out in C order without gaps.",
    "is_cuda": "True if the tensor's memory is on a CUDA device.",
    "is_leaf": "True for tensors the user created (no grad_fn); only leaves get .grad filled by backward().",
    "item": "The value of a one-element tensor as a Python number (float, int or bool). ValueError if the tensor "
            "has more or fewer than one element.",
    "le": f"self <= other elementwise, a bool tensor of the broadcast shape. {_BROADCAST}",
    "log": f"Natural logarithm (log of a negative number is nan, of 0 is -inf). {_FLOAT_UNARY}",
    "log_softmax": "log_softmax(dim): x - logsumexp(x, dim), numerically stable; float32/float64, same shape; "
                   "differentiable. ValueError if dim is out of range.",
    "long": "A copy converted to int64 (floats truncate toward zero); not differentiable.",
    "lt": f"self < other elementwise, a bool tensor of the broadcast shape. {_BROADCAST}",
    "masked_fill": "masked_fill(mask, value): a copy with `value` where the bool `mask` (broadcastable to self) is "
                   "True. TypeError for a non-bool mask; differentiable in self (zero gradient where filled).",
    "masked_fill_": "masked_fill_(mask, value): in-place masked_fill; returns self. TypeError for a non-bool mask.",
    "matmul": "Matrix product self @ other with torch.matmul's rules: 1-D operands are promoted and squeezed "
              "back, batch dimensions broadcast. ValueError if the inner dimensions differ. Differentiable.",
    "max": "max() -> the maximum of all elements (0-d); max(dim, keepdim=False) -> (values, indices) along dim, "
           "with .values/.indices. NaN propagates; ties give the first index. ValueError for an empty or "
           "out-of-range dim. Differentiable (the gradient goes to the chosen element).",
    "mean": "mean(dim=None, keepdim=False): arithmetic mean over all elements or the given dim(s) (int or "
            "tuple); float32/float64 only (TypeError otherwise); empty -> nan. Differentiable, deterministic.",
    "min": "min() -> the minimum of all elements (0-d); min(dim, keepdim=False) -> (values, indices) along dim. "
           "NaN propagates; ties give the first index. ValueError for an empty or out-of-range dim.",
    "mul": f"self * other, elementwise. {_BROADCAST} Differentiable.",
    "mul_": "self *= other in place; returns self. `other` broadcasts to self's shape (ValueError otherwise). "
            "RuntimeError on a leaf that requires grad outside dlcore.no_grad().",
    "ndim": "Number of dimensions (an int).",
    "ne": f"self != other elementwise, a bool tensor of the broadcast shape. {_BROADCAST}",
    "neg": "-x elementwise, same shape and dtype (bool raises TypeError); differentiable.",
    "numel": "Number of elements (the product of the shape; 1 for a 0-d tensor).",
    "permute": "permute(*dims): a view with the dimensions reordered (dims is a permutation of 0..ndim-1; "
               "ValueError otherwise). Differentiable.",
    "pow": f"self ** other elementwise. {_BROADCAST} Differentiable in both operands.",
    "relu": "max(x, 0) elementwise, same shape and dtype; differentiable (gradient 0 at 0).",
    "requires_grad": "Whether autograd records operations on this tensor. Settable on leaves only (RuntimeError "
                     "on a non-leaf) and only for floating dtypes (RuntimeError otherwise).",
    "requires_grad_": "requires_grad_(requires_grad=True): set requires_grad in place and return self; the same "
                      "errors as setting .requires_grad.",
    "reshape": "reshape(*shape): the same elements in a new shape (one entry may be -1); a view when the strides "
               "allow, else a copy. ValueError if the sizes do not match. Differentiable.",
    "rsqrt": f"1 / sqrt(x). {_FLOAT_UNARY}",
    "shape": "The sizes of the dimensions, a tuple of ints (torch.Size is a tuple too).",
    "sigmoid": f"1 / (1 + exp(-x)). {_FLOAT_UNARY}",
    "size": "size() -> the shape tuple; size(dim) -> the size of one dimension (negative dims count from the end; "
            "IndexError/ValueError if out of range).",
    "softmax": "softmax(dim): exp(x - max) / sum along `dim`, numerically stable; float32/float64, same shape; "
               "differentiable. ValueError if dim is out of range.",
    "sqrt": f"Square root (negative input gives nan). {_FLOAT_UNARY}",
    "squeeze": "squeeze(dim=None): a view without the size-1 dimensions (all of them, or `dim` if it has size 1). "
               "ValueError if dim is out of range. Differentiable.",
    "stride": "stride() -> the strides in elements (a tuple); stride(dim) -> one of them.",
    "sub": f"self - other, elementwise (two bools raise TypeError). {_BROADCAST} Differentiable.",
    "sub_": "self -= other in place; returns self. `other` broadcasts to self's shape (ValueError otherwise). "
            "RuntimeError on a leaf that requires grad outside dlcore.no_grad().",
    "sum": "sum(dim=None, keepdim=False): sum over all elements or the given dim(s) (int or tuple); int and bool "
           "input sum to int64. Deterministic for any thread count; differentiable.",
    "t": "Transpose of a 2-D tensor (a view); tensors with fewer than 2 dimensions are returned as they are.",
    "tanh": f"Hyperbolic tangent. {_FLOAT_UNARY}",
    "tolist": "The elements as nested Python lists of numbers (a Python number for a 0-d tensor).",
    "transpose": "transpose(dim0, dim1): a view with two dimensions swapped. ValueError if a dim is out of range. "
                 "Differentiable.",
    "unsqueeze": "unsqueeze(dim): a view with a size-1 dimension inserted at `dim` (-ndim-1 <= dim <= ndim; "
                 "ValueError otherwise). Differentiable.",
    "var": "var(dim=None, correction=1, keepdim=False): variance dividing by N - correction (the unbiased "
           "estimator by default; unbiased=False means correction=0); float32/float64 only. Differentiable.",
    "view": "view(*shape): the same memory in a new shape (one entry may be -1), never a copy. ValueError if the "
            "sizes do not match or the strides do not allow a view (use reshape).",
    "zero_": "Set every element to 0 in place; returns self.",
}

_CREATION = ("`size`: ints or one tuple; dtype: a dlcore/NumPy dtype (default float32); device: 'cpu' or "
             "'cuda[:N]'; requires_grad makes it a leaf that records operations. ValueError for a negative size.")
FUNCTIONS = {  # dlcore.*
    "zeros": f"zeros(*size, dtype=None, device='cpu', requires_grad=False): a tensor of zeros. {_CREATION}",
    "ones": f"ones(*size, dtype=None, device='cpu', requires_grad=False): a tensor of ones. {_CREATION}",
    "empty": f"empty(*size, dtype=None, device='cpu', requires_grad=False): uninitialised memory. {_CREATION}",
    "full": "full(size, fill_value, dtype=None, device='cpu', requires_grad=False): a tensor of shape `size` "
            "filled with `fill_value` (dtype inferred from it as torch does when None). ValueError for a negative "
            "size or a value that does not convert.",
    "arange": "arange(start, end=None, step=1, dtype=None, ...): values start, start+step, ... below end (arange(n) "
              "is 0..n-1); int64 for integer arguments, float32 otherwise. A step of 0 raises.",
    "rand_like": "rand_like(input, dtype=None, device=None): uniform [0, 1) numbers of input's shape (and dtype/"
                 "device unless given), from dlcore's seeded generator. TypeError for a non-float dtype.",
    "randn_like": "randn_like(input, dtype=None, device=None): standard normal numbers of input's shape (and "
                  "dtype/device unless given), from dlcore's seeded generator. TypeError for a non-float dtype.",
    "exp": "exp(input): torch.exp for a dlcore.Tensor (see Tensor.exp); differentiable.",
    "log": "log(input): torch.log for a dlcore.Tensor (see Tensor.log); differentiable.",
    "relu": "relu(input): torch.relu for a dlcore.Tensor, max(x, 0); differentiable.",
    "sigmoid": "sigmoid(input): torch.sigmoid for a dlcore.Tensor, 1 / (1 + exp(-x)); differentiable.",
    "sqrt": "sqrt(input): torch.sqrt for a dlcore.Tensor; differentiable.",
    "tanh": "tanh(input): torch.tanh for a dlcore.Tensor; differentiable.",
    "is_grad_enabled": "True unless inside dlcore.no_grad() (or set_grad_enabled(False)) on this thread.",
    "get_num_threads": "The number of OpenMP threads dlcore's kernels use (see set_num_threads).",
}

_ACT = "Elementwise on a float32/float64 dlcore.Tensor (or array), any shape, output of the same shape; differentiable."
_REDUCTION = "reduction: 'mean' (default), 'sum' or 'none' (ValueError otherwise)."
FUNCTIONAL = {  # dlcore.nn.functional
    "relu": f"relu(input, inplace=False): max(x, 0). {_ACT}",
    "leaky_relu": f"leaky_relu(input, negative_slope=0.01, inplace=False): x if x > 0 else slope * x. {_ACT}",
    "gelu": f"gelu(input, approximate='none'): x * Phi(x), exact ('none') or the tanh approximation. {_ACT}",
    "silu": f"silu(input, inplace=False): x * sigmoid(x) (swish). {_ACT}",
    "sigmoid": f"sigmoid(input): 1 / (1 + exp(-x)). {_ACT}",
    "tanh": f"tanh(input): hyperbolic tangent. {_ACT}",
    "softplus": f"softplus(input, beta=1, threshold=20): log(1 + exp(beta x)) / beta, linear where beta x > "
                f"threshold. {_ACT}",
    "softmax": "softmax(input, dim): exp(x - max) / sum along dim; float32/float64, same shape; differentiable. "
               "ValueError if dim is out of range.",
    "log_softmax": "log_softmax(input, dim): x - logsumexp(x) along dim, stable; float32/float64, same shape; "
                   "differentiable. ValueError if dim is out of range.",
    "mse_loss": f"mse_loss(input, target, reduction='mean'): (input - target)^2, float tensors that broadcast "
                f"(ValueError otherwise). {_REDUCTION} Differentiable in both.",
    "l1_loss": f"l1_loss(input, target, reduction='mean'): |input - target|, float tensors that broadcast "
               f"(ValueError otherwise). {_REDUCTION} Differentiable in both.",
}

_MODULE = "A Module whose forward is F.{0} (see dlcore.nn.functional.{0}); no parameters."
_LOSS = "A Module computing F.{0}(input, target, ...) with the options given here (see dlcore.nn.functional.{0})."
NN = {
    "ReLU": _MODULE.format("relu") + " ReLU(inplace=False).",
    "LeakyReLU": _MODULE.format("leaky_relu") + " LeakyReLU(negative_slope=0.01, inplace=False).",
    "Sigmoid": _MODULE.format("sigmoid"),
    "Tanh": _MODULE.format("tanh"),
    "GELU": _MODULE.format("gelu") + " GELU(approximate='none' | 'tanh').",
    "SiLU": _MODULE.format("silu") + " SiLU(inplace=False).",
    "Softplus": _MODULE.format("softplus") + " Softplus(beta=1.0, threshold=20.0).",
    "Softmax": _MODULE.format("softmax") + " Softmax(dim): the dimension to normalise.",
    "LogSoftmax": _MODULE.format("log_softmax") + " LogSoftmax(dim): the dimension to normalise.",
    "MSELoss": _LOSS.format("mse_loss") + " MSELoss(reduction='mean').",
    "L1Loss": _LOSS.format("l1_loss") + " L1Loss(reduction='mean').",
    "GaussianNLLLoss": _LOSS.format("gaussian_nll_loss") + " forward(input, target, var); GaussianNLLLoss(*, "
                       "full=False, eps=1e-6, reduction='mean').",
    "BCELoss": _LOSS.format("binary_cross_entropy") + " Probabilities in [0, 1]; BCELoss(weight=None, "
               "reduction='mean').",
    "BCEWithLogitsLoss": _LOSS.format("binary_cross_entropy_with_logits") + " BCEWithLogitsLoss(weight=None, "
                         "reduction='mean', pos_weight=None).",
    "CrossEntropyLoss": _LOSS.format("cross_entropy") + " Logits (N, C, ...) and int64 class targets or "
                        "probabilities; CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean', "
                        "label_smoothing=0.0).",
    "NLLLoss": _LOSS.format("nll_loss") + " Log-probabilities (N, C, ...) and int64 targets; NLLLoss(weight=None, "
               "ignore_index=-100, reduction='mean').",
    "KLDivLoss": _LOSS.format("kl_div") + " Input as log-probabilities; KLDivLoss(reduction='mean', "
                 "log_target=False).",
}


def _undocumented(obj):
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    return not (doc or "").strip()


def _copy_function(f):
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    g.__kwdefaults__, g.__qualname__, g.__module__ = f.__kwdefaults__, f.__qualname__, f.__module__
    g.__dict__.update(f.__dict__)
    return g


def _apply(owner, table, seen):
    for name, doc in table.items():
        obj = inspect.getattr_static(owner, name, None) if isinstance(owner, type) else getattr(owner, name, None)
        if obj is None:
            continue
        if isinstance(obj, property):
            if not (obj.__doc__ or "").strip():
                setattr(owner, name, property(obj.fget, obj.fset, obj.fdel, doc))
        elif isinstance(obj, types.FunctionType):
            if id(obj) in seen:  # shared with a name documented above: give this name its own copy
                obj = _copy_function(obj)
                obj.__doc__ = None
                setattr(owner, name, obj)
            if _undocumented(obj):
                obj.__doc__ = doc
                seen.add(id(obj))
        elif isinstance(obj, type) and _undocumented(obj):
            obj.__doc__ = doc


def install():
    """Fill the missing docstrings of dlcore, dlcore.Tensor, dlcore.nn and dlcore.nn.functional."""
    import dlcore
    from dlcore import nn
    from dlcore.nn import functional

    seen = set()
    _apply(dlcore.Tensor, TENSOR, seen)
    _apply(dlcore, FUNCTIONS, seen)
    _apply(functional, FUNCTIONAL, seen)
    _apply(nn, NN, seen)

"""dlcore: fast, deterministic deep-learning kernels behind a PyTorch-shaped API.

    import dlcore
    x = dlcore.from_numpy(np.ones((2, 3), np.float32))   # zero copy
    dlcore.info()                                         # ISA, threads, CUDA

Array-level kernels (NumPy in -> NumPy out, Tensor in -> Tensor out) live in ``dlcore.ops``.
"""
from . import _core

__version__ = _core.__version__

from . import cuda, memory, ops  # noqa: E402
from . import autograd  # noqa: E402  (attaches Tensor operators)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .autograd.api import (cat, concat, concatenate, exp, log, log_softmax, matmul, mean, relu,  # noqa: E402,A004
                           sigmoid, softmax, sqrt, stack, sum, tanh, where)
from .autograd.api_indexing import (all, any, argsort, chunk, clamp, clip, cumsum, flip, gather,  # noqa: E402,A004
                                     masked_select, multinomial, norm, prod, roll, scatter, scatter_add, sort,
                                     split, std, topk, tril, triu)
from ._dtype import bool_, device, double, float, float32, float64, int64, long  # noqa: E402,A004
from ._dtype import bfloat16, bool, float16, half, int8, int16, int32, uint8  # noqa: E402,A004
from ._info import available_isas, get_num_threads, info, set_isa, set_num_threads  # noqa: E402
from ._random import (bernoulli, get_rng_state, initial_seed, manual_seed, rand, rand_like,  # noqa: E402
                      randint, randn, randn_like, randperm, seed, set_rng_state)
from ._tensor import Tensor, arange, empty, from_dlpack, from_numpy, full, ones, tensor, zeros  # noqa: E402
from ._creation import empty_like, eye, full_like, linspace, ones_like, zeros_like  # noqa: E402
from .serialization import load, save  # noqa: E402
from ._kernel_log import force_algorithm, kernel_log  # noqa: E402
from . import data, nn, optim  # noqa: E402  (torch-style: dlcore.nn after a bare import dlcore)
from . import _aliases, _docs  # noqa: E402

_docs.install()  # docstrings of one-line definitions (Tensor methods, ...), where they have none
_aliases.install()  # dim= on dlcore.ops reductions, axis= on the Tensor ones (see _aliases)

__all__ = [
    "Tensor", "tensor", "from_numpy", "from_dlpack", "zeros", "ones", "empty", "full", "arange",
    "zeros_like", "ones_like", "full_like", "empty_like", "linspace", "eye",
    "float32", "float64", "int64", "bool_", "float", "double", "long", "device",
    "int32", "int16", "int8", "uint8", "bool", "float16", "half", "bfloat16",
    "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "rand", "randn", "randint",
    "randperm", "bernoulli", "rand_like", "randn_like",
    "cat", "concat", "concatenate", "exp", "log", "log_softmax", "matmul", "mean", "relu", "sigmoid",
    "softmax", "sqrt", "stack", "sum", "tanh", "where",
    "clamp", "clip", "std", "norm", "prod", "cumsum", "topk", "sort", "argsort", "all", "any", "chunk", "split",
    "gather", "scatter", "scatter_add", "flip", "roll", "tril", "triu", "multinomial", "masked_select",
    "autograd", "nn", "optim", "data", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled",
    "save", "load", "kernel_log", "force_algorithm", "info", "set_num_threads", "get_num_threads", "set_isa", "available_isas", "cuda", "memory", "ops",
]

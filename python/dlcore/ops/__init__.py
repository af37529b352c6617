"""Array-level kernels: NumPy (or any DLPack array) in -> NumPy out, dlcore.Tensor in -> Tensor out.

Every op validates its input and raises ValueError / TypeError / IndexError / RuntimeError with a
message that starts with the op's name.  Forward and backward kernels are both public, so the
ops can serve someone else's autograd.
"""
from ._memory import copy_, fill_  # noqa: F401
from .elementwise import *  # noqa: F401,F403,E402
from .reduce import *  # noqa: F401,F403,E402
from .shape import *  # noqa: F401,F403,E402
from .random import *  # noqa: F401,F403,E402
from .gemm import *  # noqa: F401,F403,E402
from .optim import *  # noqa: F401,F403,E402
# gather/scatter/cumsum/mask indexing, sorting and sampling, more reductions, rearranging copies
from .indexing import *  # noqa: F401,F403,E402
from .sorting import *  # noqa: F401,F403,E402
from .reduce_extra import *  # noqa: F401,F403,E402
from .layout import *  # noqa: F401,F403,E402
from .conv import *  # noqa: F401,F403,E402
from .pool import *  # noqa: F401,F403,E402  (pooling, unpooling, upsampling, pixel shuffle)
from .attention import *  # noqa: F401,F403,E402  (fused softmax attention, issue 25)
from .normalization import *  # noqa: F401,F403,E402  (batch/layer/group/instance norm; not .norm: ops.norm is an op)
from .rotary import *  # noqa: F401,F403,E402  (RoPE; the attention layers use it)
# recurrent layers: cells and whole sequences (csrc/ops/rnn.cpp)
from .recurrent import *  # noqa: F401,F403,E402

# Last, after every family's import: pybind11's argument-mismatch errors name the public op (issue
# 22 item 8).  matmul is left bare: its binding takes plain objects and reports its own errors, and
# its 1 x 1 call is tuned to the microsecond (the wrapper's frame would cost ~10%).
from ._util import name_binding_errors as _name_binding_errors  # noqa: E402


def _name_all_binding_errors(namespace, bare=("matmul",)):
    import types
    for name, fn in list(namespace.items()):
        if not name.startswith("_") and isinstance(fn, types.FunctionType) and name not in bare:
            namespace[name] = _name_binding_errors(fn, name)  # min_backward is max_backward's function


_name_all_binding_errors(globals())

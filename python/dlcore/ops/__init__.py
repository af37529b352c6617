"""Array-level kernels: NumPy (or any DLPack array) in -> NumPy out, dlcore.Tensor in -> Tensor out.

Every op validates its input and raises ValueError / TypeError / IndexError / RuntimeError with a
message that starts with the op's name.  Forward and backward kernels are both public, so the
ops can serve someone else's autograd.
"""
from __future__ import annotations

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

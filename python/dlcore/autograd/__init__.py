"""Reverse-mode automatic differentiation over dlcore's kernels.

``Function`` (forward/backward on TensorImpls), the iterative ``backward`` engine, grad modes
and ``gradcheck``.  Importing this package attaches the differentiable operators and methods
(``+ - * / @ **``, indexing, reshape, sum, softmax, ...) to ``dlcore.Tensor``.
"""
from __future__ import annotations

from . import tensor_methods  # noqa: F401  (attaches the Tensor methods)
from . import hooks  # noqa: F401,E402  (register_hook, register_post_accumulate_grad_hook)
from . import tensor_methods_indexing, tensor_indexing  # noqa: F401,E402  (issue 21's methods, advanced indexing)
from . import inplace  # noqa: F401  (attaches add_, +=, copy_, ...)
from . import ops_dispatch as _ops_dispatch
from .. import ops as _ops
from .grad_mode import _state as _grad_state

# dlcore.ops.<op>(tensor_that_requires_grad) records the graph (or raises): see ops_dispatch.
_ops._util.install_autograd(_ops, _ops_dispatch.GRAD_OPS, _ops_dispatch.NON_DIFFERENTIABLE, _grad_state)
from .engine import backward
from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck

__all__ = ["Function", "Context", "backward", "no_grad", "enable_grad", "is_grad_enabled",
           "set_grad_enabled", "gradcheck"]

"""Reverse-mode automatic differentiation over dlcore's kernels.

``Function`` (forward/backward on TensorImpls), the iterative ``backward`` engine, grad modes
and ``gradcheck``.  Importing this package attaches the differentiable operators and methods
(``+ - * / @ **``, indexing, reshape, sum, softmax, ...) to ``dlcore.Tensor``.
"""
from __future__ import annotations

from . import tensor_methods  # noqa: F401  (attaches the Tensor methods)
from . import tensor_methods_indexing, tensor_indexing  # noqa: F401,E402  (issue 21's methods, advanced indexing)
from .engine import backward
from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck

__all__ = ["Function", "Context", "backward", "no_grad", "enable_grad", "is_grad_enabled",
           "set_grad_enabled", "gradcheck"]

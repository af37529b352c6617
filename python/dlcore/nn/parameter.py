"""Parameter: a leaf Tensor that a Module registers as one of its parameters (torch.nn.Parameter)."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from .. import _core


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True`` (by default) that Module.__setattr__ registers.

    ``Parameter(data)`` shares `data`'s memory (a dlcore Tensor; NumPy arrays are copied once), as
    ``torch.nn.Parameter`` does.  It is a Tensor in every respect, so it enters every operation.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            impl = _core.empty((0,), "float32", "cpu")
        elif isinstance(data, Tensor):
            impl = data._impl
        else:
            impl = _core.as_tensor(np.array(data, dtype=np.float32 if np.asarray(data).dtype.kind != "f"
                                            else None, order="C", copy=True))
        super().__init__(impl, requires_grad=False)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):
        return (Parameter, (np.array(self.cpu().numpy()), self.requires_grad))


class Buffer:
    """Marker so ``module.x = Buffer(t)`` registers ``t`` as a buffer (torch.nn.Buffer)."""

    def __init__(self, data, persistent=True):
        self.data = data
        self.persistent = persistent

"""Embedding's max_norm: torch.embedding_renorm_ (the referenced rows rescaled in place before the
lookup, outside autograd)."""
from __future__ import annotations

import numpy as np

from .. import _core
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad


def embedding_renorm_(weight, indices, max_norm, norm_type):
    """Rows of weight referenced by indices (a TensorImpl of int64) whose norm_type-norm exceeds
    max_norm are scaled by max_norm / (norm + 1e-7), in place and outside autograd (torch's rule:
    the gradient of the lookup then sees the rescaled rows as constants)."""
    idx = np.unique(_core.to_numpy(indices).ravel())
    n = weight.shape[0]
    if idx.size and (idx[0] < -n or idx[-1] >= n):
        raise IndexError(f"embedding: index {idx[0] if idx[0] < -n else idx[-1]} is out of range for {n} embeddings")
    idx = np.unique(idx % n)
    rows = weight.detach().numpy()[idx].astype(np.float64)
    norms = np.linalg.norm(rows, ord=norm_type, axis=1) if rows.size else np.zeros(0)
    big = norms > max_norm
    if big.any():
        scaled = (rows[big] * (max_norm / (norms[big] + 1e-7))[:, None]).astype(np.dtype(str(weight.dtype)))
        with no_grad():
            weight[Tensor(_core.as_tensor(np.ascontiguousarray(idx[big])))] = Tensor(_core.as_tensor(scaled))

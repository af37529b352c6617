"""The autograd forms of issue 21's array-level ops, with each op's own ``dlcore.ops`` signature,
for a dispatcher that makes ``dlcore.ops.<name>(tensor_that_requires_grad)`` record the graph
(merge ``GRAD_OPS`` into its table and ``NON_DIFFERENTIABLE`` into its set).  Each entry is the
Function the Tensor method uses, so the gradients are the same."""
from __future__ import annotations

from .. import ops
from . import functions_indexing as FI


def _topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - torch's argument name
    return FI.Sort.apply(x, dim, largest, k)


def _chunk(x, chunks, dim=0):
    return FI.Split.apply(x, tuple(ops.layout._chunk_sizes(x.shape[dim], chunks, "chunk")), dim)


GRAD_OPS = {
    "clamp": lambda x, min=None, max=None: FI.Clamp.apply(x, min, max),  # noqa: A002
    "std": lambda x, axis=None, correction=1, keepdims=False: FI.Std.apply(x, axis, correction, keepdims),
    "norm": lambda x, p="fro", dim=None, keepdim=False: FI.Norm.apply(x, p, dim, keepdim),
    "prod": lambda x, dim=None, keepdim=False: FI.Prod.apply(x, dim, keepdim),
    "cumsum": lambda x, dim: FI.Cumsum.apply(x, dim),
    "sort": lambda x, dim=-1, descending=False: FI.Sort.apply(x, dim, descending, None),
    "topk": _topk,
    "gather": lambda x, dim, index: FI.Gather.apply(x, dim, index),
    "scatter": lambda x, dim, index, src: FI.Scatter.apply(x, dim, index, src, False),
    "scatter_add": lambda x, dim, index, src: FI.Scatter.apply(x, dim, index, src, True),
    "repeat": lambda x, sizes: FI.Repeat.apply(x, tuple(sizes)),
    "flip": lambda x, dims: FI.Flip.apply(x, dims),
    "roll": lambda x, shifts, dims=None: FI.Roll.apply(x, shifts, dims),
    "tril": lambda x, diagonal=0: FI.Tri.apply(x, diagonal, False),
    "triu": lambda x, diagonal=0: FI.Tri.apply(x, diagonal, True),
    "chunk": _chunk,
    "mask_select_rows": lambda x, mask: FI.MaskSelect.apply(x, mask),
    "masked_select": lambda x, mask: x.masked_select(mask),
}

# Results without a gradient in torch either: indices, booleans, samples, one-hot codes.
NON_DIFFERENTIABLE = frozenset(("argsort", "all", "any", "multinomial", "one_hot", "chunk_sizes"))

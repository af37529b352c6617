"""dlcore-level functional forms of issue 21's ops (``dlcore.clamp``, ``dlcore.gather``, ...), with
torch's names and arguments; each is the Tensor method of the same name, so gradients flow the
same way."""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["clamp", "clip", "std", "norm", "prod", "cumsum", "topk", "sort", "argsort", "all", "any", "chunk",
           "split", "gather", "scatter", "scatter_add", "flip", "roll", "tril", "triu", "multinomial",
           "masked_select"]


def _method(name, doc_args):
    def fn(input, *args, **kwargs):  # noqa: A002 - torch's argument name
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor as input, got {type(input).__name__}")
        return getattr(Tensor, name)(input, *args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}({doc_args})``: the same as ``input.{name}(...)``.\n\n" + (
        getattr(Tensor, name).__doc__ or "")
    return fn


clamp = _method("clamp", "input, min=None, max=None")
clip = _method("clip", "input, min=None, max=None")
std = _method("std", "input, dim=None, unbiased=None, keepdim=False, *, correction=None")
norm = _method("norm", "input, p='fro', dim=None, keepdim=False")
prod = _method("prod", "input, dim=None, keepdim=False")
cumsum = _method("cumsum", "input, dim")
topk = _method("topk", "input, k, dim=-1, largest=True, sorted=True")
sort = _method("sort", "input, dim=-1, descending=False, stable=False")
argsort = _method("argsort", "input, dim=-1, descending=False, stable=False")
all = _method("all", "input, dim=None, keepdim=False")  # noqa: A001
any = _method("any", "input, dim=None, keepdim=False")  # noqa: A001
chunk = _method("chunk", "input, chunks, dim=0")
split = _method("split", "tensor, split_size_or_sections, dim=0")
gather = _method("gather", "input, dim, index")
scatter = _method("scatter", "input, dim, index, src")
scatter_add = _method("scatter_add", "input, dim, index, src")
flip = _method("flip", "input, dims")
roll = _method("roll", "input, shifts, dims=None")
tril = _method("tril", "input, diagonal=0")
triu = _method("triu", "input, diagonal=0")
multinomial = _method("multinomial", "input, num_samples, replacement=False")
masked_select = _method("masked_select", "input, mask")

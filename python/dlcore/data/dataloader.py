"""DataLoader: batches from a data set, shuffled without replacement each epoch (torch's API).

Shuffling draws one permutation per epoch (per ``iter(loader)``) from dlcore's global
counter-based generator, as torch does when no generator is given: after
``dlcore.manual_seed(s)`` the sequence of batches is the same on every run and thread count.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._random import randperm
from .._tensor import Tensor, from_numpy, tensor
from ..autograd.api import stack
from .dataset import TensorDataset


def default_collate(samples):
    """Stack a list of samples into a batch: Tensors and NumPy arrays are stacked along a new first
    axis, numbers become a 1-D tensor, and tuples, lists and dicts are collated field by field."""
    first = samples[0]
    if isinstance(first, Tensor):
        return stack(list(samples))
    if isinstance(first, np.ndarray):
        return from_numpy(np.stack(samples))
    if isinstance(first, (bool, np.bool_)):
        return tensor(list(samples))
    if isinstance(first, numbers.Number):
        return tensor(list(samples))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise RuntimeError("default_collate: each sample in a batch must have the same number of fields")
        return type(first)(default_collate(list(field)) for field in zip(*samples)) if isinstance(first, tuple) \
            else [default_collate(list(field)) for field in zip(*samples)]
    raise TypeError(f"default_collate: samples must be Tensors, NumPy arrays, numbers, tuples, lists or dicts; "
                    f"got {type(first).__name__}")


def _check_positive_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"DataLoader: {name} should be a positive integer, got {value!r}")


class DataLoader:
    """Iterates over `dataset` in batches of `batch_size` (``torch.utils.data.DataLoader``).

    shuffle: a new permutation of the whole data set each epoch (sampling without replacement).
    drop_last: drop the last, incomplete batch.  collate_fn: how samples become a batch
    (default :func:`default_collate`).  A :class:`TensorDataset` with the default collate is
    batched with one gather per tensor instead of one lookup per sample, and so is any data set
    that defines ``__getitems__(indices)`` returning a whole batch (torch's batched-fetch hook;
    e.g. :class:`FashionMNIST`), when collate_fn is the default.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None):
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"DataLoader: dataset must define __getitem__ and __len__, got {type(dataset).__name__}")
        _check_positive_int(batch_size, "batch_size")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("DataLoader: collate_fn must be callable")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn if collate_fn is not None else default_collate

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        n = len(self.dataset)
        return randperm(n).numpy() if self.shuffle else np.arange(n, dtype=np.int64)

    def __iter__(self):
        order = self._order()
        n, bs = len(order), self.batch_size
        stop = n - n % bs if self.drop_last else n
        default = self.collate_fn is default_collate
        gather = isinstance(self.dataset, TensorDataset) and default
        getitems = getattr(self.dataset, "__getitems__", None) if default else None
        for start in range(0, stop, bs):
            idx = order[start:start + bs]
            if gather:
                yield self.dataset[idx]
            elif getitems is not None:
                yield getitems(idx)
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in idx])

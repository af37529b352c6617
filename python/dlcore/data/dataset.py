"""Datasets (``torch.utils.data``'s protocol): anything with ``__getitem__`` and ``__len__``."""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor, from_numpy


class Dataset:
    """Base class of map-style data sets: subclass and define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset must define __len__")


def _as_tensor(x, name):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return from_numpy(np.ascontiguousarray(x))
    raise TypeError(f"TensorDataset: {name} must be a dlcore.Tensor or a numpy.ndarray, got {type(x).__name__}")


class TensorDataset(Dataset):
    """Samples are rows of the given tensors (all with the same first dimension), like
    ``torch.utils.data.TensorDataset``.  NumPy arrays are accepted and shared, not copied.

    Indexing with an integer gives a tuple of rows; indexing with an integer array (what
    DataLoader does for a whole batch) gives a tuple of batches in one gather per tensor."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        self.tensors = tuple(_as_tensor(t, f"tensor {i}") for i, t in enumerate(tensors))
        n = self.tensors[0].shape[0] if self.tensors[0].ndim else None
        for i, t in enumerate(self.tensors):
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError(f"TensorDataset: size mismatch between tensors: tensor 0 has {n} rows, "
                                 f"tensor {i} has shape {tuple(t.shape)}")

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)

"""Data: Dataset, TensorDataset, DataLoader, batch transforms and real data sets (no downloads)."""
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset
from . import transforms
from .digits import digits
from .fashion_mnist import MNIST, FashionMNIST
from .idx import read_idx

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "default_collate", "digits", "FashionMNIST", "MNIST",
           "read_idx", "transforms"]

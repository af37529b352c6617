"""Data: Dataset, TensorDataset, DataLoader and the bundled real data sets (no downloads)."""
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset
from .digits import digits

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "default_collate", "digits"]

"""Data: Dataset, TensorDataset, DataLoader, batch transforms, the bundled real data sets (no
downloads), the Shakespeare corpus and the char / byte-level BPE tokenizers."""
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset
from . import transforms
from .digits import digits
from .fashion_mnist import MNIST, FashionMNIST
from .idx import read_idx
from .shakespeare import Corpus, Play, shakespeare, text_file
from .tokenizers import BPETokenizer, CharTokenizer, load_tokenizer

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "default_collate", "digits", "FashionMNIST", "MNIST",
           "read_idx", "transforms", "shakespeare", "text_file", "Corpus", "Play", "CharTokenizer", "BPETokenizer",
           "load_tokenizer"]

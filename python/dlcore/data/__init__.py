"""Data: Dataset, TensorDataset, DataLoader, the bundled real data sets (no downloads), the
Shakespeare corpus and the char / byte-level BPE tokenizers."""
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset
from .digits import digits
from .shakespeare import Corpus, Play, shakespeare, text_file
from .tokenizers import BPETokenizer, CharTokenizer, load_tokenizer

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "default_collate", "digits",
           "shakespeare", "text_file", "Corpus", "Play", "CharTokenizer", "BPETokenizer", "load_tokenizer"]

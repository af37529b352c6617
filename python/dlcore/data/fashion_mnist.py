"""Fashion-MNIST (and MNIST) from their standard IDX ``.gz`` files, without downloads.

Where the files come from: Debian's package ``dataset-fashion-mnist`` installs them into
``/usr/share/datasets/fashion-mnist/`` (``apt-get install dataset-fashion-mnist``). ``root=`` or
the ``DLCORE_DATA`` environment variable (a directory holding the files, or holding a
``fashion-mnist/`` folder with them) point elsewhere; MNIST's files (same names) read the same way.

Splits. ``"test"`` is the 10,000 official test images. The 60,000 official training images are
split once, fixedly: a permutation drawn by ``numpy.random.default_rng(20261202)`` gives its last
5,000 to ``"val"`` and the other 55,000 to ``"train"``; ``"train_full"`` is all 60,000 (for a final
model once hyper-parameters are chosen). The split does not depend on dlcore's seed.

Images come as float32 (N, 1, 28, 28) in [0, 1] (or normalised, see ``normalize``); labels int64.
Indexing a data set with an array of indices (what DataLoader does through ``__getitems__``) gives
a whole batch in one gather, with the batch transform applied once to the batch.
"""
from __future__ import annotations

import os

import numpy as np

from .dataset import Dataset
from .idx import read_idx

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
INSTALL_HINT = "apt-get install dataset-fashion-mnist (or pass root= / set DLCORE_DATA to a folder with the IDX files)"
SPLIT_SEED = 20261202
N_VAL = 5000
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# Mean and standard deviation of the 60,000 training pixels in [0, 1] (computed from the files).
MEAN, STD = 0.2860, 0.3530


def _candidates(root, name):
    if root is not None:
        return [os.fspath(root)]
    out = []
    env = os.environ.get("DLCORE_DATA")
    if env:
        out += [os.path.join(env, name), env]
    out.append(DEBIAN_DIR if name == "fashion-mnist" else f"/usr/share/datasets/{name}")
    return out


def find_idx_dir(root=None, name="fashion-mnist", what="FashionMNIST") -> str:
    """The folder holding the four IDX files: ``root`` if given, else ``$DLCORE_DATA/<name>``,
    ``$DLCORE_DATA``, then Debian's folder. Raises FileNotFoundError naming the install command."""
    needed = [f for pair in FILES.values() for f in pair]
    tried = _candidates(root, name)
    for d in tried:
        if all(os.path.isfile(os.path.join(d, f)) or os.path.isfile(os.path.join(d, f[:-3])) for f in needed):
            return d
    raise FileNotFoundError(f"{what}: data set not found (looked in {', '.join(tried)}); install it with: "
                            + (INSTALL_HINT if name == "fashion-mnist" else
                               f"put the MNIST IDX files in a folder and pass root= or set DLCORE_DATA"))


def _path(d, fname):
    p = os.path.join(d, fname)
    return p if os.path.isfile(p) else p[:-3]  # an uncompressed copy works too


def load_idx_split(d, split, what="FashionMNIST"):
    """(images uint8 (N, 28, 28), labels int64 (N,)) of the official "train" or "test" files in d."""
    images = read_idx(_path(d, FILES[split][0]))
    labels = read_idx(_path(d, FILES[split][1]))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{what}: {split} files disagree: images {images.shape}, labels {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{what}: {split} labels outside 0..9: the file is corrupt")
    return images, labels.astype(np.int64)


class FashionMNIST(Dataset):
    """Fashion-MNIST images and labels: ``split`` is "train" (55,000), "val" (5,000), "train_full"
    (60,000) or "test" (10,000); see the module docstring for the fixed split and where files are.

    normalize: subtract ``MEAN`` and divide by ``STD`` (the training set's statistics).
    transform: a callable applied to each batch of images (N, 1, 28, 28) float32, e.g.
    ``transforms.Compose([transforms.RandomCrop(28, padding=2), transforms.RandomHorizontalFlip()])``.
    ``ds[i]`` gives (image (1, 28, 28), label); ``ds[index_array]`` a batch (images, labels).
    Raises FileNotFoundError (with the install command) at construction if the files are missing,
    ValueError if they are truncated or corrupt."""

    classes = CLASSES
    _name, _what = "fashion-mnist", "FashionMNIST"

    def __init__(self, split="train", root=None, normalize=True, transform=None, as_tensor=True):
        if split not in ("train", "val", "train_full", "test"):
            raise ValueError(f"{self._what}: split must be 'train', 'val', 'train_full' or 'test', got {split!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"{self._what}: transform must be callable, got {type(transform).__name__}")
        d = find_idx_dir(root, self._name, self._what)
        images, labels = load_idx_split(d, "test" if split == "test" else "train", self._what)
        if split in ("train", "val"):
            order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
            keep = np.sort(order[-N_VAL:] if split == "val" else order[:-N_VAL])
            images, labels = images[keep], labels[keep]
        x = images.astype(np.float32).reshape(-1, 1, *images.shape[1:]) / np.float32(255.0)
        if normalize:
            x = (x - np.float32(MEAN)) / np.float32(STD)
        self.split, self.root, self.transform, self.as_tensor = split, d, transform, bool(as_tensor)
        self.images, self.labels = np.ascontiguousarray(x), labels

    def __len__(self):
        return len(self.labels)

    def _out(self, x, y):
        if self.transform is not None:
            x = self.transform(x)
        if not self.as_tensor:
            return x, y
        from .._tensor import from_numpy
        return from_numpy(np.ascontiguousarray(x)), from_numpy(np.ascontiguousarray(y))

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            x, y = self._out(self.images[[index]], self.labels[[index]])
            return x[0], y[0]
        idx = np.asarray(index)
        return self._out(self.images[idx], self.labels[idx])

    def __getitems__(self, indices):
        """A whole batch (images, labels) in one gather: what DataLoader calls."""
        return self[np.asarray(indices, dtype=np.int64)]

    def arrays(self):
        """(images, labels) as NumPy arrays, without the transform."""
        return self.images, self.labels


class MNIST(FashionMNIST):
    """MNIST from the same IDX files (``root=`` or ``$DLCORE_DATA/mnist``); same splits and API
    as :class:`FashionMNIST` (normalised with MNIST's own mean 0.1307 and std 0.3081)."""

    _name, _what = "mnist", "MNIST"

    def __init__(self, split="train", root=None, normalize=True, transform=None, as_tensor=True):
        super().__init__(split, root, normalize=False, transform=transform, as_tensor=as_tensor)
        if normalize:
            self.images = (self.images - np.float32(0.1307)) / np.float32(0.3081)

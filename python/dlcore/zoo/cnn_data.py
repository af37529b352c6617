"""Image data for the CNN recipes: Fashion-MNIST (Debian's package) or the bundled 8x8 digits,
as data sets that hand the DataLoader whole batches."""
from __future__ import annotations

import numpy as np

from .._tensor import from_numpy
from ..data import FashionMNIST, digits, transforms
from ..data import fashion_mnist as fm

DATASETS = ("fashion-mnist", "digits")


class ArrayImages:
    """(images, labels) NumPy arrays with an optional batch transform, fetched a batch at a time."""

    def __init__(self, images, labels, transform=None):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitems__(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        x = self.images[idx]
        if self.transform is not None:
            x = self.transform(x)
        return from_numpy(np.ascontiguousarray(x, dtype=np.float32)), from_numpy(self.labels[idx])

    def __getitem__(self, index):
        x, y = self.__getitems__([index])
        return x[0], y[0]


def check_data(name, root=None):
    """Raise before any work if data set `name` is unknown or not installed (with the command)."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; expected one of {DATASETS}")
    if name == "fashion-mnist":
        fm.find_idx_dir(root)
    else:
        from .._extras import require
        require("digits", ["sklearn"], extra="zoo")


def upsample(images, scale):
    """(N, C, S, S) images enlarged `scale` times by bilinear interpolation with the corners aligned
    (``interpolate(..., mode="bilinear", align_corners=True)``)."""
    from ..nn.functional import interpolate

    x = from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    return interpolate(x, scale_factor=scale, mode="bilinear", align_corners=True).numpy()


def image_splits(name, normalize=True, augment=False, root=None, scale=1):
    """{"train", "val", "test"} data sets of (N, 1, S, S) float32 images and int64 labels, and
    info {"input_size", "in_channels", "num_classes", "mean", "std"}. normalize: subtract the
    training mean, divide by its std (one value: grey images); otherwise pixels in [0, 1].
    scale: images enlarged that many times (``upsample``; LeNet5 on the 8x8 digits uses 3: its 5x5
    kernels are meant for 28-32 pixel images).  augment: random crop (padding 2, or 1 below 16
    pixels) on the training split, and a horizontal flip on Fashion-MNIST."""
    check_data(name, root)
    if name == "fashion-mnist":
        raw = {s: FashionMNIST(s, root=root, normalize=False, as_tensor=False).arrays()
               for s in ("train", "val", "test")}
        mean, std = fm.MEAN, fm.STD
    else:
        d = digits(flatten=False)
        raw = {s: d[s] for s in ("train", "val", "test")}
        mean, std = float(raw["train"][0].mean()), float(raw["train"][0].std())
    if int(scale) != 1:
        raw = {s: (upsample(x, int(scale)), y) for s, (x, y) in raw.items()}
    size = raw["train"][0].shape[-1]
    out = {}
    for split, (x, y) in raw.items():
        x = x.astype(np.float32)
        if normalize:
            x = (x - np.float32(mean)) / np.float32(std)
        t = None
        if augment and split == "train":
            steps = [transforms.RandomCrop(size, padding=2 if size >= 16 else 1,
                                           fill=float(-mean / std) if normalize else 0.0)]
            if name == "fashion-mnist":  # a mirrored digit can be another digit; a mirrored shoe is a shoe
                steps.append(transforms.RandomHorizontalFlip())
            t = transforms.Compose(steps)
        out[split] = ArrayImages(np.ascontiguousarray(x), y.astype(np.int64), t)
    info = {"input_size": int(size), "in_channels": 1, "num_classes": 10, "mean": float(mean), "std": float(std),
            "normalize": bool(normalize)}
    return out, info

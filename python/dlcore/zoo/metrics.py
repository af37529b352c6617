"""Sample quality without the internet: a Fréchet LeNet distance (FLD), class coverage and, for
conditional models, the accuracy of a classifier on the samples against the labels asked for.

FLD is FID (Heusel et al., 2017) with the Inception network replaced by the LeNet5 of the CNN zoo
trained on Fashion-MNIST: fit a Gaussian (mean mu, covariance C) to the 84 penultimate activations
of real test images and of generated images, and report
    FLD = |mu_r - mu_g|^2 + tr(C_r + C_g - 2 (C_r C_g)^(1/2)).
tr((C_r C_g)^(1/2)) is computed as the sum of the square roots of the eigenvalues of the symmetric
matrix C_r^(1/2) C_g C_r^(1/2) (same spectrum; no complex square roots). Images go in as [0, 1]
pixels and are normalised as the classifier was trained. Lower is better; two disjoint halves of
the real test set score the "real vs real" floor (``real_floor``): only differences well above it
mean anything, and values depend on the sample size (use the same n to compare models).

The classifier is trained once (``dlcore train lenet`` with its defaults and seed 0) and cached in
``$DLCORE_CACHE`` (default ``~/.cache/dlcore``) as ``fld-lenet/best.safetensors``:
``ensure_classifier()`` trains it if it is missing (a few minutes), ``dlcore train lenet --out
~/.cache/dlcore/fld-lenet`` does the same by hand.
"""
from __future__ import annotations

import os

import numpy as np

from .._tensor import from_numpy
from ..autograd.grad_mode import no_grad


def cache_dir():
    """$DLCORE_CACHE or ~/.cache/dlcore."""
    return os.environ.get("DLCORE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "dlcore")


def classifier_path():
    """Where the FLD classifier is cached."""
    return os.path.join(cache_dir(), "fld-lenet", "best.safetensors")


def ensure_classifier(path=None, log=print):
    """(LeNet5 in eval mode, its data info) from ``path`` (default: the cache), training and caching
    it first if the file is missing."""
    from .cnn_recipes import load_checkpoint, train_cnn

    path = path or classifier_path()
    if not os.path.isfile(path):
        if log:
            log(f"training the FLD classifier (LeNet5 on Fashion-MNIST) once into {os.path.dirname(path)}")
        train_cnn("lenet", data="fashion-mnist", seed=0, out_dir=os.path.dirname(path), progress=False, log=None)
    model, config = load_checkpoint(path)
    return model, config


class SampleScorer:
    """Scores images (N, 1, 28, 28) in [0, 1] with a trained LeNet5 classifier (``model``) whose
    input normalisation is (mean, std)."""

    def __init__(self, model, mean, std, batch_size=1000):
        self.model, self.mean, self.std, self.batch_size = model, float(mean), float(std), int(batch_size)

    def _run(self, images):
        feats, preds = [], []
        x = (np.asarray(images, np.float32) - np.float32(self.mean)) / np.float32(self.std)
        with no_grad():
            for i in range(0, len(x), self.batch_size):
                xb = from_numpy(np.ascontiguousarray(x[i:i + self.batch_size]))
                f = self.model.penultimate(xb)
                feats.append(f.numpy().astype(np.float64))
                preds.append(self.model.classifier[-1](f).numpy().argmax(axis=1))
        return np.concatenate(feats), np.concatenate(preds)

    def features(self, images):
        """(N, 84) penultimate activations, float64."""
        return self._run(images)[0]

    def predict(self, images):
        """(N,) predicted classes."""
        return self._run(images)[1]

    def score(self, images, real_images, labels=None):
        """{"fld", "class_histogram", "min_class_share" (the rarest class's share of the samples
        divided by 1/10), and with ``labels`` "label_accuracy"} of generated ``images`` against
        ``real_images``."""
        fg, pred = self._run(images)
        fr = self.features(real_images)
        hist = np.bincount(pred, minlength=10)
        out = {"fld": frechet_distance(fr, fg), "class_histogram": hist.tolist(),
               "min_class_share": float(hist.min() / len(pred) * 10)}
        if labels is not None:
            out["label_accuracy"] = float(np.mean(pred == np.asarray(labels)))
        return out


def frechet_distance(a, b):
    """The Fréchet distance between Gaussians fitted to the rows of ``a`` and of ``b``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"frechet_distance: expected two (n, d) feature sets with n >= 2, got {a.shape}, {b.shape}")
    mu1, mu2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(c1)
    s1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(s1 @ c2 @ s1), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * cross)


def default_scorer(classifier=None, log=print):
    """A SampleScorer on the cached (or given) classifier checkpoint, and the real test images in
    [0, 1] (N, 1, 28, 28) to compare with."""
    from .cnn_data import image_splits

    model, config = ensure_classifier(classifier, log=log)
    splits, info = image_splits("fashion-mnist", normalize=False)
    real = splits["test"].images
    return SampleScorer(model, info["mean"], info["std"]), real


def real_floor(scorer, real, n=5000):
    """FLD between two disjoint halves (n each, at most half the set) of the real images."""
    n = min(n, len(real) // 2)
    return frechet_distance(scorer.features(real[:n]), scorer.features(real[n:2 * n]))

"""The main job: an MLP on scikit-learn's bundled 8x8 digits, end to end on dlcore.

Recipe (the defaults of :func:`train_digits_mlp`, chosen on the validation split): pixels
standardised with the training split's per-pixel mean and standard deviation (+0.1, so constant
border pixels stay finite), 64 -> 1024 -> 10 with ReLU and dropout 0.3, AdamW (lr 1e-3, weight
decay 1e-2) with a cosine learning-rate schedule over the epochs, batch 32, cross-entropy.
Early stopping keeps the weights of the epoch with the lowest validation loss and stops after
`patience` epochs without improvement; the test split is scored once, with those weights.
Everything random (initialisation, dropout, shuffling) comes from ``dlcore.manual_seed(seed)``,
so a run is reproducible bit for bit.
"""
from __future__ import annotations

import json
import math
import os
import time

import numpy as np

from .. import nn, optim
from .._random import manual_seed
from .._tensor import from_numpy
from ..autograd.grad_mode import no_grad
from ..data import TensorDataset, digits
from ..nn import functional as F
from ..serialization import save
from ._parallel import DataParallel
from .mlp import MLP


def _evaluate(model, x, y):
    model.eval()
    with no_grad():
        logits = model(x)
        loss = F.cross_entropy(logits, y).item()
        acc = float(np.mean(logits.numpy().argmax(axis=1) == y.numpy()))
    model.train()
    return loss, acc


def _plot(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"], label="train")
    ax1.plot(epochs, history["val_loss"], label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy")
    ax1.set_yscale("log")
    ax1.legend()
    ax2.plot(epochs, history["val_acc"], color="C2")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation accuracy")
    fig.suptitle("dlcore MLP on digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_digits_mlp(epochs=60, lr=1e-3, weight_decay=1e-2, batch_size=32, hidden=1024, dropout=0.3,
                     patience=15, seed=0, out_dir=None, progress=True, log=print, distributed=False):
    """Trains the recipe above.

    Args:
        epochs, lr, weight_decay, batch_size, dropout, patience, seed: as in the module docstring.
        hidden: one width (int) or a list of widths.
        out_dir: folder (created if missing) for ``mlp_digits.safetensors`` (the best weights, the
            model config and input normalisation in its metadata) and ``mlp_digits.png`` (curves).
        progress: show a tqdm bar over the epochs (when tqdm is installed); lines logged meanwhile
            go through the bar, and a bar that ends early says so.
        log: a print-like function for one line per epoch, the early stop, and last the headline
            ``test accuracy 0.xxxx``; None for silence.
        distributed: data-parallel over the ranks of ``mpirun -n P`` (see zoo/_parallel.py): the
            batch is split over the ranks; only rank 0 logs and writes.

    Returns:
        dict with test_accuracy, val_accuracy, best_epoch, epochs_run, seconds, history and, with
        `out_dir`, the paths ``weights`` and ``curves``.

    Raises:
        ImportError: scikit-learn (the data) or, with `out_dir`, matplotlib missing.
        ValueError: bad hyper-parameters (from MLP, AdamW and the DataLoader)."""
    dp = DataParallel(distributed)
    if not dp.main:
        log, progress, out_dir = None, False, None
    manual_seed(seed)
    data = digits()
    (xtr, ytr), (xva, yva), (xte, yte) = data["train"], data["val"], data["test"]
    mean, std = xtr.mean(axis=0), xtr.std(axis=0) + np.float32(0.1)
    norm = lambda a: from_numpy(((a - mean) / std).astype(np.float32))  # noqa: E731
    x_train, x_val, x_test = norm(xtr), norm(xva), norm(xte)
    y_train, y_val, y_test = from_numpy(ytr), from_numpy(yva), from_numpy(yte)

    model = MLP(64, hidden, 10, dropout=dropout)
    net = dp.wrap(model)
    dp.reseed(seed)
    opt = optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loader = dp.loader(TensorDataset(x_train, y_train), batch_size, drop_last=False, seed=seed)

    history = {"train_loss": [], "val_loss": [], "val_acc": []}
    best = {"val_loss": math.inf, "epoch": 0, "state": None}
    bar = _Bar(epochs, progress)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        total = 0.0
        dp.set_epoch(epoch)
        for xb, yb in loader:
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0] * dp.world  # rank 0's batches stand for the global mean
        sched.step()
        val_loss, val_acc = _evaluate(model, x_val, y_val)
        history["train_loss"].append(total / len(ytr))
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        if val_loss < best["val_loss"]:
            best = {"val_loss": val_loss, "epoch": epoch,
                    "state": {k: v.numpy().copy() for k, v in model.state_dict().items()}}
        line = (f"epoch {epoch:3d}  train loss {total / len(ytr):.4f}  val loss {val_loss:.4f}  "
                f"val acc {val_acc:.4f}")
        bar.update(1)
        if log:
            bar.write(line, log)
        if epoch - best["epoch"] >= patience:
            bar.stop_early(epoch)
            if log:
                bar.write(f"early stop after epoch {epoch}: no better validation loss since epoch {best['epoch']}", log)
            break
    bar.close()
    seconds = time.perf_counter() - start

    model.load_state_dict(best["state"])
    _, val_acc = _evaluate(model, x_val, y_val)
    _, test_acc = _evaluate(model, x_test, y_test)
    result = {"test_accuracy": test_acc, "val_accuracy": val_acc, "best_epoch": best["epoch"],
              "epochs_run": len(history["val_loss"]), "seconds": seconds, "history": history}
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        weights = os.path.join(out_dir, "mlp_digits.safetensors")
        meta = {"model": json.dumps({"in_features": 64, "hidden": hidden, "out_features": 10, "dropout": dropout}),
                "input_mean": json.dumps(mean.tolist()), "input_std": json.dumps(std.tolist()),
                "best_epoch": str(best["epoch"]), "test_accuracy": f"{test_acc:.6f}"}
        save(model.state_dict(), weights, metadata=meta)
        curves = os.path.join(out_dir, "mlp_digits.png")
        _plot(history, curves)
        result.update(weights=weights, curves=curves)
        if log:
            log(f"saved {weights} and {curves}")
    if log:  # the headline metric once, last
        log(f"kept the weights of epoch {best['epoch']} (val acc {val_acc:.4f}); {seconds:.1f} s")
        log(f"test accuracy {test_acc:.4f}")
    return result


class _Bar:
    """A tqdm bar over epochs whose per-epoch lines print above it; without tqdm (or with
    progress off) just the lines."""

    def __init__(self, total, enabled):
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm comes with the zoo extra
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc="train mlp", unit="epoch")

    def stop_early(self, epoch):
        """The bar ends short of its total: say so on it."""
        if self.bar is not None:
            self.bar.set_description_str(f"train mlp (early stop at epoch {epoch})")

    def update(self, n):
        if self.bar is not None:
            self.bar.update(n)

    def write(self, line, log):
        # Printed through the bar (tqdm.write), a line does not land glued to the bar's own line.
        if self.bar is not None and log is print:
            self.bar.write(line)
        else:
            log(line)

    def close(self):
        if self.bar is not None:
            self.bar.close()

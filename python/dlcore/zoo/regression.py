"""Heteroscedastic regression: an MLP with a mean head and a variance head, trained by the
Gaussian negative log-likelihood, so it learns noise that changes with the input.

The loss is -log N(y; mu(x), sigma^2(x)) per sample: least squares is the special case of a
fixed variance.  The variance head ends in a softplus (plus a small floor) so it stays positive.
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from .._random import manual_seed
from .._tensor import from_numpy
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from .mlp import MLP, make_activation


class HeteroscedasticMLP(nn.Module):
    """A shared MLP trunk and two linear heads: ``forward(x)`` returns ``(mean, var)``, both of
    shape (N, out_features), with var = softplus(head) + min_var > 0."""

    def __init__(self, in_features=1, hidden=(64, 64), out_features=1, activation="tanh", min_var=1e-6):
        super().__init__()
        widths = [hidden] if isinstance(hidden, int) else list(hidden)
        if not widths:
            raise ValueError("HeteroscedasticMLP: needs at least one hidden layer")
        # The trunk is an MLP whose output layer is the last hidden width; the heads read it.
        self.trunk = nn.Sequential(MLP(in_features, widths[:-1], widths[-1], activation), make_activation(activation))
        self.mean = nn.Linear(widths[-1], out_features)
        self.var = nn.Linear(widths[-1], out_features)
        self.min_var = float(min_var)

    def forward(self, x):
        h = self.trunk(x)
        return self.mean(h), F.softplus(self.var(h)) + self.min_var


def noisy_sine(n, seed=0, low=-3.0, high=3.0):
    """The 1-D toy problem: y = sin(x) + eps, eps ~ N(0, noise_std(x)^2), x ~ U(low, high),
    with noise that grows away from 0.  Returns float32 arrays x, y of shape (n, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, (n, 1))
    y = np.sin(x) + noise_std(x) * rng.standard_normal((n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def noise_std(x):
    """The true noise level of :func:`noisy_sine` at x."""
    return 0.05 + 0.15 * np.abs(x)


def train_heteroscedastic(epochs=300, lr=1e-2, batch_size=128, n=2000, seed=0, log=None):
    """Fits HeteroscedasticMLP to noisy_sine with Adam and gaussian_nll_loss.  Returns a dict with
    the final training NLL and, on a grid, the mean absolute errors of the predicted mean
    (against sin x) and of the predicted standard deviation (against the true noise level)."""
    from .. import optim
    from ..data import DataLoader, TensorDataset

    manual_seed(seed)
    x, y = noisy_sine(n, seed)
    model = HeteroscedasticMLP()
    opt = optim.Adam(model.parameters(), lr=lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    nll = math.nan
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in loader:
            mean, var = model(xb)
            loss = F.gaussian_nll_loss(mean, yb, var)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        sched.step()
        nll = total / n
        if log and (epoch + 1) % 50 == 0:
            log(f"epoch {epoch + 1:4d}  nll {nll:.4f}")
    grid = np.linspace(-2.8, 2.8, 57, dtype=np.float32)[:, None]
    with no_grad():
        mean, var = model(from_numpy(grid))
    mean, std = mean.numpy(), np.sqrt(var.numpy())
    return {
        "nll": nll,
        "mean_abs_error": float(np.mean(np.abs(mean - np.sin(grid)))),
        "std_abs_error": float(np.mean(np.abs(std - noise_std(grid)))),
        "grid": grid, "mean": mean, "std": std,
    }

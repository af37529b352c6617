"""Fully connected networks: the MLP (shallow or deep) and Rosenblatt's perceptron."""
from __future__ import annotations

import numbers

from .. import nn
from .._tensor import Tensor, tensor
from ..autograd.grad_mode import no_grad

_ACTIVATIONS = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU, "silu": nn.SiLU,
    "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
}


def make_activation(name):
    """A new activation module by name: relu, leaky_relu, gelu, silu, tanh or sigmoid."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


def _widths(hidden):
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        hidden = [hidden]
    if isinstance(hidden, str) or not hasattr(hidden, "__iter__") or not all(isinstance(h, numbers.Integral) for h in hidden):
        raise TypeError(f"MLP: hidden must be an int or a sequence of ints, got {hidden!r}")
    widths = [int(h) for h in hidden]
    if any(w <= 0 for w in widths):
        raise ValueError(f"MLP: hidden widths must be positive, got {widths}")
    return widths


class MLP(nn.Sequential):
    """Linear -> activation [-> Dropout] for each hidden width, then a Linear output layer.

    ``hidden`` is one width (a shallow network) or a list of widths (a deep one; ``[]`` gives a
    plain linear model).  It is an ``nn.Sequential``, so its state_dict keys ("0.weight", ...)
    are those of the same ``torch.nn.Sequential`` and PyTorch weights load directly.  Layers get
    PyTorch's default initialisation."""

    def __init__(self, in_features, hidden, out_features, activation="relu", dropout=0.0):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {activation!r}; expected one of {sorted(_ACTIVATIONS)}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        layers, width = [], int(in_features)
        for h in _widths(hidden):
            layers += [nn.Linear(width, h), make_activation(activation)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, int(out_features)))
        super().__init__(*layers)


class Perceptron(nn.Module):
    """Rosenblatt's perceptron: a linear unit with a step output, trained by the perceptron rule
    (w += lr * (y - step(w.x + b)) * x), which converges on linearly separable data.

    ``forward`` returns the score w.x + b (shape (N,)); ``predict`` the 0/1 decision."""

    def __init__(self, in_features):
        super().__init__()
        self.linear = nn.Linear(int(in_features), 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x):
        return self.linear(x).squeeze(-1)

    def predict(self, x):
        return (self.forward(_as_tensor(x)) > 0).long()

    def fit(self, x, y, epochs=100, lr=1.0):
        """Online perceptron rule over the samples in order; stops after an epoch without
        mistakes.  x: (N, in_features) float, y: (N,) labels 0/1.  Returns the epochs used."""
        x, y = _as_tensor(x), _as_tensor(y)
        if x.ndim != 2 or x.shape[1] != self.linear.in_features:
            raise ValueError(f"Perceptron.fit: expected x of shape (N, {self.linear.in_features}), got {x.shape}")
        if y.shape != (x.shape[0],):
            raise ValueError(f"Perceptron.fit: expected y of shape ({x.shape[0]},), got {y.shape}")
        w, b = self.linear.weight, self.linear.bias
        labels = y.numpy()
        with no_grad():
            for epoch in range(1, int(epochs) + 1):
                mistakes = 0
                for i in range(x.shape[0]):
                    xi = x[i:i + 1]
                    err = float(labels[i]) - float((self.linear(xi) > 0).item())
                    if err != 0.0:
                        mistakes += 1
                        w.add_(xi * (lr * err))
                        b.add_(lr * err)
                if mistakes == 0:
                    return epoch
        return int(epochs)


def _as_tensor(a):
    return a if isinstance(a, Tensor) else tensor(a)

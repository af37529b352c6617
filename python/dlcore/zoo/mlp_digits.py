"""A two-layer MLP trained on the bundled digits with dlcore's array-level kernels.

This is the main job until the autograd/nn layer lands: forward and backward are explicit calls
to the fused kernels (linear with bias+ReLU epilogue, cross-entropy fused with log-softmax and
their backward kernels), and the SGD-with-momentum update runs on dlcore ops too.  Initialisation
follows PyTorch's nn.Linear default (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias), so
the same seed gives the same run bit for bit.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import ops
from .._random import manual_seed
from ..data import digits


def _linear_init(fan_in, fan_out):
    bound = 1.0 / math.sqrt(fan_in)
    w = ops.uniform((fan_out, fan_in), -bound, bound)
    b = ops.uniform((fan_out,), -bound, bound)
    return w, b


def _forward(params, x):
    w1, b1, w2, b2 = params
    h = ops.linear(x, w1, b1, activation="relu")
    return h, ops.linear(h, w2, b2)


def accuracy(params, x, y) -> float:
    _, logits = _forward(params, x)
    return float(np.mean(np.asarray(ops.argmax(logits, axis=1)) == y))


def train_mlp_digits(epochs=40, lr=0.05, momentum=0.9, batch_size=32, hidden=128, seed=0, log=print):
    """Trains 64 -> hidden -> 10 with ReLU and returns a dict of final metrics."""
    manual_seed(seed)
    data = digits()
    (xtr, ytr), (xva, yva), (xte, yte) = data["train"], data["val"], data["test"]
    params = [*_linear_init(64, hidden), *_linear_init(hidden, 10)]
    velocity = [np.zeros_like(p) for p in params]
    best, best_val = None, -1.0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = np.asarray(ops.randperm(len(ytr)))
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            x, y = xtr[idx], ytr[idx]
            h, logits = _forward(params, x)
            loss = ops.cross_entropy(logits, y)
            total += float(loss) * len(idx)
            g_logits = ops.cross_entropy_backward(np.float32(1.0), logits, y)
            g_h, g_w2, g_b2 = ops.linear_backward(g_logits, h, params[2])
            g_pre = ops.relu_backward(g_h, h)  # relu'(pre) == (h > 0)
            _, g_w1, g_b1 = ops.linear_backward(g_pre, x, params[0])
            for k, g in enumerate((g_w1, g_b1, g_w2, g_b2)):
                velocity[k] = ops.add(ops.mul(velocity[k], momentum), g)
                params[k] = ops.sub(params[k], ops.mul(velocity[k], lr))
        val = accuracy(params, xva, yva)
        if val > best_val:
            best_val, best = val, [p.copy() for p in params]
        log(f"epoch {epoch:3d}  train loss {total / len(ytr):.4f}  val acc {val:.4f}")
    test = accuracy(best, xte, yte)
    seconds = time.perf_counter() - start
    log(f"test accuracy {test:.4f} (best val {best_val:.4f}, {seconds:.1f} s)")
    return {"test_accuracy": test, "val_accuracy": best_val, "seconds": seconds}

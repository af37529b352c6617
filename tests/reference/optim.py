"""NumPy references for the optim family: one update of one tensor, torch.optim's formulas.

Each function returns the new parameter and state instead of writing in place.  Arithmetic runs in
the tensor's dtype with the hyper-parameters rounded to it first (`c(...)`), as ATen converts a
Python scalar; derived scalars (1 - beta, lr / bias correction) are computed in Python floats
first, as torch.optim does.
"""
import numpy as np


def lerp(start, end, w):
    """torch.lerp with a scalar weight: the formula switches sides at |w| = 0.5."""
    if abs(w) < 0.5:
        return start + w * (end - start)
    return end - (end - start) * (w.dtype.type(1) - w)


def sgd(p, g, buf, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    """-> (p, buf).  buf None: no momentum buffer yet (it starts as the gradient)."""
    c = p.dtype.type
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + c(weight_decay) * p
    if momentum != 0:
        buf = g.copy() if buf is None else buf * c(momentum) + c(1 - dampening) * g
        g = g + c(momentum) * buf if nesterov else buf
    return p + c(-lr) * g, buf


def adam(p, g, m, v, v_max, *, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
         maximize=False, decoupled_weight_decay=False):
    """-> (p, m, v, v_max).  `step` is the step being taken, from 1."""
    c = p.dtype.type
    g = -g if maximize else g
    if weight_decay != 0:
        if decoupled_weight_decay:
            p = p * c(1 - lr * weight_decay)
        else:
            g = g + c(weight_decay) * p
    m = lerp(m, g, c(1 - beta1))
    v = v * c(beta2) + (c(1 - beta2) * g) * g
    step_size = lr / (1 - beta1 ** step)
    bias2_sqrt = (1 - beta2 ** step) ** 0.5
    if amsgrad:
        v_max = np.maximum(v_max, v)
    denom = np.sqrt(v_max if amsgrad else v) / c(bias2_sqrt) + c(eps)
    return p + (c(-step_size) * m) / denom, m, v, v_max


def rmsprop(p, g, square_avg, buf, grad_avg, *, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False, maximize=False):
    """-> (p, square_avg, buf, grad_avg)."""
    c = p.dtype.type
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + c(weight_decay) * p
    square_avg = square_avg * c(alpha) + (c(1 - alpha) * g) * g
    if centered:
        grad_avg = lerp(grad_avg, g, c(1 - alpha))
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + c(eps)
    else:
        avg = np.sqrt(square_avg) + c(eps)
    if momentum > 0:
        buf = buf * c(momentum) + g / avg
        return p + c(-lr) * buf, square_avg, buf, grad_avg
    return p + (c(-lr) * g) / avg, square_avg, buf, grad_avg

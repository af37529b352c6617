"""Fused autograd Functions of the nn layer (embedding, cross entropy, NLL, binary cross entropy).

Like every Function they run dlcore.ops kernels on TensorImpls; they exist where one fused kernel
(or a torch-exact gradient formula) beats composing Tensor operations."""
from __future__ import annotations

from .. import ops
from ..autograd.function import Function


class Embedding(Function):
    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        ctx.meta = (weight.shape[0], padding_idx)
        ctx.save_for_backward(indices)
        return ops.embedding(weight, indices, padding_idx)

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        num, padding_idx = ctx.meta
        return ops.embedding_backward(g, indices, num, padding_idx), None, None


class CrossEntropy(Function):
    """Fused log_softmax + NLL (with weights, ignore_index, label smoothing, probability targets).
    The gradient flows to the logits only."""

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, reduction, label_smoothing):
        ctx.args = (ignore_index, reduction, label_smoothing)
        ctx.save_for_backward(logits, target, weight)
        return ops.cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)

    @staticmethod
    def backward(ctx, g):
        logits, target, weight = ctx.saved_tensors
        ignore_index, reduction, label_smoothing = ctx.args
        gx = ops.cross_entropy_backward(g, logits, target, weight, ignore_index, reduction, label_smoothing)
        return gx, None, None, None, None, None


class NllLoss(Function):
    @staticmethod
    def forward(ctx, log_probs, target, weight, ignore_index, reduction):
        ctx.args = (ignore_index, reduction)
        ctx.save_for_backward(log_probs, target, weight)
        return ops.nll_loss(log_probs, target, weight, ignore_index, reduction)

    @staticmethod
    def backward(ctx, g):
        log_probs, target, weight = ctx.saved_tensors
        ignore_index, reduction = ctx.args
        return ops.nll_loss_backward(g, log_probs, target, weight, ignore_index, reduction), None, None, None, None


class BinaryCrossEntropy(Function):
    """Elementwise -w (t log x + (1 - t) log(1 - x)) with the logs clamped at -100 and torch's
    gradient (x - t) / max(x (1 - x), 1e-12), finite at x = 0 and x = 1."""

    @staticmethod
    def forward(ctx, x, t, w):
        log_x = ops.maximum(ops.log(x), -100.0)
        log_1mx = ops.maximum(ops.log(ops.sub(1.0, x)), -100.0)
        # -(t log x + (1 - t) log(1 - x)) = -(log(1 - x) + t (log x - log(1 - x)))
        loss = ops.neg(ops.add(log_1mx, ops.mul(t, ops.sub(log_x, log_1mx))))
        if w is not None:
            loss = ops.mul(loss, w)
        ctx.save_for_backward(x, t, w, log_x, log_1mx)
        return loss

    @staticmethod
    def backward(ctx, g):
        x, t, w, log_x, log_1mx = ctx.saved_tensors
        if w is not None:
            g = ops.mul(g, w)
        gx = gt = None
        if ctx.needs_input_grad[0]:
            denom = ops.maximum(ops.mul(x, ops.sub(1.0, x)), 1e-12)
            gx = ops.div(ops.mul(g, ops.sub(x, t)), denom)
        if ctx.needs_input_grad[1]:
            gt = ops.mul(g, ops.sub(log_1mx, log_x))
        return gx, gt, None

"""Autograd for the array-level ``dlcore.ops``: the differentiable version of each op that has
an autograd Function, with the op's own signature.

``dlcore.ops.<name>`` given a Tensor that requires grad, in grad mode, runs ``GRAD_OPS[name]``
instead of the bare kernel (see ``dlcore.ops._util.install_autograd``), so ``ops.mul(w, x)``
records the graph exactly as ``w * x`` does.  Ops without an entry raise RuntimeError in that
case (they would silently drop the gradient), except those in ``NON_DIFFERENTIABLE``, whose
results carry no gradient in torch either (comparisons, argmax, random draws).
"""
from __future__ import annotations

from .. import ops
from . import functions as F
from . import functions_dtype as FD
from . import functions_indexing as FI


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _max_min(is_min):
    def op(x, axis=None, keepdims=False):
        if axis is None:
            out = F.MaxAll.apply(x, is_min)
            return out.reshape((1,) * x.ndim) if keepdims else out
        if isinstance(axis, int):
            return F.MaxDim.apply(x, axis, keepdims, is_min)[0]
        raise RuntimeError(f"{'min' if is_min else 'max'}: autograd through a reduction over several axes is not "
                           "supported; reduce one axis at a time")

    return op


def _unary(fn):
    return lambda x: fn.apply(x)


def _reshape_like(kernel):
    """Views whose result shape the kernel computes: recorded as a Reshape to that shape."""
    return lambda x, *args: F.Reshape.apply(x, tuple(kernel(x._impl, *args).shape))


def _pieces(kernel):
    """split / tensor_split: the kernel decides the pieces' sizes; each piece is recorded as the
    basic-indexing view x[..., start:start + n] along `axis`."""

    def op(x, sizes, axis=0):
        ax = axis % x.ndim
        out, start = [], 0
        for p in kernel(x._impl, sizes, axis):
            n = p.shape[ax]
            out.append(F.Index.apply(x, (slice(None),) * ax + (slice(start, start + n),)))
            start += n
        return tuple(out)

    return op


def _narrow(x, dim, start, length):
    ax = dim % x.ndim
    return F.Index.apply(x, (slice(None),) * ax + (slice(start, start + length),))


def _linear(x, weight, bias=None, activation=None):
    return F.Linear.apply(x, weight, bias, activation)


def _nn():
    from ..nn import _functions as NF  # nn imports autograd: look it up when first needed

    return NF


GRAD_OPS = {
    "add": lambda a, b: F.Add.apply(a, b),
    "sub": lambda a, b: F.Sub.apply(a, b),
    "mul": lambda a, b: F.Mul.apply(a, b),
    "div": lambda a, b: F.Div.apply(a, b),
    "pow": lambda a, b: F.Pow.apply(a, b),
    "neg": _unary(F.Neg), "abs": _unary(F.Abs), "exp": _unary(F.Exp), "log": _unary(F.Log),
    "sqrt": _unary(F.Sqrt), "rsqrt": _unary(F.Rsqrt), "tanh": _unary(F.Tanh), "sigmoid": _unary(F.Sigmoid),
    "relu": _unary(F.Relu), "silu": _unary(F.Silu),
    "leaky_relu": lambda x, negative_slope=0.01: F.LeakyRelu.apply(x, float(negative_slope)),
    "gelu": lambda x, approximate="none": F.Gelu.apply(x, str(approximate)),
    "softplus": lambda x, beta=1.0, threshold=20.0: F.Softplus.apply(x, float(beta), float(threshold)),
    "where": lambda condition, x, y: F.Where.apply(condition, x, y),
    "matmul": lambda a, b: F.MatMul.apply(a, b),
    "linear": _linear,
    "sum": lambda x, axis=None, keepdims=False: F.Sum.apply(x, _axis(axis), keepdims),
    "mean": lambda x, axis=None, keepdims=False: F.Mean.apply(x, _axis(axis), keepdims),
    "var": lambda x, axis=None, correction=1, keepdims=False: F.Var.apply(x, _axis(axis), correction, keepdims),
    "max": _max_min(False), "min": _max_min(True),
    "max_with_indices": lambda x, axis, keepdims=False: F.MaxDim.apply(x, axis, keepdims, False),
    "min_with_indices": lambda x, axis, keepdims=False: F.MaxDim.apply(x, axis, keepdims, True),
    "softmax": lambda x, axis=-1: F.Softmax.apply(x, axis),
    "log_softmax": lambda x, axis=-1: F.LogSoftmax.apply(x, axis),
    "cross_entropy": lambda logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0:
        _nn().CrossEntropy.apply(logits, target, weight, int(ignore_index), reduction, float(label_smoothing)),
    "nll_loss": lambda log_probs, target, weight=None, ignore_index=-100, reduction="mean":
        _nn().NllLoss.apply(log_probs, target, weight, int(ignore_index), reduction),
    "embedding": lambda weight, indices, padding_idx=None: _nn().Embedding.apply(weight, indices, padding_idx),
    "reshape": lambda x, shape: F.Reshape.apply(x, tuple(shape) if isinstance(shape, list) else shape),
    "view": lambda x, shape: F.View.apply(x, tuple(shape) if isinstance(shape, list) else shape),
    "flatten": _reshape_like(ops.flatten), "squeeze": _reshape_like(ops.squeeze),
    "unsqueeze": _reshape_like(ops.unsqueeze),
    "transpose": lambda x, dim0, dim1: F.Transpose.apply(x, dim0, dim1),
    "permute": lambda x, dims: F.Permute.apply(x, tuple(dims)),
    "contiguous": lambda x: F.Contiguous.apply(x) if not x.is_contiguous() else x,
    "expand": lambda x, shape: F.Expand.apply(x, tuple(shape)),
    "broadcast_to": lambda x, shape: F.Expand.apply(x, tuple(shape)),
    "narrow": _narrow,
    "cat": lambda tensors, axis=0: F.Cat.apply(*tensors, axis),
    "concatenate": lambda tensors, axis=0: F.Cat.apply(*tensors, axis),
    "stack": lambda tensors, axis=0: F.Stack.apply(*tensors, axis),
    "split": _pieces(ops.split), "tensor_split": _pieces(ops.tensor_split),
    "index": lambda x, key: F.Index.apply(x, key),
    "slice_copy": lambda x, key: F.Clone.apply(F.Index.apply(x, key)),
    "index_select": lambda x, axis, indices: F.IndexSelect.apply(x, axis, indices),
    "masked_fill": lambda x, mask, value: F.MaskedFill.apply(x, mask, value),
}


def _sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False,
          alibi_slopes=None, return_logsumexp=False, dropout_seed=None):
    """ops.scaled_dot_product_attention on Tensors that require grad (issue 25)."""
    from ..nn import functional_attention as FA
    if return_logsumexp:
        raise RuntimeError("scaled_dot_product_attention: return_logsumexp=True does not record autograd; "
                           "use dlcore.nn.functional.scaled_dot_product_attention")
    if dropout_seed is None and dropout_p and float(dropout_p) > 0:
        dropout_seed = FA._attn.draw_dropout_seed()
    return FA.ScaledDotProductAttention.apply(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa,
                                              alibi_slopes, dropout_seed)


GRAD_OPS["scaled_dot_product_attention"] = _sdpa


def _sizes(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v,)


# Issue 21's ops: the Functions of functions_indexing.py / functions_dtype.py, as the Tensor
# methods record them.  The in-place ops (masked_put_, index_put_rows_) and the *_backward kernels
# stay unmapped: given a Tensor that requires grad they raise RuntimeError (use x[mask] = v).
GRAD_OPS.update({
    "clamp": lambda x, min=None, max=None: FI.Clamp.apply(x, min, max),  # noqa: A002 - torch's names
    "std": lambda x, axis=None, correction=1, keepdims=False: FI.Std.apply(x, _axis(axis), correction, keepdims),
    "norm": lambda x, p="fro", dim=None, keepdim=False: FI.Norm.apply(x, p, _axis(dim), keepdim),
    "prod": lambda x, dim=None, keepdim=False: FI.Prod.apply(x, dim, keepdim),
    "cumsum": lambda x, dim, dtype=None: FI.Cumsum.apply(x if dtype is None else x.to(dtype), dim),
    "sort": lambda x, dim=-1, descending=False: tuple(FI.Sort.apply(x, dim, descending, None)),
    "topk": lambda x, k, dim=-1, largest=True, sorted=True: tuple(FI.Sort.apply(x, dim, largest, k)),  # noqa: A002
    "gather": lambda x, dim, index: FI.Gather.apply(x, dim, index),
    "scatter": lambda x, dim, index, src: FI.Scatter.apply(x, dim, index, src, False),
    "scatter_add": lambda x, dim, index, src: FI.Scatter.apply(x, dim, index, src, True),
    "masked_select": lambda x, mask: x.masked_select(mask),
    "mask_select_rows": lambda x, mask: FI.MaskSelect.apply(x, mask),
    "repeat": lambda x, sizes: FI.Repeat.apply(x, _sizes(sizes)),
    "flip": lambda x, dims: FI.Flip.apply(x, dims),
    "roll": lambda x, shifts, dims=None: FI.Roll.apply(x, shifts, dims),
    "tril": lambda x, diagonal=0: FI.Tri.apply(x, diagonal, False),
    "triu": lambda x, diagonal=0: FI.Tri.apply(x, diagonal, True),
    "chunk": lambda x, chunks, dim=0: x.chunk(chunks, dim),
    "remainder": lambda a, b: FD.Remainder.apply(a, b),
    "fmod": lambda a, b: FD.Fmod.apply(a, b),
    "cast": lambda x, dtype: x.to(dtype),  # recorded for a float result; an integer one carries no grad
})

# Rotary position embedding (nn/positional.py holds its Function: cos/sin get no gradient).
def _rotary_embedding(x, cos, sin):
    from ..nn.positional import rotary_embedding  # nn imports autograd: look it up when first needed

    return rotary_embedding(x, cos, sin)


GRAD_OPS["rotary_embedding"] = _rotary_embedding

# Given a Tensor that requires grad these just run: results that carry no gradient in torch either,
# and the fused optimizer steps, which update leaves outside the graph by design (torch.optim's
# step runs under no_grad; dlcore.optim calls these directly).
NON_DIFFERENTIABLE = frozenset((
    "eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin", "bernoulli", "dropout_mask", "result_type",
    "sgd_step", "adam_step", "rmsprop_step",
    "argsort", "all", "any", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "floor_divide", "one_hot",
    "multinomial", "chunk_sizes",
))


def _conv():
    from ..nn import functional_conv as FC  # nn imports autograd: look it up when first needed

    return FC


# Issue 16: the convolutions record their nn.functional Functions (the *_backward kernels stay unmapped;
# ops.pad stays without autograd as tests/test_tensor_semantics.py expects: nn.functional.pad records it).
GRAD_OPS.update({
    "conv2d": lambda x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
    activation=None: _conv().ConvNd.apply(x, weight, bias, 2, stride, padding, dilation, groups, padding_mode,
                                          activation),
    "conv1d": lambda x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
    activation=None: _conv().ConvNd.apply(x, weight, bias, 1, stride, padding, dilation, groups, padding_mode,
                                          activation),
    "conv_transpose2d": lambda x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1:
        _conv().ConvTransposeNd.apply(x, weight, bias, 2, stride, padding, output_padding, groups, dilation),
    "conv_transpose1d": lambda x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1:
        _conv().ConvTransposeNd.apply(x, weight, bias, 1, stride, padding, output_padding, groups, dilation),
})


def _pool(name):
    """The nn.functional version (an autograd Function) of a pool-family op, same signature."""
    def op(*args, **kwargs):
        from ..nn import functional_pool  # nn imports autograd: look it up when first needed
        return getattr(functional_pool, name)(*args, **kwargs)
    return op


# Issue 24 (pooling, unpooling, upsampling): the forward ops record through nn.functional.
GRAD_OPS.update({name: _pool(name) for name in (
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "max_unpool2d", "interpolate", "pixel_shuffle", "pixel_unshuffle")})


def _norm(name, apply):
    """ops.<name> (the normalisation family) on Tensors that require grad: its autograd Function
    (nn/functional_norm.py); the saved statistics (return_stats) are an array-level extra only."""

    def op(*args, return_stats=False, **kwargs):
        if return_stats:
            raise RuntimeError(f"{name}: return_stats is for array-level use; with Tensors that require grad use "
                               f"dlcore.nn.functional.{name}")
        from ..nn import functional_norm as FN  # nn imports autograd: look it up when first needed

        return apply(FN, *args, **kwargs)

    return op


GRAD_OPS.update({
    "batch_norm": _norm("batch_norm", lambda FN, x, running_mean=None, running_var=None, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-5: FN.BatchNorm.apply(
                            x, weight, bias, running_mean, running_var, bool(training), float(momentum), float(eps))),
    "layer_norm": _norm("layer_norm", lambda FN, x, normalized_shape, weight=None, bias=None, eps=1e-5:
                        FN.layer_norm(x, normalized_shape, weight, bias, eps)),
    "group_norm": _norm("group_norm", lambda FN, x, num_groups, weight=None, bias=None, eps=1e-5:
                        FN.group_norm(x, num_groups, weight, bias, eps)),
    "instance_norm": _norm("instance_norm", lambda FN, x, running_mean=None, running_var=None, weight=None, bias=None,
                           use_input_stats=True, momentum=0.1, eps=1e-5: FN.InstanceNorm.apply(
                               x, weight, bias, running_mean, running_var, bool(use_input_stats), float(momentum),
                               float(eps))),
})


# Issue 26: the recurrent ops record the same graph as dlcore.nn.LSTM & co (their backward ops stay
# unmapped, like every *_backward kernel).  Imported on first use: nn imports autograd.
def _rnn_seq(mode, op):
    def run(input, h0, c0, weights, num_layers=1, bidirectional=False, dropout=0.0, batch_first=False,  # noqa: A002
            training=False, lengths=None, proj_size=0):
        from ..nn.functional_rnn import RNNSequence
        return tuple(RNNSequence.apply((mode, op, num_layers, bidirectional, dropout, batch_first, training, lengths,
                                        proj_size), input, h0, c0, *weights))
    return run


def _rnn_cell(mode):
    def run(input, hx, *rest):  # noqa: A002
        from ..nn.functional_rnn import RNNCell
        c, rest = (rest[0], rest[1:]) if mode == "lstm" else (None, rest)
        w = tuple(rest) + (None,) * (4 - len(rest))
        return RNNCell.apply(mode, input, hx, c, *w)
    return run


GRAD_OPS.update({
    "lstm": _rnn_seq("lstm", "lstm"),
    "gru": lambda input, h0, weights, **kw: _rnn_seq("gru", "gru")(input, h0, None, weights, **kw),  # noqa: A002
    "rnn": lambda input, h0, weights, nonlinearity="tanh", **kw: _rnn_seq("rnn_" + nonlinearity, "rnn")(  # noqa: A002
        input, h0, None, weights, **kw),
    "rnn_tanh_cell": _rnn_cell("rnn_tanh"),
    "rnn_relu_cell": _rnn_cell("rnn_relu"),
    "lstm_cell": _rnn_cell("lstm"),
    "gru_cell": _rnn_cell("gru"),
})

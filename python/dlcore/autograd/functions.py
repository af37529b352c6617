"""The differentiable operations: one Function per op, each running dlcore.ops kernels on
TensorImpls (the autograd layer does no arithmetic of its own)."""
from __future__ import annotations

from .. import _core, ops
from .function import Function

_T = _core.TensorImpl


def _shape(x):
    return tuple(x.shape) if type(x) is _T else None


def reduce_to(g, shape):
    """Sums a broadcast gradient back to `shape` (the input's shape before broadcasting)."""
    if shape is None:
        return None
    gs = tuple(g.shape)
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and gs[lead + i] != 1)
    if axes:
        g = ops.sum(g, axis=axes, keepdims=True)
    return ops.reshape(g, shape)


# ---- binary arithmetic --------------------------------------------------------------------------
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.recording:  # the shapes cost two binding calls; only backward needs them
            ctx.shapes = (_shape(a), _shape(b))
        return ops.add(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return reduce_to(g, sa), reduce_to(g, sb)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.recording:  # the shapes cost two binding calls; only backward needs them
            ctx.shapes = (_shape(a), _shape(b))
        return ops.sub(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return reduce_to(g, sa), (reduce_to(ops.neg(g), sb) if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.recording:  # the shapes cost two binding calls; only backward needs them
            ctx.shapes = (_shape(a), _shape(b))
        need = ctx.needs_input_grad
        # Save only what a needed gradient uses: a * w with a constant a keeps no copy of a, and
        # an in-place change of an unneeded operand is harmless (as in torch).
        ctx.save_for_backward(a if need[1] else None, b if need[0] else None)
        return ops.mul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = reduce_to(ops.mul(g, b), sa) if ctx.needs_input_grad[0] else None
        gb = reduce_to(ops.mul(g, a), sb) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.recording:  # the shapes cost two binding calls; only backward needs them
            ctx.shapes = (_shape(a), _shape(b))
        out = ops.div(a, b)
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        b, out = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = ops.div(g, b)
        gb = reduce_to(ops.neg(ops.mul(ga, out)), sb) if ctx.needs_input_grad[1] else None
        return reduce_to(ga, sa), gb


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.recording:  # the shapes cost two binding calls; only backward needs them
            ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a, b)
        return ops.pow(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga, gb = ops.pow_backward(g, a, b)
        return reduce_to(ga, sa), reduce_to(gb, sb)


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ops.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a2 = ops.unsqueeze(a, 0) if a.ndim == 1 else a
        b2 = ops.unsqueeze(b, 1) if b.ndim == 1 else b
        # Give g the dims matmul removed for 1-D operands: (.., 1, n) for a 1-D a, (.., m, 1)
        # for a 1-D b (for 1-D @ 1-D the 0-d g becomes (1, 1)).
        g2 = g
        if a.ndim == 1:
            g2 = ops.unsqueeze(g2, g2.ndim - 1 if b.ndim != 1 else 0)
        if b.ndim == 1:
            g2 = ops.unsqueeze(g2, g2.ndim)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = ops.matmul(g2, ops.transpose(b2, -1, -2))
            ga = ops.reshape(reduce_to(ga, tuple(a2.shape)), tuple(a.shape))
        if ctx.needs_input_grad[1]:
            gb = ops.matmul(ops.transpose(a2, -1, -2), g2)
            gb = ops.reshape(reduce_to(gb, tuple(b2.shape)), tuple(b.shape))
        return ga, gb


class Linear(Function):
    """y = act(x W^T + b) with the bias and ReLU fused into the GEMM epilogue (activation None,
    "relu" or "gelu"; GELU's derivative needs the pre-activation, so it is not fused)."""

    @staticmethod
    def forward(ctx, x, weight, bias, activation):
        ctx.activation = activation
        ctx.has_bias = bias is not None
        if activation == "gelu":
            pre = ops.linear(x, weight, bias)
            ctx.save_for_backward(x, weight, pre)
            return ops.gelu(pre)
        out = ops.linear(x, weight, bias, activation=activation)
        ctx.save_for_backward(x, weight, out if activation == "relu" else None)
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight, out = ctx.saved_tensors
        if ctx.activation == "relu":
            g = ops.relu_backward(g, out)  # relu'(pre) == (out > 0)
        elif ctx.activation == "gelu":
            g = ops.gelu_backward(g, out)
        need = ctx.needs_input_grad
        gx, gw, gb = ops.linear_backward(g, x, weight, need=(need[0], need[1], ctx.has_bias and need[2]))
        return gx, gw, gb, None


# ---- unary -----------------------------------------------------------------------------------------
def _unary(name, save_output, *param_names):
    """A Function for ops.<name> whose backward is ops.<name>_backward(grad, x_or_y, *params)."""
    fwd = getattr(ops, name)
    bwd = getattr(ops, name + "_backward")

    def forward(ctx, x, *params):
        y = fwd(x, *params)
        ctx.params = params
        ctx.save_for_backward(y if save_output else x)
        return y

    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return (bwd(g, s, *ctx.params),) + (None,) * len(ctx.params)

    cls = type(name.capitalize(), (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})
    cls.__doc__ = f"Differentiable ops.{name}."
    return cls


Exp = _unary("exp", True)
Sqrt = _unary("sqrt", True)
Rsqrt = _unary("rsqrt", True)
Tanh = _unary("tanh", True)
Sigmoid = _unary("sigmoid", True)
Relu = _unary("relu", True)  # relu_backward only asks "> 0", which the output answers too
Log = _unary("log", False)
Abs = _unary("abs", False)
LeakyRelu = _unary("leaky_relu", False, "negative_slope")
Gelu = _unary("gelu", False, "approximate")
Silu = _unary("silu", False)
Softplus = _unary("softplus", False, "beta", "threshold")


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return ops.neg(x)

    @staticmethod
    def backward(ctx, g):
        return ops.neg(g)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        y = ops.softmax(x, axis)
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return ops.softmax_backward(g, y, ctx.axis), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        y = ops.log_softmax(x, axis)
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return ops.log_softmax_backward(g, y, ctx.axis), None


# ---- reductions ------------------------------------------------------------------------------------
class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.args = (tuple(x.shape), axis, keepdims)
        return ops.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        shape, axis, keepdims = ctx.args
        return ops.sum_backward(g, shape, axis=axis, keepdims=keepdims), None, None


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.args = (tuple(x.shape), axis, keepdims)
        return ops.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        shape, axis, keepdims = ctx.args
        return ops.mean_backward(g, shape, axis=axis, keepdims=keepdims), None, None


class Var(Function):
    @staticmethod
    def forward(ctx, x, axis, correction, keepdims):
        ctx.args = (axis, correction, keepdims)
        ctx.save_for_backward(x)
        return ops.var(x, axis=axis, correction=correction, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axis, correction, keepdims = ctx.args
        return ops.var_backward(g, x, axis=axis, correction=correction, keepdims=keepdims), None, None, None


class MaxDim(Function):
    """max/min over one axis: (values, indices); the gradient goes to the returned index."""

    @staticmethod
    def forward(ctx, x, axis, keepdims, is_min):
        f = ops.min_with_indices if is_min else ops.max_with_indices
        values, indices = f(x, axis, keepdims=keepdims)
        ctx.args = (tuple(x.shape), axis, keepdims)
        ctx.save_for_backward(indices)
        return values, indices

    @staticmethod
    def backward(ctx, g, _g_indices):
        (indices,) = ctx.saved_tensors
        shape, axis, keepdims = ctx.args
        return ops.max_backward(g, indices, shape, axis, keepdims=keepdims), None, None, None


class MaxAll(Function):
    """max/min of all elements; like torch, the gradient is shared evenly among ties."""

    @staticmethod
    def forward(ctx, x, is_min):
        y = ops.min(x) if is_min else ops.max(x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        mask = ops.eq(x, y)
        count = ops.sum(mask)
        return ops.div(ops.where(mask, g, 0.0), count), None


# ---- shape and indexing ----------------------------------------------------------------------------
class Reshape(Function):
    is_view = True  # when the strides allow; a copy otherwise, which is still correct

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = tuple(x.shape)
        return ops.reshape(x, shape)

    @staticmethod
    def backward(ctx, g):
        return ops.reshape(g, ctx.in_shape), None


class View(Function):
    """``view``: always a view (ops.view raises ValueError where Reshape would copy)."""

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = tuple(x.shape)
        return ops.view(x, shape)

    @staticmethod
    def backward(ctx, g):
        return ops.reshape(g, ctx.in_shape), None


class Permute(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        nd = x.ndim
        dims = tuple(d % nd if nd else d for d in dims)
        ctx.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return ops.permute(x, dims)

    @staticmethod
    def backward(ctx, g):
        return ops.permute(g, ctx.inverse), None


class Transpose(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, d0, d1):
        ctx.dims = (d0, d1)
        return ops.transpose(x, d0, d1)

    @staticmethod
    def backward(ctx, g):
        return ops.transpose(g, *ctx.dims), None, None


class Expand(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = tuple(x.shape)
        return ops.expand(x, shape)

    @staticmethod
    def backward(ctx, g):
        return reduce_to(g, ctx.in_shape), None


class Index(Function):
    """Basic indexing (ints, slices, None, Ellipsis): a view; backward scatters into zeros."""

    is_view = True

    @staticmethod
    def forward(ctx, x, key):
        ctx.meta = (tuple(x.shape), x.dtype, x.device, key)
        return ops.index(x, key)

    @staticmethod
    def backward(ctx, g):
        shape, dtype, device, key = ctx.meta
        out = _core.zeros(shape, dtype, device)
        _core.index_put_(out, key, g)
        return out, None


class IndexSelect(Function):
    @staticmethod
    def forward(ctx, x, axis, indices):
        ctx.meta = (tuple(x.shape), axis)
        ctx.save_for_backward(indices)
        return ops.index_select(x, axis, indices)

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        shape, axis = ctx.meta
        return ops.index_select_backward(g, axis, indices, shape), None, None


class Cat(Function):
    """cat(*tensors, axis): the last argument is the axis."""

    @staticmethod
    def forward(ctx, *args):
        *xs, axis = args
        out = ops.cat(xs, axis=axis)  # validates first: bad axes and shapes raise from the kernel
        ctx.meta = (axis, [x.shape[axis] for x in xs])
        return out

    @staticmethod
    def backward(ctx, g):
        axis, sizes = ctx.meta
        parts, start = [], 0
        for s in sizes:
            parts.append(ops.narrow(g, axis, start, s))
            start += s
        return (*parts, None)


class Stack(Function):
    @staticmethod
    def forward(ctx, *args):
        *xs, axis = args
        ctx.meta = (axis, len(xs))
        return ops.stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        axis, n = ctx.meta
        return (*(ops.index(g, (slice(None),) * (axis % g.ndim) + (i,)) for i in range(n)), None)


class Contiguous(Function):
    @staticmethod
    def forward(ctx, x):
        return ops.contiguous(x)

    @staticmethod
    def backward(ctx, g):
        return g


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        if ctx.recording:  # the shapes cost two binding calls; only backward needs them
            ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(cond)
        return ops.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        sa, sb = ctx.shapes
        ga = reduce_to(ops.where(cond, g, 0.0), sa) if ctx.needs_input_grad[1] else None
        gb = reduce_to(ops.where(cond, 0.0, g), sb) if ctx.needs_input_grad[2] else None
        return None, ga, gb


class MaskedFill(Function):
    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)
        return ops.masked_fill(x, mask, value)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return ops.masked_fill(g, mask, 0.0), None, None

"""Differentiable Functions of the gather/scatter, sorting, extra-reduction and rearranging ops
(issue 21's Tensor methods).  Like functions.py, each runs dlcore.ops kernels on TensorImpls and
does no arithmetic of its own."""
from __future__ import annotations

from .. import _core, ops
from .function import Function
from .functions import reduce_to

_T = _core.TensorImpl


def _shape(x):
    return tuple(x.shape) if type(x) is _T else None


class Clamp(Function):
    """clamp(x, min, max); min/max are numbers, None or tensors (which get gradients too)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo if type(lo) is _T else None, hi if type(hi) is _T else None)
        ctx.bounds = (lo if type(lo) is not _T else None, hi if type(hi) is not _T else None)
        ctx.shapes = (_shape(x), _shape(lo), _shape(hi))
        return ops.clamp(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        x, tlo, thi = ctx.saved_tensors
        nlo, nhi = ctx.bounds
        lo = tlo if tlo is not None else nlo
        hi = thi if thi is not None else nhi
        gx, gmin, gmax = ops.clamp_backward(g, x, lo, hi)
        sx, slo, shi = ctx.shapes
        return (reduce_to(gx, sx), reduce_to(gmin, slo) if gmin is not None else None,
                reduce_to(gmax, shi) if gmax is not None else None)


def _from_result(name, n_args):
    """A Function for ops.<name>(x, *args) whose backward is ops.<name>_backward(g, x, y, *args)
    (the gradient needs the input and the forward's result)."""
    fwd, bwd = getattr(ops, name), getattr(ops, name + "_backward")

    def forward(ctx, x, *args):
        y = fwd(x, *args)
        ctx.args = args
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return (bwd(g, x, y, *ctx.args),) + (None,) * n_args

    cls = type(name.capitalize(), (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})
    cls.__doc__ = f"Differentiable ops.{name}."
    return cls


Std = _from_result("std", 3)  # (x, axis, correction, keepdims)
Norm = _from_result("norm", 3)  # (x, p, dim, keepdim)


class Prod(Function):
    @staticmethod
    def forward(ctx, x, dim, keepdim):
        ctx.args = (dim, keepdim)
        ctx.save_for_backward(x)
        return ops.prod(x, dim, keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ops.prod_backward(g, x, *ctx.args), None, None


class Cumsum(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return ops.cumsum(x, dim)

    @staticmethod
    def backward(ctx, g):
        return ops.cumsum_backward(g, ctx.dim), None


class Sort(Function):
    """sort / topk: (values, indices); the values' gradient goes back to the sorted positions."""

    @staticmethod
    def forward(ctx, x, dim, descending, k):
        values, indices = ops.sort(x, dim, descending) if k is None else ops.topk(x, k, dim, descending)
        ctx.meta = (dim, tuple(x.shape))
        ctx.save_for_backward(indices)
        return values, indices

    @staticmethod
    def backward(ctx, g, _g_indices):
        (indices,) = ctx.saved_tensors
        dim, shape = ctx.meta
        return ops.sort_backward(g, dim, indices, shape), None, None, None


class Gather(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.meta = (dim, tuple(x.shape))
        ctx.save_for_backward(index)
        return ops.gather(x, dim, index)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        dim, shape = ctx.meta
        return ops.gather_backward(g, dim, index, shape), None, None


class Scatter(Function):
    """scatter (add=False) or scatter_add (add=True) of src (a tensor or a number) into a copy of x."""

    @staticmethod
    def forward(ctx, x, dim, index, src, add):
        ctx.meta = (dim, add, _shape(src))
        ctx.save_for_backward(index)
        return ops.scatter_add(x, dim, index, src) if add else ops.scatter(x, dim, index, src)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        dim, add, src_shape = ctx.meta
        f = ops.scatter_add_backward if add else ops.scatter_backward
        gx, gsrc = f(g, dim, index, src_shape if src_shape is not None else tuple(index.shape))
        return gx, None, None, (gsrc if src_shape is not None else None), None


class Repeat(Function):
    @staticmethod
    def forward(ctx, x, sizes):
        ctx.meta = (tuple(x.shape), sizes)
        return ops.repeat(x, sizes)

    @staticmethod
    def backward(ctx, g):
        shape, sizes = ctx.meta
        return ops.repeat_backward(g, shape, sizes), None


class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return ops.flip(x, dims)

    @staticmethod
    def backward(ctx, g):
        return ops.flip(g, ctx.dims), None


class Roll(Function):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.args = (shifts, dims)
        return ops.roll(x, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        return ops.roll_backward(g, *ctx.args), None, None


class Tri(Function):
    """tril (upper=False) or triu (upper=True); the gradient keeps the same triangle."""

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.args = (diagonal, upper)
        return (ops.triu if upper else ops.tril)(x, diagonal)

    @staticmethod
    def backward(ctx, g):
        diagonal, upper = ctx.args
        return (ops.triu if upper else ops.tril)(g, diagonal), None, None


class Split(Function):
    """split(x, sizes, dim): views; the gradient concatenates the pieces' gradients."""

    is_view = True

    @staticmethod
    def forward(ctx, x, sizes, dim):
        pieces = tuple(ops.split(x, list(sizes), dim))
        d = dim % x.ndim
        ctx.meta = (d, tuple(x.shape), str(x.dtype), [p.shape[d] for p in pieces])
        return pieces

    @staticmethod
    def backward(ctx, *grads):
        dim, shape, dtype, sizes = ctx.meta
        parts = []
        for g, s in zip(grads, sizes):
            if g is None:  # an unused piece: zeros of its shape
                ps = list(shape)
                ps[dim] = s
                g = _core.zeros(tuple(ps), dtype, "cpu")
            parts.append(g)
        return ops.cat(parts, dim), None, None


class MaskSelect(Function):
    """x[mask] with a bool mask of x's leading dims: (nnz,) + trailing shape."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.shape = tuple(x.shape)
        ctx.save_for_backward(mask)
        return ops.mask_select_rows(x, mask)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return ops.mask_select_rows_backward(g, mask, ctx.shape), None


class PutRows(Function):
    """x[rows] = value (or += with accumulate) as a new tensor, x seen as rows of x.shape[lead:]
    (the recorded form of mask and integer-array assignment).  Gradients: x gets grad with the
    overwritten rows zeroed (all of grad with accumulate); value gets grad's rows, summed over
    the dims value was broadcast along."""

    @staticmethod
    def forward(ctx, x, lead, rows, value, accumulate):
        out = x.clone()
        ops.index_put_rows_(out, lead, rows, value, accumulate)
        ctx.meta = (lead, accumulate, _shape(value), tuple(x.shape))
        ctx.save_for_backward(rows)
        return out

    @staticmethod
    def backward(ctx, g):
        (rows,) = ctx.saved_tensors
        lead, accumulate, vshape, shape = ctx.meta
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = g
            if not accumulate:
                gx = g.clone()
                ops.index_put_rows_(gx, lead, rows, _core.zeros((), g.dtype, "cpu"))
        if ctx.needs_input_grad[3]:
            m = 1
            for s in shape[:lead]:
                m *= s
            picked = ops.index_select(ops.reshape(g, (m,) + shape[lead:]), 0, rows)
            gv = reduce_to(picked, vshape)
        return gx, None, None, gv, None

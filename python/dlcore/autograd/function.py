"""Function and Node: how an operation records itself in the graph.

A differentiable operation subclasses ``Function`` with two static methods working on dlcore's
internal C++ tensors (TensorImpl), never on Python floats:

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = ops.exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return ops.exp_backward(grad, y)

``Exp.apply(t)`` unwraps Tensor arguments, runs ``forward`` and, when grad mode is on and an
input requires grad, wraps the outputs in Tensors whose ``grad_fn`` is a ``Node`` linking back to
the inputs.  ``backward`` returns one gradient (or None) per ``forward`` argument after ctx.
"""
from __future__ import annotations

from .._tensor import Tensor
from .grad_mode import is_grad_enabled


class Context:
    """Per-call scratch space: saved tensors (with their versions, to catch in-place changes)
    and whatever attributes forward sets."""

    __slots__ = ("_saved", "_versions", "_sources", "needs_input_grad", "__dict__")

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()
        self._versions = ()
        self._sources = ()

    def save_for_backward(self, *tensors):
        """Save TensorImpls (or None) for backward.  Inputs that are the Function's own
        arguments are checked for in-place modification before backward uses them."""
        self._saved = tensors

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError("backward: trying to backward through the graph a second time (or directly "
                               "access saved tensors after they have already been freed); specify "
                               "retain_graph=True on the first backward call")
        for box, ver in zip(self._sources, self._versions):
            if box[0] != ver:
                raise RuntimeError("backward: one of the variables needed for gradient computation has been "
                                   f"modified by an inplace operation (its version is {box[0]}; expected {ver})")
        return self._saved


class Node:
    """A recorded operation: its Function, context and the edges to its inputs' producers.
    An edge is (Node, output_nr) for a computed input, (Tensor, 0) for a leaf that requires
    grad (the engine accumulates into its .grad) or None."""

    __slots__ = ("function", "ctx", "edges", "n_outputs", "out_meta", "__weakref__")

    def __init__(self, function, ctx, edges, out_meta):
        self.function = function
        self.ctx = ctx
        self.edges = edges
        self.n_outputs = len(out_meta)
        self.out_meta = out_meta  # (shape, dtype) per output, to make zero grads for unused outputs

    def name(self):
        return self.function.__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name()}>"

    def release(self):
        self.ctx._saved = None


def _edge(t):
    if not t.requires_grad:
        return None
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    return (t, 0)


class Function:
    """Base class of differentiable operations; see the module docstring."""

    is_view = False  # True when outputs share the first argument's memory (reshape, transpose, ...)

    @staticmethod
    def forward(ctx, *args):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        record = False
        if is_grad_enabled():
            for a in args:
                if isinstance(a, Tensor) and a.requires_grad:
                    record = True
                    break
        raw = [a._impl if isinstance(a, Tensor) else a for a in args]
        if not record:
            out = cls.forward(_NoCtx, *raw)
            if type(out) is tuple:
                res = tuple(Tensor(o) for o in out)
            else:
                res = Tensor(out)
            if cls.is_view and isinstance(args[0], Tensor):
                for t in (res if type(res) is tuple else (res,)):
                    t._version = args[0]._version
            return res
        ctx = Context(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        out = cls.forward(ctx, *raw)
        multi = type(out) is tuple
        outs = out if multi else (out,)
        edges = tuple(_edge(a) if isinstance(a, Tensor) else None for a in args)
        node = Node(cls, ctx, edges, tuple((o.shape, o.dtype) for o in outs))
        results = []
        view_of = args[0]._version if cls.is_view else None
        for i, o in enumerate(outs):
            t = Tensor(o)
            if view_of is not None:
                t._version = view_of  # a view shares its base's version counter
            if o.dtype in ("float32", "float64"):
                t.requires_grad = True
                t.grad_fn = node
                t._output_nr = i
            results.append(t)
        if ctx._saved:
            # Remember the versions of saved inputs and outputs, to catch in-place changes later.
            ids = {id(s) for s in ctx._saved if s is not None}
            boxes, versions = [], []
            for a in (*args, *results):
                if isinstance(a, Tensor) and id(a._impl) in ids:
                    boxes.append(a._version)
                    versions.append(a._version[0])
            ctx._sources, ctx._versions = tuple(boxes), tuple(versions)
        return tuple(results) if multi else results[0]


class _NoCtxType:
    """Stands in for ctx when nothing is recorded: saving is a no-op."""

    __slots__ = ()
    needs_input_grad = ()

    def save_for_backward(self, *tensors):
        pass

    def __setattr__(self, name, value):
        pass


_NoCtx = _NoCtxType()

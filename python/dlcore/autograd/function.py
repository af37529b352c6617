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
from .grad_mode import _state as _grad_state


class Context:
    """Per-call scratch space: saved tensors (with their versions, to catch in-place changes)
    and whatever attributes forward sets."""

    __slots__ = ("_saved", "_versions", "_sources", "needs_input_grad", "__dict__")
    recording = True  # forward may skip bookkeeping that only backward needs when this is False

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()
        self._versions = ()
        self._sources = ()

    def save_for_backward(self, *tensors):
        """Save TensorImpls (or None) for backward.  Those that are the Function's own Tensor
        arguments or outputs are checked for in-place modification before backward uses them."""
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

    __slots__ = ("function", "ctx", "edges", "n_outputs", "out_meta", "hooks", "__weakref__")

    def __init__(self, function, ctx, edges, out_meta):
        self.hooks = None  # {output_nr: [hook, ...]} from Tensor.register_hook on its outputs
        self.function = function
        self.ctx = ctx
        self.edges = edges
        self.n_outputs = len(out_meta)
        self.out_meta = out_meta  # (shape, dtype, device) per output, for zero grads of unused outputs

    def name(self):
        return self.function.__name__ + "Backward0"  # torch's names: MulBackward0

    def __repr__(self):
        return f"<{self.name()}>"

    def release(self):
        # Only a node that saved something becomes unusable (as in torch: backward twice through
        # x + 1 is fine, through x * y it needs retain_graph).
        if self.ctx._saved:
            self.ctx._saved = None


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
        # One pass over the arguments: unwrap Tensors and learn whether to record.
        record = False
        raw = []
        for a in args:
            if isinstance(a, Tensor):
                raw.append(a._impl)
                if a._requires_grad:
                    record = True
            else:
                raw.append(a)
        if record and not _grad_state.enabled:
            record = False
        if not record:
            out = cls.forward(_NoCtx, *raw)
            if type(out) is not tuple:
                res = Tensor(out)
                if cls.is_view:
                    res._version = args[0]._version
                    res._is_view = True
                    res._view_of = (args[0], cls, args[1:])
                return res
            res = tuple(Tensor(o) for o in out)
            if cls.is_view:
                for t in res:
                    t._version = args[0]._version
                    t._is_view = True
            return res

        needs = []
        edges = []
        for a in args:
            if isinstance(a, Tensor) and a._requires_grad:
                needs.append(True)
                fn = a.grad_fn
                edges.append((fn, a._output_nr) if fn is not None else (a, 0))
            else:
                needs.append(False)
                edges.append(None)
        ctx = Context(tuple(needs))
        out = cls.forward(ctx, *raw)
        if type(out) is tuple:
            # Multi-output nodes remember each output's metadata: the engine makes zero gradients
            # for outputs nobody used.  A single-output node only runs when its output got one.
            node = Node(cls, ctx, tuple(edges), tuple((o.shape, o.dtype, o.device) for o in out))
            results = []
            for i, o in enumerate(out):
                t = Tensor(o)
                if o.dtype in _FLOAT:
                    t._requires_grad = True
                    t.grad_fn = node
                    t._output_nr = i
                results.append(t)
            results = tuple(results)
        else:
            node = Node(cls, ctx, tuple(edges), _ONE)
            t = Tensor(out)
            if out.dtype in _FLOAT:
                t._requires_grad = True
                t.grad_fn = node
            results = (t,)
        if cls.is_view:
            base_version = args[0]._version
            for t in results:
                t._version = base_version  # a view shares its base's version counter
                t._is_view = True
            if len(results) == 1:
                results[0]._view_of = (args[0], cls, args[1:])  # lets in-place ops replay it
        saved = ctx._saved
        if saved:
            # Remember the versions of saved inputs and outputs, to catch in-place changes later.
            boxes, versions = [], []
            for a in (*args, *results):
                if isinstance(a, Tensor):
                    impl = a._impl
                    for s in saved:
                        if s is impl:
                            box = a._version
                            boxes.append(box)
                            versions.append(box[0])
                            break
            ctx._sources, ctx._versions = tuple(boxes), tuple(versions)
        return results if type(out) is tuple else results[0]


_ONE = (None,)  # out_meta of a single-output node: one output, metadata not needed
_FLOAT = frozenset(("float32", "float64"))


class _NoCtxType:
    """Stands in for ctx when nothing is recorded: saving is a no-op."""

    __slots__ = ()
    recording = False
    needs_input_grad = (False,) * 64  # forward may ask; nothing needs a gradient here

    def save_for_backward(self, *tensors):
        pass

    def __setattr__(self, name, value):
        pass


_NoCtx = _NoCtxType()

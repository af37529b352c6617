"""The op registry (issue 22): one OpInfo per public op of ``dlcore.ops``.

Each entry declares sample inputs (a function of the batch size ``n``, so ``n = 0`` gives the
zero-size case), its NumPy reference (``tests/reference``), its error inputs with the exception
type they must raise, and, when differentiable, a gradient function built on its backward op.
``tests/test_opinfo.py`` derives every generic test from these entries (layout variants against
the reference, 1/2/3 threads bitwise, gradcheck, error messages) and ``tests/test_fuzz.py`` and
``tools/fuzz`` draw their calls from them.

Adding an op is a few lines: ``add(OpInfo("name", samples=..., ref=..., errors=[...]))``.
Backward ops whose only spec is the derivative set ``grad_of="forward_name"``: the forward op's
gradcheck (finite differences) is their reference, and on the layout variants they are compared
with themselves on contiguous copies of the same values.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

import numpy as np

from dlcore import ops
from tests.reference import elementwise as ref_ew
from tests.reference import gemm as ref_gemm
from tests.reference import reduce as ref_reduce
from tests.reference import reduce_softmax as ref_sm
from tests.reference import tensor_ops21 as ref21

SEED = 1234  # random ops run right after dlcore.manual_seed(SEED)


@dataclasses.dataclass
class Sample:
    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ErrorInput:
    """A call that must raise `exc` with a message starting with the op's name."""
    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)
    exc: type = ValueError


@dataclasses.dataclass
class OpInfo:
    name: str
    samples: Callable[[int], list]                   # n -> [Sample]; n = 0 gives zero-size inputs
    ref: Optional[Callable] = None                   # reference(*args, **kwargs) -> array or tuple
    errors: list = dataclasses.field(default_factory=list)
    grad: Optional[Callable] = None                  # (g, *args, **kw) -> grads for `wrt`, via the backward op
    wrt: tuple = (0,)                                # positions of the differentiable arguments
    grad_of: Optional[str] = None                    # a backward op: checked by this forward op's gradcheck
    varied: Optional[tuple] = None                   # array args that take layout variants (None: all)
    inplace: bool = False                            # the result is args[0], written in place
    seeded: bool = False                             # random: call after manual_seed(SEED)
    empty: bool = True                               # has a meaningful zero-size case
    scale: float = 1.0                               # tolerance widening for long reductions
    xfail: dict = dataclasses.field(default_factory=dict)  # variant -> reason (a known bug, issue item)

    @property
    def fn(self):
        return getattr(ops, self.name)


REGISTRY: dict[str, OpInfo] = {}


def add(info: OpInfo) -> OpInfo:
    assert info.name not in REGISTRY, info.name
    REGISTRY[info.name] = info
    return info


# Public names of dlcore.ops that are not ops, or are another op under a second name.
EXCLUDED = {
    "concatenate": "alias of cat (the same function object)",
    "result_type": "a dtype query, not a kernel: covered by tests/test_elementwise.py's promotion table",
    "fma_peak_gflops": "a timing loop, not a kernel with a reference: tests/test_gemm_peak.py",
}


# ---- sample helpers --------------------------------------------------------------------------

def arr(*shape, lo=-2.0, hi=2.0, seed=0, dtype=np.float64):
    """Deterministic values in [lo, hi) (float) or [lo, hi) integers for int64."""
    g = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    if np.dtype(dtype) == np.int64:
        return g.integers(int(lo), int(hi), size=shape, dtype=np.int64)
    if np.dtype(dtype) == np.bool_:
        return g.random(shape) < 0.5
    return (lo + (hi - lo) * g.random(shape)).astype(dtype)


def S(*args, **kwargs):
    return Sample(args, kwargs)


# ---- elementwise -----------------------------------------------------------------------------

def _binary_samples(n):
    return [S(arr(n, 5), arr(n, 5, seed=1)), S(arr(n, 1, 4), arr(3, 1, seed=2)), S(arr(n, 4), 1.5),
            S(arr(2, n, 3, lo=0.5), arr(1, 3, lo=0.5, seed=3))]


_reduce_to = ref21.sum_to  # a broadcast gradient summed back to an operand's shape


def _binary_grad(name):
    if name == "pow":  # the only binary op with a backward kernel; the others' are autograd's
        def grad(g, a, b):
            ga, gb = ops.pow_backward(g, a, b)
            return _reduce_to(ga, np.shape(a)), _reduce_to(gb, np.shape(b))
        return grad
    return None


for _name in ref_ew.BINARY:
    _cmp = _name in ("eq", "ne", "lt", "le", "gt", "ge")
    add(OpInfo(
        _name, _binary_samples if _name != "pow" else
        (lambda n: [S(arr(n, 5, lo=0.5), arr(n, 5, seed=1)), S(arr(n, 1, 4, lo=0.5), arr(3, 1, seed=2))]),
        ref=(lambda a, b, _n=_name: ref_ew.binary(_n, a, b, np.result_type(a, b))),
        errors=[ErrorInput((arr(2, 3), arr(4))), ErrorInput(("a", arr(2)), exc=TypeError)],
        grad=_binary_grad(_name), wrt=(0, 1)))


def _unary_samples(name):
    lo = 0.3 if name in ("log", "sqrt", "rsqrt") else -3.0

    def samples(n):
        return [S(arr(n, 7, lo=lo, hi=3.0)), S(arr(2, n, 1, 3, lo=lo, hi=3.0)), S(arr(n, lo=lo, hi=3.0))]
    return samples


_KW = {"leaky_relu": {"negative_slope": 0.1}, "gelu": {"approximate": "tanh"}, "softplus": {"beta": 2.0}}
_UNARIES = list(ref_ew.DERIV)
# The backward kernels that take the forward output y: f'(x) written in y.
_FROM_OUTPUT = {"exp": lambda g, y: g * y, "sqrt": lambda g, y: g / (2 * y), "rsqrt": lambda g, y: -g * y**3 / 2,
                "tanh": lambda g, y: g * (1 - y * y), "sigmoid": lambda g, y: g * y * (1 - y)}
for _name in _UNARIES:
    _kw = _KW.get(_name, {})
    _samples = _unary_samples(_name)
    _takes_y = _name in ref_ew.TAKES_OUTPUT

    def _grad(g, x, _n=_name, _y=_takes_y, **kw):
        second = getattr(ops, _n)(x, **kw) if _y else x
        return (getattr(ops, _n + "_backward")(g, second, **kw),)

    add(OpInfo(
        _name, (lambda n, _s=_samples, _k=_kw: [Sample(s.args, dict(_k)) for s in _s(n)] + _s(n)[:1]),
        ref=(lambda x, _n=_name, **kw: ref_ew.unary(_n, x, **kw)),
        errors=[ErrorInput(("a",), exc=TypeError)], grad=_grad))
    add(OpInfo(
        _name + "_backward", (lambda n, _s=_samples, _k=_kw: [Sample((arr(*s.args[0].shape, seed=5),) + s.args, dict(_k))
                                                              for s in _s(n)]),
        ref=(lambda g, y, _n=_name: _FROM_OUTPUT[_n](np.asarray(g, np.float64), np.asarray(y, np.float64))) if _takes_y
        else (lambda g, x, _n=_name, **kw: ref_ew.unary_backward(_n, g, x, **kw)),
        errors=[ErrorInput((arr(2, 3), arr(4))), ErrorInput((arr(2, dtype=np.int64), arr(2, dtype=np.int64)),
                                                            exc=TypeError)]))

add(OpInfo("where", lambda n: [S(arr(n, 4, dtype=np.bool_), arr(n, 4), arr(1, 4, seed=1)),
                               S(arr(n, 1, dtype=np.bool_), 0.5, arr(3, seed=2))],
           ref=ref_ew.where, errors=[ErrorInput((arr(2), arr(2), arr(2)), exc=TypeError)]))
add(OpInfo("pow_backward", lambda n: [S(arr(n, 3), arr(n, 3, lo=0.5, seed=1), arr(n, 3, seed=2))],
           ref=ref_ew.pow_backward, errors=[ErrorInput((arr(2), arr(3), arr(2)))]))

# ---- matrix products -------------------------------------------------------------------------

add(OpInfo("matmul", lambda n: [S(arr(n, 5), arr(5, 3)), S(arr(2, n, 4), arr(2, 4, 6)), S(arr(4), arr(4, n))],
           ref=ref_gemm.matmul, errors=[ErrorInput((arr(2, 3), arr(4, 5))), ErrorInput(("a", arr(2)), exc=TypeError)]))
add(OpInfo("gemm", lambda n: [S(arr(n, 5), arr(5, 3)), S(arr(5, n), arr(3, 5), alpha=0.5, trans_a=True, trans_b=True)],
           ref=lambda a, b, **kw: ref_gemm.gemm(a, b, **kw), errors=[ErrorInput((arr(2, 3), arr(4, 5)))]))


def _linear_grad(g, x, w, b=None, activation=None):
    gx, gw, gb = ops.linear_backward(g, x, w)
    return (gx, gw, gb)[:2 + (b is not None)]


add(OpInfo("linear", lambda n: [S(arr(n, 6), arr(4, 6, seed=1), arr(4, seed=2)), S(arr(3, n, 5), arr(2, 5, seed=1)),
                                S(arr(n, 1, 5), arr(3, 5, seed=1))],
           ref=ref_gemm.linear, grad=_linear_grad, wrt=(0, 1, 2),
           errors=[ErrorInput((arr(2, 3), arr(4, 5))), ErrorInput((arr(2, 3), arr(4, 3)), {"activation": "tanh"})]))
add(OpInfo("linear_backward", lambda n: [S(arr(n, 4), arr(n, 6, seed=1), arr(4, 6, seed=2)),
                                         S(arr(n, 1, 3), arr(n, 1, 5, seed=1), arr(3, 5, seed=2))],
           ref=lambda g, x, w: ref_gemm.linear_backward(g, x, w), errors=[ErrorInput((arr(2, 3), arr(2, 5), arr(4, 5)))]))

# ---- reductions ------------------------------------------------------------------------------

def _red_samples(n):
    return [S(arr(n, 5)), S(arr(n, 5, 3), axis=1), S(arr(n, 4, 3), axis=(0, 2), keepdims=True), S(arr(3, n), axis=-1)]


for _name in ("sum", "mean", "max", "min"):
    add(OpInfo(_name, _red_samples, ref=getattr(ref_reduce, _name), empty=_name in ("sum",),
               errors=[ErrorInput((arr(2, 3),), {"axis": 2}), ErrorInput((arr(2, 3),), {"axis": (0, 0)})]))
REGISTRY["sum"].grad = lambda g, x, axis=None, keepdims=False: (ops.sum_backward(g, x.shape, axis, keepdims),)
REGISTRY["mean"].grad = lambda g, x, axis=None, keepdims=False: (ops.mean_backward(g, x.shape, axis, keepdims),)
add(OpInfo("var", lambda n: _red_samples(n + 1)[:3] + [S(arr(n + 2, 3), axis=0, correction=0)], ref=ref_reduce.var,
           grad=lambda g, x, **kw: (ops.var_backward(g, x, **kw),), empty=False,
           errors=[ErrorInput((arr(2, 3, dtype=np.int64),), exc=TypeError)]))
for _name in ("argmax", "argmin"):
    add(OpInfo(_name, lambda n: [S(arr(n + 1, 5)), S(arr(n + 1, 5), axis=1), S(arr(n + 1, 4), axis=0, keepdims=True)],
               ref=getattr(ref_reduce, _name), empty=False, errors=[ErrorInput((arr(0, 3),), {"axis": 0})]))
for _name, _ref in (("max_with_indices", ref_reduce.max), ("min_with_indices", ref_reduce.min)):
    _arg = "argmax" if _name.startswith("max") else "argmin"
    add(OpInfo(_name, lambda n: [S(arr(n + 1, 5), 1), S(arr(n + 1, 4, 3), 0, keepdims=True)],
               ref=(lambda x, axis, keepdims=False, _r=_ref, _a=_arg:
                    (_r(x, axis, keepdims), getattr(ref_reduce, _a)(x, axis, keepdims))),
               grad=(lambda g, x, axis, keepdims=False, _n=_name: (ops.max_backward(
                   g, getattr(ops, _n)(x, axis, keepdims)[1], x.shape, axis, keepdims),)),
               empty=False, errors=[ErrorInput((arr(2, 3), 2))]))


def _sum_backward(g, shape, axis, keepdims, mean):
    ax = tuple(range(len(shape))) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    ax = tuple(a % len(shape) for a in ax)
    g = np.asarray(g, np.float64) if keepdims else np.expand_dims(np.asarray(g, np.float64), ax)
    n = np.prod([shape[a] for a in ax]) if mean else 1
    return np.broadcast_to(g / n if n else g * np.nan, shape)


for _name in ("sum_backward", "mean_backward"):
    add(OpInfo(_name, lambda n: [S(arr(n, 1), (n, 5), axis=1, keepdims=True), S(arr(3), (n, 3), axis=0)],
               ref=lambda g, shape, axis=None, keepdims=False, _m=_name == "mean_backward": _sum_backward(
                   g, shape, axis, keepdims, _m), errors=[ErrorInput((arr(4), (2, 3)), {"axis": 0})]))
add(OpInfo("var_backward", lambda n: [S(arr(3), arr(n + 2, 3), axis=0)], ref=ref_reduce.var_backward, empty=False,
           errors=[ErrorInput((arr(4), arr(2, 3)), {"axis": 0})]))
for _name in ("max_backward", "min_backward"):
    add(OpInfo(_name, lambda n: [S(arr(n, 4), arr(n, 4, lo=0, hi=3, dtype=np.int64), (n, 3, 4), 1)],
               ref=ref_reduce.max_backward, errors=[ErrorInput((arr(2), arr(3, lo=0, hi=2, dtype=np.int64), (2, 3), 1))]))

# ---- softmax and losses ----------------------------------------------------------------------

for _name in ("softmax", "log_softmax"):
    add(OpInfo(_name, lambda n: [S(arr(n, 7)), S(arr(3, 2, n), axis=1), S(arr(n, 4) * 50)],
               ref=getattr(ref_sm, _name),
               grad=(lambda g, x, axis=-1, _n=_name: (getattr(ops, _n + "_backward")(g, getattr(ops, _n)(x, axis), axis),)),
               errors=[ErrorInput((arr(2, 3),), {"axis": 2})]))
    add(OpInfo(_name + "_backward", lambda n, _n=_name: [S(arr(n, 5), getattr(ref_sm, _n)(arr(n, 5, seed=3)))],
               ref=getattr(ref_sm, _name + "_backward"), errors=[ErrorInput((arr(2, 3), arr(2, 4)))]))


def _ce_samples(n):
    t = arr(n, lo=0, hi=4, dtype=np.int64)
    return [S(arr(n, 4), t), S(arr(n, 4, 3), arr(n, 3, lo=0, hi=4, dtype=np.int64), reduction="sum", label_smoothing=0.1),
            S(arr(n, 4), t, weight=arr(4, lo=0.5, seed=4), reduction="none"), S(arr(n, 4), ref_sm.softmax(arr(n, 4, seed=9)))]


add(OpInfo("cross_entropy", _ce_samples, ref=ref_sm.cross_entropy, empty=False,
           grad=lambda g, x, t, **kw: (ops.cross_entropy_backward(g, x, t, **kw),),
           errors=[ErrorInput((arr(2, 4), arr(3, lo=0, hi=4, dtype=np.int64))),
                   ErrorInput((arr(2, 4), arr(2, lo=0, hi=4, dtype=np.int64)), {"reduction": "avg"})]))
add(OpInfo("cross_entropy_backward", lambda n: [S(np.float64(1.0), arr(n + 1, 4), arr(n + 1, lo=0, hi=4, dtype=np.int64))],
           grad_of="cross_entropy", errors=[ErrorInput((np.float64(1.0), arr(2, 4), arr(3, lo=0, hi=4, dtype=np.int64)))]))
add(OpInfo("nll_loss", lambda n: [S(ref_sm.log_softmax(arr(n + 1, 4)), arr(n + 1, lo=0, hi=4, dtype=np.int64)),
                                  S(arr(n + 1, 4), arr(n + 1, lo=0, hi=4, dtype=np.int64), reduction="none", ignore_index=1)],
           ref=ref_sm.nll_loss, empty=False, grad=lambda g, x, t, **kw: (ops.nll_loss_backward(g, x, t, **kw),),
           errors=[ErrorInput((arr(2, 4), arr(2, lo=4, hi=6, dtype=np.int64)), exc=IndexError)]))
add(OpInfo("nll_loss_backward", lambda n: [S(np.float64(2.0), arr(n + 1, 4), arr(n + 1, lo=0, hi=4, dtype=np.int64))],
           grad_of="nll_loss", errors=[ErrorInput((np.float64(1.0), arr(2, 4), arr(3, lo=0, hi=4, dtype=np.int64)))]))


from tests import opinfo_more  # noqa: E402,F401  (registers the shape, memory, random and optim ops)
from tests import opinfo_ops21  # noqa: E402,F401  (issue 21's ops, and narrow integer dtypes for older ones)
from tests import opinfo_conv  # noqa: E402,F401  (issue 16: convolutions)
from tests import opinfo_pool  # noqa: E402,F401  (issue 24's pooling, unpooling and upsampling ops)
from tests import opinfo_attention  # noqa: E402,F401  (issue 25: fused attention)
from tests import opinfo_norm  # noqa: E402,F401  (batch/layer/group/instance norm)
from tests import opinfo_rotary  # noqa: E402,F401  (issue 25: rotary position embedding)
from tests import opinfo_rnn  # noqa: E402,F401  (issue 26: recurrent cells and sequences)

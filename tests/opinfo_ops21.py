"""Registry entries (see tests/opinfo.py) for issue 21's ops: the integer/bitwise elementwise ops
and cast, the extra reductions, sorting and sampling, gather/scatter/cumsum and mask indexing,
and the rearranging copies; plus samples on the narrow integer dtypes for older ops that gained
them (add, mul, eq, lt, where, cat, index)."""
from __future__ import annotations

import numpy as np

from dlcore import ops
from tests.opinfo import REGISTRY, SEED, ErrorInput, OpInfo, S, Sample, _reduce_to, add, arr
from tests.reference import elementwise as ref_ew
from tests.reference import reduce as ref_reduce
from tests.reference import tensor_ops as ref_t
from tests.reference import tensor_ops21 as ref21

I64 = np.int64
INTS = (np.int32, np.int16, np.int8, np.uint8)


def iarr(*shape, lo=-9, hi=10, seed=0, dtype=np.int32):
    """Deterministic integers in [lo, hi) of a narrow integer dtype (or bool with dtype=np.bool_)."""
    g = np.random.default_rng(seed + 11 * len(shape) + sum(shape))
    if np.dtype(dtype) == np.bool_:
        return g.random(shape) < 0.5
    info = np.iinfo(dtype)
    return g.integers(max(lo, info.min), min(hi, info.max + 1), size=shape).astype(dtype)


def _idx(*shape, hi=3):
    return arr(*shape, lo=0, hi=hi, dtype=I64)


def _distinct(rows, k, n, seed=0):
    """(rows, k) int64 indices, distinct within each row, in [0, n): a scatter without overwrites."""
    g = np.random.default_rng(seed + rows)
    return np.stack([g.permutation(n)[:k] for _ in range(rows)]).astype(I64).reshape(rows, k)


def _rt(a, b):
    """torch.result_type of two array/scalar operands (tests/reference/elementwise.py)."""
    def desc(v):
        if isinstance(v, np.ndarray):
            return str(v.dtype), False, v.ndim == 0
        return ("bool" if isinstance(v, bool) else "int64" if isinstance(v, int) else "float32"), True, False
    (da, sa, za), (db, sb, zb) = desc(a), desc(b)
    return np.dtype(ref_ew.result_type(da, db, sa, sb, za, zb))


def _binary_ref(name):
    return lambda a, b: np.asarray(ref_ew.binary(name, a, b, _rt(a, b)))


# ---- integer elementwise ops -------------------------------------------------------------------

def _bitwise_samples(n):
    return [S(iarr(n, 5), iarr(n, 5, seed=1)), S(arr(n, 4, lo=-50, hi=50, dtype=I64), iarr(1, 4, seed=2, dtype=np.int8)),
            S(iarr(n, 3, lo=0, hi=256, dtype=np.uint8), iarr(n, 3, lo=0, hi=256, seed=3, dtype=np.uint8)),
            S(iarr(n, 3, dtype=np.int16), iarr(n, 3, seed=4, dtype=np.uint8)),
            S(iarr(n, 4, dtype=np.bool_), iarr(n, 4, seed=5, dtype=np.bool_)), S(iarr(n, 3, dtype=np.int8), 5)]


for _name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
    add(OpInfo(_name, _bitwise_samples, ref=_binary_ref(_name),
               errors=[ErrorInput((arr(2, 3), arr(2, 3)), exc=TypeError), ErrorInput((iarr(2, 3), iarr(4)))]))
add(OpInfo("bitwise_not", lambda n: [S(iarr(n, 5)), S(iarr(2, n, 3, dtype=np.uint8, lo=0, hi=256)),
                                     S(iarr(n, 4, dtype=np.bool_)), S(arr(n, 3, lo=-99, hi=99, dtype=I64)),
                                     S(iarr(n, 2, dtype=np.int8)), S(iarr(n, 2, dtype=np.int16))],
           ref=np.invert, errors=[ErrorInput((arr(2, 3),), exc=TypeError)]))


def _divlike_samples(n):
    nz = lambda *s, seed=0, dtype=np.int32: np.where((v := iarr(*s, seed=seed, dtype=dtype)) == 0, 3, v)  # noqa: E731
    return [S(arr(n, 5, lo=-5, hi=5), arr(n, 5, lo=0.5, hi=2.0, seed=1)), S(arr(n, 4), -arr(1, 4, lo=0.5, seed=2)),
            S(iarr(n, 5), nz(n, 5, seed=1)), S(iarr(n, 3, dtype=np.int8), nz(1, 3, seed=2, dtype=np.uint8)),
            S(arr(n, 3, lo=-50, hi=50, dtype=I64), nz(n, 3, seed=3, dtype=np.int16)), S(iarr(n, 4, dtype=np.int16), -4)]


def _divlike_grad(name):
    """remainder/fmod: d/da = 1, d/db = -q with q = floor(a/b) (remainder) or trunc(a/b) (fmod),
    as the Functions in autograd/functions_dtype.py compute it."""
    def grad(g, a, b):
        q = ops.floor_divide(a, b) if name == "remainder" else np.trunc(np.asarray(a) / np.asarray(b))
        return _reduce_to(g, np.shape(a)), _reduce_to(-g * q, np.shape(b))
    return grad


for _name in ("floor_divide", "remainder", "fmod"):
    add(OpInfo(_name, _divlike_samples, ref=_binary_ref(_name), wrt=(0, 1),
               grad=None if _name == "floor_divide" else _divlike_grad(_name),
               errors=[ErrorInput((iarr(2, 3), np.zeros((2, 3), np.int32)), exc=RuntimeError),
                       ErrorInput((iarr(2, dtype=np.bool_), iarr(2, dtype=np.bool_)), exc=TypeError),
                       ErrorInput((arr(2, 3), arr(4)))]))

add(OpInfo("cast", lambda n: [S(arr(n, 5, lo=-300, hi=300), "int32"), S(arr(n, 4, lo=-300, hi=300), np.uint8),
                              S(arr(n, 3, lo=-200, hi=200, dtype=I64), "int8"), S(iarr(n, 4), "float32"),
                              S(iarr(n, 3, dtype=np.int16), np.float64), S(arr(2, n, lo=-1, hi=1), "bool"),
                              S(iarr(n, 3, dtype=np.bool_), "int16"), S(iarr(n, 3, lo=0, hi=256, dtype=np.uint8), "int64"),
                              S(arr(n, 3), "float16")],
           ref=ref_ew.cast, errors=[ErrorInput((arr(2), "complex64"), exc=TypeError),
                                    ErrorInput((arr(2), "bfloat16"), exc=TypeError)]))

# ---- extra reductions ---------------------------------------------------------------------------


def _logical_samples(n):
    zeros = lambda *s: np.where(arr(*s, seed=3) > 0.5, 0.0, arr(*s))  # noqa: E731
    return [S(iarr(n, 5, dtype=np.bool_)), S(zeros(n, 4, 3), 1), S(zeros(n, 4, 3), (0, 2), keepdim=True),
            S(iarr(n, 4, lo=0, hi=2), -1), S(iarr(3, n, lo=0, hi=2, dtype=np.uint8), 0, True)]


for _name in ("all", "any"):
    add(OpInfo(_name, _logical_samples,
               ref=lambda x, dim=None, keepdim=False, _f=getattr(np, _name): _f(x.astype(bool), axis=dim, keepdims=keepdim),
               errors=[ErrorInput((arr(2, 3), 2), exc=IndexError), ErrorInput((arr(2, 3), (0, 0))),
                       ErrorInput((arr(2, 3), 1.5), exc=TypeError)]))


def _clamp_grad(g, x, lo=None, hi=None):
    gx, gmin, gmax = ops.clamp_backward(g, x, lo, hi)
    return gx, gmin, gmax


add(OpInfo("clamp", lambda n: [S(arr(n, 5), arr(n, 5, lo=-1, hi=0, seed=1), arr(n, 5, lo=0, hi=1, seed=2)),
                               S(arr(n, 4), -0.5, 0.5), S(arr(n, 4), min=0.0), S(arr(n, 4), max=-0.2),
                               S(arr(n, 3), arr(1, 3, seed=3), arr(3, lo=-3, hi=-2, seed=4)),
                               S(iarr(n, 5), -3, 4), S(iarr(n, 4, dtype=np.int8), 2.5), S(iarr(n, 4, dtype=np.uint8, lo=0), max=6)],
           ref=ref21.clamp, grad=_clamp_grad, wrt=(0, 1, 2),
           errors=[ErrorInput((arr(2, 3),)), ErrorInput((iarr(2, dtype=np.bool_), 0), exc=TypeError),
                   ErrorInput((arr(2), "a"), exc=TypeError), ErrorInput((arr(2, 3), arr(4)))]))
add(OpInfo("clamp_backward", lambda n: [S(arr(n, 5, seed=5), arr(n, 5), arr(n, 5, lo=-1, hi=0, seed=1),
                                          arr(n, 5, lo=0, hi=1, seed=2)),
                                        S(arr(n, 3, seed=5), arr(n, 3), arr(n, 3, lo=-0.5, hi=0.5, seed=3),
                                          arr(n, 3, lo=-1, hi=0.5, seed=4))],
           ref=ref21.clamp_backward, errors=[ErrorInput((arr(2, 3), arr(2, 3), "a", 1.0), exc=TypeError)]))


def _red_samples(n):
    return [S(arr(n + 2, 5)), S(arr(n + 2, 5, 3), axis=1), S(arr(n + 2, 4, 3), axis=(0, 2), keepdims=True),
            S(arr(3, n + 2), axis=-1, correction=0)]


add(OpInfo("std", _red_samples, ref=ref21.std, empty=False,
           grad=lambda g, x, **kw: (ops.std_backward(g, x, ops.std(x, **kw), **kw),),
           errors=[ErrorInput((arr(2, 3, dtype=I64),), exc=TypeError), ErrorInput((arr(2, 3),), {"axis": 2})]))
add(OpInfo("std_backward", lambda n: [S(arr(3), arr(n + 2, 3), ops.std(arr(n + 2, 3), 0), 0),
                                      S(arr(n + 2, 1), arr(n + 2, 4), ops.std(arr(n + 2, 4), 1, keepdims=True), 1,
                                        keepdims=True)],
           grad_of="std", empty=False, errors=[ErrorInput((arr(4), arr(2, 3), arr(4)), {"axis": 0})]))
add(OpInfo("norm", lambda n: [S(arr(n, 5)), S(arr(n, 5, 3), 1, 1), S(arr(n, 4), np.inf, 0), S(arr(n, 4, 2), 3, (0, 2), True),
                              S(arr(3, n), "fro", -1, True)],
           ref=ref21.norm, grad=lambda g, x, *a, **kw: (ops.norm_backward(g, x, ops.norm(x, *a, **kw), *a, **kw),),
           errors=[ErrorInput((arr(2, 3, dtype=I64),), exc=TypeError), ErrorInput((arr(2, 3), 0.5)),
                   ErrorInput((arr(2, 3), "nuc")), ErrorInput((arr(2, 3), 2, 3), exc=IndexError)]))
add(OpInfo("norm_backward", lambda n: [S(arr(3), arr(n + 1, 3), ops.norm(arr(n + 1, 3), 2, 0), 2, 0),
                                       S(arr(n + 1), arr(n + 1, 4), ops.norm(arr(n + 1, 4), np.inf, 1), np.inf, 1),
                                       S(arr(n + 1, 1), arr(n + 1, 4), ops.norm(arr(n + 1, 4), 1, 1, True), 1, 1, True)],
           grad_of="norm", errors=[ErrorInput((arr(3), arr(2, 3), arr(3), 0.5, 0))]))
add(OpInfo("prod", lambda n: [S(arr(n, 5, 3), 1), S(arr(n, 4)), S(arr(n, 4, 3), -1, True),
                              S(iarr(n, 4, lo=-3, hi=4), 0), S(iarr(n, 3, dtype=np.bool_), 1), S(iarr(n, 3, dtype=np.uint8, lo=0, hi=5))],
           ref=ref21.prod, grad=lambda g, x, dim=None, keepdim=False: (ops.prod_backward(g, x, dim, keepdim),),
           errors=[ErrorInput((arr(2, 3), 2), exc=IndexError), ErrorInput((arr(2, 3), 1.5), exc=TypeError)]))
add(OpInfo("prod_backward", lambda n: [S(arr(n, 3), arr(n, 5, 3), 1), S(arr(n + 2), arr(n + 2, 4), -1)],
           ref=lambda g, x, dim: ref_t.prod_backward(x, dim, g),
           errors=[ErrorInput((arr(3), arr(2, 3), 2), exc=IndexError)]))

# ---- sorting and sampling -----------------------------------------------------------------------


def _ties(*shape, seed=0):
    return np.round(arr(*shape, seed=seed) * 2) / 2  # few distinct values: ties must keep input order


def _sort_samples(n):
    return [S(arr(n, 6)), S(_ties(n, 7), 1, True), S(_ties(5, n, 3), 0), S(iarr(n, 5, dtype=np.int16), -1, True),
            S(iarr(n, 4, lo=0, hi=256, dtype=np.uint8))]


_SORT_ERR = [ErrorInput((arr(2, 3), 2), exc=IndexError), ErrorInput((arr(2, 3), 0.5), exc=TypeError)]
add(OpInfo("sort", _sort_samples, ref=lambda x, dim=-1, descending=False: ref_t.sort(x, dim, descending),
           grad=lambda g, x, dim=-1, descending=False: (ops.sort_backward(g, dim, ops.sort(x, dim, descending)[1], x.shape),),
           errors=_SORT_ERR))
add(OpInfo("argsort", _sort_samples, ref=lambda x, dim=-1, descending=False: ref_t.sort(x, dim, descending)[1],
           errors=_SORT_ERR))


def _topk_ref(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    v, i = ref_t.sort(x, dim, largest)
    return np.take(v, range(k), axis=dim), np.take(i, range(k), axis=dim)


add(OpInfo("topk", lambda n: [S(arr(n, 6), 3), S(_ties(n, 7), 4, 1, False), S(_ties(5, n + 1), 2, 0),
                              S(iarr(n, 5, dtype=np.int8), 5, largest=False), S(arr(n, 3), 0)],
           ref=_topk_ref, grad=lambda g, x, k, dim=-1, largest=True: (
               ops.topk_backward(g, dim, ops.topk(x, k, dim, largest)[1], x.shape),),
           errors=[ErrorInput((arr(2, 3), 4)), ErrorInput((arr(2, 3), -1)), ErrorInput((arr(2, 3), 1.0), exc=TypeError),
                   ErrorInput((arr(2, 3), 1, 2), exc=IndexError)]))


def _perm(*shape, dim=-1, seed=0):
    """Indices as sort returns them: a permutation of range(shape[dim]) along dim."""
    return np.argsort(arr(*shape, seed=seed), axis=dim, kind="stable").astype(I64)


for _name in ("sort_backward", "topk_backward"):
    add(OpInfo(_name, lambda n: [S(arr(n, 5, seed=3), 1, _perm(n, 5), (n, 5)), S(arr(4, n, seed=3), 0, _perm(4, n, dim=0), (4, n)),
                                 S(arr(n, 2, seed=3), -1, _perm(n, 5)[:, :2], (n, 5))],
               ref=ref21.sort_backward, errors=[ErrorInput((arr(2, 3), 1, np.array([[0, 1, 5]] * 2), (2, 3)), exc=IndexError),
                                                ErrorInput((arr(2, 3), 1, arr(2, 3), (2, 3)), exc=TypeError)]))


def _probs(*shape, seed=0):
    p = arr(*shape, lo=0, hi=1, seed=seed)
    p[..., 1] = 0.0  # a zero-weight category is never drawn
    return p


add(OpInfo("multinomial", lambda n: [S(_probs(n, 6), 3), S(_probs(n, 5), 7, True), S(_probs(7), 4), S(_probs(5, seed=1), 9, True),
                                     S(_probs(n, 4).astype(np.float32), 2, replacement=True)],
           ref=lambda p, k, replacement=False: ref21.multinomial(SEED, p, k, replacement), seeded=True,
           errors=[ErrorInput((-_probs(2, 3), 1)), ErrorInput((iarr(2, 3), 1), exc=TypeError),
                   ErrorInput((_probs(2, 3), 0)), ErrorInput((_probs(2, 2, 3), 1)), ErrorInput((_probs(2, 3), 3))]))

# ---- gather / scatter / cumsum ------------------------------------------------------------------


add(OpInfo("gather", lambda n: [S(arr(n + 2, 5), 1, _idx(n + 2, 3, hi=5)), S(arr(4, n + 1), 0, _idx(6, n + 1, hi=4)),
                                S(iarr(n, 4, 3, dtype=np.uint8, lo=0, hi=256), 2, _idx(n, 2, 5)),
                                S(arr(n + 3, 4, 3), 0, _idx(n + 2, 2, 3, hi=n + 3))],
           ref=ref_t.gather, grad=lambda g, x, dim, index: (ops.gather_backward(g, dim, index, x.shape),),
           errors=[ErrorInput((arr(2, 3), 1, np.array([[3], [0]])), exc=IndexError),
                   ErrorInput((arr(2, 3), 2, _idx(2, 3)), exc=IndexError),
                   ErrorInput((arr(2, 3), 1, np.zeros((2, 3))), exc=TypeError), ErrorInput((arr(2, 3), 1, _idx(2)))]))
add(OpInfo("gather_backward", lambda n: [S(arr(n + 2, 3), 1, _idx(n + 2, 3, hi=5), (n + 2, 5)),
                                         S(arr(6, n), 0, _idx(6, n, hi=4), (4, n))],
           ref=lambda g, dim, index, shape: ref21.scatter_into_zeros(g, dim, index, shape),
           errors=[ErrorInput((arr(2, 3), 1, np.array([[3, 0, 0]] * 2), (2, 3)), exc=IndexError)]))


def _scatter_ref(add_):
    def ref(x, dim, index, src):
        src = np.broadcast_to(np.asarray(src, x.dtype), index.shape) if np.ndim(src) == 0 else src
        return ref_t.scatter(x, dim, index, src, add=add_)
    return ref


def _scatter_samples(n):
    return [S(arr(n + 2, 5), 1, _distinct(n + 2, 3, 5), arr(n + 2, 4, seed=1)),
            S(arr(4, n + 1), 0, _idx(6, n + 1, hi=4), arr(6, n + 1, seed=2)),
            S(arr(n, 3, 4, dtype=I64, lo=-9, hi=9), 2, _idx(n, 3, 6, hi=4), arr(n, 3, 6, dtype=I64, lo=-9, hi=9, seed=3)),
            S(arr(n + 1, 5), -1, _idx(n + 1, 2, hi=5), 2.5)]


_SCATTER_ERR = [ErrorInput((arr(2, 3), 1, np.array([[3], [0]]), arr(2, 1)), exc=IndexError),
                ErrorInput((arr(2, 3), 1, np.zeros((2, 1)), arr(2, 1)), exc=TypeError),
                ErrorInput((arr(2, 3), 1, _idx(2, 3), arr(2, 2)))]
add(OpInfo("scatter", _scatter_samples, ref=_scatter_ref(False), wrt=(0, 3), errors=_SCATTER_ERR,
           grad=lambda g, x, dim, index, src: ops.scatter_backward(g, dim, index, np.shape(src))))
add(OpInfo("scatter_add", _scatter_samples, ref=_scatter_ref(True), wrt=(0, 3),
           errors=_SCATTER_ERR + [ErrorInput((iarr(2, 3), 1, _idx(2, 1), iarr(2, 1)), exc=TypeError)],
           grad=lambda g, x, dim, index, src: ops.scatter_add_backward(g, dim, index, np.shape(src))))
for _name in ("scatter_backward", "scatter_add_backward"):
    add(OpInfo(_name, lambda n: [S(arr(n + 2, 5), 1, _idx(n + 2, 3, hi=5), (n + 2, 4)), S(arr(4, n), 0, _idx(6, n, hi=4), (6, n))],
               ref=getattr(ref21, _name), errors=[ErrorInput((arr(2, 3), 1, np.array([[3], [0]]), (2, 1)), exc=IndexError)]))


def _cumsum_ref(x, dim, dtype=None):
    x = np.asarray(x)
    if x.shape[dim] == 0:
        return x.astype(dtype or (I64 if x.dtype.kind in "biu" else x.dtype))
    return ref_t.cumsum(x.astype(dtype) if dtype else x.astype(I64) if x.dtype.kind in "biu" else x, dim)


add(OpInfo("cumsum", lambda n: [S(arr(n, 5), 1), S(arr(4, n, 3), 0), S(arr(n, 3), -1, np.float32), S(iarr(n, 6, dtype=np.int8), 1),
                                S(iarr(n, 4, dtype=np.bool_), 0), S(arr(n, 3, lo=-99, hi=99, dtype=I64), -1)],
           ref=_cumsum_ref, grad=lambda g, x, dim, dtype=None: (ops.cumsum_backward(g, dim),),
           errors=[ErrorInput((arr(2, 3), 2), exc=IndexError)]))
add(OpInfo("cumsum_backward", lambda n: [S(arr(n, 5), 1), S(arr(4, n, 3), 0)], ref=ref_t.cumsum_backward,
           errors=[ErrorInput((arr(2, 3), 2), exc=IndexError)]))

# ---- mask and row indexing ----------------------------------------------------------------------

_B = np.bool_
add(OpInfo("masked_select", lambda n: [S(arr(n, 4), iarr(n, 4, dtype=_B)), S(arr(n, 3), iarr(1, 3, dtype=_B, seed=1)),
                                       S(arr(n, 1), iarr(n, 4, dtype=_B, seed=2)), S(iarr(n, 5, dtype=np.uint8, lo=0), iarr(n, 5, dtype=_B))],
           ref=ref21.masked_select, grad=lambda g, x, m: (ops.masked_select_backward(g, m, x.shape),),
           errors=[ErrorInput((arr(2, 3), arr(2, 3)), exc=TypeError), ErrorInput((arr(2, 3), iarr(4, dtype=_B)))]))
add(OpInfo("masked_select_backward", lambda n: [S(arr(int(iarr(n, 4, dtype=_B).sum())), iarr(n, 4, dtype=_B), (n, 4)),
                                                S(arr(int(iarr(n, 4, dtype=_B, seed=2).sum())), iarr(n, 4, dtype=_B, seed=2), (n, 1))],
           ref=ref21.masked_select_backward, varied=(0,), errors=[ErrorInput((arr(7), iarr(2, 3, dtype=_B), (2, 3)))]))
add(OpInfo("mask_select_rows", lambda n: [S(arr(n, 3, 4), iarr(n, 3, dtype=_B)), S(arr(n, 4), iarr(n, dtype=_B, seed=1)),
                                          S(iarr(n, 3, dtype=np.int16), iarr(n, 3, dtype=_B))],
           ref=ref_t.mask_rows, grad=lambda g, x, m: (ops.mask_select_rows_backward(g, m, x.shape),),
           errors=[ErrorInput((arr(2, 3), iarr(3, dtype=_B)), exc=IndexError),
                   ErrorInput((arr(2, 3), arr(2, 3)), exc=TypeError)]))
add(OpInfo("mask_select_rows_backward", lambda n: [S(arr(int(iarr(n, 3, dtype=_B).sum()), 4), iarr(n, 3, dtype=_B), (n, 3, 4))],
           ref=ref21.mask_rows_backward, varied=(0,), errors=[ErrorInput((arr(9, 4), iarr(2, 3, dtype=_B), (2, 3, 4)))]))


def _put(x, mask, values):
    out = np.array(x)
    out[mask] = values
    return out


add(OpInfo("masked_put_", lambda n: [S(arr(n, 4), iarr(n, 4, dtype=_B), 7.5), S(arr(n, 3, 4), iarr(n, 3, dtype=_B), arr(4, seed=1)),
                                     S(iarr(n, 5, dtype=np.int8), iarr(n, 5, dtype=_B), -3)],
           ref=_put, inplace=True, errors=[ErrorInput((arr(2, 3), iarr(3, dtype=_B), 1.0), exc=IndexError),
                                           ErrorInput((arr(2, 3), arr(2, 3), 1.0), exc=TypeError)]))
add(OpInfo("index_put_rows_", lambda n: [S(arr(n + 3, 4), 1, np.array([0, -1, 2]), arr(3, 4, seed=1)),
                                         S(arr(2, n + 2, 3), 2, np.array([1, 3, 1]), arr(3, seed=2), accumulate=True),
                                         S(iarr(n + 2, 3, dtype=np.uint8, lo=0), 1, np.array([1, 1]), 9),
                                         S(arr(n + 2, 3), 1, np.array([0, 0, 1]), arr(3, 3, seed=3), True)],
           ref=ref21.put_rows, inplace=True, empty=False,
           errors=[ErrorInput((arr(2, 3), 1, np.array([5]), 1.0), exc=IndexError),
                   ErrorInput((arr(2, 3), 1, np.array([0.5]), 1.0), exc=TypeError)]))
add(OpInfo("one_hot", lambda n: [S(_idx(n, 3, hi=5), 5), S(_idx(n + 1, hi=4)), S(_idx(2, n, hi=3), 7)],
           ref=ref21.one_hot, errors=[ErrorInput((arr(3),), exc=TypeError), ErrorInput((np.array([-1, 0]),)),
                                      ErrorInput((np.array([3, 0]), 3)), ErrorInput((np.zeros(0, I64),))]))

# ---- rearranging copies -------------------------------------------------------------------------

_DIMS_ERR = [ErrorInput((arr(2, 3), (0, 2)), exc=IndexError), ErrorInput((arr(2, 3), (0, 0))),
             ErrorInput((arr(2, 3), (0.5,)), exc=TypeError)]
add(OpInfo("flip", lambda n: [S(arr(n, 3, 4), (0, 2)), S(arr(n, 5), -1), S(arr(3, n), [0, 1]),
                              S(iarr(n, 4, dtype=np.uint8, lo=0), (1,))],
           ref=lambda x, dims: np.flip(x, dims if isinstance(dims, int) else tuple(dims)),
           grad=lambda g, x, dims: (ops.flip(g, dims),), errors=_DIMS_ERR))
add(OpInfo("roll", lambda n: [S(arr(n, 5), 2, 1), S(arr(n, 3, 4), (1, -2), (0, 2)), S(arr(n, 4), 3),
                              S(iarr(n, 3, dtype=np.int8), -7, 0)],
           ref=lambda x, shifts, dims=None: np.roll(x, shifts, dims if dims is None or isinstance(dims, int) else tuple(dims)),
           grad=lambda g, x, shifts, dims=None: (ops.roll_backward(g, shifts, dims),),
           errors=[ErrorInput((arr(2, 3), (1, 2), (0,))), ErrorInput((arr(2, 3), (1, 2))),
                   ErrorInput((arr(2, 3), 1, 2), exc=IndexError), ErrorInput((arr(2, 3), 0.5, 0), exc=TypeError)]))
add(OpInfo("roll_backward", lambda n: [S(arr(n, 5), 2, 1), S(arr(n, 3, 4), (1, -2), (0, 2)), S(arr(n, 4), 3)],
           ref=lambda g, shifts, dims=None: np.roll(g, np.negative(shifts), dims if dims is None or isinstance(dims, int)
                                                    else tuple(dims)),
           errors=[ErrorInput((arr(2, 3), (1, 2), (0,))), ErrorInput((arr(2, 3), 0.5), exc=TypeError)]))
add(OpInfo("repeat", lambda n: [S(arr(n, 3), (2, 1)), S(arr(n, 2), (2, 1, 3)), S(arr(3), (0, 2)), S(iarr(2, n, dtype=np.int16), (1, 3))],
           ref=ref_t.repeat, grad=lambda g, x, sizes: (ops.repeat_backward(g, x.shape, sizes),),
           errors=[ErrorInput((arr(2, 3), (2,))), ErrorInput((arr(2, 3), (1, -1))), ErrorInput((arr(2, 3), (1, 1.5)), exc=TypeError)]))
add(OpInfo("repeat_backward", lambda n: [S(arr(2 * n, 3), (n, 3), (2, 1)), S(arr(2, n, 6), (n, 2), (2, 1, 3))],
           ref=ref21.repeat_backward, errors=[ErrorInput((arr(4, 3), (2, 3), (2, 1.5)), exc=TypeError)]))
for _name in ("tril", "triu"):
    add(OpInfo(_name, lambda n: [S(arr(n, 5)), S(arr(2, n, 4), 1), S(arr(n, 3), -1), S(iarr(3, n, 4, dtype=np.int8), 2)],
               ref=getattr(np, _name), grad=lambda g, x, diagonal=0, _n=_name: (getattr(ops, _n)(g, diagonal),),
               errors=[ErrorInput((arr(3),)), ErrorInput((arr(2, 3), 1.5), exc=TypeError)]))
add(OpInfo("chunk", lambda n: [S(arr(n + 5, 3), 3), S(arr(3, n + 4), 2, 1), S(arr(n + 7, 2), 4), S(iarr(n + 2, 3, dtype=np.uint8), 5)],
           ref=ref21.chunk, errors=[ErrorInput((arr(4, 3), 0)), ErrorInput((arr(4, 3), 2, 2), exc=IndexError),
                                    ErrorInput((np.float64(1.0), 2)), ErrorInput((arr(4, 3), 1.5), exc=TypeError)]))
add(OpInfo("chunk_sizes", lambda n: [S(n + 7, 3), S(n, 4), S(n + 6, 6), S(n + 5, 9)], ref=ref21.chunk_sizes,
           errors=[ErrorInput((5, 0)), ErrorInput((5, 1.5), exc=TypeError)]))


# ---- older ops on the narrow integer dtypes (samples appended, so the gradcheck's first stays) ---

def _more_samples(name, extra):
    old = REGISTRY[name].samples
    REGISTRY[name].samples = lambda n, _o=old: _o(n) + extra(n)


def _int_pairs(n):
    return [S(iarr(n, 5), iarr(n, 5, seed=1)), S(iarr(n, 4, dtype=np.uint8, lo=0, hi=256), iarr(1, 4, dtype=np.int8, seed=2)),
            S(iarr(n, 3, dtype=np.int16), iarr(n, 3, dtype=np.uint8, lo=0, hi=256, seed=3))]


for _name in ("add", "mul", "eq", "lt"):
    _more_samples(_name, _int_pairs)
_more_samples("where", lambda n: [S(iarr(n, 4, dtype=_B), iarr(n, 4, dtype=np.uint8, lo=0), iarr(1, 4, dtype=np.int32, seed=1))])
_more_samples("cat", lambda n: [S([iarr(n, 3, dtype=np.int8), iarr(2, 3, dtype=np.int8, seed=1)]),
                                S((iarr(2, n, dtype=np.uint8, lo=0), iarr(2, 1, dtype=np.uint8, seed=1)), 1)])
_more_samples("index", lambda n: [S(iarr(n + 3, 5, dtype=np.int16), (1, slice(None, None, -2))),
                                  S(iarr(n, 4, 3, dtype=np.uint8, lo=0), (Ellipsis, None, 2))])

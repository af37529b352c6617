"""Registry entries (see tests/opinfo.py) for the shape, memory, random and optimizer ops."""
from __future__ import annotations

import numpy as np

from dlcore import ops
from tests.opinfo import SEED, ErrorInput, OpInfo, S, add, arr
from tests.reference import optim as ref_optim
from tests.reference import random as ref_random
from tests.reference import shape as ref_shape

I64 = np.int64


def _idx(*shape, hi=3):
    return arr(*shape, lo=0, hi=hi, dtype=I64)


# ---- views and copies ------------------------------------------------------------------------

_VIEW_ERR = [ErrorInput((arr(2, 3), (4, 5)))]
add(OpInfo("reshape", lambda n: [S(arr(n, 6), (3, -1)), S(arr(2, n, 3), (-1,)), S(arr(n, 4), (n, 2, 2))],
           ref=lambda x, shape: np.reshape(x, shape), errors=_VIEW_ERR + [ErrorInput((arr(2, 3), (-1, -1)))]))
add(OpInfo("view", lambda n: [S(arr(n, 6), (-1, 3)), S(arr(2, n, 3), (2, -1))], varied=(),
           ref=lambda x, shape: np.reshape(x, shape), errors=_VIEW_ERR))
add(OpInfo("flatten", lambda n: [S(arr(n, 3, 4)), S(arr(2, n, 3, 1), 1, 2), S(arr(n, 2), -2, -1)],
           ref=lambda x, s=0, e=-1: x.reshape(x.shape[:s % x.ndim] + (-1,) + x.shape[e % x.ndim + 1:]) if x.size
           else x.reshape(x.shape[:s % x.ndim] + (int(np.prod(x.shape[s % x.ndim:e % x.ndim + 1])),) + x.shape[e % x.ndim + 1:]),
           errors=[ErrorInput((arr(2, 3), 5)), ErrorInput((arr(2, 3), 1, 0))]))
add(OpInfo("squeeze", lambda n: [S(arr(n, 1, 3)), S(arr(1, n, 1), 0), S(arr(1, 3, 1), (0, 2))],
           ref=lambda x, dim=None: np.squeeze(x, dim if dim is None or isinstance(dim, tuple) else
                                              (dim,) if x.shape[dim] == 1 else ()),
           errors=[ErrorInput((arr(1, 3), 3)), ErrorInput((arr(1, 1), (0, 0)))]))
add(OpInfo("unsqueeze", lambda n: [S(arr(n, 3), 0), S(arr(n, 3), -1), S(arr(2, n), 1)],
           ref=lambda x, d: np.expand_dims(x, d), errors=[ErrorInput((arr(2, 3), 4))]))
add(OpInfo("transpose", lambda n: [S(arr(n, 3), 0, 1), S(arr(2, n, 4), -1, 0)], ref=lambda x, a, b: np.swapaxes(x, a, b),
           errors=[ErrorInput((arr(2, 3), 0, 2))]))
add(OpInfo("permute", lambda n: [S(arr(n, 3, 2), (2, 0, 1)), S(arr(2, n), [1, 0])], ref=lambda x, d: np.transpose(x, d),
           errors=[ErrorInput((arr(2, 3), (0, 0))), ErrorInput((arr(2, 3), (0,)))]))
add(OpInfo("contiguous", lambda n: [S(arr(n, 3, 5)), S(arr(n))], ref=np.ascontiguousarray,
           errors=[ErrorInput(("a",), exc=TypeError)]))
add(OpInfo("expand", lambda n: [S(arr(1, 3), (n, 3)), S(arr(n, 1), (-1, 4)), S(arr(3), (2, n, 3))],
           ref=lambda x, shape: np.broadcast_to(x, tuple(s if s != -1 else x.shape[i] for i, s in enumerate(shape))),
           errors=[ErrorInput((arr(2, 3), (4, 3)))]))
add(OpInfo("broadcast_to", lambda n: [S(arr(1, 3), (n, 3)), S(arr(3), (2, n, 3))], ref=np.broadcast_to,
           errors=[ErrorInput((arr(2, 3), (4, 3)))]))
add(OpInfo("narrow", lambda n: [S(arr(n + 3, 4), 0, 1, 2), S(arr(n, 5), 1, 2, 3), S(arr(n, 5), -1, 0, 0)],
           ref=lambda x, d, s, length: np.moveaxis(np.moveaxis(x, d, 0)[s:s + length], 0, d),
           errors=[ErrorInput((arr(2, 3), 0, 1, 5)), ErrorInput((arr(2, 3), 2, 0, 1))]))

# ---- cat / stack / split ---------------------------------------------------------------------

add(OpInfo("cat", lambda n: [S([arr(n, 3), arr(2, 3, seed=1)]), S((arr(2, n), arr(2, 1, seed=1)), 1)],
           ref=lambda ts, axis=0: np.concatenate(ts, axis),
           errors=[ErrorInput(([arr(2, 3), arr(2, 4)],)), ErrorInput((arr(2, 3),), exc=TypeError)]))
add(OpInfo("stack", lambda n: [S([arr(n, 3), arr(n, 3, seed=1)]), S((arr(2, n), arr(2, n, seed=1)), -1)],
           ref=lambda ts, axis=0: np.stack(ts, axis),
           errors=[ErrorInput(([arr(2, 3), arr(2, 4)],)), ErrorInput((arr(2, 3),), exc=TypeError)]))
add(OpInfo("split", lambda n: [S(arr(n + 5, 3), 2), S(arr(3, n + 4), [1, n + 3], 1)],
           ref=lambda x, s, axis=0: tuple(np.split(x, np.cumsum(s)[:-1] if isinstance(s, list) else
                                                   range(s, x.shape[axis], s), axis)),
           errors=[ErrorInput((arr(4, 3), [1, 2])), ErrorInput((arr(4, 3), 0))]))
add(OpInfo("tensor_split", lambda n: [S(arr(n + 5, 3), 3), S(arr(3, n + 4), 2, 1)],
           ref=lambda x, k, axis=0: tuple(np.array_split(x, k, axis)),
           errors=[ErrorInput((arr(4, 3), 0))]))

# ---- indexing --------------------------------------------------------------------------------

add(OpInfo("index", lambda n: [S(arr(n + 3, 5), (1, slice(None, None, -2))), S(arr(n, 4, 3), (Ellipsis, None, 2))],
           ref=lambda x, key: x[key], errors=[ErrorInput((arr(2, 3), (5,)), exc=IndexError)]))
add(OpInfo("slice_copy", lambda n: [S(arr(n + 3, 5), (slice(1, None), slice(None, None, -2)))],
           ref=lambda x, key: np.ascontiguousarray(x[key]), errors=[ErrorInput((arr(2, 3), (5,)), exc=IndexError)]))
add(OpInfo("index_put_", lambda n: [S(arr(n + 3, 5), (1, slice(None, None, 2)), arr(3, seed=4)),
                                    S(arr(n, 4), (Ellipsis, 0), 2.5)], inplace=True,
           ref=lambda x, key, v: _put(x, key, v), errors=[ErrorInput((arr(2, 3), (5,), 1.0), exc=IndexError)]))
add(OpInfo("index_select", lambda n: [S(arr(n + 2, 5), 1, _idx(4, hi=5)), S(arr(4, n), 0, _idx(6, hi=4))],
           ref=ref_shape.index_select, errors=[ErrorInput((arr(2, 3), 0, np.array([5])), exc=IndexError)],
           grad=lambda g, x, a, i: (ops.index_select_backward(g, a, i, x.shape),)))
add(OpInfo("index_select_backward", lambda n: [S(arr(n + 2, 4), 1, _idx(4, hi=5), (n + 2, 5))],
           ref=ref_shape.index_select_backward, errors=[ErrorInput((arr(2, 1), 1, np.array([7]), (2, 5)), exc=IndexError)]))
add(OpInfo("embedding", lambda n: [S(arr(6, 4), _idx(n, 3, hi=6))], ref=lambda w, i, padding_idx=None: ref_shape.embedding(w, i),
           errors=[ErrorInput((arr(6, 4), np.array([9])), exc=IndexError)],
           grad=lambda g, w, i: (ops.embedding_backward(g, i, w.shape[0]),)))
add(OpInfo("embedding_backward", lambda n: [S(arr(n, 3, 4), _idx(n, 3, hi=6), 6), S(arr(n, 4), _idx(n, hi=6), 6, 2)],
           ref=ref_shape.embedding_backward, errors=[ErrorInput((arr(2, 4), np.array([9, 1]), 6), exc=IndexError)]))


def _put(x, key, v):
    x = np.array(x)
    x[key] = v
    return x


# ---- pad and masked_fill ---------------------------------------------------------------------

add(OpInfo("pad", lambda n: [S(arr(n, 5), (1, 2)), S(arr(2, n + 3, 4), (1, 1, 2, 0), "reflect"),
                             S(arr(1, n, 3), (2, 1), "replicate"), S(arr(1, 2, n + 3), (2, 3), "circular"),
                             S(arr(n, 5), (-1, 2), value=0.5)],
           ref=ref_shape.pad, grad=lambda g, x, p, mode="constant", value=0.0: (ops.pad_backward(g, x.shape, p, mode),),
           errors=[ErrorInput((arr(2, 3), (1, 2, 3))), ErrorInput((arr(2, 3), (1, 1), "wrap"))]))
add(OpInfo("pad_backward", lambda n: [S(arr(n, 8), (n, 5), (1, 2)), S(arr(1, 2, n + 7), (1, 2, n + 3), (2, 2), "reflect")],
           ref=ref_shape.pad_backward, errors=[ErrorInput((arr(2, 8), (2, 3), (1, 2)))]))
add(OpInfo("masked_fill", lambda n: [S(arr(n, 4), arr(n, 4, dtype=np.bool_), 7.0), S(arr(n, 3), arr(1, 3, dtype=np.bool_), -1.5)],
           ref=ref_shape.masked_fill, errors=[ErrorInput((arr(2, 3), arr(2, 3)), {"value": 1.0}, TypeError)]))
add(OpInfo("masked_fill_", lambda n: [S(arr(n, 4), arr(n, 4, dtype=np.bool_), 7.0)], inplace=True,
           ref=ref_shape.masked_fill, errors=[ErrorInput((arr(2, 3), arr(2, 3)), {"value": 1.0}, TypeError)]))

# ---- in-place memory ops ---------------------------------------------------------------------

add(OpInfo("copy_", lambda n: [S(arr(n, 4), arr(n, 4, seed=3)), S(arr(n, 3, 1), arr(n, 3, 1, seed=1))], inplace=True,
           ref=lambda d, s: np.broadcast_to(s, np.shape(d)).copy(),
           errors=[ErrorInput((arr(2, 3), arr(4, 3))), ErrorInput((1.5, arr(2)), exc=TypeError)]))
add(OpInfo("fill_", lambda n: [S(arr(n, 4), 2.5), S(arr(n, 3, dtype=I64), 3)], inplace=True,
           ref=lambda d, v: np.full_like(d, v), errors=[ErrorInput(([1.0, 2.0], 0.0), exc=TypeError)]))

# ---- random ----------------------------------------------------------------------------------


def _rnd(name, samples, ref, errors, **kw):
    add(OpInfo(name, samples, ref=ref, errors=errors, seeded=True, **kw))


_rnd("uniform", lambda n: [S((n, 5)), S((n, 3), -1.0, 4.0, "float64")],
     lambda shape, low=0.0, high=1.0, dtype="float32": ref_random.uniform(
         SEED, 0, int(np.prod(shape)), low, high, np.dtype(dtype)).reshape(shape),
     [ErrorInput(((2,),), {"dtype": "int64"}, TypeError), ErrorInput(((-1,),))])
_rnd("normal", lambda n: [S((n, 5)), S((n, 3), 0.5, 2.0, "float64")],
     lambda shape, mean=0.0, std=1.0, dtype="float32": ref_random.normal(
         SEED, 0, int(np.prod(shape)), mean, std, np.dtype(dtype)).reshape(shape),
     [ErrorInput(((2,),), {"dtype": None}, TypeError)], scale=10)
_rnd("bernoulli", lambda n: [S(0.3, (n, 4)), S(arr(n, 3, lo=0, hi=1))],
     lambda p, shape=None: (ref_random.bernoulli(SEED, 0, p, int(np.prod(shape))).reshape(shape) if shape is not None
                            else ref_random.bernoulli(SEED, 0, np.ascontiguousarray(p), dtype=p.dtype).reshape(p.shape)),
     [ErrorInput((1.5, (2,))), ErrorInput((arr(2, lo=2, hi=3),))])
_rnd("dropout_mask", lambda n: [S((n, 7), 0.25)],
     lambda shape, p: ref_random.bernoulli(SEED, 0, 1 - p, int(np.prod(shape)), value=np.float32(1 / (1 - p))).reshape(shape),
     [ErrorInput(((2,), 1.5))])
_rnd("randint", lambda n: [S(0, 10, (n, 5)), S(-5, 2**33 + 1, (n,))],
     lambda lo, hi, shape: ref_random.randint(SEED, 0, int(np.prod(shape)), lo, hi).reshape(shape),
     [ErrorInput((5, 5, (2,))), ErrorInput((0, 1.5, (2,)), exc=TypeError)])
_rnd("randperm", lambda n: [S(n), S(n + 17)], lambda n: ref_random.randperm(SEED, 0, n),
     [ErrorInput((-1,)), ErrorInput((2.5,), exc=TypeError)])
_rnd("random_bits", lambda n: [S(n + 9, 7), S(n, 2**64 - 1, 2**32 - 1)],
     lambda n, seed, offset=0: ref_random.words(seed, offset, n).astype(I64),
     [ErrorInput((4, 1), {"offset": -1}), ErrorInput((-4, 1))])
add(OpInfo("philox4x32_10", lambda n: [S((n, 1, 2, 3), (4, 5)), S((2**32 - 1, 0, 0, 7), (0, 2**32 - 1))],
           ref=lambda c, k: tuple(int(v) for v in ref_random.philox4x32_10(c, k)),
           errors=[ErrorInput(((0, 0, 0), (1, 2))), ErrorInput(((0, 0, 0, 2**32), (1, 2)))]))

# ---- fused optimizer steps (in place on lists; the layouts vary on the gradients) -------------

_P = lambda n: arr(n, 5, seed=11)  # noqa: E731
_G = lambda n: arr(n, 5, seed=12)  # noqa: E731
add(OpInfo("sgd_step", lambda n: [S([_P(n)], [_G(n)], lr=0.1), S([_P(n)], [_G(n)], [arr(n, 5, seed=13)], lr=0.1, momentum=0.9,
                                                                 weight_decay=0.01)],
           ref=lambda p, g, b=None, **kw: [ref_optim.sgd(p[0], g[0], None if b is None else b[0], **kw)[0]],
           inplace=True, varied=(1,), errors=[ErrorInput(([arr(2)], [arr(3)]), {"lr": 0.1}),
                                              ErrorInput((arr(2), [arr(2)]), exc=TypeError)]))
add(OpInfo("adam_step", lambda n: [S([_P(n)], [_G(n)], [arr(n, 5, seed=13)], [arr(n, 5, lo=0, seed=14)], steps=3, lr=0.01)],
           ref=lambda p, g, m, v, steps, **kw: [ref_optim.adam(p[0], g[0], m[0], v[0], None, step=steps, **kw)[0]],
           inplace=True, varied=(1,), errors=[ErrorInput(([arr(2)], [arr(2)], [arr(2)], [arr(3)]), {"steps": 1})]))
add(OpInfo("rmsprop_step", lambda n: [S([_P(n)], [_G(n)], [arr(n, 5, lo=0, seed=13)], lr=0.01)],
           ref=lambda p, g, s, **kw: [ref_optim.rmsprop(p[0], g[0], s[0], None, None, **kw)[0]],
           inplace=True, varied=(1,), errors=[ErrorInput(([arr(2)], [arr(2)], [arr(3)]))]))

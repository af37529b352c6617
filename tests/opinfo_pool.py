"""Registry entries (see tests/opinfo.py) for the pool family (issue 24): max / average / adaptive
pooling, max unpooling, interpolation and pixel shuffle, forward and backward.  The batch size is
the sample's `n` (n = 0: an empty batch, which PyTorch allows); unbatched samples have fixed sizes."""
from __future__ import annotations

import numpy as np

from dlcore import ops
from tests.opinfo import ErrorInput, OpInfo, S, add, arr
from tests.reference import pool as R

I64 = np.int64


def _no_ri(kw):
    return {k: v for k, v in kw.items() if k != "return_indices"}


def _max_grad(name):
    fwd, bwd = getattr(ops, name), getattr(ops, name + "_backward")

    def grad(g, x, *args, **kw):
        idx = fwd(x, *args, **_no_ri(kw), return_indices=True)[1]
        return (bwd(g, x, idx, *args, **_no_ri(kw)),)
    return grad


def _pool_errors(spatial, x_ok, bad_rank, with_dilation):
    errs = [ErrorInput((x_ok, 2), {"padding": 2}), ErrorInput((x_ok, 2), {"stride": 0}),
            ErrorInput((x_ok, 0)), ErrorInput((bad_rank, 2)), ErrorInput((x_ok.astype(I64), 2), exc=TypeError),
            ErrorInput((x_ok, 9)), ErrorInput((x_ok, 2.5), exc=TypeError)]
    if with_dilation:
        errs.append(ErrorInput((x_ok, 2), {"dilation": 0}))
    return errs


# ---- max pooling ---------------------------------------------------------------------------------

add(OpInfo("max_pool2d", lambda n: [
    S(arr(n, 2, 7, 9), 3, 2, 1), S(arr(n, 3, 5, 6), (2, 3), (1, 2), (1, 0), (2, 1), True, True),
    S(arr(3, 7, 6), 2, return_indices=True), S(arr(n, 1, 8, 8), 3, 1, 1, ceil_mode=True)],
    ref=R.max_pool2d, grad=_max_grad("max_pool2d"),
    errors=_pool_errors(2, arr(1, 2, 5, 5), arr(5, 5), True)))
add(OpInfo("max_pool1d", lambda n: [
    S(arr(n, 3, 11), 3, 2, 1), S(arr(n, 2, 9), 2, None, 0, 2, True, True), S(arr(4, 7), 3, return_indices=True)],
    ref=R.max_pool1d, grad=_max_grad("max_pool1d"), errors=_pool_errors(1, arr(1, 2, 5), arr(5), True)))


def _max_bwd_samples(spatial):
    def samples(n):
        out = []
        for shape, args in (((n, 2, 7, 9), (3, 2, 1)), ((n, 3, 5, 6), ((2, 3), 1, (1, 0), (2, 1), True))):
            if spatial == 1:
                shape, args = shape[:2] + shape[3:], (args[0] if isinstance(args[0], int) else 2,) + args[1:2]
            x = arr(*shape, seed=3)
            o, i = (R.max_pool2d if spatial == 2 else R.max_pool1d)(x, *args, return_indices=True)
            out.append(S(arr(*o.shape, seed=4), x, i, *args))
        return out
    return samples


for _sp in (1, 2):
    _x = arr(1, 2, 5, 5) if _sp == 2 else arr(1, 2, 5)
    _o = np.ones((1, 2, 2, 2) if _sp == 2 else (1, 2, 2))
    add(OpInfo(f"max_pool{_sp}d_backward", _max_bwd_samples(_sp), ref=getattr(R, f"max_pool{_sp}d_backward"),
               errors=[ErrorInput((_o, _x, np.full(_o.shape, 99, I64), 2), exc=IndexError),
                       ErrorInput((_o, _x, np.full(_o.shape, -1, I64), 2), exc=IndexError),
                       ErrorInput((_o, _x, np.zeros(_o.shape, np.int32), 2), exc=TypeError),
                       ErrorInput((np.ones((1, 2, 3, 3)[:_sp + 2]), _x, np.zeros(_o.shape, I64), 2))]))

# ---- average pooling -----------------------------------------------------------------------------

add(OpInfo("avg_pool2d", lambda n: [
    S(arr(n, 2, 7, 9), 3, 2, 1), S(arr(n, 3, 5, 6), (2, 3), (1, 2), (1, 0), True, False),
    S(arr(3, 7, 6), 2, divisor_override=3), S(arr(n, 1, 8, 7), 3, 2, 1, ceil_mode=True, count_include_pad=True)],
    ref=R.avg_pool2d, grad=lambda g, x, *a, **kw: (ops.avg_pool2d_backward(g, x, *a, **kw),),
    errors=_pool_errors(2, arr(1, 2, 5, 5), arr(5, 5), False) + [
        ErrorInput((arr(1, 2, 5, 5), 2), {"divisor_override": 0})]))
add(OpInfo("avg_pool1d", lambda n: [
    S(arr(n, 3, 11), 3, 2, 1), S(arr(n, 2, 9), 2, 1, 1, True, False), S(arr(4, 7), 3, divisor_override=2)],
    ref=R.avg_pool1d, grad=lambda g, x, *a, **kw: (ops.avg_pool1d_backward(g, x, *a, **kw),),
    errors=_pool_errors(1, arr(1, 2, 5), arr(5), False)))
_AVG_BWD = {1: ((2, 5), (2, 9)), 2: ((2, 4, 5), (2, 7, 9))}  # (grad, input) shapes of kernel 3, stride 2, pad 1, ceil
for _sp in (1, 2):
    _gs, _xs = _AVG_BWD[_sp]
    add(OpInfo(f"avg_pool{_sp}d_backward", ref=getattr(R, f"avg_pool{_sp}d_backward"),
               samples=lambda n, _g=_gs, _x=_xs: [S(arr(n, *_g, seed=4), arr(n, *_x), 3, 2, 1, True, False),
                                                  S(arr(n, *_g, seed=5), arr(n, *_x), 3, 2, 1, True, True)],
               errors=[ErrorInput((arr(1, *_xs), arr(1, *_xs), 3, 2, 1))]))

# ---- adaptive pooling ----------------------------------------------------------------------------

add(OpInfo("adaptive_avg_pool2d", lambda n: [S(arr(n, 2, 7, 9), (3, 4)), S(arr(n, 2, 5, 5), 7), S(arr(3, 8, 6), (None, 4))],
           ref=R.adaptive_avg_pool2d, grad=lambda g, x, o: (ops.adaptive_avg_pool2d_backward(g, x),),
           errors=[ErrorInput((arr(1, 2, 5, 5), 0)), ErrorInput((arr(5, 5), 2)), ErrorInput((arr(1, 2, 5, 5), (2, 2, 2))),
                   ErrorInput((arr(1, 2, 5, 5).astype(np.int32), 2), exc=TypeError)]))
add(OpInfo("adaptive_avg_pool1d", lambda n: [S(arr(n, 2, 11), 4), S(arr(3, 5), 7)], ref=R.adaptive_avg_pool1d,
           grad=lambda g, x, o: (ops.adaptive_avg_pool1d_backward(g, x),),
           errors=[ErrorInput((arr(1, 2, 5), 0)), ErrorInput((arr(5), 2))]))
add(OpInfo("adaptive_max_pool2d", lambda n: [S(arr(n, 2, 7, 9), (3, 4)), S(arr(n, 2, 5, 5), 3, True),
                                             S(arr(3, 8, 6), (None, 4), return_indices=True)],
           ref=R.adaptive_max_pool2d,
           grad=lambda g, x, o, **kw: (ops.adaptive_max_pool2d_backward(
               g, x, ops.adaptive_max_pool2d(x, o, return_indices=True)[1]),),
           errors=[ErrorInput((arr(1, 2, 5, 5), 0)), ErrorInput((arr(1, 5), 2))]))
add(OpInfo("adaptive_avg_pool2d_backward", lambda n: [S(arr(n, 2, 3, 4, seed=4), arr(n, 2, 7, 9))],
           ref=R.adaptive_avg_pool2d_backward, grad_of="adaptive_avg_pool2d",
           errors=[ErrorInput((arr(1, 3, 3, 4), arr(1, 2, 7, 9)))]))
add(OpInfo("adaptive_avg_pool1d_backward", lambda n: [S(arr(n, 2, 4, seed=4), arr(n, 2, 11))],
           ref=R.adaptive_avg_pool1d_backward, grad_of="adaptive_avg_pool1d",
           errors=[ErrorInput((arr(1, 3, 4), arr(1, 2, 11)))]))


def _amax_bwd(n):
    x = arr(n, 2, 7, 9, seed=2)
    return [S(arr(n, 2, 3, 4, seed=4), x, R.adaptive_max_pool2d(x, (3, 4), True)[1])]


add(OpInfo("adaptive_max_pool2d_backward", _amax_bwd, ref=R.adaptive_max_pool2d_backward,
           errors=[ErrorInput((arr(1, 2, 2, 2), arr(1, 2, 4, 4), np.full((1, 2, 2, 2), 16, I64)), exc=IndexError)]))

# ---- max unpooling -------------------------------------------------------------------------------


def _unpool_samples(n):
    x1, x2 = arr(n, 2, 6, 8, seed=1), arr(3, 7, 7, seed=2)
    o1, i1 = R.max_pool2d(x1, 2, return_indices=True)
    o2, i2 = R.max_pool2d(x2, 3, 2, 1, return_indices=True)
    return [S(o1, i1, 2), S(o2, i2, 3, 2, 1, output_size=(7, 7)), S(o1, i1, 2, output_size=(n, 2, 7, 9))]


add(OpInfo("max_unpool2d", _unpool_samples, ref=R.max_unpool2d, varied=(0,),
           grad=lambda g, x, i, *a, **kw: (ops.max_unpool2d_backward(g, i),),
           errors=[ErrorInput((arr(1, 1, 2, 2), np.full((1, 1, 2, 2), 99, I64), 2), exc=IndexError),
                   ErrorInput((arr(1, 1, 2, 2), np.zeros((1, 1, 2, 2), I64), 2), {"output_size": (9, 9)}),
                   ErrorInput((arr(1, 1, 2, 2), np.zeros((1, 1, 2, 3), I64), 2)),
                   ErrorInput((arr(1, 1, 2, 2), np.zeros((1, 1, 2, 2), np.int32), 2), exc=TypeError),
                   ErrorInput((arr(2, 2), np.zeros((2, 2), I64), 2))]))
add(OpInfo("max_unpool2d_backward", lambda n: [S(arr(n, 2, 6, 8, seed=3), R.max_pool2d(arr(n, 2, 6, 8), 2, return_indices=True)[1])],
           ref=R.max_unpool2d_backward,
           errors=[ErrorInput((arr(1, 1, 2, 2), np.full((1, 1, 1, 1), 4, I64)), exc=IndexError),
                   ErrorInput((arr(1, 1, 2, 2), np.zeros((1, 2, 1, 1), I64)))]))

# ---- interpolation -------------------------------------------------------------------------------

_INTERP = [((2, 5, 7), dict(size=(8, 3), mode="bilinear")), ((2, 3, 4), dict(scale_factor=2)),
           ((3, 7), dict(scale_factor=1.7, mode="linear", align_corners=True)),
           ((2, 4, 5), dict(size=(9, 7), mode="nearest-exact")), ((2, 6, 5), dict(scale_factor=(0.6, 1.5), mode="bilinear")),
           ((3, 6), dict(size=11, mode="nearest"))]


def _interp_out(shape, kw):
    return R.interpolate(np.zeros(shape), **kw).shape


add(OpInfo("interpolate", lambda n: [S(arr(n, *s), **kw) for s, kw in _INTERP], ref=R.interpolate,
           grad=lambda g, x, **kw: (ops.interpolate_backward(g, x.shape, **kw),),
           errors=[ErrorInput((arr(1, 2, 4, 4),), {"size": 8, "mode": "cubic"}),
                   ErrorInput((arr(1, 2, 4, 4),), {"size": 8, "scale_factor": 2}), ErrorInput((arr(1, 2, 4, 4),)),
                   ErrorInput((arr(1, 2, 4, 4),), {"size": 8, "align_corners": True}),
                   ErrorInput((arr(1, 2, 4, 4),), {"size": 8, "mode": "linear"}),
                   ErrorInput((arr(4, 4),), {"size": 8}), ErrorInput((arr(1, 2, 4, 4),), {"scale_factor": 0.1}),
                   ErrorInput((arr(1, 2, 4, 4).astype(I64),), {"size": 8}, exc=TypeError)]))
add(OpInfo("interpolate_backward", lambda n: [S(arr(*_interp_out((n,) + s, kw), seed=5), (n,) + s, **kw) for s, kw in _INTERP],
           ref=R.interpolate_backward,
           errors=[ErrorInput((arr(1, 2, 5, 5), (1, 2, 4, 4)), {"size": 8}),
                   ErrorInput((arr(1, 2, 8, 8), (1, 2, 4, 4)), {"size": 8, "mode": "area"})]))

# ---- pixel shuffle -------------------------------------------------------------------------------

for _name, _up in (("pixel_shuffle", True), ("pixel_unshuffle", False)):
    _inv = "pixel_unshuffle" if _up else "pixel_shuffle"
    add(OpInfo(_name, (lambda n, _u=_up: [S(arr(n, 8, 3, 2), 2), S(arr(9, 2, 3), 3), S(arr(2, n, 4, 2, 2), 1)] if _u else
                       [S(arr(n, 2, 6, 4), 2), S(arr(1, 6, 9), 3), S(arr(2, n, 4, 2, 2), 1)]),
               ref=getattr(R, _name), grad=(lambda g, x, r, _n=_name: (getattr(ops, _n + "_backward")(g, r),)),
               errors=[ErrorInput((arr(1, 3, 2, 2), 2)) if _up else ErrorInput((arr(1, 1, 3, 2), 2)),
                       ErrorInput((arr(4, 2), 2)), ErrorInput((arr(1, 4, 2, 2), 0))]))
    add(OpInfo(_name + "_backward", (lambda n, _u=_up: [S(arr(n, 2, 6, 4), 2)] if _u else [S(arr(n, 8, 3, 2), 2)]),
               ref=getattr(R, _name + "_backward"), errors=[ErrorInput((arr(4, 2), 2))]))

"""Registry entries (tests/opinfo.py) of the convolutions (issue 16)."""
from __future__ import annotations

import numpy as np

from dlcore import ops
from tests.opinfo import ErrorInput, OpInfo, S, add, arr
from tests.reference import conv as R


def _c2(n):
    return [S(arr(n, 4, 7, 6), arr(6, 2, 3, 2, seed=1), arr(6, seed=2), stride=(2, 1), padding=1, groups=2),
            S(arr(n, 3, 5, 5), arr(4, 3, 1, 1, seed=1)),
            S(arr(n, 3, 6, 5), arr(3, 1, 3, 3, seed=1), None, padding="same", dilation=2, groups=3,
              padding_mode="reflect")]


def _c1(n):
    return [S(arr(n, 4, 9), arr(6, 2, 3, seed=1), arr(6, seed=2), stride=2, padding=1, groups=2),
            S(arr(n, 3, 7), arr(2, 3, 2, seed=1), None, padding="same", padding_mode="circular")]


def _ct2(n):
    return [S(arr(n, 4, 4, 5), arr(4, 3, 3, 2, seed=1), arr(6, seed=2), stride=2, padding=1, output_padding=1,
              groups=2),
            S(arr(n, 3, 3, 3), arr(3, 2, 2, 2, seed=1), None, dilation=2)]


def _ct1(n):
    return [S(arr(n, 4, 6), arr(4, 3, 3, seed=1), arr(3, seed=2), stride=3, padding=1, output_padding=2)]


def _grad(bwd):
    def grad(g, x, w, b=None, **kw):
        kw.pop("activation", None)
        gx, gw, gb = bwd(g, x, w, **kw)
        return (gx, gw, gb)[:2 + (b is not None)]
    return grad


def _bwd_samples(forward_samples, ref_fwd):
    def samples(n):
        out = []
        for s in forward_samples(n):
            x, w = s.args[0], s.args[1]
            kw = dict(s.kwargs)
            y = ref_fwd(x, w, None, **kw)
            out.append(S(arr(*y.shape, seed=9), x, w, **kw))
        return out
    return samples


_BAD = [ErrorInput((arr(2, 4, 5, 5), arr(3, 3, 3, 3))),                       # channels
        ErrorInput((arr(2, 3, 2, 2), arr(3, 3, 3, 3))),                       # kernel > input
        ErrorInput((arr(2, 3, 5, 5), arr(3, 3, 3, 3)), {"stride": 0}),
        ErrorInput((arr(2, 3, 5, 5, dtype=np.int64), arr(3, 3, 3, 3, dtype=np.int64)), exc=TypeError)]

_c2ref = (lambda x, w, b=None, **kw: R.conv(2, x, w, b, **kw))
_c1ref = (lambda x, w, b=None, **kw: R.conv(1, x, w, b, **kw))
_ct2ref = (lambda x, w, b=None, **kw: R.conv_transpose(2, x, w, b, **kw))
_ct1ref = (lambda x, w, b=None, **kw: R.conv_transpose(1, x, w, b, **kw))

add(OpInfo("conv2d", _c2, ref=_c2ref, grad=_grad(ops.conv2d_backward), wrt=(0, 1, 2), errors=_BAD))
add(OpInfo("conv1d", _c1, ref=_c1ref, grad=_grad(ops.conv1d_backward), wrt=(0, 1, 2),
           errors=[ErrorInput((arr(2, 4, 5), arr(3, 3, 3))), ErrorInput((arr(2, 3, 5), arr(3, 3, 3)), {"dilation": 0}),
                   ErrorInput((arr(2, 3, 5, 5), arr(3, 3, 3)))]))
add(OpInfo("conv_transpose2d", _ct2, ref=_ct2ref, grad=_grad(ops.conv_transpose2d_backward), wrt=(0, 1, 2),
           errors=[ErrorInput((arr(2, 4, 3, 3), arr(3, 2, 3, 3))),
                   ErrorInput((arr(2, 3, 3, 3), arr(3, 2, 3, 3)), {"stride": 2, "output_padding": 2})]))
add(OpInfo("conv_transpose1d", _ct1, ref=_ct1ref, grad=_grad(ops.conv_transpose1d_backward), wrt=(0, 1, 2),
           errors=[ErrorInput((arr(2, 4, 3), arr(3, 2, 3)))]))
add(OpInfo("conv2d_backward", _bwd_samples(_c2, _c2ref), ref=lambda g, x, w, **kw: R.conv_backward(2, g, x, w, **kw),
           errors=[ErrorInput((arr(2, 3, 4, 4), arr(2, 3, 5, 5), arr(3, 3, 3, 3)))]))
add(OpInfo("conv1d_backward", _bwd_samples(_c1, _c1ref), ref=lambda g, x, w, **kw: R.conv_backward(1, g, x, w, **kw),
           errors=[ErrorInput((arr(2, 3, 4), arr(2, 3, 5), arr(3, 3, 3)))]))
add(OpInfo("conv_transpose2d_backward", _bwd_samples(_ct2, _ct2ref),
           ref=lambda g, x, w, **kw: R.conv_transpose_backward(2, g, x, w, **kw),
           errors=[ErrorInput((arr(2, 2, 4, 4), arr(2, 3, 3, 3), arr(3, 2, 3, 3)))]))
add(OpInfo("conv_transpose1d_backward", _bwd_samples(_ct1, _ct1ref),
           ref=lambda g, x, w, **kw: R.conv_transpose_backward(1, g, x, w, **kw),
           errors=[ErrorInput((arr(2, 2, 4), arr(2, 3, 3), arr(3, 2, 3)))]))
# pad / pad_backward (C++, ops/shape.py) have their entries in tests/opinfo_more.py; their autograd
# Function (nn/functional_conv.py: Pad) is new here and tested in tests/test_conv_nn.py.

"""Registry entries (see tests/opinfo.py) for the normalisation family: batch, layer, group and
instance norm and their backwards (checked by the forward ops' gradchecks; tests/test_norm.py
compares them with tests/reference/norm.py)."""
from __future__ import annotations

import numpy as np

from dlcore import ops
from tests.opinfo import ErrorInput, OpInfo, S, add, arr
from tests.reference import norm as ref_norm

I64 = np.int64


# ---- batch norm ----------------------------------------------------------------------------------

def _bn_samples(n):
    return [S(arr(n + 2, 3, 5), None, None, arr(3, seed=1), arr(3, seed=2), True),
            S(arr(n + 2, 4), training=True, eps=1e-3),
            S(arr(n, 3, 2, 3), arr(3, seed=4), arr(3, lo=0.5, seed=5), arr(3, seed=1), None, False),
            S(arr(n, 3, 4), training=True)]


def _bn_grad(g, x, running_mean=None, running_var=None, weight=None, bias=None, training=False, momentum=0.1,
             eps=1e-5):
    _, m, r = ops.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, return_stats=True)
    return ops.batch_norm_backward(g, x, weight, m, r, training)


add(OpInfo("batch_norm", _bn_samples, ref=ref_norm.batch_norm, grad=_bn_grad, wrt=(0, 3, 4),
           errors=[ErrorInput((arr(1, 3),), {"training": True}),
                   ErrorInput((arr(2, 3, 4), arr(4), arr(4)), {"training": True}),
                   ErrorInput((arr(2, 3, 4),), {"training": False}),
                   ErrorInput((arr(2, 3, 4), None, None, arr(2)), {"training": True}),
                   ErrorInput((arr(2, 3, dtype=I64),), {"training": True}, exc=TypeError),
                   ErrorInput((arr(2, 3), arr(3).astype(np.float32), arr(3)), {"training": True}, exc=TypeError)]))


def _bn_backward_samples(n):
    out = []
    for s in _bn_samples(n)[:3]:
        x = s.args[0]
        w = s.args[3] if len(s.args) > 3 else None
        training = s.args[5] if len(s.args) > 5 else s.kwargs["training"]
        _, m, r = ops.batch_norm(*s.args, **s.kwargs, return_stats=True)
        out.append(S(arr(*x.shape, seed=9), x, w, m, r, training))
    return out


add(OpInfo("batch_norm_backward", _bn_backward_samples, grad_of="batch_norm",
           errors=[ErrorInput((arr(2, 3), arr(2, 4), None, arr(4), arr(4))),
                   ErrorInput((arr(2, 3), arr(2, 3), None, arr(2), arr(3)))]))

# ---- layer norm ----------------------------------------------------------------------------------


def _ln_samples(n):
    return [S(arr(n, 7), (7,), arr(7, seed=1), arr(7, seed=2)), S(arr(n, 3, 5), (3, 5)),
            S(arr(2, n, 33), 33, arr(33, seed=1), None, eps=1e-3), S(arr(n, 2, 4) * 40 + 100, [4], None, arr(4))]


def _ln_grad(g, x, normalized_shape, weight=None, bias=None, eps=1e-5):
    _, m, r = ops.layer_norm(x, normalized_shape, weight, bias, eps, return_stats=True)
    return ops.layer_norm_backward(g, x, normalized_shape, m, r, weight)


add(OpInfo("layer_norm", _ln_samples, ref=ref_norm.layer_norm, grad=_ln_grad, wrt=(0, 2, 3),
           errors=[ErrorInput((arr(2, 3), (4,))), ErrorInput((arr(2, 3), (2, 3, 1))),
                   ErrorInput((arr(2, 3), (3,), arr(4))), ErrorInput((arr(2, 3), ())),
                   ErrorInput((arr(2, 3, dtype=I64), (3,)), exc=TypeError)]))


def _ln_backward_samples(n):
    out = []
    for s in _ln_samples(n)[:3]:
        x, shape = s.args[0], s.args[1]
        w = s.args[2] if len(s.args) > 2 else None
        _, m, r = ops.layer_norm(*s.args, **s.kwargs, return_stats=True)
        out.append(S(arr(*x.shape, seed=9), x, shape, m, r, w))
    return out


add(OpInfo("layer_norm_backward", _ln_backward_samples, grad_of="layer_norm",
           errors=[ErrorInput((arr(2, 3), arr(2, 3), (3,), arr(3), arr(2))),
                   ErrorInput((arr(2, 3), arr(2, 3), (3,), arr(2), arr(2)), {"output_mask": (True, False)})]))

# ---- group norm ----------------------------------------------------------------------------------


def _gn_samples(n):
    return [S(arr(n, 6, 5), 3, arr(6, seed=1), arr(6, seed=2)), S(arr(n, 4, 3, 3), 2), S(arr(n, 6), 6, eps=1e-2),
            S(arr(n, 4, 7), 1, None, arr(4, seed=3))]


def _gn_grad(g, x, num_groups, weight=None, bias=None, eps=1e-5):
    _, m, r = ops.group_norm(x, num_groups, weight, bias, eps, return_stats=True)
    return ops.group_norm_backward(g, x, num_groups, m, r, weight)


add(OpInfo("group_norm", _gn_samples, ref=ref_norm.group_norm, grad=_gn_grad, wrt=(0, 2, 3),
           errors=[ErrorInput((arr(2, 6, 4), 4)), ErrorInput((arr(2, 6, 4), 0)), ErrorInput((arr(6), 3)),
                   ErrorInput((arr(2, 6, 4), 3, arr(3))), ErrorInput((arr(2, 6, dtype=I64), 3), exc=TypeError)]))


def _gn_backward_samples(n):
    out = []
    for s in _gn_samples(n)[:2]:
        x, groups = s.args[0], s.args[1]
        w = s.args[2] if len(s.args) > 2 else None
        _, m, r = ops.group_norm(*s.args, **s.kwargs, return_stats=True)
        out.append(S(arr(*x.shape, seed=9), x, groups, m, r, w))
    return out


add(OpInfo("group_norm_backward", _gn_backward_samples, grad_of="group_norm",
           errors=[ErrorInput((arr(2, 6, 4), arr(2, 6, 4), 4, arr(2, 4), arr(2, 4))),
                   ErrorInput((arr(2, 6, 4), arr(2, 6, 4), 3, arr(2, 2), arr(2, 3)))]))

# ---- instance norm -------------------------------------------------------------------------------


def _in_samples(n):
    return [S(arr(n, 3, 5), None, None, arr(3, seed=1), arr(3, seed=2)), S(arr(n, 2, 3, 4)),
            S(arr(n, 3, 4), arr(3, seed=4), arr(3, lo=0.5, seed=5), None, arr(3, seed=2), use_input_stats=False)]


def _in_grad(g, x, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True, momentum=0.1,
             eps=1e-5):
    _, m, r = ops.instance_norm(x, running_mean, running_var, weight, bias, use_input_stats, momentum, eps,
                                return_stats=True)
    return ops.instance_norm_backward(g, x, weight, m, r, use_input_stats)


add(OpInfo("instance_norm", _in_samples, ref=ref_norm.instance_norm, grad=_in_grad, wrt=(0, 3, 4),
           errors=[ErrorInput((arr(2, 3, 1),)), ErrorInput((arr(2, 3, 4), arr(4), arr(4))),
                   ErrorInput((arr(2, 3, 4),), {"use_input_stats": False}),
                   ErrorInput((arr(2, 3, 4), arr(3), arr(3), arr(2)), {"use_input_stats": False}),
                   ErrorInput((arr(2, 3, 4, dtype=I64),), exc=TypeError)]))


def _in_backward_samples(n):
    out = []
    for s in _in_samples(n):
        x = s.args[0]
        w = s.args[3] if len(s.args) > 3 else None
        _, m, r = ops.instance_norm(*s.args, **s.kwargs, return_stats=True)
        out.append(S(arr(*x.shape, seed=9), x, w, m, r, s.kwargs.get("use_input_stats", True)))
    return out


add(OpInfo("instance_norm_backward", _in_backward_samples, grad_of="instance_norm",
           errors=[ErrorInput((arr(2, 3, 4), arr(2, 3, 4), None, arr(2, 2), arr(2, 2))),
                   ErrorInput((arr(2, 3, 4), arr(2, 3, 4), None, arr(2), arr(3)), {"use_input_stats": False})]))

"""Regression tests for issue 22 (items 1-6 and the C++ half of item 8): memory safety and silent
wrong results found by a bad-input fuzzer.  Each test fails on the code before the fix."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dlcore
from dlcore import ops
from dlcore.ops._util import _core

from .conftest import assert_close, isa_scope, threads_scope

F32 = np.float32


def raises_named(exc, op, fn, *args, **kwargs):
    """Assert fn(*args) raises exc (not SystemError) with a message that starts with `op:`."""
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert str(info.value).startswith(op + ":"), str(info.value)
    return info.value


# ---- item 1: shapes, dims and axes given as arrays / Tensors ------------------------------------

def test_shape_from_ndarray_is_read_safely():
    # 3000 rounds freed and reused the items of the array shape before the fix (segfault).
    x = np.zeros((1, 4), F32)
    for _ in range(3000):
        assert ops.expand(x, np.array([3, 4])).shape == (3, 4)
    assert ops.reshape(np.zeros(12, F32), np.array([3, 4])).shape == (3, 4)
    assert ops.view(np.zeros(12, F32), np.array([4, 3])).shape == (4, 3)
    assert ops.broadcast_to(np.zeros(4, F32), np.array([2, 4])).shape == (2, 4)
    assert ops.squeeze(np.zeros((1, 3, 1), F32), np.array([0, 2])).shape == (3,)
    assert ops.permute(np.zeros((2, 3), F32), np.array([1, 0])).shape == (3, 2)
    assert _core.zeros(np.array([2, 5]), "float32", "cpu").shape == (2, 5)  # parse_shape


def test_axis_from_ndarray_and_tensor():
    a = np.arange(12, dtype=F32).reshape(3, 4)
    assert_close(ops.sum(a, np.array([0, 1])), a.sum())
    assert_close(ops.mean(a, np.array(1)), a.mean(1))
    assert_close(ops.var(a, np.array([1])), a.var(1, ddof=1))
    assert_close(ops.argmax(a, np.int64(1)), a.argmax(1))
    assert_close(dlcore.tensor(a).sum(dim=np.array([0])).numpy(), a.sum(0))
    # A 0-d float Tensor as the axis was a SystemError ("returned a result with an exception set").
    raises_named(TypeError, "argmax", dlcore.ones(3, 4).argmax, dlcore.tensor(0.0))
    raises_named(TypeError, "sum", ops.sum, a, np.array(1.0))
    raises_named(TypeError, "sum", ops.sum, a, True)
    raises_named(TypeError, "reshape", ops.reshape, a, [3.0, 4])
    raises_named(ValueError, "expand", ops.expand, a, [3, 2**70])


def test_shape_parsing_under_debug_allocator():
    # PYTHONMALLOC=debug fills freed memory with a pattern: the first call crashed before the fix.
    code = textwrap.dedent("""
        import numpy as np, dlcore
        from dlcore import ops
        x = np.zeros(12, np.float32)
        assert ops.reshape(x, np.array([3, 4])).shape == (3, 4)
        assert ops.expand(np.zeros((1, 4), np.float32), np.array([3, 4])).shape == (3, 4)
        assert float(ops.sum(x.reshape(3, 4), np.array([0, 1]))) == 0.0
        assert ops.cat(list(np.zeros((2, 3), np.float32)), 0).shape == (6,)
        print("ok")
    """)
    env = dict(os.environ, PYTHONMALLOC="debug")
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]

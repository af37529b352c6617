"""The kernel log ("which kernel ran") and algorithm forcing: the facility itself, driven through
its Python entry points (ops with several algorithms test their own choices)."""
import threading

import pytest

import dlcore
from dlcore import _core


def test_log_records_calls_made_inside_the_block_only():
    _core.log_kernel("before", "cpu", "x")
    with dlcore.kernel_log() as log:
        _core.log_kernel("conv2d", "cpu", "winograd")
        _core.log_kernel("sdpa", "cuda", "flash")
    _core.log_kernel("after", "cpu", "x")
    recs = log.records
    assert [(r.op, r.device, r.algorithm) for r in recs] == [("conv2d", "cpu", "winograd"), ("sdpa", "cuda", "flash")]
    assert recs[0].isa == _core.active_isa()
    assert recs[1].isa == ""
    assert log.algorithms("conv2d") == ["winograd"]


def test_isa_recorded_is_the_active_one():
    isas = dlcore.available_isas()
    low = isas[0]
    with dlcore.kernel_log() as log:
        prev = _core.active_isa()
        dlcore.set_isa(low)
        try:
            _core.log_kernel("op", "cpu", "a")
        finally:
            dlcore.set_isa(prev)
    assert log.records[0].isa == low


def test_nested_logs_both_see_inner_calls_and_peeking_loses_nothing():
    with dlcore.kernel_log() as outer:
        _core.log_kernel("a", "cpu", "1")
        with dlcore.kernel_log() as inner:
            _core.log_kernel("b", "cpu", "2")
            assert [r.op for r in inner.records] == ["b"]  # peek while open
            _core.log_kernel("c", "cpu", "3")
    assert [r.op for r in inner.records] == ["b", "c"]
    assert [r.op for r in outer.records] == ["a", "b", "c"]


def test_force_algorithm_nests_and_restores():
    assert _core.forced_algorithm("conv2d") is None
    with dlcore.force_algorithm("conv2d", "winograd"):
        assert _core.forced_algorithm("conv2d") == "winograd"
        assert _core.forced_algorithm("attention") is None
        with dlcore.force_algorithm("conv2d", "direct"):
            assert _core.forced_algorithm("conv2d") == "direct"
        assert _core.forced_algorithm("conv2d") == "winograd"
    assert _core.forced_algorithm("conv2d") is None


def test_force_algorithm_is_restored_after_an_exception():
    with pytest.raises(RuntimeError):
        with dlcore.force_algorithm("conv2d", "winograd"):
            raise RuntimeError("boom")
    assert _core.forced_algorithm("conv2d") is None


def test_force_algorithm_is_per_thread():
    seen = []
    with dlcore.force_algorithm("conv2d", "winograd"):
        t = threading.Thread(target=lambda: seen.append(_core.forced_algorithm("conv2d")))
        t.start()
        t.join()
    assert seen == [None]


def test_force_algorithm_rejects_non_strings():
    with pytest.raises(TypeError, match="^force_algorithm"):
        with dlcore.force_algorithm("conv2d", 3):
            pass

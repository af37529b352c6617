"""The host block cache (dlcore.memory): freed blocks of 1 MiB and more are reused, bounded by
a limit, released on request, and a reused block never leaks its old contents into a result."""
import gc

import numpy as np
import pytest

import dlcore
from dlcore import memory, ops

MIB = 1 << 20


@pytest.fixture
def cache():
    """A clean cache with the default limit, restored afterwards."""
    limit = memory.cache_stats()["limit_bytes"]
    gc.collect()
    memory.empty_cache()
    yield memory
    memory.set_cache_limit(limit)
    memory.empty_cache()


def test_stats_report_the_cache(cache):
    s = cache.cache_stats()
    assert set(s) == {"cached_bytes", "cached_blocks", "limit_bytes", "hits", "misses"}
    assert s["cached_bytes"] == 0 and s["cached_blocks"] == 0
    assert 0 < s["limit_bytes"] <= 1 << 30


def test_a_freed_large_block_is_reused(cache):
    t = dlcore.empty((2 * MIB // 4,))  # 2 MiB of float32
    del t
    s = cache.cache_stats()
    assert s["cached_blocks"] == 1 and s["cached_bytes"] >= 2 * MIB
    hits = s["hits"]
    u = dlcore.empty((2 * MIB // 4 - 5,))  # same size class
    s = cache.cache_stats()
    assert s["hits"] == hits + 1 and s["cached_blocks"] == 0
    del u
    assert cache.cache_stats()["cached_blocks"] == 1


def test_small_blocks_and_other_classes_are_not_taken(cache):
    small = dlcore.empty((1000,))
    del small
    assert cache.cache_stats()["cached_blocks"] == 0  # under 1 MiB: straight to malloc
    t = dlcore.empty((MIB // 4,))
    del t
    misses = cache.cache_stats()["misses"]
    u = dlcore.empty((4 * MIB // 4,))  # another class: a fresh block
    assert cache.cache_stats()["misses"] == misses + 1 and cache.cache_stats()["cached_blocks"] == 1
    del u


def test_numpy_results_return_their_block(cache):
    a = np.ones((512, 512), np.float32)
    c = ops.matmul(a, a)  # a 1 MiB result owned by a NumPy view of dlcore's storage
    assert cache.cache_stats()["cached_blocks"] == 0
    del c
    gc.collect()
    assert cache.cache_stats()["cached_blocks"] == 1


def test_limit_bounds_the_cache_and_zero_disables_it(cache):
    cache.set_cache_limit(3 * MIB)
    a, b = dlcore.empty((2 * MIB // 4,)), dlcore.empty((2 * MIB // 4,))
    del a, b
    s = cache.cache_stats()
    assert s["cached_bytes"] <= 3 * MIB and s["cached_blocks"] == 1
    cache.set_cache_limit(0)
    assert cache.cache_stats()["cached_bytes"] == 0
    t = dlcore.empty((2 * MIB // 4,))
    del t
    assert cache.cache_stats()["cached_blocks"] == 0


def test_empty_cache_releases_everything(cache):
    ts = [dlcore.empty((k * MIB // 4,)) for k in (1, 2, 3)]
    del ts
    assert cache.cache_stats()["cached_blocks"] == 3
    cache.empty_cache()
    s = cache.cache_stats()
    assert s["cached_blocks"] == 0 and s["cached_bytes"] == 0


def test_reused_blocks_do_not_leak_old_values(cache):
    n = 1024
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    for _ in range(3):  # poison the blocks every result below will reuse
        poison = [dlcore.full((n, n), float("nan")) for _ in range(4)]
        del poison
        assert cache.cache_stats()["cached_blocks"] >= 1
        z = dlcore.zeros((n, n)).numpy()
        assert not z.any()
        np.testing.assert_allclose(ops.matmul(a, b), a @ b, rtol=1e-4, atol=1e-3)
        np.testing.assert_array_equal(ops.add(a, b), a + b)
        np.testing.assert_allclose(ops.sum(a, axis=0), a.sum(axis=0), rtol=1e-5, atol=1e-3)
        t = dlcore.from_numpy(a).requires_grad_()
        (t * 2.0).sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), np.full_like(a, 2.0))


def test_bad_limits_raise(cache):
    with pytest.raises(ValueError, match="set_cache_limit"):
        cache.set_cache_limit(-1)
    with pytest.raises(TypeError, match="set_cache_limit"):
        cache.set_cache_limit(1.5)

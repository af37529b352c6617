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
    assert set(s) == {"cached_bytes", "cached_blocks", "limit_bytes", "hits", "misses", "small_cached_blocks",
                      "small_cached_bytes", "small_hits"}
    assert s["cached_bytes"] == 0 and s["cached_blocks"] == 0
    assert s["small_cached_blocks"] == 0 and s["small_cached_bytes"] == 0  # empty_cache released them
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
    assert cache.cache_stats()["cached_blocks"] == 0  # under 1 MiB: not in the large-block cache
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


def small_data_ptr(t):
    return t.numpy().ctypes.data


def test_a_freed_small_block_is_reused_by_the_next_allocation_of_its_size(cache):
    t = dlcore.empty((1000,))
    ptr = small_data_ptr(t)
    del t
    s = cache.cache_stats()
    assert s["small_cached_blocks"] == 1 and s["small_cached_bytes"] >= 4000
    other = dlcore.empty((3000,))  # another size: not that block
    assert small_data_ptr(other) != ptr and cache.cache_stats()["small_hits"] == s["small_hits"]
    u = dlcore.empty((1000,))
    assert small_data_ptr(u) == ptr and cache.cache_stats()["small_hits"] == s["small_hits"] + 1
    assert cache.cache_stats()["small_cached_blocks"] == 0
    del u, other
    cache.empty_cache()
    assert cache.cache_stats()["small_cached_blocks"] == 0


def test_the_small_block_cache_is_bounded(cache):
    ts = [dlcore.empty((64 * 1024 // 4 + i,)) for i in range(20)]  # 20 blocks of ~64 KiB
    ptrs = {small_data_ptr(t) for t in ts}
    assert len(ptrs) == 20  # live tensors never share a block
    del ts
    s = cache.cache_stats()
    assert 1 <= s["small_cached_blocks"] <= 8 and s["small_cached_bytes"] <= MIB
    big = [dlcore.empty((300 * 1024 // 4,)) for _ in range(8)]  # 300 KiB each: at most 3 fit 1 MiB
    del big
    assert cache.cache_stats()["small_cached_bytes"] <= MIB


def test_small_blocks_cross_threads_and_outlive_their_thread(cache):
    import threading
    made = []

    def work():
        for _ in range(50):  # allocate and free on this thread, keep some alive past its exit
            x = ops.add(np.ones(1000, np.float32), np.ones(1000, np.float32))
            assert (x == 2).all()
        made.extend(dlcore.full((500 + i,), float(i)) for i in range(12))

    th = threading.Thread(target=work)
    th.start()
    th.join()
    for i, t in enumerate(made):  # freed here, after the thread (and its cache) is gone
        assert (t.numpy() == i).all()
    del made
    assert 1 <= cache.cache_stats()["small_cached_blocks"] <= 8  # they joined this thread's cache


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
    small_a, small_b = a[:30, :30].copy(), b[:30, :30].copy()
    for _ in range(3):  # small blocks come back from the per-thread cache
        poison = [dlcore.full((30, 30), float("nan")) for _ in range(8)]
        del poison
        assert cache.cache_stats()["small_cached_blocks"] >= 1
        assert not dlcore.zeros((30, 30)).numpy().any()
        np.testing.assert_allclose(ops.matmul(small_a, small_b), small_a @ small_b, rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(ops.add(small_a, small_b), small_a + small_b)
        np.testing.assert_allclose(ops.sum(small_a, axis=1), small_a.sum(axis=1), rtol=1e-5, atol=1e-4)


def test_bad_limits_raise(cache):
    with pytest.raises(ValueError, match="set_cache_limit"):
        cache.set_cache_limit(-1)
    with pytest.raises(TypeError, match="set_cache_limit"):
        cache.set_cache_limit(1.5)

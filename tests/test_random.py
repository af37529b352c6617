import numpy as np
import pytest

import dlcore
from dlcore import _random as R
from dlcore import ops
from tests.conftest import assert_close, run_threads_bitwise
from tests.reference import random as ref

SEED = 1234567
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def drawn(fn, seed=SEED):
    """A function that seeds, draws and returns a copy of the draw."""
    def go():
        R.manual_seed(seed)
        return np.array(fn(), copy=True)
    return go


# ---- Philox known answers (Random123 kat_vectors) ------------------------------------------------
KAT = [
    ([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
]


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_philox_known_answers(counter, key, expected):
    assert list(ops.philox4x32_10(counter, key)) == expected
    assert ref.philox4x32_10(counter, key).tolist() == expected


def test_stream_starts_with_known_answer(isa):
    # Block 0 of seed 0 is Philox(counter 0, key 0): the kernel's vector loop meets the KAT.
    assert ops.random_bits(4, 0, 0).tolist() == KAT[0][2]


@pytest.mark.parametrize("seed,offset", [(0, 0), (SEED, 5), (2**64 - 1, 2**32 - 3), (0xDEADBEEF12345678, 2**40)])
def test_random_bits_match_reference(isa, seed, offset):
    # offset near 2**32 crosses the 32-bit carry of the block counter.
    got = run_threads_bitwise(lambda: ops.random_bits(1003, seed, offset))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, ref.words(seed, offset, 1003).astype(np.int64))


def test_random_bits_offset_is_a_block_shift():
    a = ops.random_bits(40, 7, 0)
    np.testing.assert_array_equal(ops.random_bits(20, 7, 5), a[20:])


# ---- bitwise equality with the reference transforms ------------------------------------------
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("n", [0, 1, 3, 31, 33, 65, 301])
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-2.5, 7.0), (1.0, 2.0)])
def test_uniform_matches_reference(isa, dtype, n, low, high):
    R.manual_seed(SEED)
    got = ops.uniform((n,), low, high, dtype=dtype)
    assert got.dtype == dtype and got.shape == (n,)
    assert got.tobytes() == ref.uniform(SEED, 0, n, low, high, dtype).tobytes()


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("n", [0, 1, 3, 33, 301])
def test_normal_matches_reference(isa, dtype, n):
    R.manual_seed(SEED)
    got = ops.normal((n,), 0.5, 2.0, dtype=dtype)
    assert got.dtype == dtype and got.shape == (n,)
    # libm log/cos/sin vs NumPy's: equal to a few ulps, not bitwise.
    assert_close(got, ref.normal(SEED, 0, n, 0.5, 2.0, dtype), scale=10)


@pytest.mark.parametrize("n", [1, 31, 301])
def test_bernoulli_matches_reference(isa, n):
    R.manual_seed(SEED)
    got = ops.bernoulli(0.3, shape=(n,))
    np.testing.assert_array_equal(got, ref.bernoulli(SEED, 0, 0.3, n))
    p = np.random.default_rng(0).random((n,))
    for dt in (F32, F64):
        R.manual_seed(SEED)
        got = ops.bernoulli(p.astype(dt))
        assert got.dtype == dt
        np.testing.assert_array_equal(got, ref.bernoulli(SEED, 0, p.astype(dt), dtype=dt))


def test_bernoulli_non_contiguous_p():
    p = np.random.default_rng(1).random((7, 10))[:, ::3].T  # transposed, stepped
    R.manual_seed(SEED)
    got = ops.bernoulli(p)
    assert got.shape == p.shape
    np.testing.assert_array_equal(got.reshape(-1), ref.bernoulli(SEED, 0, np.ascontiguousarray(p), dtype=F64))


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 1.0])
def test_dropout_mask_matches_reference(isa, p):
    R.manual_seed(SEED)
    got = ops.dropout_mask((7, 43), p)
    scale = np.float32(1.0 / (1.0 - p)) if p < 1 else 0.0
    expected = ref.bernoulli(SEED, 0, 1.0 - p, 7 * 43, value=scale).reshape(7, 43)
    assert got.dtype == F32
    np.testing.assert_array_equal(got, expected)
    assert set(np.unique(got)) <= {0.0, np.float32(scale)}


@pytest.mark.parametrize("low,high", [(0, 10), (-5, 6), (0, 3 * 2**30), (-(2**63), 2**62), (0, 2**32), (0, 2**33 + 1)])
def test_randint_matches_reference(isa, low, high):
    # 3*2**30 and 3*2**62 reject a quarter of the first candidates: the side stream is exercised.
    R.manual_seed(SEED)
    got = ops.randint(low, high, (5, 41))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.reshape(-1), ref.randint(SEED, 0, 205, low, high))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 33, 257])
def test_randperm_matches_reference(isa, n):
    R.manual_seed(SEED)
    got = ops.randperm(n)
    np.testing.assert_array_equal(got, ref.randperm(SEED, 0, n))
    assert sorted(got.tolist()) == list(range(n))


# ---- threads, ISAs, state ------------------------------------------------------------------------
BIG = 1_000_003
OPS = {
    "uniform32": lambda: ops.uniform(BIG, -1.0, 3.0),
    "uniform64": lambda: ops.uniform(BIG, dtype="float64"),
    "normal32": lambda: ops.normal(BIG),
    "normal64": lambda: ops.normal(BIG // 4, dtype="float64"),
    "bernoulli": lambda: ops.bernoulli(0.3, BIG),
    "bernoulli_p": lambda: ops.bernoulli(np.linspace(0, 1, BIG)),
    "dropout": lambda: ops.dropout_mask(BIG, 0.1),
    "randint": lambda: ops.randint(-3, 1000, BIG),
    "randint64": lambda: ops.randint(-(2**63), 2**62, BIG // 4),
    "randperm": lambda: ops.randperm(BIG // 4),
    "bits": lambda: ops.random_bits(BIG, 99, 3),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_one_vs_two_threads_bitwise(name):
    run_threads_bitwise(drawn(OPS[name]))


@pytest.mark.parametrize("name", ["uniform32", "uniform64", "normal32", "normal64", "bernoulli_p", "dropout", "randint"])
def test_every_isa_bitwise_equal(name):
    best = dlcore.available_isas()[-1]
    results = []
    try:
        for isa_name in dlcore.available_isas():
            dlcore.set_isa(isa_name)
            results.append(drawn(OPS[name])().tobytes())
    finally:
        dlcore.set_isa(best)
    assert all(r == results[0] for r in results)


def test_large_draw_matches_reference_tail():
    # The last elements of a multi-chunk draw sit at the right counters.
    n = 1_000_003
    R.manual_seed(SEED)
    got = ops.uniform(n)
    R.manual_seed(SEED)
    tail_start = (n - 17) // 4 * 4
    expected = ref.uniform(SEED, tail_start // 4, n - tail_start, 0.0, 1.0, F32)
    assert got[tail_start:].tobytes() == expected.tobytes()


def test_manual_seed_reproducible_and_calls_differ():
    R.manual_seed(7)
    a, b = ops.uniform(100), ops.normal(100)
    R.manual_seed(7)
    a2, b2 = ops.uniform(100), ops.normal(100)
    assert a.tobytes() == a2.tobytes() and b.tobytes() == b2.tobytes()
    assert not np.array_equal(a, ops.uniform(100))
    R.manual_seed(8)
    assert not np.array_equal(a, ops.uniform(100))


def test_offset_advances_by_blocks_used():
    R.manual_seed(3)
    assert R.get_rng_state() == (3, 0)
    ops.uniform(5)                     # 5 words -> 2 blocks
    assert R.get_rng_state() == (3, 2)
    ops.uniform(5, dtype="float64")    # 10 words -> 3 blocks
    ops.normal(0)
    assert R.get_rng_state() == (3, 5)
    ops.randperm(4)                    # 3 steps * 2 words -> 2 blocks
    assert R.get_rng_state() == (3, 7)
    # The second call continues the stream where the first stopped.
    R.manual_seed(3)
    ops.uniform(5)
    expected = ref.uniform(3, 2, 5, 0.0, 1.0, F64)
    assert ops.uniform(5, dtype="float64").tobytes() == expected.tobytes()


def test_get_set_rng_state_and_seed():
    R.manual_seed(11)
    ops.uniform(10)
    state = R.get_rng_state()
    a = R.rand(4, 5).numpy().copy()
    R.set_rng_state(state)
    assert np.array_equal(R.rand(4, 5).numpy(), a)
    assert R.initial_seed() == 11
    s = R.seed()
    assert R.initial_seed() == s and R.get_rng_state() == (s, 0)
    R.manual_seed(-1)
    assert R.initial_seed() == 2**64 - 1
    with pytest.raises(ValueError, match="^set_rng_state: "):
        R.set_rng_state((1, 2, 3))
    with pytest.raises(TypeError, match="^manual_seed: "):
        R.manual_seed(1.5)


# ---- statistics (generous bounds: 5 sigma) ------------------------------------------------------
def test_uniform_statistics():
    R.manual_seed(SEED)
    n = 1_000_000
    for dt in (F32, F64):
        x = ops.uniform(n, dtype=dt).astype(np.float64)
        assert abs(x.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
        assert abs(x.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
        assert x.min() >= 0.0 and x.max() < 1.0
        counts = np.histogram(x, bins=50, range=(0, 1))[0]
        chi2 = ((counts - n / 50) ** 2 / (n / 50)).sum()
        assert chi2 < 49 + 5 * np.sqrt(2 * 49)


def test_normal_statistics():
    R.manual_seed(SEED)
    n = 1_000_000
    for dt in (F32, F64):
        x = ops.normal(n, 1.0, 3.0, dtype=dt).astype(np.float64)
        z = (x - 1.0) / 3.0
        assert abs(z.mean()) < 5 / np.sqrt(n)
        assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
        assert abs((z**3).mean()) < 5 * np.sqrt(15 / n)          # symmetry
        assert abs((z**4).mean() - 3) < 5 * np.sqrt(96 / n)      # tails
        assert np.isfinite(x).all()
        # The two Box-Muller branches are independent of each other.
        assert abs(np.corrcoef(z[0::2], z[1::2])[0, 1]) < 5 / np.sqrt(n / 2)


def test_bernoulli_and_dropout_frequency():
    R.manual_seed(SEED)
    n = 1_000_000
    for p in (0.01, 0.3, 0.5):
        f = ops.bernoulli(p, n).mean()
        assert abs(f - p) < 5 * np.sqrt(p * (1 - p) / n)
    m = ops.dropout_mask(n, 0.2)
    assert abs((m == 0).mean() - 0.2) < 5 * np.sqrt(0.16 / n)
    assert abs(m.mean() - 1.0) < 5 * np.sqrt(0.25 / n) * 1.25
    assert ops.bernoulli(0.0, 1000).sum() == 0 and ops.bernoulli(1.0, 1000).sum() == 1000


def test_randint_chi_square_and_range():
    R.manual_seed(SEED)
    k, n = 37, 370_000
    x = ops.randint(-10, -10 + k, n)
    assert x.min() >= -10 and x.max() < -10 + k
    counts = np.bincount(x + 10, minlength=k)
    chi2 = ((counts - n / k) ** 2 / (n / k)).sum()
    assert chi2 < (k - 1) + 5 * np.sqrt(2 * (k - 1))
    # A range with heavy rejection stays uniform (buckets of the top bits).
    big = 3 * 2**30
    y = ops.randint(0, big, 300_000)
    assert y.min() >= 0 and y.max() < big
    counts = np.bincount(y // (big // 3), minlength=3)
    assert (np.abs(counts - 100_000) < 5 * np.sqrt(300_000 * (1 / 3) * (2 / 3))).all()
    assert (ops.randint(5, 6, 50) == 5).all()
    wide = ops.randint(-(2**63), 2**63 - 1, 10000)
    assert wide.min() < -(2**61) and wide.max() > 2**61


def test_randperm_is_uniform_permutation():
    R.manual_seed(SEED)
    p = ops.randperm(100_000)
    assert np.array_equal(np.sort(p), np.arange(100_000))
    # Position of element 0 over many small permutations is uniform.
    pos = np.array([int(np.argmax(ops.randperm(5) == 0)) for _ in range(5000)])
    counts = np.bincount(pos, minlength=5)
    assert ((counts - 1000) ** 2 / 1000).sum() < 4 + 5 * np.sqrt(8)


# ---- ranges and shapes ---------------------------------------------------------------------------
def test_uniform_never_returns_high():
    R.manual_seed(SEED)
    # [1, 2) in float32: lo + rg*u rounds up to 2.0 for the largest u; it must be clamped.
    x = ops.uniform(4_000_000, 1.0, 2.0)
    assert x.max() < 2.0 and x.min() >= 1.0
    tiny = ops.uniform(2_000_000, 0.0, np.float32(1e-30))
    assert tiny.max() < np.float32(1e-30)
    x64 = ops.uniform(1_000_000, 1.0, 1.0 + 2**-50, dtype="float64")
    assert x64.max() < 1.0 + 2**-50 and x64.min() >= 1.0


def test_uniform_clamps_the_rounding_case():
    # Seed 5, block 2009190, word 1 has its top 24 bits all ones (found by search): on [1, 2) in
    # float32, 1 + (1 - 2**-24) rounds to 2.0, which must come back as the float below 2.
    block, word = 2009190, 1
    assert int(ref.blocks(5, block, 1)[0, word]) >> 8 == (1 << 24) - 1
    R.set_rng_state((5, block))
    x = ops.uniform(word + 2, 1.0, 2.0)
    assert x[word] == np.nextafter(np.float32(2.0), np.float32(0.0))
    R.set_rng_state((5, block))
    assert ops.uniform(word + 1, 0.0, 1.0)[word] == np.float32(1 - 2**-24)


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (2, 3, 5)])
def test_shapes(shape):
    for fn in (lambda s: ops.uniform(s), lambda s: ops.normal(s), lambda s: ops.bernoulli(0.5, s),
               lambda s: ops.dropout_mask(s, 0.5), lambda s: ops.randint(0, 3, s)):
        out = fn(shape)
        assert out.shape == shape
    assert R.rand(*shape).shape == shape and R.randn(shape).shape == shape


def test_tensor_factories():
    R.manual_seed(1)
    t = R.rand(3, 4)
    assert isinstance(t, dlcore.Tensor) and t.shape == (3, 4) and t.dtype == F32
    R.manual_seed(1)
    assert np.array_equal(ops.uniform((3, 4)), t.numpy())
    assert R.randn(2, dtype=dlcore.float64).dtype == F64
    r = R.randint(10, (5,))
    assert r.dtype == np.int64 and r.shape == (5,) and (r.numpy() < 10).all()
    r = R.randint(-3, 3, size=(2, 2), dtype=dlcore.float32)
    assert r.dtype == F32 and r.shape == (2, 2)
    p = R.randperm(6)
    assert sorted(p.tolist()) == list(range(6))
    b = R.bernoulli(dlcore.from_numpy(np.full((4,), 0.5)))
    assert isinstance(b, dlcore.Tensor) and b.dtype == F64
    assert isinstance(ops.bernoulli(dlcore.from_numpy(np.full((4,), 0.5, np.float32))), dlcore.Tensor)
    assert R.rand_like(t).shape == (3, 4) and R.randn_like(t).dtype == F32


def test_torch_has_the_same_statistics(torch):
    # Not the same streams (torch uses MT19937); the same distribution.
    R.manual_seed(0)
    ours = ops.normal(200_000).astype(np.float64)
    theirs = torch.randn(200_000, dtype=torch.float64).numpy()
    assert abs(ours.std() - theirs.std()) < 0.02 and abs(ours.mean() - theirs.mean()) < 0.02


# ---- bad inputs ----------------------------------------------------------------------------------
def test_bad_inputs():
    with pytest.raises(ValueError, match="^bernoulli: "):
        ops.bernoulli(1.5, 3)
    with pytest.raises(ValueError, match="^bernoulli: "):
        ops.bernoulli(-0.1, 3)
    with pytest.raises(ValueError, match="^bernoulli: "):
        ops.bernoulli(np.array([0.5, 1.01]))
    with pytest.raises(ValueError, match="^bernoulli: "):
        ops.bernoulli(np.array([0.5, np.nan], np.float32))
    with pytest.raises(ValueError, match="^bernoulli: "):
        ops.bernoulli(np.array([0.5, 0.5]), shape=(3,))
    with pytest.raises(TypeError, match="^bernoulli: "):
        ops.bernoulli(np.array([0, 1], np.int64))
    with pytest.raises(ValueError, match="^dropout_mask: "):
        ops.dropout_mask(3, 1.5)
    for fn, name in ((ops.uniform, "uniform"), (ops.normal, "normal"), (ops.randint, "randint")):
        args = (0, 5) if name == "randint" else ()
        with pytest.raises(ValueError, match=f"^{name}: "):
            fn(*args, (2, -1)) if name == "randint" else fn((2, -1))
    with pytest.raises(ValueError, match="^randperm: "):
        ops.randperm(-1)
    with pytest.raises(ValueError, match="^uniform: "):
        ops.uniform(3, 1.0, 1.0)
    with pytest.raises(ValueError, match="^uniform: "):
        ops.uniform(3, 0.0, np.inf)
    with pytest.raises(ValueError, match="^uniform: "):
        ops.uniform(3, -3e38, 3e38)  # high - low overflows float32
    with pytest.raises(ValueError, match="^randint: "):
        ops.randint(5, 5, 3)
    with pytest.raises(ValueError, match="^normal: "):
        ops.normal(3, 0.0, -1.0)
    for fn, name in ((ops.uniform, "uniform"), (ops.normal, "normal"), (ops.dropout_mask, "dropout_mask")):
        with pytest.raises(TypeError, match=f"^{name}: "):
            fn(3, dtype="int64") if name != "dropout_mask" else fn(3, 0.5, dtype="int64")
    with pytest.raises(TypeError, match="^rand: "):
        R.rand(3, dtype=dlcore.int64)
    with pytest.raises(TypeError, match="^randint: "):
        ops.randint(0.5, 3, 2)
    with pytest.raises(TypeError, match="^randperm: "):
        ops.randperm(2.0)
    # A failed call does not consume randomness.
    R.manual_seed(0)
    with pytest.raises(ValueError):
        ops.uniform(3, 2.0, 1.0)
    assert R.get_rng_state() == (0, 0)

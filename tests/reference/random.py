"""Reference for the random family: Philox4x32-10 in plain NumPy and the transforms of each op.

Written from the published algorithm (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as
easy as 1, 2, 3", SC 2011): ten rounds of
    (c0, c1, c2, c3) <- (hi(M1*c2) ^ c1 ^ k0, lo(M1*c2), hi(M0*c0) ^ c3 ^ k1, lo(M0*c0))
with the key bumped by the Weyl constants (W0, W1) between rounds.  The stream layout (which
words feed which element) is documented in csrc/ops/random.h.
"""
import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK32 = 0xFFFFFFFF
SIDE_TAG = 0x52414E44


def philox4x32_10(counter, key):
    """Philox4x32-10 on arrays: counter (..., 4) and key (..., 2) of ints -> (..., 4) uint64 words."""
    c = np.asarray(counter, dtype=np.uint64) & np.uint64(MASK32)
    k = np.asarray(key, dtype=np.uint64) & np.uint64(MASK32)
    c0, c1, c2, c3 = (c[..., i].copy() for i in range(4))
    k0, k1 = k[..., 0].copy(), k[..., 1].copy()
    m32 = np.uint64(MASK32)
    for r in range(10):
        if r:
            k0 = (k0 + np.uint64(W0)) & m32
            k1 = (k1 + np.uint64(W1)) & m32
        p0 = np.uint64(M0) * c0  # < 2**64: exact in uint64
        p1 = np.uint64(M1) * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & m32,
                          (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & m32)
    return np.stack([c0, c1, c2, c3], axis=-1)


def blocks(seed, first, count):
    """Blocks first .. first+count-1 of stream `seed`, shape (count, 4), uint64 words."""
    b = np.arange(count, dtype=np.uint64) + np.uint64(first)
    zero = np.zeros(count, dtype=np.uint64)
    counter = np.stack([b & np.uint64(MASK32), b >> np.uint64(32), zero, zero], axis=-1)
    key = np.broadcast_to(np.array([seed & MASK32, (seed >> 32) & MASK32], dtype=np.uint64), (count, 2))
    return philox4x32_10(counter, key)


def words(seed, start, n):
    """The first n 32-bit words from block `start` (uint64 array)."""
    nb = (n + 3) // 4
    return blocks(seed, start, nb).reshape(-1)[:n]


def side_words(seed, block, attempt):
    """The rejection side stream's block (block, attempt): 4 ints."""
    key = [seed & MASK32, (seed >> 32) & MASK32]
    out = philox4x32_10([block & MASK32, (block >> 32) & MASK32, attempt, SIDE_TAG], key)
    return [int(x) for x in out]


# ---- transforms ----------------------------------------------------------------------------
def unit_f32(w):
    return (np.asarray(w, np.uint64) >> np.uint64(8)).astype(np.float32) * np.float32(2.0**-24)


def unit_f64(lo, hi):
    a = (np.asarray(hi, np.uint64) >> np.uint64(5)).astype(np.float64)
    b = (np.asarray(lo, np.uint64) >> np.uint64(6)).astype(np.float64)
    return (a * 67108864.0 + b) * 2.0**-53


def uniform(seed, start, n, low, high, dtype):
    if dtype == np.float32:
        lo, hi = np.float32(low), np.float32(high)
        rg = np.float32(hi - lo)
        x = lo + rg * unit_f32(words(seed, start, n))
        return np.where(x < hi, x, np.nextafter(hi, lo)).astype(np.float32)
    w = words(seed, start, 2 * n)
    lo, hi = float(low), float(high)
    x = lo + (hi - lo) * unit_f64(w[0::2], w[1::2])
    return np.where(x < hi, x, np.nextafter(hi, lo))


def normal(seed, start, n, mean, std, dtype):
    """Box-Muller: pair j gives (r cos t, r sin t); float32 pairs from words (2j, 2j+1),
    float64 pairs from block j (53-bit radius and angle uniforms)."""
    pairs = (n + 1) // 2
    if dtype == np.float32:
        w = words(seed, start, 2 * pairs)
        u1 = ((w[0::2] >> np.uint64(8)) + np.uint64(1)).astype(np.float64) * 2.0**-24
        u2 = unit_f32(w[1::2]).astype(np.float64)
    else:
        w = words(seed, start, 4 * pairs)
        u1 = unit_f64(w[0::4], w[1::4]) + 2.0**-53
        u2 = unit_f64(w[2::4], w[3::4])
    r = np.sqrt(-2.0 * np.log(u1))
    t = 2.0 * np.pi * u2
    z = np.stack([r * np.cos(t), r * np.sin(t)], axis=-1).reshape(-1)[:n]
    return (mean + std * z).astype(dtype)


def bernoulli(seed, start, p, n=None, dtype=np.float32, value=1.0):
    """1 (or `value`) where word/2**32 < p."""
    p = np.asarray(p, dtype=np.float64)
    n = p.size if n is None else n
    u = words(seed, start, n).astype(np.float64) * 2.0**-32
    return np.where(u < p.reshape(-1) if p.ndim else u < float(p), value, 0.0).astype(dtype)


def _lemire(x, rng, bits):
    m = x * rng
    return m >> bits, m & ((1 << bits) - 1)


def randint(seed, start, n, low, high):
    rng = high - low
    out = np.empty(n, np.int64)
    if rng <= 2**32:
        thr = (2**32 - rng) % rng
        w = [int(x) for x in words(seed, start, n)]
        for e in range(n):
            v, l = _lemire(w[e], rng, 32)
            att = 1
            while l < thr:
                v, l = _lemire(side_words(seed, start + e // 4, att)[e % 4], rng, 32)
                att += 1
            out[e] = low + v
    else:
        thr = (2**64 - rng) % rng
        w = [int(x) for x in words(seed, start, 2 * n)]
        for e in range(n):
            v, l = _lemire(w[2 * e] | (w[2 * e + 1] << 32), rng, 64)
            att = 1
            while l < thr:
                s = side_words(seed, start + e // 2, att)
                v, l = _lemire(s[2 * (e % 2)] | (s[2 * (e % 2) + 1] << 32), rng, 64)
                att += 1
            out[e] = low + v
    return out


def randperm(seed, start, n):
    """Fisher-Yates: step k swaps i = n-1-k with j uniform on [0, i] (64-bit Lemire)."""
    out = list(range(n))
    w = [int(x) for x in words(seed, start, 2 * max(n - 1, 0))]
    for k in range(n - 1):
        rng = n - k
        thr = (2**64 - rng) % rng
        j, l = _lemire(w[2 * k] | (w[2 * k + 1] << 32), rng, 64)
        att = 1
        while l < thr:
            s = side_words(seed, start + k // 2, att)
            j, l = _lemire(s[2 * (k % 2)] | (s[2 * (k % 2) + 1] << 32), rng, 64)
            att += 1
        i = n - 1 - k
        out[i], out[j] = out[j], out[i]
    return np.array(out, np.int64)


def blocks_used(n, words_per_element):
    return (n * words_per_element + 3) // 4

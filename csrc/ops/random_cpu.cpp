// CPU kernels of the random family.  Philox is generated a tile of blocks at a time by a loop that
// `#pragma omp simd` vectorises (32x32->64-bit products map to pmuludq), then a transform turns
// the tile's words into output elements.  Parallel chunks are fixed ranges of counter blocks, so
// the output is the same for every thread count; all float math is plain IEEE +, *, sqrt (no FMA:
// -ffp-contract=off) plus scalar libm log/cos/sin, so every ISA variant gives the same bits.
// C math functions, not std:: overloads: those are inline wrappers the ISA rule forbids.
#include <math.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/random.h"

namespace dl::DL_ISA_NS {
namespace {

constexpr int64_t kTileBlocks = 256;     // blocks per tile: 4 KiB of words, stays in L1
constexpr int64_t kChunkBlocks = 16384;  // blocks per parallel chunk (fixed: thread independent)
constexpr uint32_t kSideTag = 0x52414E44u;  // counter word 3 of the rejection side stream

// The state lives in 64-bit lanes holding 32-bit words: a product of two masked lanes is one
// pmuludq, and nothing needs packing back to 32 bits between rounds.  The upper halves of c1, c3
// and the keys may hold garbage: they only meet other words through XOR and reach a multiply or
// the output through a 32-bit mask, so the garbage never reaches a result bit.
#define DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1)                                        \
  do {                                                                                 \
    const uint64_t p0_ = ((c0) & 0xffffffffu) * uint64_t{0xD2511F53u};                 \
    const uint64_t p1_ = ((c2) & 0xffffffffu) * uint64_t{0xCD9E8D57u};                 \
    (c0) = (p1_ >> 32) ^ (c1) ^ (k0);                                                  \
    (c1) = p1_;                                                                        \
    (c2) = (p0_ >> 32) ^ (c3) ^ (k1);                                                  \
    (c3) = p0_;                                                                        \
  } while (0)

#define DL_PHILOX_BUMP(k0, k1)         \
  do {                                 \
    (k0) += uint64_t{0x9E3779B9u};     \
    (k1) += uint64_t{0xBB67AE85u};     \
  } while (0)

#define DL_PHILOX_10(c0, c1, c2, c3, k0, k1)                                        \
  do {                                                                              \
    DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1); DL_PHILOX_BUMP(k0, k1);                \
    DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1); DL_PHILOX_BUMP(k0, k1);                \
    DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1); DL_PHILOX_BUMP(k0, k1);                \
    DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1); DL_PHILOX_BUMP(k0, k1);                \
    DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1); DL_PHILOX_BUMP(k0, k1);                \
    DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1); DL_PHILOX_BUMP(k0, k1);                \
    DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1); DL_PHILOX_BUMP(k0, k1);                \
    DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1); DL_PHILOX_BUMP(k0, k1);                \
    DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1); DL_PHILOX_BUMP(k0, k1);                \
    DL_PHILOX_ROUND(c0, c1, c2, c3, k0, k1);                                        \
  } while (0)

#if defined(__AVX2__)
// 32x32->64-bit products of eight 32-bit lanes: even lanes by one pmuludq, odd lanes by another
// after a shift, then blends put hi and lo halves back into 32-bit lanes (no lane crossing).
inline void mulhilo8(__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
  const __m256i pe = _mm256_mul_epu32(a, m);
  const __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
}
#endif

// w[4j + k] = word k of block (first + j), j < nb.
void philox_tile(uint64_t seed, uint64_t first, int64_t nb, uint32_t* __restrict w) {
  int64_t j0 = 0;
#if defined(__AVX2__)
  // Eight blocks per step in 32-bit lanes (the AVX-512 build uses this path too: it is the tested
  // one, and Philox is bound by multiplies, which 512-bit pmuludq does not make cheaper per lane).
  {
    const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
    const __m256i m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
    const __m256i sign = _mm256_set1_epi32(static_cast<int>(0x80000000u));
    const uint32_t first_lo = static_cast<uint32_t>(first), first_hi = static_cast<uint32_t>(first >> 32);
    const __m256i base_lo = _mm256_set1_epi32(static_cast<int>(first_lo));
    const __m256i base_hi = _mm256_set1_epi32(static_cast<int>(first_hi));
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (; j0 + 8 <= nb; j0 += 8) {
      __m256i c0 = _mm256_add_epi32(base_lo, _mm256_add_epi32(iota, _mm256_set1_epi32(static_cast<int>(j0))));
      // carry into the high word where the low word wrapped: unsigned c0 < first_lo
      const __m256i wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(base_lo, sign), _mm256_xor_si256(c0, sign));
      __m256i c1 = _mm256_sub_epi32(base_hi, wrapped);
      __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
      uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
      for (int r = 0; r < 10; ++r) {
        __m256i hi0, lo0, hi1, lo1;
        mulhilo8(c0, m0, hi0, lo0);
        mulhilo8(c2, m1, hi1, lo1);
        c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
        c1 = lo1;
        c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
      }
      // 4x8 transpose: lanes are blocks, the output wants each block's four words together.
      const __m256i t0 = _mm256_unpacklo_epi32(c0, c1), t1 = _mm256_unpacklo_epi32(c2, c3);
      const __m256i t2 = _mm256_unpackhi_epi32(c0, c1), t3 = _mm256_unpackhi_epi32(c2, c3);
      const __m256i u0 = _mm256_unpacklo_epi64(t0, t1), u1 = _mm256_unpackhi_epi64(t0, t1);
      const __m256i u2 = _mm256_unpacklo_epi64(t2, t3), u3 = _mm256_unpackhi_epi64(t2, t3);
      __m256i* dst = reinterpret_cast<__m256i*>(w + 4 * j0);
      _mm256_storeu_si256(dst + 0, _mm256_permute2x128_si256(u0, u1, 0x20));
      _mm256_storeu_si256(dst + 1, _mm256_permute2x128_si256(u2, u3, 0x20));
      _mm256_storeu_si256(dst + 2, _mm256_permute2x128_si256(u0, u1, 0x31));
      _mm256_storeu_si256(dst + 3, _mm256_permute2x128_si256(u2, u3, 0x31));
    }
  }
#endif
  // Portable path (and the AVX2 tail): the compiler vectorises this loop itself.  32-bit lanes
  // with 64-bit products suit SSE2 (pmuludq on even and odd lanes) better than 64-bit lanes.
  const uint32_t key0 = static_cast<uint32_t>(seed), key1 = static_cast<uint32_t>(seed >> 32);
#pragma omp simd
  for (int64_t j = j0; j < nb; ++j) {
    const uint64_t b = first + static_cast<uint64_t>(j);
    uint32_t c0 = static_cast<uint32_t>(b), c1 = static_cast<uint32_t>(b >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = key0, k1 = key1;
    for (int r = 0; r < 10; ++r) {
      const uint64_t p0 = static_cast<uint64_t>(c0) * 0xD2511F53u;
      const uint64_t p1 = static_cast<uint64_t>(c2) * 0xCD9E8D57u;
      c0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
      c1 = static_cast<uint32_t>(p1);
      c2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
      c3 = static_cast<uint32_t>(p0);
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    w[4 * j + 0] = c0;
    w[4 * j + 1] = c1;
    w[4 * j + 2] = c2;
    w[4 * j + 3] = c3;
  }
}

// Word `word` (0..3) of side-stream block (block, attempt): replacement candidates for rejects.
uint32_t side_word(uint64_t seed, uint64_t block, uint32_t attempt, int word) {
  uint64_t c0 = block & 0xffffffffu, c1 = block >> 32, c2 = attempt, c3 = kSideTag;
  uint64_t k0 = seed & 0xffffffffu, k1 = seed >> 32;
  DL_PHILOX_10(c0, c1, c2, c3, k0, k1);
  const uint64_t out[4] = {c0, c1, c2, c3};
  return static_cast<uint32_t>(out[word]);
}

// Runs f(w, e0, e1) over tiles: elements [e0, e1) read their words from w, element e0 first;
// each element uses `wpe` consecutive words (1 or 2).
template <class F>
void drive(const PhiloxStream& s, int64_t n, int64_t wpe, F&& f) {
  const int64_t total_blocks = (n * wpe + 3) / 4;
  const int64_t n_chunks = (total_blocks + kChunkBlocks - 1) / kChunkBlocks;
  parallel_for(n_chunks, kChunkBlocks * 4, [&](int64_t c) {
    alignas(64) uint32_t w[kTileBlocks * 4];
    const int64_t b_end = (c + 1) * kChunkBlocks < total_blocks ? (c + 1) * kChunkBlocks : total_blocks;
    for (int64_t tb = c * kChunkBlocks; tb < b_end; tb += kTileBlocks) {
      const int64_t nb = b_end - tb < kTileBlocks ? b_end - tb : kTileBlocks;
      philox_tile(s.seed, s.start + static_cast<uint64_t>(tb), nb, w);
      const int64_t e0 = tb * 4 / wpe;
      const int64_t e1 = (tb + nb) * 4 / wpe < n ? (tb + nb) * 4 / wpe : n;
      f(w, e0, e1);
    }
  });
}

// 24 random bits -> float in [0, 1); 53 bits (MT19937's genrand_res53 layout) -> double in [0, 1).
inline float unit_f32(uint32_t x) { return static_cast<float>(static_cast<int32_t>(x >> 8)) * 0x1p-24f; }
inline double unit_f64(uint32_t lo, uint32_t hi) {
  return (static_cast<double>(static_cast<int32_t>(hi >> 5)) * 67108864.0 +
          static_cast<double>(static_cast<int32_t>(lo >> 6))) * 0x1p-53;
}

void bits_kernel(const RandomArgs& a) {
  int64_t* out = static_cast<int64_t*>(a.out);
  drive(a.stream, a.n, 1, [=](const uint32_t* w, int64_t e0, int64_t e1) {
#pragma omp simd
    for (int64_t e = e0; e < e1; ++e) out[e] = static_cast<int64_t>(w[e - e0]);
  });
}

void uniform_kernel(const RandomArgs& a) {
  if (a.dtype == DType::Float32) {
    float* __restrict out = static_cast<float*>(a.out);
    const float lo = static_cast<float>(a.a), hi = static_cast<float>(a.high);
    const float rg = hi - lo;
    // lo + rg*u can round up to hi; the largest float below hi replaces it.
    const float below = nextafterf(hi, lo);
    drive(a.stream, a.n, 1, [=](const uint32_t* w, int64_t e0, int64_t e1) {
#pragma omp simd
      for (int64_t e = e0; e < e1; ++e) {
        const float x = lo + rg * unit_f32(w[e - e0]);
        out[e] = x < hi ? x : below;
      }
    });
  } else {
    double* __restrict out = static_cast<double*>(a.out);
    const double lo = a.a, hi = a.high, rg = hi - lo;
    const double below = nextafter(hi, lo);
    drive(a.stream, a.n, 2, [=](const uint32_t* w, int64_t e0, int64_t e1) {
#pragma omp simd
      for (int64_t e = e0; e < e1; ++e) {
        const int64_t k = 2 * (e - e0);
        const double x = lo + rg * unit_f64(w[k], w[k + 1]);
        out[e] = x < hi ? x : below;
      }
    });
  }
}

void normal_kernel(const RandomArgs& a) {
  if (a.dtype == DType::Float32) {
    float* out = static_cast<float*>(a.out);
    const float mean = static_cast<float>(a.a), sd = static_cast<float>(a.b);
    const int64_t n = a.n;
    drive(a.stream, n, 1, [=](const uint32_t* w, int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; e += 2) {  // e0 is a multiple of 4: pairs never straddle tiles
        const int64_t k = e - e0;
        const float u1 = static_cast<float>(static_cast<int32_t>(w[k] >> 8) + 1) * 0x1p-24f;  // (0, 1]
        const float u2 = unit_f32(w[k + 1]);
        const float r = sqrtf(-2.0f * logf(u1));
        const float th = 6.2831853071795864769f * u2;
        out[e] = mean + sd * (r * cosf(th));
        if (e + 1 < n) out[e + 1] = mean + sd * (r * sinf(th));
      }
    });
  } else {
    double* out = static_cast<double*>(a.out);
    const double mean = a.a, sd = a.b;
    const int64_t n = a.n;
    drive(a.stream, n, 2, [=](const uint32_t* w, int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; e += 2) {
        const int64_t k = 2 * (e - e0);
        const double u1 = unit_f64(w[k], w[k + 1]) + 0x1p-53;  // exact: (0, 1]
        const double u2 = unit_f64(w[k + 2], w[k + 3]);
        const double r = sqrt(-2.0 * log(u1));
        const double th = 6.283185307179586476925 * u2;
        out[e] = mean + sd * (r * cos(th));
        if (e + 1 < n) out[e + 1] = mean + sd * (r * sin(th));
      }
    });
  }
}

// out = (word / 2^32 < p) ? value : 0.  Scalar p compares integers: word < ceil(p * 2^32).
template <class T>
void bernoulli_typed(const RandomArgs& a) {
  T* __restrict out = static_cast<T*>(a.out);
  const T value = static_cast<T>(a.b);
  if (a.p == nullptr) {
    // word < thr for thr = ceil(p * 2^32) in [0, 2^32]; as word <= thr - 1 it fits 32-bit lanes.
    const uint64_t thr = static_cast<uint64_t>(ceil(a.a * 4294967296.0));
    const uint32_t last = static_cast<uint32_t>(thr - 1);
    const T hit = thr == 0 ? T(0) : value;  // p == 0: never a hit
    drive(a.stream, a.n, 1, [=](const uint32_t* w, int64_t e0, int64_t e1) {
#pragma omp simd
      for (int64_t e = e0; e < e1; ++e) out[e] = w[e - e0] <= last ? hit : T(0);
    });
  } else if (a.p_dtype == DType::Float32) {
    const float* p = static_cast<const float*>(a.p);
    drive(a.stream, a.n, 1, [=](const uint32_t* w, int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; ++e)
        out[e] = static_cast<double>(w[e - e0]) * 0x1p-32 < static_cast<double>(p[e]) ? value : T(0);
    });
  } else {
    const double* p = static_cast<const double*>(a.p);
    drive(a.stream, a.n, 1, [=](const uint32_t* w, int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; ++e)
        out[e] = static_cast<double>(w[e - e0]) * 0x1p-32 < p[e] ? value : T(0);
    });
  }
}

// Lemire's nearly-divisionless method: x*range >> bits is unbiased once candidates whose low
// half falls below (2^bits - range) % range are rejected.
void randint_kernel(const RandomArgs& a) {
  int64_t* out = static_cast<int64_t*>(a.out);
  const uint64_t range = a.range, base = static_cast<uint64_t>(a.low), seed = a.stream.seed;
  const uint64_t start = a.stream.start;
  if (range <= (uint64_t{1} << 32)) {
    const uint64_t thr = ((uint64_t{1} << 32) - range) % range;
    drive(a.stream, a.n, 1, [=](const uint32_t* w, int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; ++e) {
        uint64_t m = static_cast<uint64_t>(w[e - e0]) * range;
        for (uint32_t att = 1; (m & 0xffffffffu) < thr; ++att)
          m = static_cast<uint64_t>(side_word(seed, start + static_cast<uint64_t>(e / 4), att,
                                              static_cast<int>(e % 4))) * range;
        out[e] = static_cast<int64_t>(base + (m >> 32));
      }
    });
  } else {
    const uint64_t thr = (0 - range) % range;
    drive(a.stream, a.n, 2, [=](const uint32_t* w, int64_t e0, int64_t e1) {
      for (int64_t e = e0; e < e1; ++e) {
        const int64_t k = 2 * (e - e0);
        uint64_t x = static_cast<uint64_t>(w[k]) | (static_cast<uint64_t>(w[k + 1]) << 32);
        unsigned __int128 m = static_cast<unsigned __int128>(x) * range;
        for (uint32_t att = 1; static_cast<uint64_t>(m) < thr; ++att) {
          const uint64_t blk = start + static_cast<uint64_t>(e / 2);
          const int wd = static_cast<int>(2 * (e % 2));
          x = static_cast<uint64_t>(side_word(seed, blk, att, wd)) |
              (static_cast<uint64_t>(side_word(seed, blk, att, wd + 1)) << 32);
          m = static_cast<unsigned __int128>(x) * range;
        }
        out[e] = static_cast<int64_t>(base + static_cast<uint64_t>(m >> 64));
      }
    });
  }
}

void random_kernel(const RandomArgs& a) {
  switch (a.kind) {
    case RandomKind::Bits: bits_kernel(a); break;
    case RandomKind::Uniform: uniform_kernel(a); break;
    case RandomKind::Normal: normal_kernel(a); break;
    case RandomKind::Bernoulli:
      if (a.dtype == DType::Float32) bernoulli_typed<float>(a);
      else bernoulli_typed<double>(a);
      break;
    case RandomKind::Randint: randint_kernel(a); break;
  }
}

// Fisher-Yates: step k swaps position i = n-1-k with j uniform in [0, i].  The partners are drawn
// in parallel (64-bit Lemire, as randint), the swaps run in order.
void randperm_kernel(const RandpermArgs& a) {
  const int64_t n = a.n;
  int64_t* out = a.out;
  int64_t* swap = a.swap;
  for (int64_t i = 0; i < n; ++i) out[i] = i;
  if (n < 2) return;
  const uint64_t seed = a.stream.seed, start = a.stream.start;
  drive(a.stream, n - 1, 2, [=](const uint32_t* w, int64_t e0, int64_t e1) {
    for (int64_t k = e0; k < e1; ++k) {
      const uint64_t range = static_cast<uint64_t>(n - k);
      const uint64_t thr = (0 - range) % range;
      const int64_t q = 2 * (k - e0);
      uint64_t x = static_cast<uint64_t>(w[q]) | (static_cast<uint64_t>(w[q + 1]) << 32);
      unsigned __int128 m = static_cast<unsigned __int128>(x) * range;
      for (uint32_t att = 1; static_cast<uint64_t>(m) < thr; ++att) {
        const uint64_t blk = start + static_cast<uint64_t>(k / 2);
        const int wd = static_cast<int>(2 * (k % 2));
        x = static_cast<uint64_t>(side_word(seed, blk, att, wd)) |
            (static_cast<uint64_t>(side_word(seed, blk, att, wd + 1)) << 32);
        m = static_cast<unsigned __int128>(x) * range;
      }
      swap[k] = static_cast<int64_t>(m >> 64);
    }
  });
  for (int64_t k = 0; k < n - 1; ++k) {
    const int64_t i = n - 1 - k, j = swap[k];
    const int64_t t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
}

}  // namespace
DL_REGISTER_CPU_KERNEL(random, RandomFn, random_kernel);
DL_REGISTER_CPU_KERNEL(randperm, RandpermFn, randperm_kernel);
}  // namespace dl::DL_ISA_NS

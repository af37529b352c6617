// Register-blocked GEMM micro-kernels and per-ISA blocking parameters.  Included only by the
// *_cpu.cpp GEMM files, i.e. compiled once per ISA: everything here lives in dl::DL_ISA_NS, so the AVX-512
// instantiations can never be picked for another ISA by the linker.
//
// A micro-kernel computes an MR x NR tile of C from a packed A micro-panel (kc steps of MR
// values) and a packed B micro-panel (kc steps of NR values), keeping the MR x NR accumulators
// in vector registers: per k step it loads NV vectors of B, broadcasts MR values of A and issues
// MR*NV independent FMAs, enough to cover the FMA latency on two pipes.
#pragma once
#include <cstdint>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/isa.h"

namespace dl::DL_ISA_NS {
namespace gemm_detail {

// ---- vector traits ------------------------------------------------------------------------
#if defined(__AVX512F__)
struct VecF {
  using T = float;
  using R = __m512;
  static constexpr int W = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R set1(T x) { return _mm512_set1_ps(x); }
  static R load(const T* p) { return _mm512_loadu_ps(p); }
  static R load_n(const T* p, int n) { return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p); }
  // Lanes [lo, hi) from p[lane], the others 0; masked-off lanes are never read (no fault).
  static R load_lanes(const T* p, int lo, int hi) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>(((1u << hi) - 1u) & ~((1u << lo) - 1u)), p);
  }
  static void store_n(T* p, R v, int n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v); }
  static void store(T* p, R v) { _mm512_storeu_ps(p, v); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  // v < 0 ? 0 : v, as the scalar epilogue: relu(NaN) = NaN, relu(-0) = -0.  (A compare and a
  // blend rather than _mm512_max_ps, whose GCC 12 header warns of an uninitialised operand.)
  static R relu(R v) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero(), _CMP_LT_OQ), v, zero()); }
};
struct VecD {
  using T = double;
  using R = __m512d;
  static constexpr int W = 8;
  static R zero() { return _mm512_setzero_pd(); }
  static R set1(T x) { return _mm512_set1_pd(x); }
  static R load(const T* p) { return _mm512_loadu_pd(p); }
  static R load_n(const T* p, int n) { return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << n) - 1u), p); }
  static R load_lanes(const T* p, int lo, int hi) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>(((1u << hi) - 1u) & ~((1u << lo) - 1u)), p);
  }
  static void store_n(T* p, R v, int n) { _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << n) - 1u), v); }
  static void store(T* p, R v) { _mm512_storeu_pd(p, v); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static R mul(R a, R b) { return _mm512_mul_pd(a, b); }
  static R add(R a, R b) { return _mm512_add_pd(a, b); }
  static R relu(R v) { return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(v, zero(), _CMP_LT_OQ), v, zero()); }
};
// 12 x 32 (float) / 12 x 16 (double): 24 zmm accumulators + 2 B vectors + 1 broadcast.
// KC 512: the C tile's load and store are amortised over more k steps, and a K of up to 512
// (a weight gradient over a batch of 512) is one slice, so C is written once instead of read
// back and rewritten.  Against KC 192, KC 384 measured 3-6% faster on 1024^2 and 2048^2 on this
// 2 MiB L2 machine; against 384, 512 measured 2.7% faster on 2048^2 and 2.4% on a step of the
// wide MLP, the same on 512^2 and 1024^2.  The 64 KiB B micro-panel does not fit L1: L2 feeds the
// 176 bytes a k step needs easily.  MC x KC of packed A (480 KiB) and the B panel stream through L2.
// The shared-B scheme (many rows) takes K slices of up to 768: its C is large (a 4096 x 3072
// Linear output is 48 MiB), and every extra slice reads all of C back and writes it again; the
// 4096 x 768 x 3072 product as one slice instead of two of 384 measured 4-8% faster (2048^2,
// 3 slices of 683 instead of 4 of 512, the same).  Its A block is then 720 KiB of L2.
constexpr int kMR = 12, kNV = 2;
constexpr int64_t kKC = 512, kKCShared = 768, kMC = 240, kNC = 3072;
// The direct small path's tile (see Gemm::run_direct): 8 x 48, A and B both read in place.
constexpr int kSmallMR = 8, kSmallNV = 3;
#elif defined(__AVX2__)
struct VecF {
  using T = float;
  using R = __m256;
  static constexpr int W = 8;
  static R zero() { return _mm256_setzero_ps(); }
  static R set1(T x) { return _mm256_set1_ps(x); }
  static R load(const T* p) { return _mm256_loadu_ps(p); }
  static R load_n(const T* p, int n) {
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  }
  static __m256i lanes(int lo, int hi) {
    const __m256i i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(lo), i), _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), i));
  }
  static R load_lanes(const T* p, int lo, int hi) { return _mm256_maskload_ps(p, lanes(lo, hi)); }
  static void store_n(T* p, R v, int n) { _mm256_maskstore_ps(p, lanes(0, n), v); }
  static void store(T* p, R v) { _mm256_storeu_ps(p, v); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  // max(0, v) returns its second operand when either is NaN: relu(NaN) = NaN, relu(-0) = -0.
  static R relu(R v) { return _mm256_max_ps(zero(), v); }
};
struct VecD {
  using T = double;
  using R = __m256d;
  static constexpr int W = 4;
  static R zero() { return _mm256_setzero_pd(); }
  static R set1(T x) { return _mm256_set1_pd(x); }
  static R load(const T* p) { return _mm256_loadu_pd(p); }
  static R load_n(const T* p, int n) {
    return _mm256_maskload_pd(p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)));
  }
  static __m256i lanes(int lo, int hi) {
    const __m256i i = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(lo), i), _mm256_cmpgt_epi64(_mm256_set1_epi64x(hi), i));
  }
  static R load_lanes(const T* p, int lo, int hi) { return _mm256_maskload_pd(p, lanes(lo, hi)); }
  static void store_n(T* p, R v, int n) { _mm256_maskstore_pd(p, lanes(0, n), v); }
  static void store(T* p, R v) { _mm256_storeu_pd(p, v); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  static R mul(R a, R b) { return _mm256_mul_pd(a, b); }
  static R add(R a, R b) { return _mm256_add_pd(a, b); }
  static R relu(R v) { return _mm256_max_pd(zero(), v); }
};
// 6 x 16 (float) / 6 x 8 (double): 12 ymm accumulators + 2 B vectors + 1 broadcast of 16.
// KC: the kc x 16 B micro-panel (16 KiB) plus the 6 x kc A micro-panel stay in the 32 KiB L1d;
// MC x KC of packed A (144 KiB) sits in the 512 KiB L2; KC x NC of packed B in the shared L3.
constexpr int kMR = 6, kNV = 2;
constexpr int64_t kKC = 256, kKCShared = kKC, kMC = 144, kNC = 3072;
constexpr int kSmallMR = kMR, kSmallNV = kNV;  // (16 registers: no wider tile; no direct path)
#else
// Portable: GCC/Clang vector extensions (SSE2 on x86-64, NEON on arm64); no FMA is assumed, so
// fma() is a multiply and an add (the build disables contraction).
typedef float v4f __attribute__((vector_size(16)));
typedef double v2d __attribute__((vector_size(16)));
struct VecF {
  using T = float;
  using R = v4f;
  static constexpr int W = 4;
  static R zero() { return R{0, 0, 0, 0}; }
  static R set1(T x) { return R{x, x, x, x}; }
  static R load(const T* p) { R r; __builtin_memcpy(&r, p, sizeof r); return r; }
  static R load_n(const T* p, int n) { R r = zero(); for (int i = 0; i < n; ++i) r[i] = p[i]; return r; }
  static R load_lanes(const T* p, int lo, int hi) { R r = zero(); for (int i = lo; i < hi; ++i) r[i] = p[i]; return r; }
  static void store_n(T* p, R v, int n) { for (int i = 0; i < n; ++i) p[i] = v[i]; }
  static void store(T* p, R v) { __builtin_memcpy(p, &v, sizeof v); }
  static R fma(R a, R b, R c) { return a * b + c; }
  static R mul(R a, R b) { return a * b; }
  static R add(R a, R b) { return a + b; }
  static R relu(R v) { return v < zero() ? zero() : v; }  // as the scalar v < 0 ? 0 : v
};
struct VecD {
  using T = double;
  using R = v2d;
  static constexpr int W = 2;
  static R zero() { return R{0, 0}; }
  static R set1(T x) { return R{x, x}; }
  static R load(const T* p) { R r; __builtin_memcpy(&r, p, sizeof r); return r; }
  static R load_n(const T* p, int n) { R r = zero(); for (int i = 0; i < n; ++i) r[i] = p[i]; return r; }
  static R load_lanes(const T* p, int lo, int hi) { R r = zero(); for (int i = lo; i < hi; ++i) r[i] = p[i]; return r; }
  static void store_n(T* p, R v, int n) { for (int i = 0; i < n; ++i) p[i] = v[i]; }
  static void store(T* p, R v) { __builtin_memcpy(p, &v, sizeof v); }
  static R fma(R a, R b, R c) { return a * b + c; }
  static R mul(R a, R b) { return a * b; }
  static R add(R a, R b) { return a + b; }
  static R relu(R v) { return v < zero() ? zero() : v; }  // as the scalar v < 0 ? 0 : v
};
constexpr int kMR = 4, kNV = 2;
constexpr int64_t kKC = 256, kKCShared = kKC, kMC = 128, kNC = 2048;
constexpr int kSmallMR = kMR, kSmallNV = kNV;
#endif

template <class V>
struct Blocking {
  static constexpr int MR = kMR;
  static constexpr int NR = kNV * V::W;
  static constexpr int NV = kNV;
  static constexpr int64_t KC = kKC, KC_SHARED = kKCShared, MC = kMC, NC = kNC;
  static constexpr int SMALL_MR = kSmallMR, SMALL_NV = kSmallNV;
};

// C(MR x NR, row stride ldc, unit column stride) = alpha * A B + (read_c ? beta * C : 0).
// A: kc steps of MR packed values, or (kARows) MR rows of a row-major A read in place, lda
// apart (the small-product path: no packing).  B: kc rows of NR values, ldb apart (NR when
// packed, B's row stride when the small-product path reads a row-major B in place).  Every
// element's sum runs over k in increasing order, whichever tile or thread computes it, so
// results do not depend on the partition.  pf (optional): kc rows of NR values, prefetched into
// L2 a row per k step.  kNVt < kNV: only the first kNVt vectors of each B row and C row (a last
// column panel of at most kNVt * W columns): the same FMA chains for those columns, so the same
// bits, without the work on padding.  kNVt > kNV: a wider tile over a B read in place (the
// direct small path's kSmallNV; pf unused).
template <class V, bool kARows = false, int kM = kMR, int kNVt = kNV>
inline void ukernel(int64_t kc, const typename V::T* __restrict A, int64_t lda, const typename V::T* __restrict B,
                    int64_t ldb, typename V::T* __restrict C, int64_t ldc, typename V::T alpha, typename V::T beta,
                    bool read_c, const typename V::T* pf = nullptr) {
  using R = typename V::R;
  // kM rows of C: kMR, or fewer for a last row panel (packed A keeps its steps of kMR values).
  constexpr int MR = kM, NV = kNVt, W = V::W, NR = kNV * W;  // NR: the width of a packed B row
  // Row i of a row-major A in place: three bases four rows apart, each row reached with a
  // scaled-index address from one of them (12 row pointers would not fit the integer registers).
  const typename V::T* a4 = kARows && MR > 4 ? A + 4 * lda : A;
  const typename V::T* a8 = kARows && MR > 8 ? A + 8 * lda : A;
  const int64_t lda2 = 2 * lda, lda3 = 3 * lda;
  R acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    // C is read once, after the k loop: start fetching its lines now.
    __builtin_prefetch(C + i * ldc, 1);
    if constexpr (NV > 2) __builtin_prefetch(C + i * ldc + W, 1);
    __builtin_prefetch(C + i * ldc + NV * W - 1, 1);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
  }
  // Opaque: the row addresses of C computed for the prefetches are not kept for the stores
  // (12 live pointers through the k loop spilled into vector registers, and then a B vector
  // spilled to the stack).
  asm("" : "+r"(C));
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    R b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = V::load(B + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      R a;
      if constexpr (kARows) {
        const typename V::T* base = i < 4 ? A : i < 8 ? a4 : a8;
        const int r = i % 4;
        a = V::set1(base[r == 0 ? 0 : r == 1 ? lda : r == 2 ? lda2 : lda3]);
      } else {
        a = V::set1(A[i]);
      }
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(a, b[v], acc[i][v]);
    }
    if (!kARows && pf) {  // (the in-place A mode never prefetches: it needs the registers)
      __builtin_prefetch(pf, 0, 2);
      __builtin_prefetch(pf + NR / 2, 0, 2);
      pf += NR;
    }
    if constexpr (kARows) {
      ++A, ++a4, ++a8;
      // Opaque to the optimiser, so it cannot split the 12 row addresses into 12 pointers.
      asm("" : "+r"(A), "+r"(a4), "+r"(a8));
    } else {
      A += kMR;  // packed A: steps of kMR values whatever kM is
    }
    B += ldb;
  }
  const R va = V::set1(alpha);
  // alpha = beta = 1 (every K slice after the first) and alpha = 1 alone (the first) skip the
  // multiplies by one: fma(1, x, 1 * c) rounds exactly as x + c does, and 1 * x is x.
  if (read_c && alpha == 1 && beta == 1) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        typename V::T* p = C + i * ldc + v * W;
        V::store(p, V::add(acc[i][v], V::load(p)));
      }
  } else if (read_c) {
    const R vb = V::set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        typename V::T* p = C + i * ldc + v * W;
        V::store(p, V::fma(va, acc[i][v], V::mul(vb, V::load(p))));
      }
  } else if (alpha == 1) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) V::store(C + i * ldc + v * W, acc[i][v]);
  } else {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) V::store(C + i * ldc + v * W, V::mul(va, acc[i][v]));
  }
}

#if defined(__AVX512F__)
// Packing helper: reads `rows` (<= 16) source rows of 16 floats (row r at src + r * ld), and
// writes their transpose: output row e (element e of every source row) goes to dst + e * ldd,
// `rows` floats wide.  A 16 x 16 in-register transpose (unpack, unpack, two lane shuffles)
// replaces the 16 x rows scalar strided copies that otherwise dominate packing a row-major A
// (12 rows, along k) or a transposed B (a Linear weight, 16 columns along k).
// GCC 12 flags the intrinsics' own _mm512_undefined_ps() operands as uninitialized here (a
// known false positive); nothing in this function reads an uninitialized value.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
inline void transpose16(const float* src, int64_t ld, int rows, float* dst, int64_t ldd) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_loadu_ps(src + i * ld) : _mm512_setzero_ps();
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // r[j + c]: rows j..j+3, element 4 L + c in 128-bit lane L.
  for (int j = 0; j < 16; j += 4) {
    const __m512d a0 = _mm512_castps_pd(t[j]), a1 = _mm512_castps_pd(t[j + 1]);
    const __m512d a2 = _mm512_castps_pd(t[j + 2]), a3 = _mm512_castps_pd(t[j + 3]);
    r[j] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    r[j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    r[j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    r[j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  }
  const __mmask16 m = static_cast<__mmask16>((1u << rows) - 1u);
  for (int c = 0; c < 4; ++c) {
    const __m512 c0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44), c1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xEE);
    const __m512 c2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44);
    const __m512 c3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xEE);
    _mm512_mask_storeu_ps(dst + (0 + c) * ldd, m, _mm512_shuffle_f32x4(c0, c2, 0x88));
    _mm512_mask_storeu_ps(dst + (4 + c) * ldd, m, _mm512_shuffle_f32x4(c0, c2, 0xDD));
    _mm512_mask_storeu_ps(dst + (8 + c) * ldd, m, _mm512_shuffle_f32x4(c1, c3, 0x88));
    _mm512_mask_storeu_ps(dst + (12 + c) * ldd, m, _mm512_shuffle_f32x4(c1, c3, 0xDD));
  }
}
#pragma GCC diagnostic pop
#define DL_GEMM_HAVE_TRANSPOSE16 1
#endif

}  // namespace gemm_detail
}  // namespace dl::DL_ISA_NS

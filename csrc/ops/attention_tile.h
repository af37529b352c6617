// Pieces shared by the attention kernels (attention_cpu.cpp: flash tiles; attention_ref_cpu.cpp:
// the row reference).  Included only by those per-ISA files: everything lives in dl::DL_ISA_NS
// and is static, so no ISA's copy can be picked for another (see core/isa.h).
#pragma once
#include <math.h>

#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "core/isa.h"
#include "ops/attention.h"
#include "ops/gemm_microkernel.h"
#include "ops/vec_math.h"

namespace dl::DL_ISA_NS {
namespace attn {

using gemm_detail::VecD;
using gemm_detail::VecF;

constexpr int64_t kBQ = 64, kBK = 64;  // query rows and key columns per tile
#if defined(__AVX512F__)
constexpr int kNV = 4;  // 4 rows x 4 zmm = 16 accumulators of the 32 registers
#else
constexpr int kNV = 2;  // 4 rows x 2 = 8 accumulators of 16 registers
#endif
constexpr double kLog2e = 1.4426950408889634, kLn2 = 0.6931471805599453;

static inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// ---- Philox4x32-10 (the dropout mask) -------------------------------------------------------
static inline void philox(uint32_t c[4], uint64_t seed) {
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = uint64_t{0xD2511F53u} * c[0];
    const uint64_t p1 = uint64_t{0xCD9E8D57u} * c[2];
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k1;
    c[1] = static_cast<uint32_t>(p1);
    c[3] = static_cast<uint32_t>(p0);
    c[0] = n0;
    c[2] = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

// z[jj] = dropout factor of (bh, i, j0 + jj), jj < n: 0 (dropped) or 1 / (1 - p).
template <class T>
static void dropout_row(const AttnArgs& a, int64_t bh, int64_t i, int64_t j0, int64_t n, T* z) {
  const uint64_t thr = static_cast<uint64_t>(a.dropout_p * 4294967296.0);
  const T keep = static_cast<T>(1.0 / (1.0 - a.dropout_p));
  uint32_t w[4] = {0, 0, 0, 0};
  for (int64_t jj = 0; jj < n; ++jj) {
    const int64_t j = j0 + jj;
    if (jj == 0 || (j & 3) == 0) {
      w[0] = static_cast<uint32_t>(j >> 2);
      w[1] = static_cast<uint32_t>(i);
      w[2] = static_cast<uint32_t>(bh);
      w[3] = static_cast<uint32_t>(static_cast<uint64_t>(bh) >> 32);
      philox(w, a.seed);
    }
    z[jj] = w[j & 3] >= thr ? keep : T(0);
  }
}

// ---- 2^x for the softmax (scores are kept in base-2 units: scale * log2(e) folded in) -------
// float: branch-free, so loops vectorise: x clamped to -127 (where 2^n's exponent field is 0, so
// the result is exactly 0: -inf and NaN go there too), n = round(x), 2^f on |f| <= 1/2 by its
// degree-6 Taylor polynomial (relative error < 2e-7).  double: libm.
static inline float exp2_t(float x) {
  const float xc = vm::sel(x > -127.0f, x, -127.0f);
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (xc + magic) - magic;
  const float f = xc - n;
  float p = 1.5403530393381606e-4f;
  p = p * f + 1.3333558146428443e-3f;
  p = p * f + 9.6181291076284772e-3f;
  p = p * f + 5.5504108664821580e-2f;
  p = p * f + 2.4022650695910071e-1f;
  p = p * f + 6.9314718055994531e-1f;
  p = p * f + 1.0f;
  return p * vm::as_float((static_cast<int32_t>(n) + 127) << 23);
}
// 2^(t - m): 0 where t is -inf (also when m is -inf: an empty column or row so far).
static inline float pexp(float t, float m) { return exp2_t(t - m); }
static inline double pexp(double t, double m) { return t == -__builtin_huge_val() ? 0.0 : ::exp2(t - m); }
static inline float log2_t(float x) { return ::log2f(x); }
static inline double log2_t(double x) { return ::log2(x); }

// ---- the micro-kernel: C[RB x NV*W] (+)= A[RB x K] B[K x NV*W] --------------------------------
// A(r, k) = A[r * a_rs + k * a_cs] (broadcast), B rows of NV vectors at B + k * ldb.
template <class V, int RB>
static inline void mk(const typename V::T* A, int64_t a_rs, int64_t a_cs, const typename V::T* B, int64_t ldb,
                      typename V::T* C, int64_t ldc, int64_t K, bool acc) {
  using R = typename V::R;
  constexpr int W = V::W;
  R c[RB][kNV];
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < kNV; ++v) c[r][v] = acc ? V::load(C + r * ldc + v * W) : V::zero();
  for (int64_t k = 0; k < K; ++k) {
    R b[kNV];
    for (int v = 0; v < kNV; ++v) b[v] = V::load(B + k * ldb + v * W);
    const typename V::T* ak = A + k * a_cs;
    for (int r = 0; r < RB; ++r) {
      const R x = V::set1(ak[r * a_rs]);
      for (int v = 0; v < kNV; ++v) c[r][v] = V::fma(x, b[v], c[r][v]);
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < kNV; ++v) V::store(C + r * ldc + v * W, c[r][v]);
}

// C (M x N) (+)= A (M x K) B (K x N); N a multiple of the chunk width kNV * W.
template <class V>
static void block_gemm(const typename V::T* A, int64_t a_rs, int64_t a_cs, const typename V::T* B, int64_t ldb,
                       typename V::T* C, int64_t ldc, int64_t M, int64_t N, int64_t K, bool acc) {
  constexpr int64_t CW = kNV * V::W;
  for (int64_t c = 0; c < N; c += CW) {
    int64_t r = 0;
    for (; r + 4 <= M; r += 4) mk<V, 4>(A + r * a_rs, a_rs, a_cs, B + c, ldb, C + r * ldc + c, ldc, K, acc);
    const auto* a = A + r * a_rs;
    auto* cc = C + r * ldc + c;
    switch (M - r) {
      case 3: mk<V, 3>(a, a_rs, a_cs, B + c, ldb, cc, ldc, K, acc); break;
      case 2: mk<V, 2>(a, a_rs, a_cs, B + c, ldb, cc, ldc, K, acc); break;
      case 1: mk<V, 1>(a, a_rs, a_cs, B + c, ldb, cc, ldc, K, acc); break;
      default: break;
    }
  }
}

// Row i of the scores, columns j0 .. j0 + width: s holds the products for jj < n; becomes
// s * mul + (mask + alibi) * lg, -inf where causal-masked and in the padding jj >= n.
template <class T>
static void finish_scores(const AttnArgs& a, int64_t bh, int64_t i, int64_t j0, int64_t n, int64_t width, T* s,
                          T mul, T lg) {
  if (mul != T(1)) {
#pragma omp simd
    for (int64_t jj = 0; jj < n; ++jj) s[jj] *= mul;
  }
  if (a.mask) {
    const T* m = static_cast<const T*>(a.mask) + a.mask_off[bh] + i * a.mask_rs + j0 * a.mask_cs;
    for (int64_t jj = 0; jj < n; ++jj) s[jj] += m[jj * a.mask_cs] * lg;
  }
  if (a.alibi) {
    const T slope = static_cast<const T*>(a.alibi)[bh] * lg;
    const int64_t d0 = j0 - i;
#pragma omp simd
    for (int64_t jj = 0; jj < n; ++jj) s[jj] += slope * static_cast<T>(d0 + jj);
  }
  int64_t lim = n;
  if (a.causal) lim = i - j0 + 1 < n ? (i - j0 + 1 > 0 ? i - j0 + 1 : 0) : n;
  for (int64_t jj = lim; jj < width; ++jj) s[jj] = -__builtin_huge_val();
}

// A scratch slice per thread, carved into 64-byte aligned buffers.
template <class T>
struct Carver {
  T* p;
  T* take(int64_t n) {
    T* r = p;
    p += round_up(n, 16);
    return r;
  }
};

template <class T>
static T* thread_work(const AttnArgs& a) {
  int t = 0;
#if defined(_OPENMP)
  t = omp_get_thread_num();
#endif
  return reinterpret_cast<T*>(static_cast<char*>(a.work) + a.work_stride * t);
}

// Rows [0, n) of src (rows of `cols` values) into dst with row stride ld >= cols, zero padded.
template <class T>
static void pack_rows(const T* src, int64_t cols, int64_t n, T* dst, int64_t ld) {
  for (int64_t r = 0; r < n; ++r) {
    const T* s = src + r * cols;
    T* d = dst + r * ld;
    for (int64_t c = 0; c < cols; ++c) d[c] = s[c];
    for (int64_t c = cols; c < ld; ++c) d[c] = T(0);
  }
}
// dst[c * width + r] = src[r * cols + c] * mul for r < n, 0 for n <= r < width.
template <class T>
static void pack_t(const T* src, int64_t cols, int64_t n, int64_t width, T* dst, T mul) {
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = n; r < width; ++r) dst[c * width + r] = T(0);
  for (int64_t r = 0; r < n; ++r) {
    const T* s = src + r * cols;
    for (int64_t c = 0; c < cols; ++c) dst[c * width + r] = s[c] * mul;
  }
}

// The reference algorithm's kernels (attention_ref_cpu.cpp).
void reference_forward_f32(const AttnArgs& a);
void reference_forward_f64(const AttnArgs& a);
void reference_backward_f32(const AttnArgs& a);
void reference_backward_f64(const AttnArgs& a);

}  // namespace attn
}  // namespace dl::DL_ISA_NS

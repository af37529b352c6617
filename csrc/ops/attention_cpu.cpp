// CPU kernels of scaled_dot_product_attention (per ISA): FlashAttention-2 tiles and a row-wise
// reference, forward and backward.  No buffer of L x S anywhere.
//
// Flash forward: a task is (flat head bh, block of BQ query rows).  It walks the key blocks of BK
// columns (causal: only those at or left of the diagonal) and keeps the running row max m, the
// running sum l and the unnormalised output O of its rows (the online softmax): per key block
// S = Q K^T, p = exp(s - m_new), O = O * exp(m_old - m_new) + P V, l likewise; at the end
// out = O / l and logsumexp = m + log(l).  Both products go through one register-blocked
// micro-kernel (4 rows x NV vectors of accumulators, C += A B with A's values broadcast and B's rows
// loaded as vectors): K is packed transposed (E x BK) so Q K^T has that form, V is packed with its
// rows padded to the vector width.
//
// Flash backward (FA-2, recomputing P from logsumexp, no atomics): pass 1 computes
// delta_i = dO_i . O_i; pass 2 owns a key block of one key/value head (all the query heads that
// read it, in order) and accumulates dV += Pd^T dO, dK += dS^T Q; pass 3 owns a query block and
// accumulates dQ += dS K.  Every sum runs in an order fixed by the shapes, so the result does not
// depend on the thread count.  Dropout masks are regenerated from (seed, bh, row, column).
//
// Scratch: each thread carves its own slice of AttnArgs::work (sized by attention_workspace).
#include <math.h>

#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/attention.h"
#include "ops/gemm_microkernel.h"
#include "ops/vec_math.h"

namespace dl::DL_ISA_NS {
namespace {

using gemm_detail::VecD;
using gemm_detail::VecF;

constexpr int64_t kBQ = 64, kBK = 64;  // query rows and key columns per tile
#if defined(__AVX512F__)
constexpr int kNV = 4;  // 4 rows x 4 zmm = 16 accumulators of the 32 registers
#else
constexpr int kNV = 2;  // 4 rows x 2 = 8 accumulators of 16 registers
#endif

static inline float exp_s(float x) { return vm::exp_f(x); }
static inline double exp_s(double x) { return ::exp(x); }
static inline float log_s(float x) { return ::logf(x); }
static inline double log_s(double x) { return ::log(x); }

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

// z[jj] = dropout factor of (bh, i, j0 + jj): 0 (dropped) or 1 / (1 - p).
template <class T>
void dropout_row(const AttnArgs& a, int64_t bh, int64_t i, int64_t j0, int64_t n, T* z) {
  const double pt = a.dropout_p * 4294967296.0;
  const uint64_t thr = static_cast<uint64_t>(pt);
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

// ---- the micro-kernel: C[4 x NV*W] (+)= A[4 x K] B[K x NV*W] ----------------------------------
template <class V>
inline void mk4(const typename V::T* A, int64_t lda, const typename V::T* B, int64_t ldb, typename V::T* C,
                int64_t ldc, int64_t K, bool acc) {
  using R = typename V::R;
  constexpr int W = V::W;
  R c[4][kNV];
  for (int r = 0; r < 4; ++r)
    for (int v = 0; v < kNV; ++v) c[r][v] = acc ? V::load(C + r * ldc + v * W) : V::zero();
  for (int64_t k = 0; k < K; ++k) {
    R b[kNV];
    for (int v = 0; v < kNV; ++v) b[v] = V::load(B + k * ldb + v * W);
    for (int r = 0; r < 4; ++r) {
      const R x = V::set1(A[r * lda + k]);
      for (int v = 0; v < kNV; ++v) c[r][v] = V::fma(x, b[v], c[r][v]);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int v = 0; v < kNV; ++v) V::store(C + r * ldc + v * W, c[r][v]);
}

// C (M x N) (+)= A (M x K) B (K x N); M a multiple of 4, N of the chunk width kNV * W.
template <class V>
void block_gemm(const typename V::T* A, int64_t lda, const typename V::T* B, int64_t ldb, typename V::T* C,
                int64_t ldc, int64_t M, int64_t N, int64_t K, bool acc) {
  constexpr int64_t CW = kNV * V::W;
  for (int64_t c = 0; c < N; c += CW)
    for (int64_t r = 0; r < M; r += 4) mk4<V>(A + r * lda, lda, B + c, ldb, C + r * ldc + c, ldc, K, acc);
}

// Final scores of row i, columns j0 .. j0 + BK: s holds q_i . k_j for jj < n; columns jj >= n
// (padding) become -inf, as do causal and masked ones.
template <class T>
void finish_scores(const AttnArgs& a, int64_t bh, int64_t i, int64_t j0, int64_t n, int64_t width, T* s) {
  const T scale = static_cast<T>(a.scale);
  const T ninf = -__builtin_huge_val();
#pragma omp simd
  for (int64_t jj = 0; jj < n; ++jj) s[jj] *= scale;
  if (a.mask) {
    const T* m = static_cast<const T*>(a.mask) + a.mask_off[bh] + i * a.mask_rs + j0 * a.mask_cs;
    if (a.mask_cs == 1) {
#pragma omp simd
      for (int64_t jj = 0; jj < n; ++jj) s[jj] += m[jj];
    } else {
      for (int64_t jj = 0; jj < n; ++jj) s[jj] += m[jj * a.mask_cs];
    }
  }
  if (a.alibi) {
    const T slope = static_cast<const T*>(a.alibi)[bh];
    const int64_t d0 = j0 - i;
#pragma omp simd
    for (int64_t jj = 0; jj < n; ++jj) s[jj] += slope * static_cast<T>(d0 + jj);
  }
  int64_t lim = n;
  if (a.causal) lim = i - j0 + 1 < n ? (i - j0 + 1 > 0 ? i - j0 + 1 : 0) : n;
  for (int64_t jj = lim; jj < width; ++jj) s[jj] = ninf;
}

// A scratch slice per thread.
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
T* thread_work(const AttnArgs& a) {
  int t = 0;
#if defined(_OPENMP)
  t = omp_get_thread_num();
#endif
  return reinterpret_cast<T*>(static_cast<char*>(a.work) + a.work_stride * t);
}

template <class V>
struct Dims {
  static constexpr int64_t CW = kNV * V::W;
  int64_t Ep, Evp;
  explicit Dims(const AttnArgs& a) : Ep(round_up(a.E, CW)), Evp(round_up(a.Ev, CW)) {}
};

// Packs rows [r0, r0 + n) of src (rows of `cols` values) into dst (BQ or BK rows of ld values),
// zero padded; or transposed (dst[c * ld + r]).
template <class T>
void pack_rows(const T* src, int64_t cols, int64_t n, int64_t rows, T* dst, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    T* d = dst + r * ld;
    if (r < n) {
      const T* s = src + r * cols;
      for (int64_t c = 0; c < cols; ++c) d[c] = s[c];
      for (int64_t c = cols; c < ld; ++c) d[c] = T(0);
    } else {
      for (int64_t c = 0; c < ld; ++c) d[c] = T(0);
    }
  }
}
template <class T>
void pack_t(const T* src, int64_t cols, int64_t n, int64_t width, T* dst) {
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = n; r < width; ++r) dst[c * width + r] = T(0);
  for (int64_t r = 0; r < n; ++r) {
    const T* s = src + r * cols;
    for (int64_t c = 0; c < cols; ++c) dst[c * width + r] = s[c];
  }
}

// Largest of s[0..n) (-inf for an all -inf row).
template <class T>
inline T row_max(const T* s, int64_t n) {
  T mx = -__builtin_huge_val();
#pragma omp simd reduction(max : mx)
  for (int64_t jj = 0; jj < n; ++jj) mx = s[jj] > mx ? s[jj] : mx;
  return mx;
}

// s[jj] = exp(s[jj] - m) in place (exactly 0 where s is -inf); returns the sum.  float: the
// branch-free vm::exp_f with a select, so the loop vectorises; double: libm (reference precision).
inline float exp_row(float* s, int64_t n, float m) {
  const float ninf = -__builtin_huge_valf();
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (int64_t jj = 0; jj < n; ++jj) {
    const float e = vm::sel(s[jj] != ninf, vm::exp_f(s[jj] - m), 0.f);
    s[jj] = e;
    sum += e;
  }
  return sum;
}
inline double exp_row(double* s, int64_t n, double m) {
  const double ninf = -__builtin_huge_val();
  double sum = 0.0;
  for (int64_t jj = 0; jj < n; ++jj) {
    const double e = s[jj] == ninf ? 0.0 : ::exp(s[jj] - m);
    s[jj] = e;
    sum += e;
  }
  return sum;
}

// ---- flash forward --------------------------------------------------------------------------
template <class V>
void flash_forward(const AttnArgs& a) {
  using T = typename V::T;
  const Dims<V> d(a);
  const int64_t nqb = (a.L + kBQ - 1) / kBQ, G = a.Hq / a.Hk;
  const T ninf = -__builtin_huge_val();
  parallel_for_each(a.B * a.Hq * nqb, a.nthreads, [&](int64_t task) {
    const int64_t bh = task / nqb, i0 = (task % nqb) * kBQ, nrows = min64(kBQ, a.L - i0);
    const int64_t b = bh / a.Hq, h = bh % a.Hq, kvh = b * a.Hk + h / G;
    const T* q = static_cast<const T*>(a.q) + (bh * a.L + i0) * a.E;
    const T* k = static_cast<const T*>(a.k) + kvh * a.S * a.E;
    const T* v = static_cast<const T*>(a.v) + kvh * a.S * a.Ev;
    Carver<T> w{thread_work<T>(a)};
    T* Qp = w.take(kBQ * a.E);
    T* Kt = w.take(a.E * kBK);
    T* Vp = w.take(kBK * d.Evp);
    T* Sb = w.take(kBQ * kBK);
    T* Ob = w.take(kBQ * d.Evp);
    T* m = w.take(kBQ);
    T* l = w.take(kBQ);
    T* z = w.take(kBK);
    pack_rows(q, a.E, nrows, kBQ, Qp, a.E);
    for (int64_t x = 0; x < kBQ * d.Evp; ++x) Ob[x] = T(0);
    for (int64_t r = 0; r < kBQ; ++r) {
      m[r] = ninf;
      l[r] = T(0);
    }
    const int64_t kend = a.causal ? min64(a.S, i0 + nrows) : a.S;
    for (int64_t j0 = 0; j0 < kend; j0 += kBK) {
      const int64_t nk = min64(kBK, a.S - j0);
      pack_t(k + j0 * a.E, a.E, nk, kBK, Kt);
      pack_rows(v + j0 * a.Ev, a.Ev, nk, kBK, Vp, d.Evp);
      block_gemm<V>(Qp, a.E, Kt, kBK, Sb, kBK, kBQ, kBK, a.E, false);
      for (int64_t r = 0; r < kBQ; ++r) {
        T* s = Sb + r * kBK;
        if (r >= nrows) {
          for (int64_t jj = 0; jj < kBK; ++jj) s[jj] = T(0);
          continue;
        }
        const int64_t i = i0 + r;
        finish_scores(a, bh, i, j0, nk, kBK, s);
        const T mx = row_max(s, kBK);
        const T mn = mx > m[r] ? mx : m[r];
        if (mn == ninf) {  // nothing unmasked yet in this row
          for (int64_t jj = 0; jj < kBK; ++jj) s[jj] = T(0);
          continue;
        }
        const T alpha = m[r] == ninf ? T(0) : exp_s(m[r] - mn);
        const T sum = exp_row(s, kBK, mn);
        l[r] = l[r] * alpha + sum;
        m[r] = mn;
        if (alpha != T(1)) {
          T* o = Ob + r * d.Evp;
#pragma omp simd
          for (int64_t c = 0; c < d.Evp; ++c) o[c] *= alpha;
        }
        if (a.dropout_p > 0) {
          dropout_row(a, bh, i, j0, nk, z);
          for (int64_t jj = 0; jj < nk; ++jj) s[jj] *= z[jj];
        }
      }
      block_gemm<V>(Sb, kBK, Vp, d.Evp, Ob, d.Evp, kBQ, d.Evp, kBK, true);
    }
    T* out = static_cast<T*>(a.out) + (bh * a.L + i0) * a.Ev;
    T* lse = static_cast<T*>(a.lse) + bh * a.L + i0;
    for (int64_t r = 0; r < nrows; ++r) {
      const T inv = l[r] > T(0) ? T(1) / l[r] : T(0);
      const T* o = Ob + r * d.Evp;
      T* dst = out + r * a.Ev;
#pragma omp simd
      for (int64_t c = 0; c < a.Ev; ++c) dst[c] = o[c] * inv;
      lse[r] = l[r] > T(0) ? m[r] + log_s(l[r]) : ninf;
    }
  });
}

// P of row i from its final scores and logsumexp (in place); 0 where masked or the row is empty.
template <class T>
inline void probs_row(T* s, T lse, int64_t n) {
  const T ninf = -__builtin_huge_val();
  if (lse == ninf) {
    for (int64_t jj = 0; jj < n; ++jj) s[jj] = T(0);
    return;
  }
  exp_row(s, n, lse);
}

// delta_i = dO_i . O_i for every row.
template <class T>
void compute_delta(const AttnArgs& a) {
  const T* go = static_cast<const T*>(a.grad_out);
  const T* o = static_cast<const T*>(a.out_in);
  T* dl = static_cast<T*>(a.delta);
  const int64_t rows = a.B * a.Hq * a.L, chunk = 256;
  parallel_for_each((rows + chunk - 1) / chunk, a.nthreads, [&](int64_t t) {
    for (int64_t r = t * chunk, e = min64(rows, r + chunk); r < e; ++r) {
      T acc = T(0);
      for (int64_t c = 0; c < a.Ev; ++c) acc += go[r * a.Ev + c] * o[r * a.Ev + c];
      dl[r] = acc;
    }
  });
}

// ---- flash backward -------------------------------------------------------------------------
template <class V>
void flash_backward(const AttnArgs& a) {
  using T = typename V::T;
  const Dims<V> d(a);
  const int64_t nqb = (a.L + kBQ - 1) / kBQ, nkb = (a.S + kBK - 1) / kBK, G = a.Hq / a.Hk;
  const T scale = static_cast<T>(a.scale);
  const T* Q = static_cast<const T*>(a.q);
  const T* K = static_cast<const T*>(a.k);
  const T* Vv = static_cast<const T*>(a.v);
  const T* GO = static_cast<const T*>(a.grad_out);
  const T* LSE = static_cast<const T*>(a.lse_in);
  const T* DL = static_cast<const T*>(a.delta);
  compute_delta<T>(a);

  // dP -> dS for one tile, Sb (scores -> P) and Db (dO V^T -> dS) row-major; also writes the
  // transposes PdT (dropped P) and dST when asked.
  auto tile_ds = [&](int64_t bh, int64_t i0, int64_t nrows, int64_t j0, int64_t nk, T* Sb, T* Db, T* z, T* PdT,
                     T* dST) {
    for (int64_t r = 0; r < kBQ; ++r) {
      T* s = Sb + r * kBK;
      T* dp = Db + r * kBK;
      if (r >= nrows) {
        for (int64_t jj = 0; jj < kBK; ++jj) s[jj] = dp[jj] = T(0);
      } else {
        const int64_t i = i0 + r;
        finish_scores(a, bh, i, j0, nk, kBK, s);
        probs_row(s, LSE[bh * a.L + i], kBK);
        const T di = DL[bh * a.L + i];
        if (a.dropout_p > 0) {
          dropout_row(a, bh, i, j0, nk, z);
          for (int64_t jj = nk; jj < kBK; ++jj) z[jj] = T(0);
#pragma omp simd
          for (int64_t jj = 0; jj < kBK; ++jj) {
            const T p = s[jj];
            s[jj] = p * z[jj];               // Pd
            dp[jj] = p * (dp[jj] * z[jj] - di);  // dS
          }
        } else {
#pragma omp simd
          for (int64_t jj = 0; jj < kBK; ++jj) dp[jj] = s[jj] * (dp[jj] - di);
        }
      }
      if (PdT)
        for (int64_t jj = 0; jj < kBK; ++jj) {
          PdT[jj * kBQ + r] = s[jj];
          dST[jj * kBQ + r] = dp[jj];
        }
    }
  };

  // Pass 2: dK, dV per (b, key/value head, key block).
  parallel_for_each(a.B * a.Hk * nkb, a.nthreads, [&](int64_t task) {
    const int64_t kvh = task / nkb, j0 = (task % nkb) * kBK, nk = min64(kBK, a.S - j0);
    const int64_t b = kvh / a.Hk, hk = kvh % a.Hk;
    Carver<T> w{thread_work<T>(a)};
    T* Kt = w.take(a.E * kBK);
    T* Vt = w.take(a.Ev * kBK);
    T* Qp = w.take(kBQ * d.Ep);
    T* dOp = w.take(kBQ * d.Evp);
    T* Sb = w.take(kBQ * kBK);
    T* Db = w.take(kBQ * kBK);
    T* PdT = w.take(kBK * kBQ);
    T* dST = w.take(kBK * kBQ);
    T* dKa = w.take(kBK * d.Ep);
    T* dVa = w.take(kBK * d.Evp);
    T* z = w.take(kBK);
    pack_t(K + (kvh * a.S + j0) * a.E, a.E, nk, kBK, Kt);
    pack_t(Vv + (kvh * a.S + j0) * a.Ev, a.Ev, nk, kBK, Vt);
    for (int64_t x = 0; x < kBK * d.Ep; ++x) dKa[x] = T(0);
    for (int64_t x = 0; x < kBK * d.Evp; ++x) dVa[x] = T(0);
    const int64_t qb0 = a.causal ? j0 / kBQ : 0;
    for (int64_t h = hk * G; h < (hk + 1) * G; ++h) {
      const int64_t bh = b * a.Hq + h;
      for (int64_t qb = qb0; qb < nqb; ++qb) {
        const int64_t i0 = qb * kBQ, nrows = min64(kBQ, a.L - i0);
        pack_rows(Q + (bh * a.L + i0) * a.E, a.E, nrows, kBQ, Qp, d.Ep);
        pack_rows(GO + (bh * a.L + i0) * a.Ev, a.Ev, nrows, kBQ, dOp, d.Evp);
        block_gemm<V>(Qp, d.Ep, Kt, kBK, Sb, kBK, kBQ, kBK, a.E, false);
        block_gemm<V>(dOp, d.Evp, Vt, kBK, Db, kBK, kBQ, kBK, a.Ev, false);
        tile_ds(bh, i0, nrows, j0, nk, Sb, Db, z, PdT, dST);
        block_gemm<V>(PdT, kBQ, dOp, d.Evp, dVa, d.Evp, kBK, d.Evp, kBQ, true);
        block_gemm<V>(dST, kBQ, Qp, d.Ep, dKa, d.Ep, kBK, d.Ep, kBQ, true);
      }
    }
    T* dk = static_cast<T*>(a.grad_k) + (kvh * a.S + j0) * a.E;
    T* dv = static_cast<T*>(a.grad_v) + (kvh * a.S + j0) * a.Ev;
    for (int64_t r = 0; r < nk; ++r) {
      for (int64_t c = 0; c < a.E; ++c) dk[r * a.E + c] = dKa[r * d.Ep + c] * scale;
      for (int64_t c = 0; c < a.Ev; ++c) dv[r * a.Ev + c] = dVa[r * d.Evp + c];
    }
  });

  // Pass 3: dQ per (bh, query block).
  parallel_for_each(a.B * a.Hq * nqb, a.nthreads, [&](int64_t task) {
    const int64_t bh = task / nqb, i0 = (task % nqb) * kBQ, nrows = min64(kBQ, a.L - i0);
    const int64_t b = bh / a.Hq, h = bh % a.Hq, kvh = b * a.Hk + h / G;
    Carver<T> w{thread_work<T>(a)};
    T* Qp = w.take(kBQ * d.Ep);
    T* dOp = w.take(kBQ * d.Evp);
    T* Kt = w.take(a.E * kBK);
    T* Vt = w.take(a.Ev * kBK);
    T* Kp = w.take(kBK * d.Ep);
    T* Sb = w.take(kBQ * kBK);
    T* Db = w.take(kBQ * kBK);
    T* dQa = w.take(kBQ * d.Ep);
    T* z = w.take(kBK);
    pack_rows(Q + (bh * a.L + i0) * a.E, a.E, nrows, kBQ, Qp, d.Ep);
    pack_rows(GO + (bh * a.L + i0) * a.Ev, a.Ev, nrows, kBQ, dOp, d.Evp);
    for (int64_t x = 0; x < kBQ * d.Ep; ++x) dQa[x] = T(0);
    const int64_t kend = a.causal ? min64(a.S, i0 + nrows) : a.S;
    for (int64_t j0 = 0; j0 < kend; j0 += kBK) {
      const int64_t nk = min64(kBK, a.S - j0);
      const T* kb = K + (kvh * a.S + j0) * a.E;
      pack_t(kb, a.E, nk, kBK, Kt);
      pack_t(Vv + (kvh * a.S + j0) * a.Ev, a.Ev, nk, kBK, Vt);
      pack_rows(kb, a.E, nk, kBK, Kp, d.Ep);
      block_gemm<V>(Qp, d.Ep, Kt, kBK, Sb, kBK, kBQ, kBK, a.E, false);
      block_gemm<V>(dOp, d.Evp, Vt, kBK, Db, kBK, kBQ, kBK, a.Ev, false);
      tile_ds(bh, i0, nrows, j0, nk, Sb, Db, z, nullptr, nullptr);
      block_gemm<V>(Db, kBK, Kp, d.Ep, dQa, d.Ep, kBQ, d.Ep, kBK, true);
    }
    T* dq = static_cast<T*>(a.grad_q) + (bh * a.L + i0) * a.E;
    for (int64_t r = 0; r < nrows; ++r)
      for (int64_t c = 0; c < a.E; ++c) dq[r * a.E + c] = dQa[r * d.Ep + c] * scale;
  });
}

// ---- reference: one query row at a time, scores of one row in scratch ------------------------
template <class T>
T dot(const T* x, const T* y, int64_t n) {
  T acc = T(0);
  for (int64_t c = 0; c < n; ++c) acc += x[c] * y[c];
  return acc;
}

// Scores -> probabilities of row i of head bh into s (S values); returns false for an empty row.
template <class T>
bool reference_probs(const AttnArgs& a, int64_t bh, int64_t i, const T* q, const T* k, T* s) {
  const T ninf = -__builtin_huge_val();
  for (int64_t j = 0; j < a.S; ++j) s[j] = dot(q + i * a.E, k + j * a.E, a.E);
  finish_scores(a, bh, i, 0, a.S, a.S, s);
  T mx = ninf;
  for (int64_t j = 0; j < a.S; ++j) mx = s[j] > mx ? s[j] : mx;
  if (mx == ninf) return false;
  T sum = T(0);
  for (int64_t j = 0; j < a.S; ++j) {
    s[j] = s[j] == ninf ? T(0) : exp_s(s[j] - mx);
    sum += s[j];
  }
  for (int64_t j = 0; j < a.S; ++j) s[j] /= sum;
  if (a.lse) static_cast<T*>(a.lse)[bh * a.L + i] = mx + log_s(sum);
  return true;
}

template <class T>
void reference_forward(const AttnArgs& a) {
  const int64_t G = a.Hq / a.Hk;
  parallel_for_each(a.B * a.Hq * a.L, a.nthreads, [&](int64_t task) {
    const int64_t bh = task / a.L, i = task % a.L, b = bh / a.Hq, kvh = b * a.Hk + (bh % a.Hq) / G;
    const T* q = static_cast<const T*>(a.q) + bh * a.L * a.E;
    const T* k = static_cast<const T*>(a.k) + kvh * a.S * a.E;
    const T* v = static_cast<const T*>(a.v) + kvh * a.S * a.Ev;
    T* s = thread_work<T>(a);
    T* z = s + round_up(a.S, 16);
    T* o = static_cast<T*>(a.out) + (bh * a.L + i) * a.Ev;
    for (int64_t c = 0; c < a.Ev; ++c) o[c] = T(0);
    if (!reference_probs(a, bh, i, q, k, s)) {
      static_cast<T*>(a.lse)[bh * a.L + i] = -__builtin_huge_val();
      return;
    }
    if (a.dropout_p > 0) {
      dropout_row(a, bh, i, 0, a.S, z);
      for (int64_t j = 0; j < a.S; ++j) s[j] *= z[j];
    }
    for (int64_t j = 0; j < a.S; ++j)
      for (int64_t c = 0; c < a.Ev; ++c) o[c] += s[j] * v[j * a.Ev + c];
  });
}

template <class T>
void reference_backward(const AttnArgs& a) {
  const int64_t G = a.Hq / a.Hk;
  const T scale = static_cast<T>(a.scale);
  AttnArgs ar = a;
  ar.lse = nullptr;  // probabilities are recomputed exactly; logsumexp is not rewritten
  // One task per key/value head: it owns dK and dV of that head (no atomics).
  parallel_for_each(a.B * a.Hk, a.nthreads, [&](int64_t kvh) {
    const int64_t b = kvh / a.Hk, hk = kvh % a.Hk;
    const T* k = static_cast<const T*>(a.k) + kvh * a.S * a.E;
    const T* v = static_cast<const T*>(a.v) + kvh * a.S * a.Ev;
    T* dk = static_cast<T*>(a.grad_k) + kvh * a.S * a.E;
    T* dv = static_cast<T*>(a.grad_v) + kvh * a.S * a.Ev;
    for (int64_t x = 0; x < a.S * a.E; ++x) dk[x] = T(0);
    for (int64_t x = 0; x < a.S * a.Ev; ++x) dv[x] = T(0);
    T* s = thread_work<T>(a);
    T* z = s + round_up(a.S, 16);
    for (int64_t h = hk * G; h < (hk + 1) * G; ++h) {
      const int64_t bh = b * a.Hq + h;
      const T* q = static_cast<const T*>(a.q) + bh * a.L * a.E;
      const T* go = static_cast<const T*>(a.grad_out) + bh * a.L * a.Ev;
      const T* o = static_cast<const T*>(a.out_in) + bh * a.L * a.Ev;
      T* dq = static_cast<T*>(a.grad_q) + bh * a.L * a.E;
      for (int64_t i = 0; i < a.L; ++i) {
        T* dqi = dq + i * a.E;
        for (int64_t c = 0; c < a.E; ++c) dqi[c] = T(0);
        if (!reference_probs(ar, bh, i, q, k, s)) continue;
        if (a.dropout_p > 0)
          dropout_row(a, bh, i, 0, a.S, z);
        else
          for (int64_t j = 0; j < a.S; ++j) z[j] = T(1);
        const T* gi = go + i * a.Ev;
        const T di = dot(gi, o + i * a.Ev, a.Ev);
        for (int64_t j = 0; j < a.S; ++j) {
          if (s[j] == T(0)) continue;
          const T pd = s[j] * z[j];
          const T ds = s[j] * (dot(gi, v + j * a.Ev, a.Ev) * z[j] - di) * scale;
          for (int64_t c = 0; c < a.Ev; ++c) dv[j * a.Ev + c] += pd * gi[c];
          for (int64_t c = 0; c < a.E; ++c) {
            dqi[c] += ds * k[j * a.E + c];
            dk[j * a.E + c] += ds * q[i * a.E + c];
          }
        }
      }
    }
  });
}

// ---- entry points ---------------------------------------------------------------------------
template <class V>
int64_t workspace_elems(const AttnArgs& a, bool backward) {
  const Dims<V> d(a);
  auto r = [](int64_t n) { return round_up(n, 16); };
  if (a.algo == kAttnReference) return 2 * r(a.S) + 16;
  if (!backward)
    return r(kBQ * a.E) + r(a.E * kBK) + r(kBK * d.Evp) + r(kBQ * kBK) + r(kBQ * d.Evp) + 2 * r(kBQ) + r(kBK) + 16;
  const int64_t p2 = r(a.E * kBK) + r(a.Ev * kBK) + r(kBQ * d.Ep) + r(kBQ * d.Evp) + 4 * r(kBQ * kBK) +
                     r(kBK * d.Ep) + r(kBK * d.Evp) + r(kBK);
  const int64_t p3 = r(kBQ * d.Ep) + r(kBQ * d.Evp) + r(a.E * kBK) + r(a.Ev * kBK) + r(kBK * d.Ep) +
                     2 * r(kBQ * kBK) + r(kBQ * d.Ep) + r(kBK);
  return (p2 > p3 ? p2 : p3) + 16;
}

int64_t attention_workspace(const AttnArgs& a, bool backward) {
  if (a.dtype == DType::Float32) return workspace_elems<VecF>(a, backward) * 4;
  return workspace_elems<VecD>(a, backward) * 8;
}

void attention_forward_kernel(const AttnArgs& a) {
  if (a.algo == kAttnReference) {
    if (a.dtype == DType::Float32)
      reference_forward<float>(a);
    else
      reference_forward<double>(a);
  } else if (a.dtype == DType::Float32) {
    flash_forward<VecF>(a);
  } else {
    flash_forward<VecD>(a);
  }
}

void attention_backward_kernel(const AttnArgs& a) {
  if (a.algo == kAttnReference) {
    if (a.dtype == DType::Float32)
      reference_backward<float>(a);
    else
      reference_backward<double>(a);
  } else if (a.dtype == DType::Float32) {
    flash_backward<VecF>(a);
  } else {
    flash_backward<VecD>(a);
  }
}

}  // namespace
DL_REGISTER_CPU_KERNEL(sdpa_workspace, AttnWorkFn, attention_workspace);
DL_REGISTER_CPU_KERNEL(sdpa_forward, AttnFn, attention_forward_kernel);
DL_REGISTER_CPU_KERNEL(sdpa_backward, AttnFn, attention_backward_kernel);
}  // namespace dl::DL_ISA_NS

// The tile layer of the CPU GEMM: one micro-kernel call on an MR x NR (or narrower) tile of C,
// edge tiles through a padded copy, the epilogue on a finished tile, and the K == 0 and
// no-scratch fallbacks.  Every driver (gemm_cpu.cpp, gemm_small.h) computes C through these, so
// every element is the same k-ordered FMA chain whichever driver runs.  Included only by
// gemm_cpu.cpp, i.e. compiled once per ISA: everything here lives in dl::DL_ISA_NS.
#pragma once
#include <stdint.h>

#include "ops/gemm.h"
#include "ops/gemm_epilogue.h"
#include "ops/gemm_microkernel.h"
#include "ops/gemm_pack.h"

namespace dl::DL_ISA_NS {
namespace {
using namespace gemm_detail;

template <class V>
struct GemmTiles {
  using T = typename V::T;
  using Bk = Blocking<V>;
  static constexpr int MR = Bk::MR, NR = Bk::NR;


  // K slices of equal depth (at most KC): K = 1100 runs as 3 slices of 367 or 366 rather than
  // 2 of 512 and one of 76, whose short k loop would not amortise the C tile's load and store.
  static int64_t k_step(int64_t K, int64_t kc_max = Bk::KC) { return ceil_div(K, ceil_div(K, kc_max)); }

  // One MR x NR tile.  Edge tiles (and a C with non-unit column stride) go through a padded
  // local copy so they run the very same micro-kernel as interior tiles.  pf: the packed B
  // micro-panel the next tiles will use, given to the last tile on the current one; its k loop
  // pulls it into L2 while it computes (3% on 1024^2 and 2048^2, more when the machine is busy).
  // kARows: ap is row i of a row-major A read in place, rows lda apart (m == MR); otherwise ap
  // is a packed A micro-panel (kc steps of MR values; lda unused).
  template <bool kARows = false>
  static void tile(const Prob<T>& p, int64_t kc, bool first, bool last, const T* ap, const T* bp, int64_t i,
                   int64_t j, int64_t m, int64_t n, int64_t ldb = NR, const T* pf = nullptr, int64_t lda = MR) {
    T* cp = p.c + i * p.c_rs + j * p.c_cs;
    const bool read_c = !first || p.beta != T(0);
    const T beta = first ? p.beta : T(1);
    // A last column panel of at most one vector of columns runs a one-vector kernel (N = 100 is
    // 3 x 32 + 4: the two-vector kernel spent a quarter of its time on that panel).
    if (n <= V::W) rows_kernel<kARows, 1>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
    else rows_kernel<kARows, kNV>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
    if (last && (p.bias || p.act)) {
      const bool vec = m == MR && n == NR && p.c_cs == 1 && p.act != kGemmActGelu &&
                       (!p.bias || (p.bias_stride == 1 && !p.bias_per_row));
      if (vec) epilogue_tile<V>(p, cp, j);
      else epilogue(p, cp, m, n, i, j);
    }
  }

  // A last row panel of m < MR rows runs a kernel of MR/3 or 2MR/3 rows when that covers it,
  // instead of MR rows that are mostly padding (64 rows are 5 x 12 + 4: a 12-row kernel for the
  // last 4 did 1/9 more work than 64^3 needs).  Each element's FMA chain is the same.
  template <bool kARows, int kNVt>
  static void rows_kernel(const Prob<T>& p, int64_t kc, const T* ap, int64_t lda, const T* bp, int64_t ldb, T* cp,
                          int64_t m, int64_t n, bool read_c, T beta, const T* pf) {
    if constexpr (!kARows && MR % 3 == 0) {
      if (m <= MR / 3) compute<MR / 3, false, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
      else if (m <= 2 * MR / 3) compute<2 * MR / 3, false, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
      else compute<MR, false, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
    } else if constexpr (kARows && MR % 3 == 0) {  // in place: m is MR or 2MR/3 (small_panel, gemm_small.h)
      if (m == MR) compute<MR, true, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
      else compute<2 * MR / 3, true, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
    } else {
      compute<MR, kARows, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
    }
  }

  // The kM-row, kNVt-vector kernel on an m x n (m <= kM, n <= kNVt W) tile at cp: in place when
  // it fills the kernel's tile and C's columns are unit-stride, else through a padded local copy,
  // so that edge tiles run the very same kernel as interior ones.
  template <int kM, bool kARows, int kNVt>
  static void compute(const Prob<T>& p, int64_t kc, const T* ap, int64_t lda, const T* bp, int64_t ldb, T* cp,
                      int64_t m, int64_t n, bool read_c, T beta, const T* pf) {
    constexpr int kN = kNVt * V::W;
    if (m == kM && n == kN && p.c_cs == 1) {
      ukernel<V, kARows, kM, kNVt>(kc, ap, lda, bp, ldb, cp, p.c_rs, p.alpha, beta, read_c, pf);
      return;
    }
    alignas(64) T t[kM * kN];
    if (read_c)  // (otherwise the kernel writes every element of t without reading it)
      for (int64_t ii = 0; ii < kM; ++ii)
        for (int64_t jj = 0; jj < kN; ++jj) t[ii * kN + jj] = (ii < m && jj < n) ? cp[ii * p.c_rs + jj * p.c_cs] : T(0);
    ukernel<V, kARows, kM, kNVt>(kc, ap, lda, bp, ldb, t, kN, p.alpha, beta, read_c);
    for (int64_t ii = 0; ii < m; ++ii)
      for (int64_t jj = 0; jj < n; ++jj) cp[ii * p.c_rs + jj * p.c_cs] = t[ii * kN + jj];
  }

  // C = beta C (K == 0), then the epilogue.
  static void no_k(const Prob<T>& p) {
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t j = 0; j < p.N; ++j) {
        T& c = p.c[i * p.c_rs + j * p.c_cs];
        c = p.beta == T(0) ? T(0) : p.beta * c;
      }
    if (p.bias || p.act) epilogue(p, p.c, p.M, p.N, 0, 0);
  }

  static void naive(const Prob<T>& p) {  // only when scratch memory cannot be had
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t j = 0; j < p.N; ++j) {
        T s = 0;
        for (int64_t k = 0; k < p.K; ++k) s = s + p.a[i * p.a_rs + k * p.a_cs] * p.b[k * p.b_rs + j * p.b_cs];
        T& c = p.c[i * p.c_rs + j * p.c_cs];
        c = p.beta == T(0) ? p.alpha * s : p.alpha * s + p.beta * c;
      }
    if (p.bias || p.act) epilogue(p, p.c, p.M, p.N, 0, 0);
  }
};

}  // namespace
}  // namespace dl::DL_ISA_NS

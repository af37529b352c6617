// The problem a CPU GEMM driver works on, its per-thread packing scratch, and the packing of A
// and B into the micro-panels the micro-kernel reads (gemm_microkernel.h).  Included only by
// gemm_cpu.cpp, i.e. compiled once per ISA: everything here lives in dl::DL_ISA_NS.
#pragma once
#include <stdint.h>
#include <stdlib.h>

#include "ops/gemm_microkernel.h"

namespace dl::DL_ISA_NS {
namespace {
using namespace gemm_detail;

// C = alpha op(A) op(B) + beta C (+ bias, activation): any strides, in elements.
template <class T>
struct Prob {
  const T* a;
  const T* b;
  T* c;
  int64_t M, N, K, a_rs, a_cs, b_rs, b_cs, c_rs, c_cs;
  T alpha, beta;
  const T* bias;
  int64_t bias_stride;
  bool bias_per_row;  // the problem was transposed (see transposed()): the bias runs down rows
  int act;
};

inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
inline int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }
// The first 64-byte boundary at or after q: sub-buffers carved out of one scratch block.
template <class T>
T* align64(char* q) { return reinterpret_cast<T*>(q + (64 - reinterpret_cast<uintptr_t>(q) % 64) % 64); }

// One growable, 64-byte aligned scratch buffer per thread (packing space), kept between calls so
// a GEMM does not pay for page faults on freshly mapped memory every time.
struct Scratch {
  void* p = nullptr;
  size_t n = 0;
  ~Scratch() { free(p); }
  void* get(size_t bytes) {
    if (bytes <= n) return p;
    free(p);
    p = nullptr;
    n = 0;
    if (posix_memalign(&p, 64, bytes) != 0) {
      p = nullptr;
      return nullptr;
    }
    n = bytes;
    return p;
  }
};
thread_local Scratch tls_scratch;

// rows [i0, i0+mc) x k [pc, pc+kc) of op(A) -> MR-row micro-panels, zero-padded to MR rows.
template <class T>
void pack_a(const Prob<T>& p, int64_t i0, int64_t mc, int64_t pc, int64_t kc, T* dst) {
  constexpr int MR = kMR;
  for (int64_t ir = 0; ir < mc; ir += MR, dst += kc * MR) {
    const int64_t m = min64(MR, mc - ir);
    const T* src = p.a + (i0 + ir) * p.a_rs + pc * p.a_cs;
    const int64_t rs = p.a_rs, cs = p.a_cs;
    if (m == MR && rs == 1) {
      for (int64_t k = 0; k < kc; ++k)
        for (int i = 0; i < MR; ++i) dst[k * MR + i] = src[k * cs + i];
    } else if (m == MR) {
      int64_t k0 = 0;
#if defined(DL_GEMM_HAVE_TRANSPOSE16)
      if constexpr (sizeof(T) == 4 && MR <= 16) {
        if (cs == 1)  // row-major A: 16 k at a time through registers
          for (; k0 + 16 <= kc; k0 += 16) transpose16(src + k0, rs, MR, dst + k0 * MR, MR);
      }
#endif
      for (int64_t k = k0; k < kc; ++k)
        for (int i = 0; i < MR; ++i) dst[k * MR + i] = src[i * rs + k * cs];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int i = 0; i < MR; ++i) dst[k * MR + i] = i < m ? src[i * rs + k * cs] : T(0);
    }
  }
}

// columns [j, j+n) x k [pc, pc+kc) of op(B) -> one NR-column micro-panel, zero-padded.
template <class T, int NR>
void pack_b_panel(const Prob<T>& p, int64_t pc, int64_t kc, int64_t j, int64_t n, T* dst) {
  const T* src = p.b + pc * p.b_rs + j * p.b_cs;
  const int64_t rs = p.b_rs, cs = p.b_cs;
  if (n == NR && cs == 1) {
    for (int64_t k = 0; k < kc; ++k)
      for (int jj = 0; jj < NR; ++jj) dst[k * NR + jj] = src[k * rs + jj];
  } else if (n == NR && rs == 1) {
    // op(B) is a transposed row-major matrix (a Linear weight): read along k, write strided.
    int64_t k0 = 0;
#if defined(DL_GEMM_HAVE_TRANSPOSE16)
    if constexpr (sizeof(T) == 4 && NR % 16 == 0) {
      for (; k0 + 16 <= kc; k0 += 16)
        for (int jj = 0; jj < NR; jj += 16) transpose16(src + jj * cs + k0, cs, 16, dst + k0 * NR + jj, NR);
    }
#endif
    for (int jj = 0; jj < NR; ++jj)
      for (int64_t k = k0; k < kc; ++k) dst[k * NR + jj] = src[jj * cs + k];
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int jj = 0; jj < NR; ++jj) dst[k * NR + jj] = jj < n ? src[k * rs + jj * cs] : T(0);
  }
}

// Columns [0, NR * panels) x k [0, K) of a row-major op(B) (b_cs == 1) -> `panels` consecutive
// NR-column micro-panels.  Row by row, so B is read once in order (its hardware prefetch runs
// ahead) rather than as NR-wide strips a row apart.
template <class T, int NR>
void pack_b_rows(const Prob<T>& p, int64_t panels, T* dst) {
  for (int64_t k = 0; k < p.K; ++k) {
    const T* src = p.b + k * p.b_rs;
    for (int64_t q = 0; q < panels; ++q) {
      T* d = dst + q * p.K * NR + k * NR;
      for (int jj = 0; jj < NR; ++jj) d[jj] = src[q * NR + jj];
    }
  }
}

}  // namespace
}  // namespace dl::DL_ISA_NS

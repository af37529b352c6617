// The GEMM epilogue: bias and activation (relu, exact gelu) on a finished tile of C.  Included
// only by gemm_cpu.cpp, i.e. compiled once per ISA: everything here lives in dl::DL_ISA_NS.
#pragma once
#include <math.h>
#include <stdint.h>

#include "ops/gemm.h"
#include "ops/gemm_microkernel.h"
#include "ops/gemm_pack.h"

namespace dl::DL_ISA_NS {
namespace {
using namespace gemm_detail;

template <class T>
inline T apply_act(T v, int act) {
  if (act == kGemmActRelu) return v < T(0) ? T(0) : v;  // NaN stays NaN, as in torch.relu
  if (act == kGemmActGelu) {
    const T e = sizeof(T) == 4 ? static_cast<T>(erff(static_cast<float>(v) * 0.70710678118654752f))
                               : static_cast<T>(erf(static_cast<double>(v) * 0.70710678118654752));
    return T(0.5) * v * (T(1) + e);
  }
  return v;
}

// Bias and activation on a just-finished (cache-hot) tile of C.
template <class T>
void epilogue(const Prob<T>& p, T* c, int64_t m, int64_t n, int64_t row0, int64_t col0) {
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * p.c_rs;
    for (int64_t j = 0; j < n; ++j) {
      T v = row[j * p.c_cs];
      if (p.bias) v = v + p.bias[(p.bias_per_row ? row0 + i : col0 + j) * p.bias_stride];
      row[j * p.c_cs] = apply_act(v, p.act);
    }
  }
}

// The same epilogue on a whole interior MR x NR tile (unit column stride, contiguous bias, no
// gelu) with vector ops: the same additions and selects as the scalar loop, so the same bits.
// For small K the scalar loop cost as much as the tile's FMAs.
template <class V>
void epilogue_tile(const Prob<typename V::T>& p, typename V::T* c, int64_t col0) {
  using R = typename V::R;
  for (int i = 0; i < kMR; ++i)
    for (int v = 0; v < kNV; ++v) {
      typename V::T* q = c + i * p.c_rs + v * V::W;
      R x = V::load(q);
      if (p.bias) x = V::add(x, V::load(p.bias + col0 + v * V::W));
      if (p.act == kGemmActRelu) x = V::relu(x);
      V::store(q, x);
    }
}

}  // namespace
}  // namespace dl::DL_ISA_NS

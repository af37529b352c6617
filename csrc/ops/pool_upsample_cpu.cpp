// CPU kernels of upsampling (nearest, nearest-exact, linear / bilinear), forward and backward,
// per ISA.  The entry hands over per-row and per-column source indices and weights (PyTorch's
// formulas), so the kernels are gathers and blends.
//
// Forward: one task per output row; a linear row blends two input rows, each interpolated along W
// with the column tables: out = (r0[w0] lw0 + r0[w1] lw1) lh0 + (r1[w0] lw0 + r1[w1] lw1) lh1,
// PyTorch's order of operations.  Backward: one task per plane, which owns its gradient plane: a
// grad row is first scattered along W into a row buffer (in column order), then the buffer is
// added, scaled by lh0 and lh1, into input rows h0 and h1 (vectorised), so sums have a fixed order
// and no two threads write one element.
#include <cstring>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/pool.h"

namespace dl::DL_ISA_NS {
namespace {

template <class T>
void upsample_typed(const UpsampleArgs& a) {
  const int64_t H = a.H, W = a.W, OH = a.OH, OW = a.OW;
  const int64_t* __restrict w0 = a.w0;
  const bool lin = a.mode == UpsampleMode::Linear;
  parallel_for(a.planes * OH, OW * (lin ? 8 : 1), [&](int64_t r) {
    const int64_t p = r / OH, oh = r % OH;
    const T* x = static_cast<const T*>(a.x) + p * H * W;
    T* __restrict o = static_cast<T*>(a.out) + r * OW;
    const T* __restrict r0 = x + a.h0[oh] * W;
    if (!lin) {
#pragma omp simd
      for (int64_t ow = 0; ow < OW; ++ow) o[ow] = r0[w0[ow]];
      return;
    }
    const int64_t* __restrict w1 = a.w1;
    const T* __restrict lw0 = static_cast<const T*>(a.lw0);
    const T* __restrict lw1 = static_cast<const T*>(a.lw1);
    const T a0 = static_cast<const T*>(a.lh0)[oh], a1 = static_cast<const T*>(a.lh1)[oh];
    const T* __restrict r1 = x + a.h1[oh] * W;
    if (a1 == T(0) && r1 == r0) {  // a 1-d input (or an exact row): one row, no vertical blend
#pragma omp simd
      for (int64_t ow = 0; ow < OW; ++ow) o[ow] = r0[w0[ow]] * lw0[ow] + r0[w1[ow]] * lw1[ow];
      return;
    }
#pragma omp simd
    for (int64_t ow = 0; ow < OW; ++ow)
      o[ow] = (r0[w0[ow]] * lw0[ow] + r0[w1[ow]] * lw1[ow]) * a0 + (r1[w0[ow]] * lw0[ow] + r1[w1[ow]] * lw1[ow]) * a1;
  });
}

template <class T>
void upsample_backward_typed(const UpsampleArgs& a) {
  // x: grad (planes, OH, OW); out: grad input (planes, H, W)
  const int64_t H = a.H, W = a.W, OH = a.OH, OW = a.OW;
  const bool lin = a.mode == UpsampleMode::Linear;
  parallel_for(a.planes, H * W + OH * OW * (lin ? 4 : 1), [&](int64_t p) {
    const T* g = static_cast<const T*>(a.x) + p * OH * OW;
    T* __restrict gx = static_cast<T*>(a.out) + p * H * W;
    std::memset(gx, 0, sizeof(T) * static_cast<size_t>(H * W));
    if (!lin) {
      for (int64_t oh = 0; oh < OH; ++oh) {
        T* gr = gx + a.h0[oh] * W;
        const T* gg = g + oh * OW;
        for (int64_t ow = 0; ow < OW; ++ow) gr[a.w0[ow]] += gg[ow];
      }
      return;
    }
    const T* lw0 = static_cast<const T*>(a.lw0);
    const T* lw1 = static_cast<const T*>(a.lw1);
    T* t = new T[static_cast<size_t>(W)];
    for (int64_t oh = 0; oh < OH; ++oh) {
      const T* gg = g + oh * OW;
      std::memset(t, 0, sizeof(T) * static_cast<size_t>(W));
      for (int64_t ow = 0; ow < OW; ++ow) {
        t[a.w0[ow]] += gg[ow] * lw0[ow];
        t[a.w1[ow]] += gg[ow] * lw1[ow];
      }
      const T a0 = static_cast<const T*>(a.lh0)[oh], a1 = static_cast<const T*>(a.lh1)[oh];
      T* __restrict g0 = gx + a.h0[oh] * W;
      T* __restrict g1 = gx + a.h1[oh] * W;
      const T* __restrict tt = t;
      if (g0 == g1) {
#pragma omp simd
        for (int64_t i = 0; i < W; ++i) g0[i] += tt[i] * a0 + tt[i] * a1;
      } else {
#pragma omp simd
        for (int64_t i = 0; i < W; ++i) {
          g0[i] += tt[i] * a0;
          g1[i] += tt[i] * a1;
        }
      }
    }
    delete[] t;
  });
}

void upsample_kernel(const UpsampleArgs& a) {
  if (a.dtype == DType::Float32)
    upsample_typed<float>(a);
  else
    upsample_typed<double>(a);
}

void upsample_backward_kernel(const UpsampleArgs& a) {
  if (a.dtype == DType::Float32)
    upsample_backward_typed<float>(a);
  else
    upsample_backward_typed<double>(a);
}

}  // namespace
DL_REGISTER_CPU_KERNEL(upsample, UpsampleFn, upsample_kernel);
DL_REGISTER_CPU_KERNEL(upsample_backward, UpsampleFn, upsample_backward_kernel);
}  // namespace dl::DL_ISA_NS

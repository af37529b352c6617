// CPU kernels of upsampling (nearest, nearest-exact, linear / bilinear), forward and backward,
// per ISA.  The entry hands over per-row and per-column source indices and weights (PyTorch's
// formulas), so the kernels are gathers and blends.
//
// Forward: a linear row blends two input rows, each interpolated along W with the column tables:
// out = (r0[w0] lw0 + r0[w1] lw1) lh0 + (r1[w0] lw0 + r1[w1] lw1) lh1, PyTorch's order of
// operations; a task takes a block of output rows and interpolates each input row it needs once.
// Backward: one task per plane, which owns its gradient plane (see upsample_backward_typed), so
// sums have a fixed order and no two threads write one element.
#include <cstring>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/pool.h"

namespace dl::DL_ISA_NS {
namespace {

// Output rows per task: a task's cache of interpolated input rows serves all of them.
constexpr int64_t kRowBlock = 16;

// Input rows interpolated along W (r[w0] lw0 + r[w1] lw1), the last two computed: consecutive
// output rows share their source rows (2x upsampling: each input row serves 4 output rows), so
// most rows are blended from the cache without a gather.
template <class T>
class HRows {
 public:
  explicit HRows(int64_t OW) : buf_(new T[static_cast<size_t>(2 * OW)]), OW_(OW) {}
  ~HRows() { delete[] buf_; }
  HRows(const HRows&) = delete;
  HRows& operator=(const HRows&) = delete;

  const T* get(const UpsampleArgs& a, const T* x, int64_t h, int64_t keep) {
    for (int s = 0; s < 2; ++s)
      if (row_[s] == h) return buf_ + s * OW_;
    const int s = row_[0] == keep ? 1 : 0;  // evict the row the caller does not also need
    row_[s] = h;
    T* __restrict o = buf_ + s * OW_;
    const T* __restrict r = x + h * a.W;
    const int64_t* __restrict w0 = a.w0;
    const int64_t* __restrict w1 = a.w1;
    const T* __restrict lw0 = static_cast<const T*>(a.lw0);
    const T* __restrict lw1 = static_cast<const T*>(a.lw1);
#pragma omp simd
    for (int64_t ow = 0; ow < OW_; ++ow) o[ow] = r[w0[ow]] * lw0[ow] + r[w1[ow]] * lw1[ow];
    return o;
  }

 private:
  T* buf_;
  int64_t OW_;
  int64_t row_[2] = {-1, -1};
};

template <class T>
void upsample_typed(const UpsampleArgs& a) {
  const int64_t H = a.H, W = a.W, OH = a.OH, OW = a.OW;
  const int64_t* __restrict w0 = a.w0;
  if (a.mode != UpsampleMode::Linear) {
    parallel_for(a.planes * OH, OW, [&](int64_t r) {
      const int64_t p = r / OH, oh = r % OH;
      const T* __restrict r0 = static_cast<const T*>(a.x) + p * H * W + a.h0[oh] * W;
      T* __restrict o = static_cast<T*>(a.out) + r * OW;
#pragma omp simd
      for (int64_t ow = 0; ow < OW; ++ow) o[ow] = r0[w0[ow]];
    });
    return;
  }
  const int64_t blocks = (OH + kRowBlock - 1) / kRowBlock;
  parallel_for(a.planes * blocks, kRowBlock * OW * 4, [&](int64_t t) {
    const int64_t p = t / blocks, oh0 = (t % blocks) * kRowBlock;
    const T* x = static_cast<const T*>(a.x) + p * H * W;
    HRows<T> rows(OW);
    for (int64_t oh = oh0; oh < OH && oh < oh0 + kRowBlock; ++oh) {
      T* __restrict o = static_cast<T*>(a.out) + (p * OH + oh) * OW;
      const int64_t h0 = a.h0[oh], h1 = a.h1[oh];
      const T a0 = static_cast<const T*>(a.lh0)[oh], a1 = static_cast<const T*>(a.lh1)[oh];
      const T* __restrict r0 = rows.get(a, x, h0, h1);
      if (a1 == T(0) && h1 == h0) {  // a 1-d input (or an exact row): no vertical blend
#pragma omp simd
        for (int64_t ow = 0; ow < OW; ++ow) o[ow] = r0[ow];
        continue;
      }
      const T* __restrict r1 = rows.get(a, x, h1, h0);
      // PyTorch's order: (r0[w0] lw0 + r0[w1] lw1) lh0 + (r1[w0] lw0 + r1[w1] lw1) lh1
#pragma omp simd
      for (int64_t ow = 0; ow < OW; ++ow) o[ow] = r0[ow] * a0 + r1[ow] * a1;
    }
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
    // The forward's transpose, vertical step first: u[h] = sum over output rows of g_row * lh (in
    // output-row order, vectorised), then each input row once along W (scattered in column order).
    const T* lw0 = static_cast<const T*>(a.lw0);
    const T* lw1 = static_cast<const T*>(a.lw1);
    T* u = new T[static_cast<size_t>(H * OW)];
    std::memset(u, 0, sizeof(T) * static_cast<size_t>(H * OW));
    for (int64_t oh = 0; oh < OH; ++oh) {
      const T* __restrict gg = g + oh * OW;
      const T a0 = static_cast<const T*>(a.lh0)[oh], a1 = static_cast<const T*>(a.lh1)[oh];
      T* __restrict u0 = u + a.h0[oh] * OW;
      T* __restrict u1 = u + a.h1[oh] * OW;
      if (u0 == u1) {
#pragma omp simd
        for (int64_t ow = 0; ow < OW; ++ow) u0[ow] += gg[ow] * a0 + gg[ow] * a1;
      } else {
#pragma omp simd
        for (int64_t ow = 0; ow < OW; ++ow) {
          u0[ow] += gg[ow] * a0;
          u1[ow] += gg[ow] * a1;
        }
      }
    }
    for (int64_t h = 0; h < H; ++h) {
      const T* uu = u + h * OW;
      T* gr = gx + h * W;
      for (int64_t ow = 0; ow < OW; ++ow) {
        gr[a.w0[ow]] += uu[ow] * lw0[ow];
        gr[a.w1[ow]] += uu[ow] * lw1[ow];
      }
    }
    delete[] u;
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

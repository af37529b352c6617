// pool: max / average / adaptive pooling, max unpooling and upsampling (nearest, nearest-exact,
// linear / bilinear), forward and backward, on NCHW planes.
//
// Every kernel sees its input as `planes` contiguous (H, W) planes (N*C of them; a 1-d op is the
// 2-d op with H = 1) and parallelises over planes: a plane's output, and in the backward its input
// gradient, is written by one thread in a fixed order, so overlapping windows and bilinear weights
// never have two threads adding into one element and results are bitwise identical for any thread
// count.  Within a plane the kernels run along output columns (the vectorised axis).
#pragma once
#include <cstdint>
#include <utility>

#include "core/tensor.h"

namespace dl {

// Window geometry of max / average pooling (a 1-d op has kh = sh = dh = 1 and ph = 0).
struct PoolWindow {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  bool ceil_mode = false;
};

// How the window pools' taps read an input row (chosen in pool.cpp, logged, can be forced):
// "direct" (stride 1 along W: taps read the row), "split" (stride 2: the row split once into its
// even and odd elements, so every tap reads contiguous memory), "strided" (any stride).
enum class PoolTaps : int32_t { Direct = 0, Split = 1, Strided = 2 };

struct PoolArgs {
  const void* x;         // (planes, H, W) contiguous
  void* out;             // (planes, OH, OW) contiguous; max_unpool: (planes, H, W) output
  int64_t* indices;      // max pool: (planes, OH, OW) flat-per-plane argmax, or null
  DType dtype;
  int64_t planes, H, W, OH, OW;
  PoolWindow win;
  bool count_include_pad;
  int64_t divisor_override;  // 0: none
  PoolTaps taps;
};
using PoolFn = void (*)(const PoolArgs&);

// Backward of the window pools: gx (planes, H, W) from g (planes, OH, OW).  Max pooling scatters
// through `indices`; returns the first plane holding a flat index outside [0, H*W), or -1 when all
// are valid (the gradient is then complete).
struct PoolBackwardArgs {
  const void* g;
  const int64_t* indices;
  void* gx;
  DType dtype;
  int64_t planes, H, W, OH, OW;
  PoolWindow win;
  bool count_include_pad;
  int64_t divisor_override;
  PoolTaps taps;
};
using PoolBackwardFn = int64_t (*)(const PoolBackwardArgs&);

// max_unpool2d forward (scatter x into zeros through indices: out plane (OH, OW)) and backward
// (gather g through indices): `src` (planes, n) values, `dst` plane of `plane` elements.
struct UnpoolArgs {
  const void* src;
  const int64_t* indices;
  void* dst;
  DType dtype;
  int64_t planes, n, plane;  // n values per plane go to / come from a plane of `plane` elements
  bool gather;               // true: dst[p, i] = src_plane[indices[p, i]] (backward)
};
using UnpoolFn = int64_t (*)(const UnpoolArgs&);  // first plane with a bad index, or -1

// Upsampling: per output row / column the source indices and weights, computed once by the entry
// with PyTorch's formulas.  Nearest modes use h0 / w0 only; linear modes blend
// (h0, h1) x (w0, w1) with weights (lh0, lh1) x (lw0, lw1) (lh1 = 0 and h1 = h0 for a 1-d input).
enum class UpsampleMode : int32_t { Nearest = 0, NearestExact = 1, Linear = 2 };
struct UpsampleArgs {
  const void* x;   // forward: (planes, H, W) input; backward: (planes, OH, OW) grad
  void* out;       // forward: (planes, OH, OW); backward: (planes, H, W) grad input
  DType dtype;
  int64_t planes, H, W, OH, OW;
  UpsampleMode mode;
  const int64_t* h0; const int64_t* h1; const int64_t* w0; const int64_t* w1;
  const void* lh0; const void* lh1; const void* lw0; const void* lw1;  // dtype, linear only
};
using UpsampleFn = void (*)(const UpsampleArgs&);

// ---- entries (validation, geometry, dispatch); op names the op in error messages ---------------

// Output length of a window pool along one axis, PyTorch's formula (ceil_mode drops a last window
// that would start in the right padding).  Raises ValueError naming op for a bad geometry.
int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode, const char* op);

// x: (C, H, W) / (N, C, H, W) for spatial = 2, (C, L) / (N, C, L) for spatial = 1.
std::pair<Tensor, Tensor> max_pool(const Tensor& x, const PoolWindow& w, int spatial, bool want_indices,
                                   const char* op);
Tensor max_pool_backward(const Tensor& g, const Tensor& x, const Tensor& indices, const PoolWindow& w, int spatial,
                         const char* op);
Tensor avg_pool(const Tensor& x, const PoolWindow& w, int spatial, bool count_include_pad, int64_t divisor_override,
                const char* op);
Tensor avg_pool_backward(const Tensor& g, const Tensor& x, const PoolWindow& w, int spatial, bool count_include_pad,
                         int64_t divisor_override, const char* op);
// Adaptive pools: oh / ow the output size (oh = 1 for spatial = 1).
std::pair<Tensor, Tensor> adaptive_pool(const Tensor& x, int64_t oh, int64_t ow, int spatial, bool is_max,
                                        bool want_indices, const char* op);
Tensor adaptive_pool_backward(const Tensor& g, const Tensor& x, const Tensor& indices, int spatial, bool is_max,
                              const char* op);
// max_unpool2d: x and indices (C, H, W) / (N, C, H, W); output planes (oh, ow).
Tensor max_unpool(const Tensor& x, const Tensor& indices, int64_t oh, int64_t ow, const char* op);
Tensor max_unpool_backward(const Tensor& g, const Tensor& indices, const char* op);
// Upsampling of (N, C, L) (spatial 1) or (N, C, H, W) (spatial 2) to (oh, ow); scale_h / scale_w
// the user's scale factors (<= 0: none, sizes decide), as PyTorch passes them to its kernels.
Tensor upsample(const Tensor& x, int64_t oh, int64_t ow, double scale_h, double scale_w, UpsampleMode mode,
                bool align_corners, const char* op);
Tensor upsample_backward(const Tensor& g, const Shape& input_shape, double scale_h, double scale_w,
                         UpsampleMode mode, bool align_corners, const char* op);

}  // namespace dl

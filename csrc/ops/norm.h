// norm: batch, layer, group and instance normalisation, forward and backward (NCHW, PyTorch
// semantics).
//
// Two canonical forms cover the four ops, so each has one kernel:
//   * channel form (batch norm; instance norm from running statistics): x is (n, c, s)
//     contiguous, statistics per channel c over n*s values;
//   * row form (layer, group and instance norm): x is (rows, cg*s) contiguous, statistics per row;
//     element (k, j) of row r uses affine channel (r % groups)*cg + k.  Layer norm is
//     groups=1, cg=D, s=1; group norm is rows=N*G, cg=C/G, s=H*W; instance norm is group norm
//     with one channel per group.
// Every sum runs in a fixed order that depends on the sizes only (per channel, per row, or per
// fixed chunk of rows combined in chunk order), so results are bitwise identical for any number
// of threads.
#pragma once
#include <cstdint>
#include <tuple>

#include "core/tensor.h"

namespace dl {

// Channel statistics (x of n*c*s values, contiguous):
//   g null:  out1[c] = mean, out2[c] = biased variance (shifted sums in double, see norm_cpu.cpp)
//   g given: out1[c] = sum g, out2[c] = sum g * (x - center[c])
struct ChannelStatsArgs {
  const void* x;
  const void* g;
  const double* center;
  DType dtype;
  int64_t n, c, s;
  double* out1;
  double* out2;
};
using ChannelStatsFn = void (*)(const ChannelStatsArgs&);

// out = (a - Ca[c]) * A[c] + (b ? (b - Cb[c]) * B[c] : 0) + D[c] over an (n, c, s) contiguous
// array (Ca / Cb null: 0).  Centring x before scaling keeps float32 exact where x * A and
// mean * A would cancel (data far from zero).
struct ChannelAffineArgs {
  const void* a;
  const void* b;
  void* out;
  const double* Ca;
  const double* A;
  const double* Cb;
  const double* B;
  const double* D;
  DType dtype;
  int64_t n, c, s;
};
using ChannelAffineFn = void (*)(const ChannelAffineArgs&);

// Row-form forward: y, and per-row mean and 1/sqrt(var + eps) (x's dtype).
struct RowNormArgs {
  const void* x;
  void* y;
  void* mean;
  void* rstd;
  const void* weight;  // (groups*cg,) or null
  const void* bias;    // (groups*cg,) or null
  DType dtype;
  int64_t rows, groups, cg, s;
  double eps;
};
using RowNormFn = void (*)(const RowNormArgs&);

// Row-form backward.  gx null: not wanted; gw / gb null: not wanted.  Parameter gradients are
// summed per chunk of chunk_rows rows into work (nchunks x 2 x groups*cg doubles), then over the
// chunks in chunk order.
struct RowNormBackwardArgs {
  const void* g;
  const void* x;
  const void* mean;
  const void* rstd;
  const void* weight;
  void* gx;
  void* gw;
  void* gb;
  double* work;
  int64_t chunk_rows;
  DType dtype;
  int64_t rows, groups, cg, s;
};
using RowNormBackwardFn = void (*)(const RowNormBackwardArgs&);

// STREAM triad a = b + s * c over n floats (the bandwidth the norms are measured against).
struct TriadArgs {
  float* a;
  const float* b;
  const float* c;
  float s;
  int64_t n;
};
using TriadFn = void (*)(const TriadArgs&);

// Which gradients a backward computes: (input, weight, bias).
struct NormMask {
  bool input = true, weight = true, bias = true;
};
using NormGrads = std::tuple<Tensor, Tensor, Tensor>;  // undefined where not wanted
using NormOut = std::tuple<Tensor, Tensor, Tensor>;     // (y, mean, rstd)

// ---- entries (norm.cpp) -----------------------------------------------------------------------
// x: (N, C, *).  Training: batch statistics; running stats (if given) updated in place with
// `momentum` (unbiased variance).  Eval: running statistics.  mean/rstd: (C,) the statistics used.
NormOut batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                   const Tensor& bias, bool training, double momentum, double eps);
// grad_input uses the batch statistics' dependence on x when training, else treats mean/rstd as
// constants.
NormGrads batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& rstd, bool training, NormMask mask);

// normalized_shape: the trailing dims of x.  mean/rstd: x.shape[:-len(normalized_shape)].
NormOut layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                   double eps);
NormGrads layer_norm_backward(const Tensor& grad, const Tensor& x, const Shape& normalized_shape,
                              const Tensor& mean, const Tensor& rstd, const Tensor& weight, NormMask mask);

// x: (N, C, *), C divisible by groups.  mean/rstd: (N, groups).
NormOut group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, double eps,
                   const char* op = "group_norm");
NormGrads group_norm_backward(const Tensor& grad, const Tensor& x, int64_t groups, const Tensor& mean,
                              const Tensor& rstd, const Tensor& weight, NormMask mask,
                              const char* op = "group_norm_backward");

// x: (N, C, *).  use_input_stats: per-instance statistics (mean/rstd (N, C)); running stats, if
// given, updated in place with the batch means of the instance statistics.  Otherwise the
// running statistics normalise (mean/rstd (C,)).
NormOut instance_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                      const Tensor& weight, const Tensor& bias, bool use_input_stats, double momentum, double eps);
NormGrads instance_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                 const Tensor& rstd, bool use_input_stats, NormMask mask);

// Measured STREAM-triad bandwidth in GB/s (3 * 4 * n bytes per pass, STREAM's count): the best of
// `reps` passes over three arrays of n floats, on dlcore's threads.
double stream_triad_gbs(int64_t n, int64_t reps);

}  // namespace dl

// CPU kernels of the normalisation family (per ISA): channel statistics, channel affine maps and
// the row-form forward/backward shared by layer, group and instance norm.  See ops/norm.h.
//
// Numerics.  Channel statistics (batch norm) are one pass over memory: shifted sums
// sum(x - K), sum((x - K)^2) in double, K = the channel's first value, so the cancellation in
// E[(x-K)^2] - E[x-K]^2 is that of data centred near its mean, and double sums keep float32
// batches of millions of values exact to float precision.  Row statistics (layer/group/instance
// norm) are an exact two-pass (mean, then sum of squared deviations) over a row that stays in
// L1/L2 between the passes, so memory is read once.  All sums have a fixed order: per channel or
// per row (vectorised reductions whose lane split depends only on the ISA), and the parameter
// gradients of the row form per fixed chunk of rows, combined in chunk order.
#include <cmath>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/norm.h"

namespace dl::DL_ISA_NS {
namespace {

// Elements per parallel task of the elementwise passes.
constexpr int64_t kGrain = 8192;

template <class T>
void channel_stats_typed(const ChannelStatsArgs& a) {
  const T* x = static_cast<const T*>(a.x);
  const T* g = static_cast<const T*>(a.g);
  const int64_t N = a.n, C = a.c, S = a.s;
  parallel_for(C, N * S * 2, [&](int64_t c) {
    double s1 = 0, s2 = 0;
    if (g == nullptr) {
      const double K = N * S > 0 ? static_cast<double>(x[c * S]) : 0.0;
      for (int64_t n = 0; n < N; ++n) {
        const T* __restrict xr = x + (n * C + c) * S;
        double p1 = 0, p2 = 0;
#pragma omp simd reduction(+ : p1, p2)
        for (int64_t j = 0; j < S; ++j) {
          const double d = static_cast<double>(xr[j]) - K;
          p1 += d;
          p2 += d * d;
        }
        s1 += p1;
        s2 += p2;
      }
      const double m = N * S > 0 ? s1 / static_cast<double>(N * S) : 0.0;
      const double v = N * S > 0 ? s2 / static_cast<double>(N * S) - m * m : 0.0;
      a.out1[c] = K + m;
      a.out2[c] = v > 0 ? v : 0.0;
      return;
    }
    const double mu = a.center[c];
    for (int64_t n = 0; n < N; ++n) {
      const T* __restrict xr = x + (n * C + c) * S;
      const T* __restrict gr = g + (n * C + c) * S;
      double p1 = 0, p2 = 0;
#pragma omp simd reduction(+ : p1, p2)
      for (int64_t j = 0; j < S; ++j) {
        const double gv = static_cast<double>(gr[j]);
        p1 += gv;
        p2 += gv * (static_cast<double>(xr[j]) - mu);
      }
      s1 += p1;
      s2 += p2;
    }
    a.out1[c] = s1;
    a.out2[c] = s2;
  });
}

void channel_stats(const ChannelStatsArgs& a) {
  if (a.dtype == DType::Float32)
    channel_stats_typed<float>(a);
  else
    channel_stats_typed<double>(a);
}

template <class T>
void channel_affine_typed(const ChannelAffineArgs& a) {
  const T* pa = static_cast<const T*>(a.a);
  const T* pb = static_cast<const T*>(a.b);
  T* out = static_cast<T*>(a.out);
  const int64_t C = a.c, S = a.s, blocks = a.n * C;
  if (blocks * S == 0) return;
  // Tasks of whole (n, c) blocks, at least kGrain elements each (many small blocks when S is 1).
  const int64_t per = S >= kGrain ? 1 : kGrain / S;
  const int64_t tasks = (blocks + per - 1) / per;
  parallel_for(tasks, per * S, [&](int64_t t) {
    const int64_t b0 = t * per, b1 = b0 + per < blocks ? b0 + per : blocks;
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t c = b % C;
      const T A = static_cast<T>(a.A[c]), D = static_cast<T>(a.D[c]);
      const T ca = a.Ca ? static_cast<T>(a.Ca[c]) : T(0);
      const T* __restrict ar = pa + b * S;
      T* __restrict o = out + b * S;
      if (pb) {
        const T B = static_cast<T>(a.B[c]), cb = a.Cb ? static_cast<T>(a.Cb[c]) : T(0);
        const T* __restrict br = pb + b * S;
#pragma omp simd
        for (int64_t j = 0; j < S; ++j) o[j] = ((ar[j] - ca) * A + (br[j] - cb) * B) + D;
      } else {
#pragma omp simd
        for (int64_t j = 0; j < S; ++j) o[j] = (ar[j] - ca) * A + D;
      }
    }
  });
}

void channel_affine(const ChannelAffineArgs& a) {
  if (a.dtype == DType::Float32)
    channel_affine_typed<float>(a);
  else
    channel_affine_typed<double>(a);
}

template <class T>
void row_norm_typed(const RowNormArgs& a) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  T* mean = static_cast<T*>(a.mean);
  T* rstd = static_cast<T*>(a.rstd);
  const T* w = static_cast<const T*>(a.weight);
  const T* bias = static_cast<const T*>(a.bias);
  const int64_t G = a.groups, Cg = a.cg, S = a.s, M = Cg * S;
  if (a.rows == 0) return;
  parallel_for(a.rows, M * 3, [&](int64_t r) {
    const T* __restrict xr = x + r * M;
    T* __restrict yr = y + r * M;
    double s1 = 0;
#pragma omp simd reduction(+ : s1)
    for (int64_t i = 0; i < M; ++i) s1 += static_cast<double>(xr[i]);
    const double mu = M > 0 ? s1 / static_cast<double>(M) : 0.0;
    double s2 = 0;
#pragma omp simd reduction(+ : s2)
    for (int64_t i = 0; i < M; ++i) {
      const double d = static_cast<double>(xr[i]) - mu;
      s2 += d * d;
    }
    const double rs = 1.0 / std::sqrt((M > 0 ? s2 / static_cast<double>(M) : 0.0) + a.eps);
    mean[r] = static_cast<T>(mu);
    rstd[r] = static_cast<T>(rs);
    const T m = static_cast<T>(mu), q = static_cast<T>(rs);
    if (S == 1) {  // layer norm: a weight per element
      const T* __restrict wr = w ? w + (r % G) * Cg : nullptr;
      const T* __restrict br = bias ? bias + (r % G) * Cg : nullptr;
      if (wr && br) {
#pragma omp simd
        for (int64_t i = 0; i < M; ++i) yr[i] = ((xr[i] - m) * q) * wr[i] + br[i];
      } else if (wr) {
#pragma omp simd
        for (int64_t i = 0; i < M; ++i) yr[i] = ((xr[i] - m) * q) * wr[i];
      } else if (br) {
#pragma omp simd
        for (int64_t i = 0; i < M; ++i) yr[i] = (xr[i] - m) * q + br[i];
      } else {
#pragma omp simd
        for (int64_t i = 0; i < M; ++i) yr[i] = (xr[i] - m) * q;
      }
      return;
    }
    for (int64_t k = 0; k < Cg; ++k) {  // group/instance norm: a weight per channel of S values
      const int64_t ch = (r % G) * Cg + k;
      const T A = static_cast<T>(rs * (w ? static_cast<double>(w[ch]) : 1.0));
      const T D = bias ? bias[ch] : T(0);
      const T* __restrict xs = xr + k * S;
      T* __restrict ys = yr + k * S;
#pragma omp simd
      for (int64_t j = 0; j < S; ++j) ys[j] = (xs[j] - m) * A + D;
    }
  });
}

void row_norm(const RowNormArgs& a) {
  if (a.dtype == DType::Float32)
    row_norm_typed<float>(a);
  else
    row_norm_typed<double>(a);
}

// One row of the backward: accumulates the row's parameter-gradient terms into pw/pb (may be
// null) and writes gx (may be null).  xhat = (x - mu) r, dxhat = g w:
//   gx = r (w g - mean(dxhat) - xhat mean(dxhat xhat)) = g (r w) + (x - mu) B + D.
template <class T>
void row_backward(const RowNormBackwardArgs& a, int64_t r, double* pw, double* pb) {
  const T* g = static_cast<const T*>(a.g) + r * a.cg * a.s;
  const T* x = static_cast<const T*>(a.x) + r * a.cg * a.s;
  const T* w = static_cast<const T*>(a.weight);
  const int64_t G = a.groups, Cg = a.cg, S = a.s, M = Cg * S;
  const double mu = static_cast<double>(static_cast<const T*>(a.mean)[r]);
  const double rs = static_cast<double>(static_cast<const T*>(a.rstd)[r]);
  const int64_t ch0 = (r % G) * Cg;
  double sdx = 0, sdxx = 0;  // sum w g, sum w g (x - mu)
  if (S == 1) {
    const T* __restrict wr = w ? w + ch0 : nullptr;
#pragma omp simd reduction(+ : sdx, sdxx)
    for (int64_t i = 0; i < M; ++i) {
      const double gv = static_cast<double>(g[i]), d = static_cast<double>(x[i]) - mu;
      const double wv = wr ? static_cast<double>(wr[i]) : 1.0;
      sdx += wv * gv;
      sdxx += wv * gv * d;
    }
    if (pw) {
      double* __restrict q = pw + ch0;
#pragma omp simd
      for (int64_t i = 0; i < M; ++i) q[i] += static_cast<double>(g[i]) * ((static_cast<double>(x[i]) - mu) * rs);
    }
    if (pb) {
      double* __restrict q = pb + ch0;
#pragma omp simd
      for (int64_t i = 0; i < M; ++i) q[i] += static_cast<double>(g[i]);
    }
  } else {
    for (int64_t k = 0; k < Cg; ++k) {
      const T* __restrict gs = g + k * S;
      const T* __restrict xs = x + k * S;
      double sg = 0, sgd = 0;
#pragma omp simd reduction(+ : sg, sgd)
      for (int64_t j = 0; j < S; ++j) {
        const double gv = static_cast<double>(gs[j]);
        sg += gv;
        sgd += gv * (static_cast<double>(xs[j]) - mu);
      }
      const double wv = w ? static_cast<double>(w[ch0 + k]) : 1.0;
      sdx += wv * sg;
      sdxx += wv * sgd;
      if (pw) pw[ch0 + k] += sgd * rs;
      if (pb) pb[ch0 + k] += sg;
    }
  }
  if (a.gx == nullptr || M == 0) return;
  T* gx = static_cast<T*>(a.gx) + r * M;
  const double inv_m = 1.0 / static_cast<double>(M);
  const T B = static_cast<T>(-rs * rs * rs * sdxx * inv_m);  // sdxx = sum(dxhat xhat) / r
  const T D = static_cast<T>(-rs * sdx * inv_m), m = static_cast<T>(mu);
  if (S == 1) {
    const T rt = static_cast<T>(rs);
    if (w) {
      const T* __restrict wr = w + ch0;
#pragma omp simd
      for (int64_t i = 0; i < M; ++i) gx[i] = (g[i] * (rt * wr[i]) + (x[i] - m) * B) + D;
    } else {
#pragma omp simd
      for (int64_t i = 0; i < M; ++i) gx[i] = (g[i] * rt + (x[i] - m) * B) + D;
    }
    return;
  }
  for (int64_t k = 0; k < Cg; ++k) {
    const T A = static_cast<T>(rs * (w ? static_cast<double>(w[ch0 + k]) : 1.0));
    const T* __restrict gs = g + k * S;
    const T* __restrict xs = x + k * S;
    T* __restrict o = gx + k * S;
#pragma omp simd
    for (int64_t j = 0; j < S; ++j) o[j] = (gs[j] * A + (xs[j] - m) * B) + D;
  }
}

template <class T>
void row_norm_backward_typed(const RowNormBackwardArgs& a) {
  const int64_t P = a.groups * a.cg, M = a.cg * a.s;
  const bool params = a.gw != nullptr || a.gb != nullptr;
  const int64_t cr = a.chunk_rows > 0 ? a.chunk_rows : 1;
  const int64_t chunks = (a.rows + cr - 1) / cr;
  parallel_for(chunks, cr * M * 3, [&](int64_t t) {
    double* pw = params ? a.work + t * 2 * P : nullptr;
    double* pb = params ? pw + P : nullptr;
    if (params)
      for (int64_t i = 0; i < 2 * P; ++i) pw[i] = 0.0;
    const int64_t r1 = (t + 1) * cr < a.rows ? (t + 1) * cr : a.rows;
    for (int64_t r = t * cr; r < r1; ++r)
      row_backward<T>(a, r, a.gw ? pw : nullptr, a.gb ? pb : nullptr);
  });
  if (!params) return;
  // Chunk partials summed in chunk order, in parallel over parameters (disjoint outputs).
  const int64_t ptasks = (P + 255) / 256;
  parallel_for(ptasks, 256 * chunks, [&](int64_t pt) {
    const int64_t p0 = pt * 256, p1 = p0 + 256 < P ? p0 + 256 : P;
    for (int64_t p = p0; p < p1; ++p) {
      double sw = 0, sb = 0;
      for (int64_t t = 0; t < chunks; ++t) {
        sw += a.work[t * 2 * P + p];
        sb += a.work[t * 2 * P + P + p];
      }
      if (a.gw) static_cast<T*>(a.gw)[p] = static_cast<T>(sw);
      if (a.gb) static_cast<T*>(a.gb)[p] = static_cast<T>(sb);
    }
  });
}

void row_norm_backward(const RowNormBackwardArgs& a) {
  if (a.dtype == DType::Float32)
    row_norm_backward_typed<float>(a);
  else
    row_norm_backward_typed<double>(a);
}

void triad(const TriadArgs& a) {
  const int64_t tasks = (a.n + kGrain * 8 - 1) / (kGrain * 8);
  parallel_for(tasks, kGrain * 8, [&](int64_t t) {
    const int64_t i0 = t * kGrain * 8, i1 = i0 + kGrain * 8 < a.n ? i0 + kGrain * 8 : a.n;
    float* __restrict x = a.a;
    const float* __restrict y = a.b;
    const float* __restrict z = a.c;
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) x[i] = y[i] + a.s * z[i];
  });
}

}  // namespace

DL_REGISTER_CPU_KERNEL(norm_triad, TriadFn, triad);
DL_REGISTER_CPU_KERNEL(norm_channel_stats, ChannelStatsFn, channel_stats);
DL_REGISTER_CPU_KERNEL(norm_channel_affine, ChannelAffineFn, channel_affine);
DL_REGISTER_CPU_KERNEL(norm_rows, RowNormFn, row_norm);
DL_REGISTER_CPU_KERNEL(norm_rows_backward, RowNormBackwardFn, row_norm_backward);

}  // namespace dl::DL_ISA_NS

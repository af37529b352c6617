// CPU kernels of the normalisation family (per ISA): channel statistics, channel affine maps and
// the row-form forward/backward shared by layer, group and instance norm.  See ops/norm.h.
//
// Numerics.  Channel statistics (batch norm) are one pass over memory: shifted sums
// sum(x - K), sum((x - K)^2) in double, K = the channel's first value, so the cancellation in
// E[(x-K)^2] - E[x-K]^2 is that of data centred near its mean, and double sums keep float32
// batches of millions of values exact to float precision (sums run in SIMD lanes of the input
// type per block of 1024 values, blocks added in double).  Row statistics (layer/group/instance
// norm) use the same shifted sums (K = the row's first value) in one pass over a row that then
// stays in L1/L2 for the normalising pass, so memory is read once.  All sums have a fixed order: per channel or
// per row (vectorised reductions whose lane split depends only on the ISA), and the parameter
// gradients of the row form per fixed chunk of rows, combined in chunk order.
#include <cmath>
#include <cstdint>
#include <type_traits>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/norm.h"

namespace dl::DL_ISA_NS {
namespace {

// Elements per parallel task of the elementwise passes.
constexpr int64_t kGrain = 8192;

// Outputs of float32 passes beyond kStreamBytes are written with non-temporal stores, staged
// through an L1 buffer of kStage values: the destination's lines are then not read before being
// overwritten, a third of the traffic of a read-once, write-once pass.  Smaller outputs stay
// cached for the next op.
constexpr int64_t kStreamBytes = int64_t{8} << 20;
constexpr int64_t kStage = 1024;

void stream_copy(float* __restrict dst, const float* __restrict src, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 63) != 0; ++i) dst[i] = src[i];
  for (; i + 16 <= n; i += 16) _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
#elif defined(__AVX2__)
  for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 31) != 0; ++i) dst[i] = src[i];
  for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
#endif
  for (; i < n; ++i) dst[i] = src[i];
}

void stream_copy(double* __restrict dst, const double* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

// Orders a task's non-temporal stores before whatever follows (they are weakly ordered).
void stream_fence() {
#if defined(__AVX512F__) || defined(__AVX2__)
  _mm_sfence();
#endif
}

template <class T>
bool streams(int64_t n) {
  return std::is_same<T, float>::value && n * static_cast<int64_t>(sizeof(T)) >= kStreamBytes;
}

// dst[0, n) = values that f(o, j0, len) writes to o[0, len) for dst[j0, j0 + len): directly, or
// staged and streamed when `stream`.
template <class T, class F>
void write_out(T* dst, int64_t n, bool stream, const F& f) {
  if (!stream) {
    f(dst, 0, n);
    return;
  }
  alignas(64) T stage[kStage];
  for (int64_t j0 = 0; j0 < n; j0 += kStage) {
    const int64_t len = n - j0 < kStage ? n - j0 : kStage;
    f(stage, j0, len);
    stream_copy(dst + j0, stage, len);
  }
}

// Elements per block of the vectorised sums: lanes of T within a block (SIMD width, no
// conversions), blocks added in double, so float32 sums of millions of values stay accurate.
constexpr int64_t kBlock = 1024;

// s1 += sum (x - K), s2 += sum (x - K)^2 over n values (shifted sums, see the file comment).
template <class T>
void shifted_sums(const T* __restrict x, int64_t n, T K, double& s1, double& s2) {
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t e = i0 + kBlock < n ? i0 + kBlock : n;
    T p1 = 0, p2 = 0;
#pragma omp simd reduction(+ : p1, p2)
    for (int64_t i = i0; i < e; ++i) {
      const T d = x[i] - K;
      p1 += d;
      p2 += d * d;
    }
    s1 += static_cast<double>(p1);
    s2 += static_cast<double>(p2);
  }
}

// sg += sum g, sgd += sum g (x - m) over n values.
template <class T>
void grad_sums(const T* __restrict g, const T* __restrict x, int64_t n, T m, double& sg, double& sgd) {
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t e = i0 + kBlock < n ? i0 + kBlock : n;
    T p1 = 0, p2 = 0;
#pragma omp simd reduction(+ : p1, p2)
    for (int64_t i = i0; i < e; ++i) {
      p1 += g[i];
      p2 += g[i] * (x[i] - m);
    }
    sg += static_cast<double>(p1);
    sgd += static_cast<double>(p2);
  }
}

// Channels per task of the (N, C) layouts (s == 1), where a channel's values are C apart: the
// task walks the rows and vectorises across its channels.
constexpr int64_t kChannelBlock = 64;

// channel_stats for s == 1: the same sums (per channel, in row order), across a block of channels.
template <class T>
void channel_stats_rows(const ChannelStatsArgs& a) {
  const T* x = static_cast<const T*>(a.x);
  const T* g = static_cast<const T*>(a.g);
  const int64_t N = a.n, C = a.c;
  const int64_t tasks = (C + kChannelBlock - 1) / kChannelBlock;
  parallel_for(tasks, N * kChannelBlock * 2, [&](int64_t t) {
    const int64_t c0 = t * kChannelBlock, w = C - c0 < kChannelBlock ? C - c0 : kChannelBlock;
    double s1[kChannelBlock] = {}, s2[kChannelBlock] = {}, k[kChannelBlock];
    for (int64_t j = 0; j < w; ++j) k[j] = g ? a.center[c0 + j] : static_cast<double>(x[c0 + j]);
    for (int64_t n = 0; n < N; ++n) {
      const T* __restrict xr = x + n * C + c0;
      if (g) {
        const T* __restrict gr = g + n * C + c0;
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) {
          const double gv = static_cast<double>(gr[j]);
          s1[j] += gv;
          s2[j] += gv * (static_cast<double>(xr[j]) - k[j]);
        }
      } else {
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) {
          const double d = static_cast<double>(xr[j]) - k[j];
          s1[j] += d;
          s2[j] += d * d;
        }
      }
    }
    for (int64_t j = 0; j < w; ++j) {
      if (g) {
        a.out1[c0 + j] = s1[j];
        a.out2[c0 + j] = s2[j];
      } else {
        const double m = s1[j] / static_cast<double>(N), v = s2[j] / static_cast<double>(N) - m * m;
        a.out1[c0 + j] = k[j] + m;
        a.out2[c0 + j] = v > 0 ? v : 0.0;
      }
    }
  });
}

template <class T>
void channel_stats_typed(const ChannelStatsArgs& a) {
  const T* x = static_cast<const T*>(a.x);
  const T* g = static_cast<const T*>(a.g);
  const int64_t N = a.n, C = a.c, S = a.s;
  if (S == 1 && N > 0) {
    channel_stats_rows<T>(a);
    return;
  }
  parallel_for(C, N * S * 2, [&](int64_t c) {
    double s1 = 0, s2 = 0;
    if (g == nullptr) {
      const T Kt = N * S > 0 ? x[c * S] : T(0);
      const double K = static_cast<double>(Kt);
      for (int64_t n = 0; n < N; ++n) shifted_sums(x + (n * C + c) * S, S, Kt, s1, s2);
      const double m = N * S > 0 ? s1 / static_cast<double>(N * S) : 0.0;
      const double v = N * S > 0 ? s2 / static_cast<double>(N * S) - m * m : 0.0;
      a.out1[c] = K + m;
      a.out2[c] = v > 0 ? v : 0.0;
      return;
    }
    // Centred at the float mean: sum g (x - mu) = sum g (x - m) + (m - mu) sum g, exactly.
    const T m = static_cast<T>(a.center[c]);
    for (int64_t n = 0; n < N; ++n) grad_sums(g + (n * C + c) * S, x + (n * C + c) * S, S, m, s1, s2);
    s2 += (static_cast<double>(m) - a.center[c]) * s1;
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
  if (S == 1) {  // (N, C): rows of C channels, vectorised across the channels
    const int64_t rows_per = C >= kGrain ? 1 : kGrain / C, tasks = (a.n + rows_per - 1) / rows_per;
    parallel_for(tasks, rows_per * C, [&](int64_t t) {
      const int64_t n1 = (t + 1) * rows_per < a.n ? (t + 1) * rows_per : a.n;
      for (int64_t n = t * rows_per; n < n1; ++n) {
        const T* __restrict ar = pa + n * C;
        const T* __restrict br = pb ? pb + n * C : nullptr;
        T* __restrict o = out + n * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) {
          T v = (ar[c] - (a.Ca ? static_cast<T>(a.Ca[c]) : T(0))) * static_cast<T>(a.A[c]);
          if (br) v += (br[c] - (a.Cb ? static_cast<T>(a.Cb[c]) : T(0))) * static_cast<T>(a.B[c]);
          o[c] = v + static_cast<T>(a.D[c]);
        }
      }
    });
    return;
  }
  // Tasks of whole (n, c) blocks, at least kGrain elements each (many small blocks when S is 1).
  const int64_t per = S >= kGrain ? 1 : kGrain / S;
  const int64_t tasks = (blocks + per - 1) / per;
  const bool stream = streams<T>(blocks * S);
  parallel_for(tasks, per * S, [&](int64_t t) {
    const int64_t b0 = t * per, b1 = b0 + per < blocks ? b0 + per : blocks;
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t c = b % C;
      const T A = static_cast<T>(a.A[c]), D = static_cast<T>(a.D[c]);
      const T ca = a.Ca ? static_cast<T>(a.Ca[c]) : T(0);
      const T* __restrict ar = pa + b * S;
      if (pb) {
        const T B = static_cast<T>(a.B[c]), cb = a.Cb ? static_cast<T>(a.Cb[c]) : T(0);
        const T* __restrict br = pb + b * S;
        write_out(out + b * S, S, stream, [&](T* __restrict o, int64_t j0, int64_t len) {
#pragma omp simd
          for (int64_t j = 0; j < len; ++j) o[j] = ((ar[j0 + j] - ca) * A + (br[j0 + j] - cb) * B) + D;
        });
      } else {
        write_out(out + b * S, S, stream, [&](T* __restrict o, int64_t j0, int64_t len) {
#pragma omp simd
          for (int64_t j = 0; j < len; ++j) o[j] = (ar[j0 + j] - ca) * A + D;
        });
      }
    }
    if (stream) stream_fence();
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
  const bool stream = streams<T>(a.rows * M);
  parallel_for(a.rows, M * 3, [&](int64_t r) {
    const T* __restrict xr = x + r * M;
    T* yr = y + r * M;
    // One pass of shifted sums (K = the row's first value); the row then stays in cache for
    // the normalising pass, so memory is read once.
    double s1 = 0, s2 = 0;
    shifted_sums(xr, M, M > 0 ? xr[0] : T(0), s1, s2);
    const double dm = M > 0 ? s1 / static_cast<double>(M) : 0.0;
    const double mu = (M > 0 ? static_cast<double>(xr[0]) : 0.0) + dm;
    s2 -= dm * dm * static_cast<double>(M);
    if (s2 < 0) s2 = 0;
    const double rs = 1.0 / std::sqrt((M > 0 ? s2 / static_cast<double>(M) : 0.0) + a.eps);
    mean[r] = static_cast<T>(mu);
    rstd[r] = static_cast<T>(rs);
    const T m = static_cast<T>(mu), q = static_cast<T>(rs);
    if (S == 1) {  // layer norm: a weight per element
      const T* __restrict wr = w ? w + (r % G) * Cg : nullptr;
      const T* __restrict br = bias ? bias + (r % G) * Cg : nullptr;
      write_out(yr, M, stream, [&](T* __restrict o, int64_t i0, int64_t len) {
        const T* __restrict xi = xr + i0;
        if (wr && br) {
#pragma omp simd
          for (int64_t i = 0; i < len; ++i) o[i] = ((xi[i] - m) * q) * wr[i0 + i] + br[i0 + i];
        } else if (wr) {
#pragma omp simd
          for (int64_t i = 0; i < len; ++i) o[i] = ((xi[i] - m) * q) * wr[i0 + i];
        } else if (br) {
#pragma omp simd
          for (int64_t i = 0; i < len; ++i) o[i] = (xi[i] - m) * q + br[i0 + i];
        } else {
#pragma omp simd
          for (int64_t i = 0; i < len; ++i) o[i] = (xi[i] - m) * q;
        }
      });
      if (stream) stream_fence();
      return;
    }
    for (int64_t k = 0; k < Cg; ++k) {  // group/instance norm: a weight per channel of S values
      const int64_t ch = (r % G) * Cg + k;
      const T A = static_cast<T>(rs * (w ? static_cast<double>(w[ch]) : 1.0));
      const T D = bias ? bias[ch] : T(0);
      const T* __restrict xs = xr + k * S;
      write_out(yr + k * S, S, stream, [&](T* __restrict o, int64_t j0, int64_t len) {
#pragma omp simd
        for (int64_t j = 0; j < len; ++j) o[j] = (xs[j0 + j] - m) * A + D;
      });
    }
    if (stream) stream_fence();
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
void row_backward(const RowNormBackwardArgs& a, int64_t r, double* pw, double* pb, bool stream) {
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
    const T mt = static_cast<T>(mu);
    for (int64_t k = 0; k < Cg; ++k) {
      double sg = 0, sgd = 0;
      grad_sums(g + k * S, x + k * S, S, mt, sg, sgd);
      sgd += (static_cast<double>(mt) - mu) * sg;
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
    const T* __restrict wr = w ? w + ch0 : nullptr;
    write_out(gx, M, stream, [&](T* __restrict o, int64_t i0, int64_t len) {
      const T* __restrict gi = g + i0;
      const T* __restrict xi = x + i0;
      if (wr) {
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) o[i] = (gi[i] * (rt * wr[i0 + i]) + (xi[i] - m) * B) + D;
      } else {
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) o[i] = (gi[i] * rt + (xi[i] - m) * B) + D;
      }
    });
    return;
  }
  for (int64_t k = 0; k < Cg; ++k) {
    const T A = static_cast<T>(rs * (w ? static_cast<double>(w[ch0 + k]) : 1.0));
    const T* __restrict gs = g + k * S;
    const T* __restrict xs = x + k * S;
    write_out(gx + k * S, S, stream, [&](T* __restrict o, int64_t j0, int64_t len) {
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) o[j] = (gs[j0 + j] * A + (xs[j0 + j] - m) * B) + D;
    });
  }
}

template <class T>
void row_norm_backward_typed(const RowNormBackwardArgs& a) {
  const int64_t P = a.groups * a.cg, M = a.cg * a.s;
  const bool params = a.gw != nullptr || a.gb != nullptr;
  const int64_t cr = a.chunk_rows > 0 ? a.chunk_rows : 1;
  const int64_t chunks = (a.rows + cr - 1) / cr;
  const bool stream = a.gx != nullptr && streams<T>(a.rows * M);
  parallel_for(chunks, cr * M * 3, [&](int64_t t) {
    double* pw = params ? a.work + t * 2 * P : nullptr;
    double* pb = params ? pw + P : nullptr;
    if (params)
      for (int64_t i = 0; i < 2 * P; ++i) pw[i] = 0.0;
    const int64_t r1 = (t + 1) * cr < a.rows ? (t + 1) * cr : a.rows;
    for (int64_t r = t * cr; r < r1; ++r)
      row_backward<T>(a, r, a.gw ? pw : nullptr, a.gb ? pb : nullptr, stream);
    if (stream) stream_fence();
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

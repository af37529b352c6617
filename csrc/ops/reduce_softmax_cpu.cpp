// CPU kernels of softmax, log_softmax, their backwards and the fused cross-entropy (per ISA).
//
// A row (softmax axis innermost) takes three passes: max, exp-sum (softmax stores the
// exponentials in the output, so the last pass only scales), write.  Rows are short enough to
// stay in L1 between passes, so the input is read from memory once.  When the softmax axis is
// not innermost, each task owns a tile of the inner axis and runs the same passes vectorised
// across the tile.  Sums use kLanes interleaved accumulators folded as a tree: the result depends
// only on the row length, never on threads.
#include <cmath>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/reduce.h"
#include "ops/reduce_math.h"

namespace dl::DL_ISA_NS {
namespace {

using reduce_math::exp_t;

constexpr int64_t kLanes = 32;
constexpr int64_t kTile = 128;

template <class T>
T row_max(const T* __restrict x, int64_t n) {
  T acc[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) acc[j] = x[0];
  const int64_t nb = n / kLanes * kLanes;
  for (int64_t i = 0; i < nb; i += kLanes) {
#pragma omp simd
    for (int64_t j = 0; j < kLanes; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  }
  for (int64_t i = nb; i < n; ++i) acc[i - nb] = x[i] > acc[i - nb] ? x[i] : acc[i - nb];
  for (int64_t w = kLanes / 2; w >= 1; w /= 2)
    for (int64_t j = 0; j < w; ++j) acc[j] = acc[j + w] > acc[j] ? acc[j + w] : acc[j];
  return acc[0];
}

// Tree fold of the lanes in constant-count steps (unrolled and vectorised by the compiler).
template <class T>
T fold(T* acc) {
  static_assert(kLanes == 32, "fold assumes 32 lanes");
  for (int64_t j = 0; j < 16; ++j) acc[j] += acc[j + 16];
  for (int64_t j = 0; j < 8; ++j) acc[j] += acc[j + 8];
  for (int64_t j = 0; j < 4; ++j) acc[j] += acc[j + 4];
  for (int64_t j = 0; j < 2; ++j) acc[j] += acc[j + 2];
  return acc[0] + acc[1];
}

// sum_i exp(x_i - m); stores the exponentials in e when e is not null.
template <class T>
T row_expsum(const T* __restrict x, T* __restrict e, int64_t n, T m) {
  T acc[kLanes] = {};
  const int64_t nb = n / kLanes * kLanes;
  if (e) {
    for (int64_t i = 0; i < nb; i += kLanes) {
#pragma omp simd
      for (int64_t j = 0; j < kLanes; ++j) {
        const T v = exp_t(x[i + j] - m);
        e[i + j] = v;
        acc[j] += v;
      }
    }
    for (int64_t i = nb; i < n; ++i) {
      e[i] = exp_t(x[i] - m);
      acc[i - nb] += e[i];
    }
  } else {
    for (int64_t i = 0; i < nb; i += kLanes) {
#pragma omp simd
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += exp_t(x[i + j] - m);
    }
    for (int64_t i = nb; i < n; ++i) acc[i - nb] += exp_t(x[i] - m);
  }
  return fold(acc);
}

// sum_i a_i * b_i (b null -> sum_i a_i)
template <class T>
T row_dot(const T* __restrict a, const T* __restrict b, int64_t n) {
  T acc[kLanes] = {};
  const int64_t nb = n / kLanes * kLanes;
  if (b) {
    for (int64_t i = 0; i < nb; i += kLanes) {
#pragma omp simd
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += a[i + j] * b[i + j];
    }
    for (int64_t i = nb; i < n; ++i) acc[i - nb] += a[i] * b[i];
  } else {
    for (int64_t i = 0; i < nb; i += kLanes) {
#pragma omp simd
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += a[i + j];
    }
    for (int64_t i = nb; i < n; ++i) acc[i - nb] += a[i];
  }
  return fold(acc);
}

template <class T>
void softmax_typed(const SoftmaxArgs& a) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.out);
  const int64_t L = a.len, I = a.inner;
  if (a.outer * L * I == 0) return;
  if (I == 1) {
    parallel_for(a.outer, L * 4, [&](int64_t o) {
      const T* __restrict xr = x + o * L;
      T* __restrict yr = y + o * L;
      const T m = row_max(xr, L);
      if (a.log) {
        // (x - max) - log(sum): x - (max + log(sum)) rounds the small log(sum) away against a
        // large max (a row of 1e38 gave 0 instead of -log 4).
        const T ls = std::log(row_expsum<T>(xr, nullptr, L, m));
#pragma omp simd
        for (int64_t i = 0; i < L; ++i) yr[i] = (xr[i] - m) - ls;
      } else {
        const T inv = T(1) / row_expsum(xr, yr, L, m);
#pragma omp simd
        for (int64_t i = 0; i < L; ++i) yr[i] *= inv;
      }
    });
    return;
  }
  const int64_t ntiles = (I + kTile - 1) / kTile;
  parallel_for(a.outer * ntiles, L * kTile * 4, [&](int64_t t) {
    const int64_t o = t / ntiles, i0 = (t % ntiles) * kTile, w = I - i0 < kTile ? I - i0 : kTile;
    const T* xb = x + o * L * I + i0;
    T* yb = y + o * L * I + i0;
    T m[kTile], s[kTile];
    for (int64_t j = 0; j < w; ++j) {
      m[j] = xb[j];
      s[j] = T(0);
    }
    for (int64_t r = 1; r < L; ++r) {
      const T* __restrict xr = xb + r * I;
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) m[j] = xr[j] > m[j] ? xr[j] : m[j];
    }
    for (int64_t r = 0; r < L; ++r) {
      const T* __restrict xr = xb + r * I;
      T* __restrict yr = yb + r * I;
      if (a.log) {
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) s[j] += exp_t(xr[j] - m[j]);
      } else {
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) {
          const T e = exp_t(xr[j] - m[j]);
          yr[j] = e;
          s[j] += e;
        }
      }
    }
    for (int64_t j = 0; j < w; ++j) s[j] = a.log ? std::log(s[j]) : T(1) / s[j];
    for (int64_t r = 0; r < L; ++r) {
      const T* __restrict xr = xb + r * I;
      T* __restrict yr = yb + r * I;
      if (a.log) {
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) yr[j] = (xr[j] - m[j]) - s[j];
      } else {
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) yr[j] *= s[j];
      }
    }
  });
}

template <class T>
void softmax_backward_typed(const SoftmaxBackwardArgs& a) {
  const T* g = static_cast<const T*>(a.g);
  const T* y = static_cast<const T*>(a.y);
  T* gx = static_cast<T*>(a.gx);
  const int64_t L = a.len, I = a.inner;
  if (a.outer * L * I == 0) return;
  if (I == 1) {
    parallel_for(a.outer, L * 3, [&](int64_t o) {
      const T* __restrict gr = g + o * L;
      const T* __restrict yr = y + o * L;
      T* __restrict d = gx + o * L;
      if (a.log) {
        const T sg = row_dot<T>(gr, nullptr, L);
#pragma omp simd
        for (int64_t i = 0; i < L; ++i) d[i] = gr[i] - exp_t(yr[i]) * sg;
      } else {
        const T dot = row_dot(gr, yr, L);
#pragma omp simd
        for (int64_t i = 0; i < L; ++i) d[i] = yr[i] * (gr[i] - dot);
      }
    });
    return;
  }
  const int64_t ntiles = (I + kTile - 1) / kTile;
  parallel_for(a.outer * ntiles, L * kTile * 3, [&](int64_t t) {
    const int64_t o = t / ntiles, i0 = (t % ntiles) * kTile, w = I - i0 < kTile ? I - i0 : kTile;
    const int64_t base = o * L * I + i0;
    T s[kTile];
    for (int64_t j = 0; j < w; ++j) s[j] = T(0);
    for (int64_t r = 0; r < L; ++r) {
      const T* __restrict gr = g + base + r * I;
      const T* __restrict yr = y + base + r * I;
      if (a.log) {
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) s[j] += gr[j];
      } else {
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) s[j] += gr[j] * yr[j];
      }
    }
    for (int64_t r = 0; r < L; ++r) {
      const T* __restrict gr = g + base + r * I;
      const T* __restrict yr = y + base + r * I;
      T* __restrict d = gx + base + r * I;
      if (a.log) {
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) d[j] = gr[j] - exp_t(yr[j]) * s[j];
      } else {
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) d[j] = yr[j] * (gr[j] - s[j]);
      }
    }
  });
}

// Cross-entropy over rows; forward (a.loss set) or backward (a.grad_logits set).
template <class T>
void cross_entropy_typed(const CrossEntropyArgs& a) {
  const T* x = static_cast<const T*>(a.logits);
  const T* w = static_cast<const T*>(a.weight);
  const T* p = static_cast<const T*>(a.probs);
  const T* gin = static_cast<const T*>(a.grad);
  T* loss = static_cast<T*>(a.loss);
  T* gx = static_cast<T*>(a.grad_logits);
  const int64_t C = a.classes;
  const T eps = static_cast<T>(a.smoothing);
  const T eps_c = static_cast<T>(a.smoothing / static_cast<double>(C));
  const T keep = T(1) - eps;
  parallel_for(a.rows, C * 4, [&](int64_t r) {
    const T* __restrict xr = x + r * C;
    T* __restrict gr = gx ? gx + r * C : nullptr;
    int64_t t = -1;
    if (a.target) {
      t = a.target[r];
      if (t == a.ignore_index) {
        if (loss) loss[r] = T(0);
        if (gr)
          for (int64_t c = 0; c < C; ++c) gr[c] = T(0);
        return;
      }
    }
    const T m = row_max(xr, C);
    const T* __restrict pr = p ? p + r * C : nullptr;
    if (loss) {
      // -log_softmax_c = log(sum) - (x_c - max), never (max + log(sum)) - x_c: see softmax_typed.
      const T ls = std::log(row_expsum<T>(xr, nullptr, C, m));
      T acc[kLanes] = {};
      if (pr) {  // sum_c w_c ((1-eps) p_c + eps/C) (lse - x_c)
        for (int64_t c = 0; c < C; ++c)
          acc[c % kLanes] += (w ? w[c] : T(1)) * (keep * pr[c] + eps_c) * (ls - (xr[c] - m));
        loss[r] = fold(acc);
        return;
      }
      const T wt = w ? w[t] : T(1);
      T l = keep * wt * (ls - (xr[t] - m));
      if (a.smoothing != 0.0) {
        for (int64_t c = 0; c < C; ++c) acc[c % kLanes] += (w ? w[c] : T(1)) * (ls - (xr[c] - m));
        l += eps_c * fold(acc);
      }
      loss[r] = l;
      return;
    }
    // Backward: gx_c = g (softmax_c * A - a_c), exponentials parked in gx between passes.
    const T g = gin ? gin[r] * static_cast<T>(a.grad_scale) : static_cast<T>(a.grad_scale);
    const T s = row_expsum(xr, gr, C, m);
    if (pr) {
      T acc[kLanes] = {};
      for (int64_t c = 0; c < C; ++c) acc[c % kLanes] += (w ? w[c] : T(1)) * (keep * pr[c] + eps_c);
      const T k = g * fold(acc) / s;
      if (w) {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) gr[c] = gr[c] * k - g * (w[c] * (keep * pr[c] + eps_c));
      } else {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) gr[c] = gr[c] * k - g * (keep * pr[c] + eps_c);
      }
      return;
    }
    const T wt = w ? w[t] : T(1);
    const T A = keep * wt + eps_c * static_cast<T>(a.weight_total);
    const T k = g * A / s;
    if (w && a.smoothing != 0.0) {
      const T ge = g * eps_c;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) gr[c] = gr[c] * k - ge * w[c];
    } else {
      const T ge = g * eps_c;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) gr[c] = gr[c] * k - ge;
    }
    gr[t] -= g * keep * wt;
  });
}

void softmax_kernel(const SoftmaxArgs& a) {
  if (a.dtype == DType::Float32)
    softmax_typed<float>(a);
  else
    softmax_typed<double>(a);
}

void softmax_backward_kernel(const SoftmaxBackwardArgs& a) {
  if (a.dtype == DType::Float32)
    softmax_backward_typed<float>(a);
  else
    softmax_backward_typed<double>(a);
}

void cross_entropy_kernel(const CrossEntropyArgs& a) {
  if (a.dtype == DType::Float32)
    cross_entropy_typed<float>(a);
  else
    cross_entropy_typed<double>(a);
}

}  // namespace
DL_REGISTER_CPU_KERNEL(softmax, SoftmaxFn, softmax_kernel);
DL_REGISTER_CPU_KERNEL(softmax_backward, SoftmaxBackwardFn, softmax_backward_kernel);
DL_REGISTER_CPU_KERNEL(cross_entropy, CrossEntropyFn, cross_entropy_kernel);
}  // namespace dl::DL_ISA_NS

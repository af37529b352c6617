// CPU convolution kernels that are not implicit GEMM (compiled once per ISA): the direct
// reference loops (algorithm "direct": one output element per plain loop nest, the fallback and
// the tests' second opinion) and the depthwise kernels (groups == C == K, "depthwise": a plane per
// task, vectorised along output columns, see each function).  Every output element is one fixed
// sequence of FMAs whichever thread computes it: results are bitwise identical for any thread count.
#include <string.h>

#include "ops/conv_cpu.h"
#include "ops/gemm_tile.h"

namespace dl::DL_ISA_NS {
namespace {
using namespace gemm_detail;
using namespace conv_detail;

template <class V>
struct ConvDirect {
  using T = typename V::T;

  // ---- direct reference loops ------------------------------------------------------------

  static void forward_direct(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const T* bias = static_cast<const T*>(a.bias);
    T* y = static_cast<T*>(a.out);
    const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
    parallel_for_each(g.N * g.K, threads_for(double(g.N * g.K * g.OH * g.OW * Cg * g.kh * g.kw)), [&](int64_t t) {
      const int64_t n = t / g.K, k = t % g.K, c0 = (k / Kg) * Cg;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          T s = T(0);
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < g.kh; ++i) {
              const int64_t ih = oh * g.sh - g.ph + i * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t iw = ow * g.sw - g.pw + j * g.dw;
                if (iw < 0 || iw >= g.W) continue;
                s += x[((n * g.C + c0 + c) * g.H + ih) * g.W + iw] * w[((k * Cg + c) * g.kh + i) * g.kw + j];
              }
            }
          if (bias) s += bias[k];
          y[((n * g.K + k) * g.OH + oh) * g.OW + ow] = apply_act(s, a.act);
        }
    });
  }

  static void data_direct(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    T* gx = static_cast<T*>(a.out);
    const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
    parallel_for_each(g.N * g.C, threads_for(double(g.N * g.K * g.OH * g.OW * Cg * g.kh * g.kw)), [&](int64_t t) {
      const int64_t n = t / g.C, c = t % g.C, gr = c / Cg, cl = c % Cg;
      for (int64_t ih = 0; ih < g.H; ++ih)
        for (int64_t iw = 0; iw < g.W; ++iw) {
          T s = T(0);
          for (int64_t kk = 0; kk < Kg; ++kk) {
            const int64_t k = gr * Kg + kk;
            for (int64_t i = 0; i < g.kh; ++i) {
              const int64_t th = ih + g.ph - i * g.dh;
              if (th < 0 || th % g.sh != 0 || th / g.sh >= g.OH) continue;
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t tw = iw + g.pw - j * g.dw;
                if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.OW) continue;
                s += gy[((n * g.K + k) * g.OH + th / g.sh) * g.OW + tw / g.sw] * w[((k * Cg + cl) * g.kh + i) * g.kw + j];
              }
            }
          }
          gx[((n * g.C + c) * g.H + ih) * g.W + iw] = s;
        }
    });
  }

  static void weight_direct(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* x = static_cast<const T*>(a.w);
    T* gw = static_cast<T*>(a.out);
    const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
    parallel_for_each(g.K * Cg, threads_for(double(g.N * g.K * g.OH * g.OW * Cg * g.kh * g.kw)), [&](int64_t t) {
      const int64_t k = t / Cg, cl = t % Cg, c = (k / Kg) * Cg + cl;
      for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) {
          T s = T(0);
          for (int64_t n = 0; n < g.N; ++n)
            for (int64_t oh = 0; oh < g.OH; ++oh) {
              const int64_t ih = oh * g.sh - g.ph + i * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t ow = 0; ow < g.OW; ++ow) {
                const int64_t iw = ow * g.sw - g.pw + j * g.dw;
                if (iw < 0 || iw >= g.W) continue;
                s += gy[((n * g.K + k) * g.OH + oh) * g.OW + ow] * x[((n * g.C + c) * g.H + ih) * g.W + iw];
              }
            }
          gw[((k * Cg + cl) * g.kh + i) * g.kw + j] = s;
        }
    });
  }

  // ---- depthwise (groups == C == K) ------------------------------------------------------

  // Output columns [lo, hi) whose tap iw = ow * sw + base lies inside [0, W).
  static void tap_range(const ConvGeom& g, int64_t base, int64_t* lo, int64_t* hi) {
    *lo = base >= 0 ? 0 : ceil_div(-base, g.sw);
    *hi = base >= g.W ? 0 : min64(g.OW, (g.W - 1 - base) / g.sw + 1);
  }

  // The plane xp (H x W) with zero borders: rows ih in [-ph, -ph + Hp), columns iw in [-pw, -pw + Wp).
  static void padded_plane(const ConvGeom& g, const T* xp, int64_t Hp, int64_t Wp, T* pl) {
    const int64_t c0 = min64(g.pw, Wp), c1 = min64(g.pw + g.W, Wp);  // the input's columns (pw >= 0)
    for (int64_t r = 0; r < Hp; ++r) {
      T* pr = pl + r * Wp;
      const int64_t ih = r - g.ph;
      if (ih < 0 || ih >= g.H) {
        for (int64_t e = 0; e < Wp; ++e) pr[e] = T(0);
        continue;
      }
      for (int64_t e = 0; e < c0; ++e) pr[e] = T(0);
      const T* src = xp + ih * g.W + (c0 - g.pw);
      for (int64_t e = c0; e < c1; ++e) pr[e] = src[e - c0];
      for (int64_t e = c1; e < Wp; ++e) pr[e] = T(0);
    }
  }
  static void prefetch_plane(const ConvGeom& g, const T* xp) {
    const char* p = reinterpret_cast<const char*>(xp);
    for (int64_t e = 0; e < g.H * g.W * int64_t{sizeof(T)}; e += 64) __builtin_prefetch(p + e);
  }

  // One plane at a time.  Stride 1: the plane is first copied into a zero-bordered scratch plane
  // (its padding, and room for the last vector's spare lanes), so every tap is a plain vector
  // load; each output row runs 4 vectors at a time (independent accumulators) with the kh x kw
  // taps summed in registers.  Stride > 1 sums the taps column by column.  Every output is
  // bias + the taps in (i, j) order.
  static void forward_depthwise(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const T* bias = static_cast<const T*>(a.bias);
    T* y = static_cast<T*>(a.out);
    constexpr int W = V::W, NV = 4;
    using R = typename V::R;
    const int64_t nvec = ceil_div(g.OW, int64_t{W});
    // scratch plane: rows ih in [-ph, -ph + Hp), columns iw in [-pw, -pw + Wp)
    const int64_t Hp = (g.OH - 1) * g.sh + (g.kh - 1) * g.dh + 1, Wp = nvec * W + (g.kw - 1) * g.dw;
    const size_t psz = g.sw == 1 ? static_cast<size_t>(Hp * Wp) : 0;
    *a.workspace = static_cast<int64_t>(psz * sizeof(T));
    bool failed = false;
    parallel_for_each(g.N * g.C, threads_for(double(g.N * g.C * g.OH * g.OW * g.kh * g.kw)), [&](int64_t t) {
      const int64_t c = t % g.C;
      const T* xp = x + t * g.H * g.W;
      const T* wc = w + c * g.kh * g.kw;
      T* yp = y + t * g.OH * g.OW;
      const T b = bias ? bias[c] : T(0);
      if (g.sw != 1) {
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            T s = b;
            for (int64_t i = 0; i < g.kh; ++i) {
              const int64_t ih = oh * g.sh - g.ph + i * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t iw = ow * g.sw - g.pw + j * g.dw;
                if (iw >= 0 && iw < g.W) s += wc[i * g.kw + j] * xp[ih * g.W + iw];
              }
            }
            yp[oh * g.OW + ow] = apply_act(s, a.act);
          }
        return;
      }
      if (t + 1 < g.N * g.C) prefetch_plane(g, xp + g.H * g.W);  // arrives while this one computes
      T* pl = static_cast<T*>(tls_scratch.get(psz * sizeof(T)));
      if (!pl) {
        __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
        return;
      }
      padded_plane(g, xp, Hp, Wp, pl);
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        T* yr = yp + oh * g.OW;
        for (int64_t v0 = 0; v0 < nvec; v0 += NV) {
          const int nv = static_cast<int>(min64(NV, nvec - v0));
          R acc[NV];
          for (int v = 0; v < NV; ++v) acc[v] = V::set1(b);
          for (int64_t i = 0; i < g.kh; ++i) {
            const T* row = pl + (oh * g.sh + i * g.dh) * Wp + v0 * W;
            for (int64_t j = 0; j < g.kw; ++j) {
              const R wv = V::set1(wc[i * g.kw + j]);
              const T* rj = row + j * g.dw;
              if (nv == NV) {
                for (int v = 0; v < NV; ++v) acc[v] = V::fma(wv, V::load(rj + v * W), acc[v]);
              } else {
                for (int v = 0; v < nv; ++v) acc[v] = V::fma(wv, V::load(rj + v * W), acc[v]);
              }
            }
          }
          for (int v = 0; v < nv; ++v) {
            const int64_t o = (v0 + v) * W;
            const int n = static_cast<int>(min64(W, g.OW - o));
            if (a.act == kGemmActRelu) acc[v] = V::relu(acc[v]);
            V::store_n(yr + o, acc[v], n);
            if (a.act == kGemmActGelu)
              for (int e = 0; e < n; ++e) yr[o + e] = apply_act(yr[o + e], a.act);
          }
        }
      }
    });
    if (failed) *a.workspace = -1;
  }

  // Stride 1: grad_x is the depthwise forward of gy with the flipped taps and padding
  // d (k - 1) - p (the vectorised kernel above); other strides scatter below.
  static bool data_depthwise_as_forward(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const int64_t ph = g.dh * (g.kh - 1) - g.ph, pw = g.dw * (g.kw - 1) - g.pw, khw = g.kh * g.kw;
    if (g.sh != 1 || g.sw != 1 || ph < 0 || pw < 0 || g.K != g.C) return false;
    T* wf = alloc_aligned<T>(static_cast<size_t>(g.C * khw));
    if (!wf) return false;
    const T* w = static_cast<const T*>(a.w);
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t t = 0; t < khw; ++t) wf[c * khw + t] = w[c * khw + khw - 1 - t];
    ConvArgs f = a;
    f.g = ConvGeom{g.N, g.C, g.OH, g.OW, g.C, g.H, g.W, g.kh, g.kw, 1, 1, ph, pw, g.dh, g.dw, g.C};
    f.w = wf, f.bias = nullptr, f.act = 0;
    forward_depthwise(f);
    free(wf);
    return true;
  }

  static void data_depthwise(const ConvArgs& a) {
    if (data_depthwise_as_forward(a)) return;
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    T* gx = static_cast<T*>(a.out);
    parallel_for_each(g.N * g.C, threads_for(double(g.N * g.C * g.OH * g.OW * g.kh * g.kw)), [&](int64_t t) {
      const int64_t c = t % g.C;
      const T* gp = gy + t * g.OH * g.OW;
      const T* wc = w + c * g.kh * g.kw;
      T* xp = gx + t * g.H * g.W;
      for (int64_t e = 0; e < g.H * g.W; ++e) xp[e] = T(0);
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const T* gr = gp + oh * g.OW;
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* row = xp + ih * g.W;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t base = j * g.dw - g.pw;
            int64_t lo, hi;
            tap_range(g, base, &lo, &hi);
            const T wv = wc[i * g.kw + j];
            if (g.sw == 1) {
              T* r = row + base;
#pragma omp simd
              for (int64_t ow = lo; ow < hi; ++ow) r[ow] += wv * gr[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) row[ow * g.sw + base] += wv * gr[ow];
            }
          }
        }
      }
    });
  }

  // Each tap's gradient is a dot product over images and pixels in kLanes interleaved partial
  // sums (a fixed fold): vectorised, and the same bits for any thread count.
  static constexpr int kLanes = 16;
  // Stride 1 along the width and at most 25 taps: per channel, every image's plane is padded
  // (as in the forward) and each output row's gradient vector meets all kh x kw shifted input
  // rows at once, one vector accumulator per tap (summed over images, rows and vectors in that
  // order, then folded lane by lane): one pass over the data instead of one per tap.
  static constexpr int kMaxRegTaps = 25;
  static bool weight_depthwise_vec(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const int64_t khw = g.kh * g.kw;
    if (g.sw != 1 || khw > kMaxRegTaps || g.K != g.C) return false;
    const T* gy = static_cast<const T*>(a.x);
    const T* x = static_cast<const T*>(a.w);
    T* gw = static_cast<T*>(a.out);
    constexpr int W = V::W;
    using R = typename V::R;
    const int64_t nvec = ceil_div(g.OW, int64_t{W});
    const int64_t Hp = (g.OH - 1) * g.sh + (g.kh - 1) * g.dh + 1, Wp = nvec * W + (g.kw - 1) * g.dw;
    const size_t psz = static_cast<size_t>(Hp * Wp);
    *a.workspace = static_cast<int64_t>(psz * sizeof(T));
    bool failed = false;
    parallel_for_each(g.C, threads_for(double(g.N * g.C * g.OH * g.OW * khw)), [&](int64_t c) {
      T* pl = static_cast<T*>(tls_scratch.get(psz * sizeof(T)));
      if (!pl) {
        __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
        return;
      }
      R acc[kMaxRegTaps];
      for (int64_t k = 0; k < khw; ++k) acc[k] = V::zero();
      for (int64_t n = 0; n < g.N; ++n) {
        const T* xp = x + (n * g.C + c) * g.H * g.W;
        const T* gp = gy + (n * g.C + c) * g.OH * g.OW;
        padded_plane(g, xp, Hp, Wp, pl);
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t v = 0; v < nvec; ++v) {
            const int64_t o = v * W;
            const R gv = V::load_n(gp + oh * g.OW + o, static_cast<int>(min64(W, g.OW - o)));
            for (int64_t i = 0; i < g.kh; ++i) {
              const T* row = pl + (oh * g.sh + i * g.dh) * Wp + o;
              for (int64_t j = 0; j < g.kw; ++j)
                acc[i * g.kw + j] = V::fma(gv, V::load(row + j * g.dw), acc[i * g.kw + j]);
            }
          }
      }
      for (int64_t k = 0; k < khw; ++k) {
        alignas(64) T lanes[W];
        V::store(lanes, acc[k]);
        T s = T(0);
        for (int l = 0; l < W; ++l) s += lanes[l];
        gw[c * khw + k] = s;
      }
    });
    if (failed) *a.workspace = -1;
    return true;
  }

  static void weight_depthwise(const ConvArgs& a) {
    if (weight_depthwise_vec(a)) return;
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* x = static_cast<const T*>(a.w);
    T* gw = static_cast<T*>(a.out);
    parallel_for_each(g.C, threads_for(double(g.N * g.C * g.OH * g.OW * g.kh * g.kw)), [&](int64_t c) {
      for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) {
          T acc[kLanes] = {};
          const int64_t base = j * g.dw - g.pw;
          int64_t lo, hi;
          tap_range(g, base, &lo, &hi);
          for (int64_t n = 0; n < g.N; ++n) {
            const T* gp = gy + (n * g.C + c) * g.OH * g.OW;
            const T* xp = x + (n * g.C + c) * g.H * g.W;
            for (int64_t oh = 0; oh < g.OH; ++oh) {
              const int64_t ih = oh * g.sh - g.ph + i * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              const T* gr = gp + oh * g.OW;
              const T* row = xp + ih * g.W;
              int64_t ow = lo;
              if (g.sw == 1) {
                for (; ow + kLanes <= hi; ow += kLanes) {
#pragma omp simd
                  for (int l = 0; l < kLanes; ++l) acc[l] += gr[ow + l] * row[ow + l + base];
                }
              }
              // (stride > 1 runs every column here: the lanes wrap, a fixed fold)
              for (int l = 0; ow < hi; ++ow, l = l + 1 == kLanes ? 0 : l + 1) acc[l] += gr[ow] * row[ow * g.sw + base];
            }
          }
          T s = T(0);
          for (int l = 0; l < kLanes; ++l) s += acc[l];
          gw[(c * g.kh + i) * g.kw + j] = s;
        }
    });
  }
};

template <class V>
void forward_typed(const ConvArgs& a) {
  if (a.algo == kConvDepthwise) ConvDirect<V>::forward_depthwise(a);
  else ConvDirect<V>::forward_direct(a);
}
template <class V>
void data_typed(const ConvArgs& a) {
  if (a.algo == kConvDepthwise) ConvDirect<V>::data_depthwise(a);
  else ConvDirect<V>::data_direct(a);
}
template <class V>
void weight_typed(const ConvArgs& a) {
  if (a.algo == kConvDepthwise) ConvDirect<V>::weight_depthwise(a);
  else ConvDirect<V>::weight_direct(a);
}

}  // namespace

void conv_direct_forward(const ConvArgs& a) {
  if (a.dtype == DType::Float64) forward_typed<VecD>(a);
  else forward_typed<VecF>(a);
}
void conv_direct_backward_data(const ConvArgs& a) {
  if (a.dtype == DType::Float64) data_typed<VecD>(a);
  else data_typed<VecF>(a);
}
void conv_direct_backward_weight(const ConvArgs& a) {
  if (a.dtype == DType::Float64) weight_typed<VecD>(a);
  else weight_typed<VecF>(a);
}

}  // namespace dl::DL_ISA_NS

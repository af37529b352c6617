// CPU kernels of the window pools (max, average), the adaptive pools and max unpooling (per ISA).
//
// Forward: one task per output row (plane, oh).  The row is built in place in the output with one
// vectorised pass per window tap (ki, kj) along the output columns; tap kj touches only the
// columns whose input column lies inside the plane, [ow_lo(kj), ow_hi(kj)), so the inner loop has
// no branches and, for stride 1 or 2, reads the input row once from L1.  Each output element sees
// its taps in row-major window order, PyTorch's, so ties pick the element PyTorch picks (the first
// maximum) and a NaN wins as in PyTorch (`v > max || isnan(v)`: the last NaN).
//
// Backward: one task per plane, which owns its input-gradient plane (zeroed in cache, then added
// into in a fixed order): overlapping windows never have two threads adding into one element.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/pool.h"

namespace dl::DL_ISA_NS {
namespace {

// Columns ow whose tap at input offset `off` (= kj*dw - pw) lies in [0, W): [lo, hi).
inline void tap_range(int64_t off, int64_t sw, int64_t W, int64_t OW, int64_t& lo, int64_t& hi) {
  // smallest ow with ow*sw + off >= 0, and with ow*sw + off >= W
  lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
  hi = W - off <= 0 ? 0 : (W - off + sw - 1) / sw;
  if (lo > OW) lo = OW;
  if (hi > OW) hi = OW;
  if (hi < lo) hi = lo;
}

// [lo, hi) of every tap kj of a window row, computed once per call (the divisions cost more than
// a short output row's taps): ranges[2 kj], ranges[2 kj + 1].
inline int64_t* tap_ranges(const PoolWindow& w, int64_t W, int64_t OW, int64_t dw) {
  int64_t* r = new int64_t[static_cast<size_t>(2 * w.kw)];
  for (int64_t kj = 0; kj < w.kw; ++kj) tap_range(kj * dw - w.pw, w.sw, W, OW, r[2 * kj], r[2 * kj + 1]);
  return r;
}

// First valid window position along an axis: start + k*d for the smallest k >= 0 landing >= 0.
inline int64_t first_valid(int64_t start, int64_t d) { return start >= 0 ? start : start + (-start + d - 1) / d * d; }

// An input row as the taps read it (PoolTaps).  "split" (stride 2) splits the row once into its
// even and odd elements, so that tap `off` reads contiguous memory: x[2 ow + off] = (off odd ? od
// : ev)[ow + floor(off / 2)]; "direct" (stride 1) reads the row itself; "strided" reads it with
// the stride.
template <class T>
class TapRow {
 public:
  TapRow(int64_t W, PoolTaps taps) : split_(taps == PoolTaps::Split), unit_(taps != PoolTaps::Strided) {
    const int64_t h = (W + 1) / 2;
    if (split_) {
      T* p = 2 * h <= kStack ? stack_ : (heap_ = new T[static_cast<size_t>(2 * h)]);
      ev_ = p;
      od_ = p + h;
    }
  }
  ~TapRow() { delete[] heap_; }
  TapRow(const TapRow&) = delete;
  TapRow& operator=(const TapRow&) = delete;

  void load(const T* __restrict x, int64_t W) {
    row_ = x;
    if (!split_) return;
    T* __restrict ev = ev_;
    T* __restrict od = od_;
    const int64_t h = W / 2;
#pragma omp simd
    for (int64_t j = 0; j < h; ++j) {
      ev[j] = x[2 * j];
      od[j] = x[2 * j + 1];
    }
    if (W & 1) ev[h] = x[W - 1];
  }
  // (pointer, offset) such that x[ow * sw + off] == ptr[ow * step + offset], step 1 unless the
  // taps are "strided" (then step = sw).
  const T* ptr(int64_t off) const { return split_ ? ((off & 1) ? od_ : ev_) : row_; }
  int64_t offset(int64_t off) const { return split_ ? (off >> 1) : off; }
  bool unit() const { return unit_; }

 private:
  static constexpr int64_t kStack = 2048;
  bool split_, unit_;
  const T* row_ = nullptr;
  T* ev_ = nullptr;
  T* od_ = nullptr;
  T* heap_ = nullptr;
  T stack_[kStack];
};

// One tap of max pooling over columns [lo, hi): the running maximum (and its index) in o / id.
template <class T, bool kIdx, bool kUnit>
inline void max_tap(const T* __restrict src, int64_t so, int64_t sw, int64_t lo, int64_t hi, T* __restrict o,
                    int64_t* __restrict id, int64_t base) {
  const int64_t st = kUnit ? 1 : sw;
  if (kIdx) {
#pragma omp simd
    for (int64_t ow = lo; ow < hi; ++ow) {
      const T v = src[ow * st + so];
      const bool take = v > o[ow] || v != v;
      o[ow] = take ? v : o[ow];
      id[ow] = take ? base + ow * sw : id[ow];
    }
  } else {
#pragma omp simd
    for (int64_t ow = lo; ow < hi; ++ow) {
      const T v = src[ow * st + so];
      o[ow] = (v > o[ow] || v != v) ? v : o[ow];
    }
  }
}

template <class T, bool kIdx>
void max_row(const PoolArgs& a, int64_t p, int64_t oh, TapRow<T>& row, const int64_t* ranges) {
  const PoolWindow& w = a.win;
  const int64_t H = a.H, W = a.W, OW = a.OW;
  const T* x = static_cast<const T*>(a.x) + p * H * W;
  T* __restrict o = static_cast<T*>(a.out) + (p * a.OH + oh) * OW;
  int64_t* __restrict id = kIdx ? a.indices + (p * a.OH + oh) * OW : nullptr;
  const int64_t ih_start = oh * w.sh - w.ph;
  const int64_t ih0 = first_valid(ih_start, w.dh);
  const T lowest = -std::numeric_limits<T>::infinity();
  for (int64_t ow = 0; ow < OW; ++ow) {
    o[ow] = lowest;
    if (kIdx) id[ow] = ih0 * W + first_valid(ow * w.sw - w.pw, w.dw);  // PyTorch's, even off the plane
  }
  for (int64_t ki = 0; ki < w.kh; ++ki) {
    const int64_t ih = ih_start + ki * w.dh;
    if (ih < 0 || ih >= H) continue;
    row.load(x + ih * W, W);
    for (int64_t kj = 0; kj < w.kw; ++kj) {
      const int64_t off = kj * w.dw - w.pw, lo = ranges[2 * kj], hi = ranges[2 * kj + 1];
      if (row.unit())
        max_tap<T, kIdx, true>(row.ptr(off), row.offset(off), w.sw, lo, hi, o, id, ih * W + off);
      else
        max_tap<T, kIdx, false>(row.ptr(off), row.offset(off), w.sw, lo, hi, o, id, ih * W + off);
    }
  }
}

// Output rows in blocks of kRowBlock per task, so a task's row buffer serves several rows.
constexpr int64_t kRowBlock = 4;

template <class T>
void max_pool_typed(const PoolArgs& a) {
  const int64_t rows = a.planes * a.OH, blocks = (rows + kRowBlock - 1) / kRowBlock;
  const int64_t* ranges = tap_ranges(a.win, a.W, a.OW, a.win.dw);
  parallel_for(blocks, kRowBlock * a.OW * a.win.kh * a.win.kw, [&](int64_t blk) {
    TapRow<T> row(a.W, a.taps);
    for (int64_t r = blk * kRowBlock; r < rows && r < (blk + 1) * kRowBlock; ++r) {
      if (a.indices)
        max_row<T, true>(a, r / a.OH, r % a.OH, row, ranges);
      else
        max_row<T, false>(a, r / a.OH, r % a.OH, row, ranges);
    }
  });
  delete[] ranges;
}

// Average-pool window of output position o along one axis: the padded extent [s, e) clipped to
// the padded input (PyTorch's pool_size) and the part inside the input [s0, e0).
struct AvgSpan {
  int64_t pool, s0, e0;
};
inline AvgSpan avg_span(int64_t o, int64_t k, int64_t s, int64_t p, int64_t n) {
  const int64_t st = o * s - p;
  const int64_t en = st + k < n + p ? st + k : n + p;
  return {en - st, st > 0 ? st : 0, en < n ? en : n};
}

// Per output column: PyTorch's divisor given the row's, in two factors (a row factor times this
// column's), so a row's division is one vectorised pass; 0 where the window is empty.
template <class T>
T* avg_col_factors(const PoolWindow& w, int64_t W, int64_t OW, bool count_include_pad, int64_t divisor_override) {
  T* f = new T[static_cast<size_t>(OW)];
  for (int64_t ow = 0; ow < OW; ++ow) {
    const AvgSpan ws = avg_span(ow, w.kw, w.sw, w.pw, W);
    f[ow] = ws.s0 >= ws.e0 ? T(0)
            : divisor_override ? T(1)
            : static_cast<T>(count_include_pad ? ws.pool : ws.e0 - ws.s0);
  }
  return f;
}
template <class T>
T avg_row_factor(const AvgSpan& hs, bool count_include_pad, int64_t divisor_override) {
  if (divisor_override) return static_cast<T>(divisor_override);
  return static_cast<T>(count_include_pad ? hs.pool : hs.e0 - hs.s0);
}

template <class T>
void avg_pool_typed(const PoolArgs& a) {
  const PoolWindow& w = a.win;
  const int64_t H = a.H, W = a.W, OH = a.OH, OW = a.OW;
  const T* cf = avg_col_factors<T>(w, W, OW, a.count_include_pad, a.divisor_override);
  const int64_t* ranges = tap_ranges(w, W, OW, 1);
  const int64_t rows = a.planes * OH, blocks = (rows + kRowBlock - 1) / kRowBlock;
  parallel_for(blocks, kRowBlock * OW * w.kh * w.kw, [&](int64_t blk) {
    TapRow<T> row(W, a.taps);
    for (int64_t r = blk * kRowBlock; r < rows && r < (blk + 1) * kRowBlock; ++r) {
      const int64_t p = r / OH, oh = r % OH;
      const T* x = static_cast<const T*>(a.x) + p * H * W;
      T* __restrict o = static_cast<T*>(a.out) + r * OW;
      const AvgSpan hs = avg_span(oh, w.kh, w.sh, w.ph, H);
      for (int64_t ow = 0; ow < OW; ++ow) o[ow] = T(0);
      for (int64_t ih = hs.s0; ih < hs.e0; ++ih) {  // PyTorch's order: rows, then columns
        row.load(x + ih * W, W);
        for (int64_t kj = 0; kj < w.kw; ++kj) {
          const int64_t off = kj - w.pw, lo = ranges[2 * kj], hi = ranges[2 * kj + 1];
          const T* __restrict src = row.ptr(off);
          const int64_t so = row.offset(off), st = row.unit() ? 1 : w.sw;
#pragma omp simd
          for (int64_t ow = lo; ow < hi; ++ow) o[ow] += src[ow * st + so];
        }
      }
      const T rf = hs.s0 >= hs.e0 ? T(0) : avg_row_factor<T>(hs, a.count_include_pad, a.divisor_override);
#pragma omp simd
      for (int64_t ow = 0; ow < OW; ++ow) {
        const T d = rf * cf[ow];
        o[ow] = d == T(0) ? T(0) : o[ow] / d;
      }
    }
  });
  delete[] ranges;
  delete[] cf;
}

template <class T>
int64_t avg_pool_backward_typed(const PoolBackwardArgs& b) {
  const PoolWindow& w = b.win;
  const int64_t H = b.H, W = b.W, OH = b.OH, OW = b.OW;
  const T* cf = avg_col_factors<T>(w, W, OW, b.count_include_pad, b.divisor_override);
  const int64_t* ranges = tap_ranges(w, W, OW, 1);
  parallel_for(b.planes, H * W + OH * OW * w.kh * w.kw, [&](int64_t p) {
    const T* g = static_cast<const T*>(b.g) + p * OH * OW;
    T* __restrict gx = static_cast<T*>(b.gx) + p * H * W;
    std::memset(gx, 0, sizeof(T) * static_cast<size_t>(H * W));
    T* gd = new T[static_cast<size_t>(OW)];
    for (int64_t oh = 0; oh < OH; ++oh) {
      const AvgSpan hs = avg_span(oh, w.kh, w.sh, w.ph, H);
      if (hs.s0 >= hs.e0) continue;
      const T rf = avg_row_factor<T>(hs, b.count_include_pad, b.divisor_override);
#pragma omp simd
      for (int64_t ow = 0; ow < OW; ++ow) {
        const T d = rf * cf[ow];
        gd[ow] = d == T(0) ? T(0) : g[oh * OW + ow] / d;
      }
      for (int64_t ih = hs.s0; ih < hs.e0; ++ih) {
        T* __restrict gr = gx + ih * W;
        for (int64_t kj = 0; kj < w.kw; ++kj) {
          const int64_t off = kj - w.pw, sw = w.sw, lo = ranges[2 * kj], hi = ranges[2 * kj + 1];
          // distinct ow hit distinct columns (sw >= 1): no two lanes add into one element
          if (b.taps == PoolTaps::Split) {
#pragma omp simd
            for (int64_t ow = lo; ow < hi; ++ow) gr[2 * ow + off] += gd[ow];
          } else if (b.taps == PoolTaps::Direct) {
#pragma omp simd
            for (int64_t ow = lo; ow < hi; ++ow) gr[ow + off] += gd[ow];
          } else {
#pragma omp simd
            for (int64_t ow = lo; ow < hi; ++ow) gr[ow * sw + off] += gd[ow];
          }
        }
      }
    }
    delete[] gd;
  });
  delete[] ranges;
  delete[] cf;
  return -1;
}

// Scatter-add through flat-per-plane indices (max pool and adaptive max pool backward).
template <class T>
int64_t index_backward_typed(const PoolBackwardArgs& b) {
  const int64_t HW = b.H * b.W, n = b.OH * b.OW;
  int64_t bad = b.planes;
  parallel_for(b.planes, HW + n, [&](int64_t p) {
    const T* g = static_cast<const T*>(b.g) + p * n;
    const int64_t* id = b.indices + p * n;
    T* gx = static_cast<T*>(b.gx) + p * HW;
    std::memset(gx, 0, sizeof(T) * static_cast<size_t>(HW));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t j = id[i];
      if (j < 0 || j >= HW) {
        for (int64_t cur = __atomic_load_n(&bad, __ATOMIC_RELAXED); p < cur &&
             !__atomic_compare_exchange_n(&bad, &cur, p, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);) {
        }
        return;
      }
      gx[j] += g[i];
    }
  });
  return bad < b.planes ? bad : -1;
}

// ---- adaptive pools: window [floor(o*I/O), ceil((o+1)*I/O)) -----------------------------------
inline int64_t ad_start(int64_t o, int64_t in, int64_t out) { return o * in / out; }
inline int64_t ad_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

// One task per output row; each window is read in row-major order (PyTorch's): the mean divides
// the sum by the window's height, then its width; the max takes the first maximum (or last NaN).
template <class T, bool kMax>
void adaptive_typed(const PoolArgs& a) {
  const int64_t H = a.H, W = a.W, OH = a.OH, OW = a.OW;
  parallel_for(a.planes * OH, OW * (H / OH + 1) * (W / OW + 1), [&](int64_t r) {
    const int64_t p = r / OH, oh = r % OH;
    const T* x = static_cast<const T*>(a.x) + p * H * W;
    T* o = static_cast<T*>(a.out) + r * OW;
    const int64_t h0 = ad_start(oh, H, OH), h1 = ad_end(oh, H, OH);
    for (int64_t ow = 0; ow < OW; ++ow) {
      const int64_t w0 = ad_start(ow, W, OW), w1 = ad_end(ow, W, OW);
      T acc = kMax ? -std::numeric_limits<T>::infinity() : T(0);
      int64_t mi = h0 * W + w0;
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) {
          const T v = x[ih * W + iw];
          if (!kMax) {
            acc += v;
          } else if (v > acc || v != v) {
            acc = v;
            mi = ih * W + iw;
          }
        }
      o[ow] = kMax ? acc : acc / static_cast<T>(h1 - h0) / static_cast<T>(w1 - w0);
      if (kMax && a.indices) a.indices[r * OW + ow] = mi;
    }
  });
}
template <class T>
void adaptive_avg_typed(const PoolArgs& a) { adaptive_typed<T, false>(a); }
template <class T>
void adaptive_max_typed(const PoolArgs& a) { adaptive_typed<T, true>(a); }

template <class T>
int64_t adaptive_avg_backward_typed(const PoolBackwardArgs& b) {
  const int64_t H = b.H, W = b.W, OH = b.OH, OW = b.OW;
  parallel_for(b.planes, H * W + OH * OW * (H / OH + 1) * (W / OW + 1), [&](int64_t p) {
    const T* g = static_cast<const T*>(b.g) + p * OH * OW;
    T* gx = static_cast<T*>(b.gx) + p * H * W;
    std::memset(gx, 0, sizeof(T) * static_cast<size_t>(H * W));
    for (int64_t oh = 0; oh < OH; ++oh) {
      const int64_t h0 = ad_start(oh, H, OH), h1 = ad_end(oh, H, OH);
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t w0 = ad_start(ow, W, OW), w1 = ad_end(ow, W, OW);
        const T d = g[oh * OW + ow] / static_cast<T>(h1 - h0) / static_cast<T>(w1 - w0);
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) gx[ih * W + iw] += d;
      }
    }
  });
  return -1;
}

// ---- max unpooling: scatter (forward) / gather (backward) through the indices -------------------
template <class T>
int64_t unpool_typed(const UnpoolArgs& a) {
  int64_t bad = a.planes;
  parallel_for(a.planes, a.n + a.plane, [&](int64_t p) {
    const int64_t* id = a.indices + p * a.n;
    const T* src = static_cast<const T*>(a.src);
    T* dst = static_cast<T*>(a.dst);
    bool ok = true;
    if (a.gather) {
      const T* s = src + p * a.plane;
      T* d = dst + p * a.n;
      for (int64_t i = 0; i < a.n; ++i) {
        const int64_t j = id[i];
        if (j < 0 || j >= a.plane) {
          ok = false;
          break;
        }
        d[i] = s[j];
      }
    } else {
      const T* s = src + p * a.n;
      T* d = dst + p * a.plane;
      std::memset(d, 0, sizeof(T) * static_cast<size_t>(a.plane));
      for (int64_t i = 0; i < a.n; ++i) {  // in order: the last write to a duplicate index wins
        const int64_t j = id[i];
        if (j < 0 || j >= a.plane) {
          ok = false;
          break;
        }
        d[j] = s[i];
      }
    }
    if (!ok) {
      for (int64_t cur = __atomic_load_n(&bad, __ATOMIC_RELAXED); p < cur &&
           !__atomic_compare_exchange_n(&bad, &cur, p, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);) {
      }
    }
  });
  return bad < a.planes ? bad : -1;
}

#define DL_POOL_DTYPE(name, Args, Ret, fn)                                        \
  Ret name(const Args& a) {                                                      \
    if (a.dtype == DType::Float32) return fn<float>(a);                          \
    return fn<double>(a);                                                        \
  }

DL_POOL_DTYPE(max_pool_kernel, PoolArgs, void, max_pool_typed)
DL_POOL_DTYPE(avg_pool_kernel, PoolArgs, void, avg_pool_typed)
DL_POOL_DTYPE(adaptive_avg_kernel, PoolArgs, void, adaptive_avg_typed)
DL_POOL_DTYPE(adaptive_max_kernel, PoolArgs, void, adaptive_max_typed)
DL_POOL_DTYPE(avg_pool_backward_kernel, PoolBackwardArgs, int64_t, avg_pool_backward_typed)
DL_POOL_DTYPE(index_backward_kernel, PoolBackwardArgs, int64_t, index_backward_typed)
DL_POOL_DTYPE(adaptive_avg_backward_kernel, PoolBackwardArgs, int64_t, adaptive_avg_backward_typed)
DL_POOL_DTYPE(unpool_kernel, UnpoolArgs, int64_t, unpool_typed)
#undef DL_POOL_DTYPE

}  // namespace
DL_REGISTER_CPU_KERNEL(max_pool, PoolFn, max_pool_kernel);
DL_REGISTER_CPU_KERNEL(avg_pool, PoolFn, avg_pool_kernel);
DL_REGISTER_CPU_KERNEL(adaptive_avg_pool, PoolFn, adaptive_avg_kernel);
DL_REGISTER_CPU_KERNEL(adaptive_max_pool, PoolFn, adaptive_max_kernel);
DL_REGISTER_CPU_KERNEL(max_pool_backward, PoolBackwardFn, index_backward_kernel);
DL_REGISTER_CPU_KERNEL(avg_pool_backward, PoolBackwardFn, avg_pool_backward_kernel);
DL_REGISTER_CPU_KERNEL(adaptive_avg_pool_backward, PoolBackwardFn, adaptive_avg_backward_kernel);
DL_REGISTER_CPU_KERNEL(max_unpool, UnpoolFn, unpool_kernel);
}  // namespace dl::DL_ISA_NS

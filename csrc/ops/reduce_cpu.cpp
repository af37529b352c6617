// CPU kernels of the reductions (compiled once per ISA, see core/isa.h).
//
// Order of operations (fixed by the sizes alone, so any thread count gives the same bits):
//  * row mode (each output reduces a run along r): the run is cut into chunks of
//    kReduceRowChunk elements; a chunk is summed in kLanes interleaved accumulators (lane j takes
//    elements j, j+kLanes, ...), which the compiler keeps in vector registers, then the lanes are
//    folded as a binary tree; chunk partials are combined pairwise.  Chunks of one output may run
//    on different threads (a full sum of 10M elements uses every core).
//  * column mode (the reduced axis is not innermost in memory but a kept axis is): each task
//    owns a tile of kColTile kept inner elements and adds whole rows into it, vectorised across
//    the tile; kColChunk rows are summed before being added to the running total, which bounds
//    the float32 rounding error like a two-level pairwise sum.
#include <cstring>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/reduce.h"

namespace dl::DL_ISA_NS {
namespace {

constexpr int64_t kLanes = 32;
constexpr int64_t kColTile = 1024;
constexpr int64_t kColChunk = 64;

// Strictly better for max (or min): NaN beats every number and stays, like torch and NumPy.
template <class T, bool kMax>
inline bool better(T a, T b) {
  return (kMax ? a > b : a < b) || (a != a && b == b);
}

template <class T, class A, bool kSq>
inline A load(const T* p, A center) {
  A v = static_cast<A>(*p);
  if (kSq) {
    v -= center;
    v *= v;
  }
  return v;
}

// Tree fold of the lanes, written as constant-count steps so the compiler unrolls and
// vectorises it (a runtime-bounded nest stays scalar and costs more than a short row).
template <class A>
inline A fold_sum(A* acc) {
  static_assert(kLanes == 32, "fold_sum assumes 32 lanes");
  for (int64_t j = 0; j < 16; ++j) acc[j] += acc[j + 16];
  for (int64_t j = 0; j < 8; ++j) acc[j] += acc[j + 8];
  for (int64_t j = 0; j < 4; ++j) acc[j] += acc[j + 4];
  for (int64_t j = 0; j < 2; ++j) acc[j] += acc[j + 2];
  return acc[0] + acc[1];
}

// Sum of one chunk (n <= kReduceRowChunk) with stride s (s == 1 is the vectorised case; both
// paths perform identical operations).
template <class T, class A, bool kSq>
A chunk_sum(const T* __restrict x, int64_t n, int64_t s, A center) {
  A acc[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) acc[j] = A(0);
  const int64_t nb = n / kLanes * kLanes;
  if (s == 1) {
    for (int64_t i = 0; i < nb; i += kLanes) {
#pragma omp simd
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += load<T, A, kSq>(x + i + j, center);
    }
  } else {
    for (int64_t i = 0; i < nb; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += load<T, A, kSq>(x + (i + j) * s, center);
  }
  for (int64_t i = nb; i < n; ++i) acc[i - nb] += load<T, A, kSq>(x + i * s, center);
  return fold_sum(acc);
}

template <class T, bool kMax>
T chunk_best(const T* __restrict x, int64_t n, int64_t s) {
  T acc[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) acc[j] = x[0];
  const int64_t nb = n / kLanes * kLanes;
  if (s == 1) {
    for (int64_t i = 0; i < nb; i += kLanes) {
#pragma omp simd
      for (int64_t j = 0; j < kLanes; ++j) {
        const T v = x[i + j];
        acc[j] = better<T, kMax>(v, acc[j]) ? v : acc[j];
      }
    }
  } else {
    for (int64_t i = 0; i < nb; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) {
        const T v = x[(i + j) * s];
        acc[j] = better<T, kMax>(v, acc[j]) ? v : acc[j];
      }
  }
  for (int64_t i = nb; i < n; ++i) {
    const T v = x[i * s];
    acc[i - nb] = better<T, kMax>(v, acc[i - nb]) ? v : acc[i - nb];
  }
  for (int64_t w = kLanes / 2; w >= 1; w /= 2)
    for (int64_t j = 0; j < w; ++j) acc[j] = better<T, kMax>(acc[j + w], acc[j]) ? acc[j + w] : acc[j];
  return acc[0];
}

// First index holding the chunk's best value m (the first NaN when m is NaN).
template <class T>
int64_t find_first(const T* x, int64_t n, int64_t s, T m) {
  if (m != m) {
    for (int64_t i = 0; i < n; ++i)
      if (x[i * s] != x[i * s]) return i;
  } else {
    for (int64_t i = 0; i < n; ++i)
      if (x[i * s] == m) return i;
  }
  return 0;
}

template <class A>
A pairwise(const A* p, int64_t n) {
  if (n <= 8) {
    A s = p[0];
    for (int64_t i = 1; i < n; ++i) s += p[i];
    return s;
  }
  const int64_t h = n / 2;
  return pairwise(p, h) + pairwise(p + h, n - h);
}

template <class T, class A, class O, ReduceKind K>
struct Reducer {
  static constexpr bool kSum = K == ReduceKind::Sum || K == ReduceKind::SumSqDev;
  static constexpr bool kSq = K == ReduceKind::SumSqDev;
  static constexpr bool kMax = K == ReduceKind::Max || K == ReduceKind::ArgMax;
  static constexpr bool kArg = K == ReduceKind::ArgMax || K == ReduceKind::ArgMin;

  const ReduceArgs& a;
  const T* x;
  O* out;

  A center_of(int64_t m) const { return kSq ? static_cast<A>(static_cast<const T*>(a.center)[m]) : A(0); }

  void finish(int64_t m, A v, int64_t idx) const {
    if (kArg) {
      if (a.out_idx) a.out_idx[m] = idx;
      if (out) out[m] = static_cast<O>(v);
    } else if (kSum && a.divisor != 1.0) {
      out[m] = static_cast<O>(v / static_cast<A>(a.divisor));
    } else {
      out[m] = static_cast<O>(v);
    }
  }

  // Value (and first index) of chunk [r0, r0+n) of output m's run starting at p.
  A chunk(const T* p, int64_t r0, int64_t n, A center, int64_t* idx) const {
    const int64_t s = a.s_red;
    if (kSum) return chunk_sum<T, A, kSq>(p + r0 * s, n, s, center);
    const T v = chunk_best<T, kMax>(p + r0 * s, n, s);
    if (kArg) *idx = r0 + find_first(p + r0 * s, n, s, v);
    return static_cast<A>(v);
  }

  void row_mode() const {
    const int64_t M = a.outer * a.inner, R = a.red, inner = a.inner;
    const int64_t nchunks = R > kReduceRowChunk ? (R + kReduceRowChunk - 1) / kReduceRowChunk : 1;
    auto base = [&](int64_t m) {
      return inner == 1 ? x + m * a.s_outer : x + (m / inner) * a.s_outer + (m % inner) * a.s_inner;
    };
    if (nchunks == 1) {
      parallel_for(M, R > 0 ? R : 1, [&](int64_t m) {
        int64_t idx = 0;
        const A v = R > 0 ? chunk(base(m), 0, R, center_of(m), &idx) : A(0);
        finish(m, v, idx);
      });
      return;
    }
    A* part = static_cast<A*>(a.work);
    int64_t* pidx = reinterpret_cast<int64_t*>(static_cast<char*>(a.work) + M * nchunks * 8);
    parallel_for(M * nchunks, kReduceRowChunk, [&](int64_t t) {
      const int64_t m = t / nchunks, c = t % nchunks, r0 = c * kReduceRowChunk;
      const int64_t n = R - r0 < kReduceRowChunk ? R - r0 : kReduceRowChunk;
      part[t] = chunk(base(m), r0, n, center_of(m), pidx + t);
    });
    parallel_for(M, nchunks, [&](int64_t m) {
      const A* p = part + m * nchunks;
      if (kSum) {
        finish(m, pairwise(p, nchunks), 0);
        return;
      }
      const int64_t* pi = pidx + m * nchunks;
      A v = p[0];
      int64_t idx = pi[0];
      for (int64_t c = 1; c < nchunks; ++c)
        if (better<A, kMax>(p[c], v)) {
          v = p[c];
          idx = pi[c];
        }
      finish(m, v, idx);
    });
  }

  void column_mode() const {
    const int64_t R = a.red, inner = a.inner, sr = a.s_red, so = a.s_outer;
    const int64_t ntiles = (inner + kColTile - 1) / kColTile;
    parallel_for(a.outer * ntiles, R * kColTile, [&](int64_t t) {
      const int64_t o = t / ntiles, i0 = (t % ntiles) * kColTile;
      const int64_t w = inner - i0 < kColTile ? inner - i0 : kColTile;
      const T* p = x + o * so + i0;
      A acc[kColTile];
      if (kSum) {
        A part[kColTile], cen[kColTile];
        for (int64_t j = 0; j < w; ++j) {
          acc[j] = A(0);
          cen[j] = center_of(o * inner + i0 + j);
        }
        for (int64_t r0 = 0; r0 < R; r0 += kColChunk) {
          const int64_t r1 = R - r0 < kColChunk ? R : r0 + kColChunk;
          for (int64_t j = 0; j < w; ++j) part[j] = A(0);
          // Four rows per sweep, added as a pair of pairs: a quarter of the load/store
          // traffic on `part`, and a slightly better rounding error than one row at a time.
          int64_t r = r0;
          for (; r + 4 <= r1; r += 4) {
            const T* __restrict q0 = p + r * sr;
            const T* __restrict q1 = q0 + sr;
            const T* __restrict q2 = q1 + sr;
            const T* __restrict q3 = q2 + sr;
#pragma omp simd
            for (int64_t j = 0; j < w; ++j) {
              const A c = cen[j];
              part[j] += (load<T, A, kSq>(q0 + j, c) + load<T, A, kSq>(q1 + j, c)) +
                         (load<T, A, kSq>(q2 + j, c) + load<T, A, kSq>(q3 + j, c));
            }
          }
          for (; r < r1; ++r) {
            const T* __restrict row = p + r * sr;
#pragma omp simd
            for (int64_t j = 0; j < w; ++j) part[j] += load<T, A, kSq>(row + j, cen[j]);
          }
#pragma omp simd
          for (int64_t j = 0; j < w; ++j) acc[j] += part[j];
        }
        for (int64_t j = 0; j < w; ++j) finish(o * inner + i0 + j, acc[j], 0);
        return;
      }
      int64_t idx[kColTile];
      for (int64_t j = 0; j < w; ++j) {
        acc[j] = static_cast<A>(p[j]);
        idx[j] = 0;
      }
      for (int64_t r = 1; r < R; ++r) {
        const T* __restrict row = p + r * sr;
        if (kArg) {
#pragma omp simd
          for (int64_t j = 0; j < w; ++j) {
            const A v = static_cast<A>(row[j]);
            const bool b = better<A, kMax>(v, acc[j]);
            acc[j] = b ? v : acc[j];
            idx[j] = b ? r : idx[j];
          }
        } else {
#pragma omp simd
          for (int64_t j = 0; j < w; ++j) {
            const A v = static_cast<A>(row[j]);
            acc[j] = better<A, kMax>(v, acc[j]) ? v : acc[j];
          }
        }
      }
      for (int64_t j = 0; j < w; ++j) finish(o * inner + i0 + j, acc[j], idx[j]);
    });
  }

  void run() const {
    if (a.outer * a.inner == 0) return;
    if (a.inner > 1 && a.s_inner == 1 && a.s_red != 1 && a.red > 0)
      column_mode();
    else
      row_mode();
  }
};

template <class T, class A, class O>
void reduce_typed(const ReduceArgs& a) {
  const T* x = static_cast<const T*>(a.x);
  O* out = static_cast<O*>(a.out);
  switch (a.kind) {
    case ReduceKind::Sum: Reducer<T, A, O, ReduceKind::Sum>{a, x, out}.run(); break;
    case ReduceKind::SumSqDev: Reducer<T, A, O, ReduceKind::SumSqDev>{a, x, out}.run(); break;
    case ReduceKind::Max: Reducer<T, A, O, ReduceKind::Max>{a, x, out}.run(); break;
    case ReduceKind::Min: Reducer<T, A, O, ReduceKind::Min>{a, x, out}.run(); break;
    case ReduceKind::ArgMax: Reducer<T, A, O, ReduceKind::ArgMax>{a, x, out}.run(); break;
    case ReduceKind::ArgMin: Reducer<T, A, O, ReduceKind::ArgMin>{a, x, out}.run(); break;
  }
}

void reduce_kernel(const ReduceArgs& a) {
  switch (a.in_dtype) {
    case DType::Float32: reduce_typed<float, float, float>(a); break;
    case DType::Float64: reduce_typed<double, double, double>(a); break;
    case DType::Int64: reduce_typed<int64_t, int64_t, int64_t>(a); break;
    case DType::Bool:  // sums only (the entry checks): bool counts as 0/1 into int64
      if (a.kind == ReduceKind::Sum) Reducer<bool, int64_t, int64_t, ReduceKind::Sum>{a, static_cast<const bool*>(a.x), static_cast<int64_t*>(a.out)}.run();
      break;
    case DType::Int32: case DType::Int16: case DType::Int8: case DType::UInt8: case DType::Float16:
    case DType::BFloat16:
      break;  // never sent: reduce.cpp's checks (check_ordered, check_float) refuse these with a TypeError
  }
}

template <class T>
void broadcast_typed(const ReduceBroadcastArgs& a) {
  const int64_t nd = a.ndim;
  int64_t n = 1;
  for (int64_t k = 0; k < nd; ++k) n *= a.shape[k];
  if (n == 0) return;
  const int64_t inner = nd > 0 ? a.shape[nd - 1] : 1;
  const int64_t ia = nd > 0 ? a.sa[nd - 1] : 0, ib = nd > 0 ? a.sb[nd - 1] : 0, ic = nd > 0 ? a.sc[nd - 1] : 0;
  const T scale = static_cast<T>(a.scale);
  const T* A0 = static_cast<const T*>(a.a);
  const T* B0 = static_cast<const T*>(a.b);
  const T* C0 = static_cast<const T*>(a.c);
  T* out = static_cast<T*>(a.out);
  parallel_for(n / inner, inner, [&](int64_t row) {
    int64_t rem = row, oa = 0, ob = 0, oc = 0;
    for (int64_t k = nd - 2; k >= 0; --k) {
      const int64_t i = rem % a.shape[k];
      rem /= a.shape[k];
      oa += i * a.sa[k];
      ob += i * a.sb[k];
      oc += i * a.sc[k];
    }
    T* __restrict d = out + row * inner;
    const T* pa = A0 + oa;
    if (a.mode == 0) {
      for (int64_t j = 0; j < inner; ++j) d[j] = pa[j * ia] * scale;
    } else {
      const T* pb = B0 + ob;
      const T* pc = C0 + oc;
      for (int64_t j = 0; j < inner; ++j) d[j] = pa[j * ia] * scale * (pb[j * ib] - pc[j * ic]);
    }
  });
}

void reduce_broadcast_kernel(const ReduceBroadcastArgs& a) {
  if (a.dtype == DType::Float32)
    broadcast_typed<float>(a);
  else if (a.dtype == DType::Float64)
    broadcast_typed<double>(a);
}

}  // namespace
DL_REGISTER_CPU_KERNEL(reduce, ReduceFn, reduce_kernel);
DL_REGISTER_CPU_KERNEL(reduce_broadcast, ReduceBroadcastFn, reduce_broadcast_kernel);
}  // namespace dl::DL_ISA_NS

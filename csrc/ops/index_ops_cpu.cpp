// CPU kernels of the index_ops family: gather, scatter / scatter_add, cumsum and row puts.
// Chunk boundaries depend only on the problem size; scatters and puts give every output line
// (row) to one chunk, which applies contributions in index order: no atomics, same bits for any
// thread count.
#include <cstring>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/index_ops.h"

namespace dl::DL_ISA_NS {
namespace {

// body(o, jb, je) over the lines (o, j) of an (outer, n, inner) iteration, cut into chunks of
// whole j-blocks (at least a few lines each, so inner loops vectorise; sized by n so a chunk is
// ~16k elements).  The cut depends only on the shape, never on the thread count.
template <class F>
void for_line_chunks(int64_t outer, int64_t n, int64_t inner, const F& body) {
  int64_t per = (int64_t{1} << 14) / (n > 0 ? n : 1);
  if (per < 16) per = 16;
  if (per > inner) per = inner;
  if (per < 1) per = 1;
  const int64_t jchunks = (inner + per - 1) / per;
  parallel_for(outer * jchunks, per * n, [&](int64_t c) {
    const int64_t o = c / jchunks, jb = (c % jchunks) * per;
    body(o, jb, jb + per < inner ? jb + per : inner);
  });
}

// ---- gather ------------------------------------------------------------------------------------

template <class T>
void gather_typed(const GatherArgs& a) {
  T* out = reinterpret_cast<T*>(a.out);
  const T* self = reinterpret_cast<const T*>(a.self);
  for_line_chunks(a.outer, a.n, a.inner, [&](int64_t o, int64_t jb, int64_t je) {
    const T* base = self + a.self_outer[o];
    for (int64_t k = 0; k < a.n; ++k) {
      const int64_t row = (o * a.n + k) * a.inner;
      for (int64_t j = jb; j < je; ++j) out[row + j] = base[a.idx[row + j] * a.dim_stride + a.self_inner[j]];
    }
  });
}

void gather_kernel(const GatherArgs& a) {
  switch (a.itemsize) {
    case 1: gather_typed<uint8_t>(a); break;
    case 2: gather_typed<uint16_t>(a); break;
    case 4: gather_typed<uint32_t>(a); break;
    case 8: gather_typed<uint64_t>(a); break;
    default: break;
  }
}

// ---- scatter / scatter_add -----------------------------------------------------------------

// T: the element type for add; B: a same-size carrier for assignment (bit copies).
template <class T, bool Add>
void scatter_typed(const ScatterArgs& a) {
  T* self = reinterpret_cast<T*>(a.self);
  const T* src = reinterpret_cast<const T*>(a.src);
  // Lines (o, j) are distinct lines of self: chunks never write the same element.
  for_line_chunks(a.outer, a.n, a.inner, [&](int64_t o, int64_t jb, int64_t je) {
    T* base = self + a.self_outer[o];
    for (int64_t k = 0; k < a.n; ++k) {
      const int64_t row = (o * a.n + k) * a.inner;
      for (int64_t j = jb; j < je; ++j) {
        T& dst = base[a.idx[row + j] * a.dim_stride + a.self_inner[j]];
        if (Add) dst += src[row + j];
        else dst = src[row + j];
      }
    }
  });
}

void scatter_kernel(const ScatterArgs& a) {
  if (a.add) {
    switch (a.dtype) {
      case DType::Float32: scatter_typed<float, true>(a); break;
      case DType::Float64: scatter_typed<double, true>(a); break;
      case DType::Int64: scatter_typed<int64_t, true>(a); break;
      default: break;
    }
    return;
  }
  switch (a.itemsize) {
    case 1: scatter_typed<uint8_t, false>(a); break;
    case 2: scatter_typed<uint16_t, false>(a); break;
    case 4: scatter_typed<uint32_t, false>(a); break;
    case 8: scatter_typed<uint64_t, false>(a); break;
    default: break;
  }
}

// ---- cumsum ----------------------------------------------------------------------------------

template <class T>
void cumsum_typed(const CumsumArgs& a) {
  T* out = static_cast<T*>(a.out);
  const T* in = static_cast<const T*>(a.in);
  const int64_t n = a.n, inner = a.inner;
  if (inner == 1) {  // scans along the last dim: one running sum per line
    int64_t per = (int64_t{1} << 14) / (n > 0 ? n : 1);
    if (per < 1) per = 1;
    parallel_for((a.outer + per - 1) / per, per * n, [&](int64_t c) {
      const int64_t o_end = (c + 1) * per < a.outer ? (c + 1) * per : a.outer;
      for (int64_t o = c * per; o < o_end; ++o) {
        const T* x = in + o * n;
        T* dst = out + o * n;
        // The first element is copied, not added to 0 (which would turn -0.0 into 0.0).
        if (a.reverse) {
          T acc = dst[n - 1] = x[n - 1];
          for (int64_t k = n - 2; k >= 0; --k) dst[k] = acc = acc + x[k];
        } else {
          T acc = dst[0] = x[0];
          for (int64_t k = 1; k < n; ++k) dst[k] = acc = acc + x[k];
        }
      }
    });
    return;
  }
  for_line_chunks(a.outer, n, inner, [&](int64_t o, int64_t jb, int64_t je) {
    const int64_t base = o * n * inner;
    // Row by row, each line adds its next element to its running sum (the previous output row).
    for (int64_t s = 0; s < n; ++s) {
      const int64_t k = a.reverse ? n - 1 - s : s;
      T* __restrict dst = out + base + k * inner;
      const T* __restrict x = in + base + k * inner;
      if (s == 0) {
        for (int64_t j = jb; j < je; ++j) dst[j] = x[j];
      } else {
        const T* __restrict prev = dst + (a.reverse ? inner : -inner);
#pragma omp simd
        for (int64_t j = jb; j < je; ++j) dst[j] = prev[j] + x[j];
      }
    }
  });
}

void cumsum_kernel(const CumsumArgs& a) {
  switch (a.dtype) {
    case DType::Float32: cumsum_typed<float>(a); break;
    case DType::Float64: cumsum_typed<double>(a); break;
    case DType::Int64: cumsum_typed<int64_t>(a); break;
    default: break;
  }
}

// ---- row puts ----------------------------------------------------------------------------------

template <class T>
void put_rows_add(const PutRowsArgs& a) {
  T* out = reinterpret_cast<T*>(a.out);
  const T* src = reinterpret_cast<const T*>(a.src);
  const int64_t inner = a.inner;
  int64_t per = (int64_t{1} << 14) / (inner > 0 ? inner : 1);
  if (per < 1) per = 1;
  parallel_for((a.rows + per - 1) / per, per * inner, [&](int64_t c) {
    const int64_t r_end = (c + 1) * per < a.rows ? (c + 1) * per : a.rows;
    for (int64_t r = c * per; r < r_end; ++r) {
      T* __restrict dst = out + r * inner;
      for (int64_t p = a.start[r]; p < a.start[r + 1]; ++p) {
        const T* __restrict s = src + a.order[p] * a.src_row_stride;
#pragma omp simd
        for (int64_t t = 0; t < inner; ++t) dst[t] += s[t];
      }
    }
  });
}

void put_rows_assign(const PutRowsArgs& a) {
  const int64_t bytes = a.inner * a.itemsize;
  int64_t per = (int64_t{1} << 16) / (bytes > 0 ? bytes : 1);
  if (per < 1) per = 1;
  parallel_for((a.rows + per - 1) / per, per * a.inner, [&](int64_t c) {
    const int64_t r_end = (c + 1) * per < a.rows ? (c + 1) * per : a.rows;
    for (int64_t r = c * per; r < r_end; ++r) {
      if (a.start[r] == a.start[r + 1]) continue;
      const int64_t k = a.order[a.start[r + 1] - 1];  // the last put to row r wins, as in a serial loop
      std::memcpy(a.out + r * bytes, a.src + k * a.src_row_stride * a.itemsize, static_cast<size_t>(bytes));
    }
  });
}

// Distinct targets: any split of the contributions is race-free.
void put_rows_distinct(const PutRowsArgs& a) {
  const int64_t bytes = a.inner * a.itemsize, step = a.src_row_stride * a.itemsize;
  int64_t per = (int64_t{1} << 16) / (bytes > 0 ? bytes : 1);
  if (per < 1) per = 1;
  parallel_for((a.n + per - 1) / per, per * a.inner, [&](int64_t c) {
    const int64_t k_end = (c + 1) * per < a.n ? (c + 1) * per : a.n;
    if (bytes == 4 || bytes == 8) {  // one element per row (a full-shape mask): a plain typed copy
      for (int64_t k = c * per; k < k_end; ++k) {
        if (bytes == 4) std::memcpy(a.out + a.targets[k] * 4, a.src + k * step, 4);
        else std::memcpy(a.out + a.targets[k] * 8, a.src + k * step, 8);
      }
      return;
    }
    for (int64_t k = c * per; k < k_end; ++k)
      std::memcpy(a.out + a.targets[k] * bytes, a.src + k * step, static_cast<size_t>(bytes));
  });
}

void put_rows_kernel(const PutRowsArgs& a) {
  if (a.order == nullptr) {
    put_rows_distinct(a);
    return;
  }
  if (!a.accumulate) {
    put_rows_assign(a);
    return;
  }
  switch (a.dtype) {
    case DType::Float32: put_rows_add<float>(a); break;
    case DType::Float64: put_rows_add<double>(a); break;
    case DType::Int64: put_rows_add<int64_t>(a); break;
    default: break;
  }
}

}  // namespace
DL_REGISTER_CPU_KERNEL(gather, GatherFn, gather_kernel);
DL_REGISTER_CPU_KERNEL(scatter, ScatterFn, scatter_kernel);
DL_REGISTER_CPU_KERNEL(cumsum, CumsumFn, cumsum_kernel);
DL_REGISTER_CPU_KERNEL(put_rows, PutRowsFn, put_rows_kernel);
}  // namespace dl::DL_ISA_NS

// CPU kernels of the shape family: row gathers (index_select, embedding), their deterministic
// scatter-add backwards, pad / pad_backward and masked_fill.
#include <cstring>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/shape.h"

namespace dl::DL_ISA_NS {
namespace {

// ---- gather ------------------------------------------------------------------------------------

void gather_rows_kernel(const GatherRowsArgs& a) {
  const int64_t total = a.outer * a.n;
  const int64_t bytes = a.inner_bytes;
  // ~64 KiB per chunk so small rows are batched and big ones still spread over threads.
  int64_t per = bytes > 0 ? (int64_t{1} << 16) / bytes : total;
  if (per < 1) per = 1;
  const int64_t chunks = (total + per - 1) / per;
  parallel_for(chunks, per * (bytes / 4 + 1), [&](int64_t c) {
    const int64_t end = (c + 1) * per < total ? (c + 1) * per : total;
    for (int64_t r = c * per; r < end; ++r) {
      const int64_t o = r / a.n, k = r % a.n;
      std::memcpy(a.out + r * bytes, a.src + (o * a.src_rows + a.idx[k]) * bytes, static_cast<size_t>(bytes));
    }
  });
}

// ---- scatter-add (backward of gathers) ---------------------------------------------------------

template <class T>
void scatter_add_typed(const ScatterAddRowsArgs& a) {
  T* out = static_cast<T*>(a.out);
  const T* grad = static_cast<const T*>(a.grad);
  const int64_t inner = a.inner;
  // Each chunk owns a fixed range of output rows and sums their contributions in index order:
  // no two chunks write the same row, and the order does not depend on the thread count.
  int64_t per = inner > 0 ? (int64_t{1} << 14) / inner : a.rows;
  if (per < 1) per = 1;
  const int64_t row_chunks = (a.rows + per - 1) / per;
  parallel_for(a.outer * row_chunks, per * inner + a.n / (row_chunks > 0 ? row_chunks : 1), [&](int64_t c) {
    const int64_t o = c / row_chunks, rc = c % row_chunks;
    const int64_t r_end = (rc + 1) * per < a.rows ? (rc + 1) * per : a.rows;
    for (int64_t r = rc * per; r < r_end; ++r) {
      T* __restrict dst = out + (o * a.rows + r) * inner;
      for (int64_t t = 0; t < inner; ++t) dst[t] = T(0);
      if (r == a.skip_row) continue;
      for (int64_t p = a.start[r]; p < a.start[r + 1]; ++p) {
        const T* __restrict g = grad + (o * a.n + a.order[p]) * inner;
#pragma omp simd
        for (int64_t t = 0; t < inner; ++t) dst[t] += g[t];
      }
    }
  });
}

void scatter_add_rows_kernel(const ScatterAddRowsArgs& a) {
  if (a.dtype == DType::Float32) scatter_add_typed<float>(a);
  else if (a.dtype == DType::Float64) scatter_add_typed<double>(a);
}

// ---- pad ---------------------------------------------------------------------------------------

template <class T>
void pad_typed(const PadArgs& a) {
  const int k = a.k;
  const int64_t out_last = a.out_shape[k - 1], in_last = a.in_shape[k - 1];
  int64_t out_rows_per_batch = 1, in_per_batch = 1;
  for (int d = 0; d < k - 1; ++d) out_rows_per_batch *= a.out_shape[d];
  for (int d = 0; d < k; ++d) in_per_batch *= a.in_shape[d];
  const int64_t rows = a.batch * out_rows_per_batch;
  const T v = *static_cast<const T*>(a.value);
  T* out = reinterpret_cast<T*>(a.out);
  const T* in = reinterpret_cast<const T*>(a.in);
  const int64_t* lastmap = a.map[k - 1];
  int64_t per = out_last > 0 ? 8192 / out_last : rows;
  if (per < 1) per = 1;
  parallel_for((rows + per - 1) / per, per * (out_last + 1), [&](int64_t c) {
    const int64_t r_end = (c + 1) * per < rows ? (c + 1) * per : rows;
    for (int64_t r = c * per; r < r_end; ++r) {
      T* __restrict dst = out + r * out_last;
      // Decode the output row into (batch, o_0..o_{k-2}) and find its source row.
      int64_t rem = r, src_off = 0, stride = in_last;
      bool constant_row = false;
      for (int d = k - 2; d >= 0; --d) {
        const int64_t o = rem % a.out_shape[d];
        rem /= a.out_shape[d];
        const int64_t m = a.map[d][o];
        if (m < 0) constant_row = true;
        src_off += m * stride;
        stride *= a.in_shape[d];
      }
      if (constant_row) {
        for (int64_t j = 0; j < out_last; ++j) dst[j] = v;
        continue;
      }
      const T* __restrict src = in + rem * in_per_batch + src_off;
      for (int64_t j = 0; j < a.mid_lo; ++j) dst[j] = lastmap[j] < 0 ? v : src[lastmap[j]];
      if (a.mid_hi > a.mid_lo)
        std::memcpy(dst + a.mid_lo, src + a.mid_src, static_cast<size_t>(a.mid_hi - a.mid_lo) * sizeof(T));
      for (int64_t j = a.mid_hi; j < out_last; ++j) dst[j] = lastmap[j] < 0 ? v : src[lastmap[j]];
    }
  });
}

void pad_kernel(const PadArgs& a) {
  switch (a.itemsize) {
    case 1: pad_typed<uint8_t>(a); break;
    case 2: pad_typed<uint16_t>(a); break;  // int16, float16, bfloat16
    case 4: pad_typed<uint32_t>(a); break;
    case 8: pad_typed<uint64_t>(a); break;
    default: break;
  }
}

template <class T>
void pad_backward_typed(const PadBackwardArgs& a) {
  const int k = a.k;
  const int64_t out_last = a.out_shape[k - 1], in_last = a.in_shape[k - 1];
  int64_t in_rows_per_batch = 1, out_per_batch = 1;
  for (int d = 0; d < k - 1; ++d) in_rows_per_batch *= a.in_shape[d];
  for (int d = 0; d < k; ++d) out_per_batch *= a.out_shape[d];
  const int64_t rows = a.batch * in_rows_per_batch;
  T* gin = static_cast<T*>(a.grad_in);
  const T* gout = static_cast<const T*>(a.grad_out);
  const int64_t* lastmap = a.map[k - 1];
  // Longest run where the last-dim map is the identity shift: summed with a vector loop.
  int64_t mid_lo = 0, mid_hi = 0;
  for (int64_t j = 0; j < out_last;) {
    if (lastmap[j] < 0) { ++j; continue; }
    int64_t e = j + 1;
    while (e < out_last && lastmap[e] == lastmap[e - 1] + 1) ++e;
    if (e - j > mid_hi - mid_lo) { mid_lo = j; mid_hi = e; }
    j = e;
  }
  const int64_t mid_dst = mid_hi > mid_lo ? lastmap[mid_lo] : 0;
  int64_t per = in_last > 0 ? 8192 / in_last : rows;
  if (per < 1) per = 1;
  parallel_for((rows + per - 1) / per, per * (in_last + 1), [&](int64_t c) {
    const int64_t r_end = (c + 1) * per < rows ? (c + 1) * per : rows;
    int64_t idx[kPadMaxDims], pos[kPadMaxDims];
    for (int64_t r = c * per; r < r_end; ++r) {
      T* __restrict dst = gin + r * in_last;
      for (int64_t j = 0; j < in_last; ++j) dst[j] = T(0);
      int64_t rem = r;
      bool empty = false;
      for (int d = k - 2; d >= 0; --d) {
        idx[d] = rem % a.in_shape[d];
        rem /= a.in_shape[d];
        pos[d] = a.inv_start[d][idx[d]];
        if (pos[d] == a.inv_start[d][idx[d] + 1]) empty = true;
      }
      if (empty) continue;
      const T* gb = gout + rem * out_per_batch;
      // Odometer over every combination of output coordinates that read this input row, in a
      // fixed (ascending) order.
      for (;;) {
        int64_t off = 0, stride = out_last;
        for (int d = k - 2; d >= 0; --d) {
          off += a.inv[d][pos[d]] * stride;
          stride *= a.out_shape[d];
        }
        const T* __restrict src = gb + off;
        for (int64_t j = 0; j < mid_lo; ++j)
          if (lastmap[j] >= 0) dst[lastmap[j]] += src[j];
        const int64_t len = mid_hi - mid_lo;
#pragma omp simd
        for (int64_t t = 0; t < len; ++t) dst[mid_dst + t] += src[mid_lo + t];
        for (int64_t j = mid_hi; j < out_last; ++j)
          if (lastmap[j] >= 0) dst[lastmap[j]] += src[j];
        int d = k - 2;
        for (; d >= 0; --d) {
          if (++pos[d] < a.inv_start[d][idx[d] + 1]) break;
          pos[d] = a.inv_start[d][idx[d]];
        }
        if (d < 0) break;
      }
    }
  });
}

void pad_backward_kernel(const PadBackwardArgs& a) {
  if (a.dtype == DType::Float32) pad_backward_typed<float>(a);
  else if (a.dtype == DType::Float64) pad_backward_typed<double>(a);
}

// ---- masked_fill -------------------------------------------------------------------------------

template <class T>
void masked_fill_typed(const MaskedFillArgs& a) {
  T* out = reinterpret_cast<T*>(a.out);
  const T* x = reinterpret_cast<const T*>(a.x);
  const T v = *static_cast<const T*>(a.value);
  constexpr int64_t kChunk = 1 << 15;
  parallel_for((a.n + kChunk - 1) / kChunk, kChunk, [&](int64_t c) {
    const int64_t end = (c + 1) * kChunk < a.n ? (c + 1) * kChunk : a.n;
#pragma omp simd
    for (int64_t i = c * kChunk; i < end; ++i) out[i] = a.mask[i] ? v : x[i];
  });
}

void masked_fill_kernel(const MaskedFillArgs& a) {
  switch (a.itemsize) {
    case 1: masked_fill_typed<uint8_t>(a); break;
    case 2: masked_fill_typed<uint16_t>(a); break;  // int16, float16, bfloat16
    case 4: masked_fill_typed<uint32_t>(a); break;
    case 8: masked_fill_typed<uint64_t>(a); break;
    default: break;
  }
}

}  // namespace
DL_REGISTER_CPU_KERNEL(gather_rows, GatherRowsFn, gather_rows_kernel);
DL_REGISTER_CPU_KERNEL(scatter_add_rows, ScatterAddRowsFn, scatter_add_rows_kernel);
DL_REGISTER_CPU_KERNEL(pad, PadFn, pad_kernel);
DL_REGISTER_CPU_KERNEL(pad_backward, PadBackwardFn, pad_backward_kernel);
DL_REGISTER_CPU_KERNEL(masked_fill, MaskedFillFn, masked_fill_kernel);
}  // namespace dl::DL_ISA_NS

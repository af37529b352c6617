#include "core/isa.h"
#include "core/parallel.h"
#include "ops/fill.h"

namespace dl::DL_ISA_NS {
namespace {

template <class T>
void fill_typed(T* out, int64_t n, T v) {
  constexpr int64_t kChunk = 1 << 16;
  parallel_for((n + kChunk - 1) / kChunk, kChunk, [&](int64_t c) {
    const int64_t end = (c + 1) * kChunk < n ? (c + 1) * kChunk : n;
    for (int64_t i = c * kChunk; i < end; ++i) out[i] = v;
  });
}

void fill_kernel(const FillArgs& a) {
  switch (a.dtype) {
    case DType::Float32: fill_typed(static_cast<float*>(a.out), a.n, static_cast<float>(a.value)); break;
    case DType::Float64: fill_typed(static_cast<double*>(a.out), a.n, a.value); break;
    case DType::Int64: fill_typed(static_cast<int64_t*>(a.out), a.n, a.ivalue); break;
    case DType::Bool: fill_typed(static_cast<bool*>(a.out), a.n, a.value != 0.0); break;
    // Narrow integers wrap through int64 like a cast; half types hold their 16-bit pattern.
    case DType::Int32: fill_typed(static_cast<int32_t*>(a.out), a.n, static_cast<int32_t>(static_cast<int64_t>(a.value))); break;
    case DType::Int16: fill_typed(static_cast<int16_t*>(a.out), a.n, static_cast<int16_t>(static_cast<int64_t>(a.value))); break;
    case DType::Int8: fill_typed(static_cast<int8_t*>(a.out), a.n, static_cast<int8_t>(static_cast<int64_t>(a.value))); break;
    case DType::UInt8: fill_typed(static_cast<uint8_t*>(a.out), a.n, static_cast<uint8_t>(static_cast<int64_t>(a.value))); break;
    case DType::Float16: fill_typed(static_cast<uint16_t*>(a.out), a.n, float_to_half(static_cast<float>(a.value)).bits); break;
    case DType::BFloat16: fill_typed(static_cast<uint16_t*>(a.out), a.n, float_to_bfloat16(static_cast<float>(a.value)).bits); break;
  }
}

}  // namespace
DL_REGISTER_CPU_KERNEL(fill, FillFn, fill_kernel);
}  // namespace dl::DL_ISA_NS

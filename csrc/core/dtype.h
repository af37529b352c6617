// Element types.  float32 is first-class; float64 serves the reference paths and gradcheck;
// int64 holds indices and labels; bool is what comparisons return; int32/int16/int8/uint8 are
// storage and elementwise types (images arrive as uint8); float16 and bfloat16 are storage and
// exchange types whose arithmetic is computed in float32 and rounded back (see core/half.h).
//
// The enum values are stable (the first four predate the others): code may store them.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/half.h"

namespace dl {

enum class DType : uint8_t {
  Float32 = 0, Float64 = 1, Int64 = 2, Bool = 3,
  Int32 = 4, Int16 = 5, Int8 = 6, UInt8 = 7, Float16 = 8, BFloat16 = 9,
};
constexpr int kNumDTypes = 10;

inline size_t itemsize(DType d) {
  switch (d) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
    case DType::Int32: return 4;
    case DType::Int16: return 2;
    case DType::Int8: return 1;
    case DType::UInt8: return 1;
    case DType::Float16: return 2;
    case DType::BFloat16: return 2;
  }
  return 0;  // unreachable: the switch covers the enum
}

inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
    case DType::Int32: return "int32";
    case DType::Int16: return "int16";
    case DType::Int8: return "int8";
    case DType::UInt8: return "uint8";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
  }
  return "?";
}

// The two compute float types (float/double kernels).  float16/bfloat16 are NOT included: the
// kernels that test this have no half-precision code and must refuse them.
inline bool is_floating(DType d) { return d == DType::Float32 || d == DType::Float64; }
// float16 or bfloat16: storage types computed in float32.
inline bool is_half(DType d) { return d == DType::Float16 || d == DType::BFloat16; }
// Any floating type (PyTorch's isFloatingType).
inline bool is_float_kind(DType d) { return is_floating(d) || is_half(d); }
// int64/int32/int16/int8/uint8 (not bool).
inline bool is_integer(DType d) {
  return d == DType::Int64 || d == DType::Int32 || d == DType::Int16 || d == DType::Int8 || d == DType::UInt8;
}

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<int16_t> { static constexpr DType value = DType::Int16; };
template <> struct dtype_of<int8_t> { static constexpr DType value = DType::Int8; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<Half> { static constexpr DType value = DType::Float16; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::BFloat16; };

}  // namespace dl

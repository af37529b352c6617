// Building blocks of the per-ISA elementwise kernel (elementwise_cpu.cpp, the only includer):
// row loops written so `#pragma omp simd` vectorises them, the dtype visitors, and the scalar
// functions (wrapping integer arithmetic, Python-style division, casts, selects).
//
// Everything lands in namespace dl::DL_ISA_NS (anonymous), i.e. one private copy per ISA
// variant: no inline code is shared across variants (see core/isa.h).
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/isa.h"
#include "ops/elementwise.h"
#include "ops/vec_math.h"

// Kernel lambdas run inside `#pragma omp simd` loops: they must inline for the loop to vectorise
// (GCC does not always inline a lambda that holds a whole erf or log).
#define DL_LAMBDA __attribute__((always_inline))

namespace dl::DL_ISA_NS {
namespace {

// ---- row loops --------------------------------------------------------------------------------
template <class R, class T, class F>
DL_VINLINE void row1(int64_t n, R* __restrict o, int64_t so, const T* __restrict a, int64_t sa, const F& f) {
  if (so == 1 && sa == 1) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i * so] = f(a[i * sa]);
  }
}

template <class R, class T, class F>
DL_VINLINE void row2(int64_t n, R* __restrict o, int64_t so, const T* __restrict a, int64_t sa,
                     const T* __restrict b, int64_t sb, const F& f) {
  if (so == 1) {
    if (sa == 1 && sb == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
      return;
    }
    if (sa == 1 && sb == 0) {
      const T bv = *b;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
      return;
    }
    if (sa == 0 && sb == 1) {
      const T av = *a;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
      return;
    }
  }
  for (int64_t i = 0; i < n; ++i) o[i * so] = f(a[i * sa], b[i * sb]);
}

template <class R, class C, class T, class F>
DL_VINLINE void row3(int64_t n, R* __restrict o, int64_t so, const C* __restrict c, int64_t sc,
                     const T* __restrict a, int64_t sa, const T* __restrict b, int64_t sb, const F& f) {
  if (so == 1 && sc == 1 && sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) o[i] = f(c[i], a[i], b[i]);
    return;
  }
  if (so == 1 && sc == 1 && sa == 1 && sb == 0) {  // where(mask, x, scalar)
    const T bv = *b;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) o[i] = f(c[i], a[i], bv);
    return;
  }
  for (int64_t i = 0; i < n; ++i) o[i * so] = f(c[i * sc], a[i * sa], b[i * sb]);
}

template <class R, class T, class F>
void block1(const EwBlock& k, const F& f) {
  for (int64_t j = 0; j < k.m; ++j)
    row1(k.n, static_cast<R*>(k.out) + j * k.out_s1, k.out_s0, static_cast<const T*>(k.in[0]) + j * k.s1[0],
         k.s0[0], f);
}

template <class R, class T, class F>
void block2(const EwBlock& k, const F& f) {
  for (int64_t j = 0; j < k.m; ++j)
    row2(k.n, static_cast<R*>(k.out) + j * k.out_s1, k.out_s0, static_cast<const T*>(k.in[0]) + j * k.s1[0],
         k.s0[0], static_cast<const T*>(k.in[1]) + j * k.s1[1], k.s0[1], f);
}

template <class R, class C, class T, class F>
void block3(const EwBlock& k, const F& f) {
  for (int64_t j = 0; j < k.m; ++j)
    row3(k.n, static_cast<R*>(k.out) + j * k.out_s1, k.out_s0, static_cast<const C*>(k.in[0]) + j * k.s1[0],
         k.s0[0], static_cast<const T*>(k.in[1]) + j * k.s1[1], k.s0[1],
         static_cast<const T*>(k.in[2]) + j * k.s1[2], k.s0[2], f);
}

// ---- dtype dispatch ---------------------------------------------------------------------------
// The entry (elementwise.cpp, check_kernel_dtype) sends each op only the compute dtypes it
// supports: float16/bfloat16 arrive here only for Cast and Where (others are computed in
// float32), so the visitors below cover exactly the types their ops take.
// The unsigned integer of N bytes (for selects that move bits).
template <size_t N> using Bits = std::conditional_t<
    N == 1, uint8_t, std::conditional_t<N == 2, uint16_t, std::conditional_t<N == 4, uint32_t, uint64_t>>>;
// Local copy of is_floating (no inline function shared with baseline code, see core/isa.h).
DL_VINLINE bool is_fp(DType dt) { return dt == DType::Float32 || dt == DType::Float64; }

template <class V> void visit_int(DType dt, const V& v) {
  switch (dt) {
    case DType::Int64: v(int64_t{}); break;
    case DType::Int32: v(int32_t{}); break;
    case DType::Int16: v(int16_t{}); break;
    case DType::Int8: v(int8_t{}); break;
    case DType::UInt8: v(uint8_t{}); break;
    case DType::Float32: case DType::Float64: case DType::Bool: case DType::Float16: case DType::BFloat16: break;
  }
}
template <class V> void visit_float(DType dt, const V& v) {
  if (dt == DType::Float32) v(float{});
  else if (dt == DType::Float64) v(double{});
}
template <class V> void visit_num(DType dt, const V& v) {
  if (is_fp(dt)) visit_float(dt, v);
  else visit_int(dt, v);
}
template <class V> void visit_all(DType dt, const V& v) {
  if (dt == DType::Bool) v(bool{});
  else if (dt == DType::Float16) v(Half{});
  else if (dt == DType::BFloat16) v(BFloat16{});
  else visit_num(dt, v);
}

template <class F> void float1(DType dt, const EwBlock& k, const F& f) {
  visit_float(dt, [&](auto t) { using T = decltype(t); block1<T, T>(k, f); });
}
template <class F> void num1(DType dt, const EwBlock& k, const F& f) {
  visit_num(dt, [&](auto t) { using T = decltype(t); block1<T, T>(k, f); });
}
template <class F> void float2(DType dt, const EwBlock& k, const F& f) {
  visit_float(dt, [&](auto t) { using T = decltype(t); block2<T, T>(k, f); });
}
template <class F> void num2(DType dt, const EwBlock& k, const F& f) {
  visit_num(dt, [&](auto t) { using T = decltype(t); block2<T, T>(k, f); });
}
template <class F> void all2(DType dt, const EwBlock& k, const F& f) {
  if (dt == DType::Bool) block2<bool, bool>(k, f);
  else num2(dt, k, f);
}
template <class F> void cmp2(DType dt, const EwBlock& k, const F& f) {
  if (dt == DType::Bool) block2<bool, bool>(k, f);
  else visit_num(dt, [&](auto t) { using T = decltype(t); block2<bool, T>(k, f); });
}
// Bitwise ops: the integers and bool.
template <class F> void bits2(DType dt, const EwBlock& k, const F& f) {
  if (dt == DType::Bool) block2<bool, bool>(k, f);
  else visit_int(dt, [&](auto t) { using T = decltype(t); block2<T, T>(k, f); });
}

// ---- scalar helpers (own copies: no shared inline code across ISA variants) -------------------
template <class T> constexpr bool is_f32 = std::is_same<T, float>::value;
template <class T> constexpr bool is_int = std::is_integral<T>::value && !std::is_same<T, bool>::value;

// Integer arithmetic wraps around (two's complement) like PyTorch's: computed in an unsigned type
// of at least 32 bits (no signed overflow, no promotion to int), then truncated.
template <class T> using Wide = std::conditional_t<(sizeof(T) <= 4), uint32_t, uint64_t>;
template <class T> DL_VINLINE T wrap_add(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) + static_cast<Wide<T>>(b)); }
template <class T> DL_VINLINE T wrap_sub(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) - static_cast<Wide<T>>(b)); }
template <class T> DL_VINLINE T wrap_mul(T a, T b) { return static_cast<T>(static_cast<Wide<T>>(a) * static_cast<Wide<T>>(b)); }
template <class T> DL_VINLINE T add_(T a, T b) {
  if constexpr (is_int<T>) return wrap_add(a, b);
  else if constexpr (std::is_same<T, bool>::value) return a || b;
  else return a + b;
}
template <class T> DL_VINLINE T mul_(T a, T b) {
  if constexpr (is_int<T>) return wrap_mul(a, b);
  else if constexpr (std::is_same<T, bool>::value) return a && b;
  else return a * b;
}
template <class T> DL_VINLINE T sub_(T a, T b) {
  if constexpr (is_int<T>) return wrap_sub(a, b);
  else return a - b;
}
template <class T> DL_VINLINE T neg_(T a) {  // -0.0 for 0.0, unlike 0 - a
  if constexpr (is_int<T>) return wrap_sub(T(0), a);
  else return -a;
}

// Python's floor division and modulo (torch.floor_divide / torch.remainder) and C's fmod.  The
// entry rejects integer division by zero before the kernel runs; b == -1 is answered without a
// division (INT_MIN / -1 traps on x86) and wraps like PyTorch.  The float formulas are ATen's
// (div_floor_floating, remainder): a / b for b == 0, a floor corrected for fmod's rounding.
template <class T> DL_VINLINE T floordiv_(T a, T b) {
  if constexpr (is_int<T>) {
    if (std::is_signed<T>::value && b == T(-1)) return neg_(a);
    const T q = static_cast<T>(a / b), r = static_cast<T>(a % b);
    return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(q - 1) : q;
  } else {
    if (b == T(0)) return a / b;
    const T mod = std::fmod(a, b);
    T div = (a - mod) / b;
    if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
    if (div == T(0)) return std::copysign(T(0), a / b);
    T fl = std::floor(div);
    if (div - fl > T(0.5)) fl += T(1);
    return fl;
  }
}
template <class T> DL_VINLINE T remainder_(T a, T b) {
  if constexpr (is_int<T>) {
    if (std::is_signed<T>::value && b == T(-1)) return T(0);
    T r = static_cast<T>(a % b);
    if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    return r;
  } else {
    T m = std::fmod(a, b);
    if (m != T(0) && ((b < T(0)) != (m < T(0)))) m += b;
    return m;
  }
}
template <class T> DL_VINLINE T fmod_(T a, T b) {
  if constexpr (is_int<T>) {
    if (std::is_signed<T>::value && b == T(-1)) return T(0);
    return static_cast<T>(a % b);
  } else {
    return std::fmod(a, b);
  }
}

// Conversion between any two dtypes, as PyTorch's CPU cast: float16/bfloat16 through float
// (round to nearest even), to bool as != 0 (NaN is true), float to a narrow integer through
// int64 so out-of-range values wrap (-1.0 -> uint8 255) instead of being undefined.
template <class To, class From> DL_VINLINE To cvt(From x) {
  if constexpr (std::is_same<To, From>::value) return x;
  else if constexpr (std::is_same<From, Half>::value) return cvt<To>(half_to_float(x));
  else if constexpr (std::is_same<From, BFloat16>::value) return cvt<To>(bfloat16_to_float(x));
  else if constexpr (std::is_same<To, bool>::value) return x != From(0);
  else if constexpr (std::is_same<To, Half>::value) return float_to_half(static_cast<float>(x));
  else if constexpr (std::is_same<To, BFloat16>::value) return float_to_bfloat16(static_cast<float>(x));
  else if constexpr (is_int<To> && sizeof(To) < 8 && std::is_floating_point<From>::value)
    return static_cast<To>(static_cast<int64_t>(x));
  else return static_cast<To>(x);
}

// Integer power by squaring, wrapping like the other integer ops; the entry rejects negative
// exponents (as PyTorch and NumPy do), so b >= 0 here.
template <class T> T ipow(T a, T b) {
  Wide<T> r = 1, base = static_cast<Wide<T>>(a);
  while (b > 0) {
    if (b & 1) r *= base;
    base *= base;
    b = static_cast<T>(b >> 1);
  }
  return static_cast<T>(r);
}

// c ? a : b as a data select (see vm::sel).
template <class T> DL_VINLINE T sel(bool c, T a, T b) {
  if constexpr (is_f32<T>) {
    return vm::sel(c, a, b);
  } else if constexpr (std::is_same<T, double>::value) {
    int64_t ia, ib;
    __builtin_memcpy(&ia, &a, 8);
    __builtin_memcpy(&ib, &b, 8);
    const int64_t m = -static_cast<int64_t>(c);
    const int64_t r = (ia & m) | (ib & ~m);
    double d;
    __builtin_memcpy(&d, &r, 8);
    return d;
  } else {
    return c ? a : b;
  }
}
template <class T> DL_VINLINE T exp_(T x) { if constexpr (is_f32<T>) return vm::exp_f(x); else return std::exp(x); }
template <class T> DL_VINLINE T log_(T x) { if constexpr (is_f32<T>) return vm::log_f(x); else return std::log(x); }
template <class T> DL_VINLINE T log1p_(T x) { if constexpr (is_f32<T>) return vm::log1p_f(x); else return std::log1p(x); }
template <class T> DL_VINLINE T tanh_(T x) { if constexpr (is_f32<T>) return vm::tanh_f(x); else return std::tanh(x); }
template <class T> DL_VINLINE T erf_(T x) { if constexpr (is_f32<T>) return vm::erf_f(x); else return std::erf(x); }
template <class T> DL_VINLINE T sqrt_(T x) { if constexpr (is_f32<T>) return __builtin_sqrtf(x); else return __builtin_sqrt(x); }
template <class T> DL_VINLINE T sigmoid_(T x) { return T(1) / (T(1) + exp_(-x)); }

// GELU constants as in PyTorch: sqrt(1/2), 2/sqrt(pi) * sqrt(1/2) / 2, sqrt(2/pi), 0.044715.
constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kPdf = 0.39894228040143267794;  // M_2_SQRTPI * M_SQRT1_2 * 0.5
constexpr double kBeta = 0.79788456080286535588;
constexpr double kKappa = 0.044715;

}  // namespace
}  // namespace dl::DL_ISA_NS

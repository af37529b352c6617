// Per-ISA elementwise kernels: one entry point that runs an EwBlock (m rows of n elements).
// Row loops have fast paths (contiguous, scalar-broadcast) written so `#pragma omp simd`
// vectorises them; float32 transcendentals come from vec_math.h, float64 uses <cmath>.
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
// The entry (elementwise.cpp) only sends dtypes an op supports; others are ignored here.
template <class F> void float1(DType dt, const EwBlock& k, const F& f) {
  if (dt == DType::Float32) block1<float, float>(k, f);
  else if (dt == DType::Float64) block1<double, double>(k, f);
}
template <class F> void num1(DType dt, const EwBlock& k, const F& f) {
  if (dt == DType::Int64) block1<int64_t, int64_t>(k, f);
  else float1(dt, k, f);
}
template <class F> void float2(DType dt, const EwBlock& k, const F& f) {
  if (dt == DType::Float32) block2<float, float>(k, f);
  else if (dt == DType::Float64) block2<double, double>(k, f);
}
template <class F> void num2(DType dt, const EwBlock& k, const F& f) {
  if (dt == DType::Int64) block2<int64_t, int64_t>(k, f);
  else float2(dt, k, f);
}
template <class F> void all2(DType dt, const EwBlock& k, const F& f) {
  if (dt == DType::Bool) block2<bool, bool>(k, f);
  else num2(dt, k, f);
}
template <class F> void cmp2(DType dt, const EwBlock& k, const F& f) {
  switch (dt) {
    case DType::Float32: block2<bool, float>(k, f); break;
    case DType::Float64: block2<bool, double>(k, f); break;
    case DType::Int64: block2<bool, int64_t>(k, f); break;
    case DType::Bool: block2<bool, bool>(k, f); break;
  }
}

// ---- scalar helpers (own copies: no shared inline code across ISA variants) -------------------
template <class T> constexpr bool is_f32 = std::is_same<T, float>::value;

DL_VINLINE int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
DL_VINLINE int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
DL_VINLINE int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
template <class T> DL_VINLINE T add_(T a, T b) { return a + b; }
template <> DL_VINLINE int64_t add_(int64_t a, int64_t b) { return wrap_add(a, b); }
template <> DL_VINLINE bool add_(bool a, bool b) { return a || b; }
template <class T> DL_VINLINE T mul_(T a, T b) { return a * b; }
template <> DL_VINLINE int64_t mul_(int64_t a, int64_t b) { return wrap_mul(a, b); }
template <> DL_VINLINE bool mul_(bool a, bool b) { return a && b; }
template <class T> DL_VINLINE T sub_(T a, T b) { return a - b; }
template <> DL_VINLINE int64_t sub_(int64_t a, int64_t b) { return wrap_sub(a, b); }
template <class T> DL_VINLINE T neg_(T a) { return -a; }  // -0.0 for 0.0, unlike 0 - a
template <> DL_VINLINE int64_t neg_(int64_t a) { return wrap_sub(0, a); }

// Integer power by squaring; negative exponents give the truncated 1 / a^|b| as in PyTorch.
int64_t ipow(int64_t a, int64_t b) {
  if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
  uint64_t r = 1, base = static_cast<uint64_t>(a);
  while (b) {
    if (b & 1) r *= base;
    base *= base;
    b >>= 1;
  }
  return static_cast<int64_t>(r);
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

// ---- the kernel -------------------------------------------------------------------------------
template <class From>
void cast_from(DType to, const EwBlock& k) {
  auto conv = [](From x) DL_LAMBDA { return x; };
  switch (to) {
    case DType::Float32: block1<float, From>(k, [&](From x) DL_LAMBDA { return static_cast<float>(conv(x)); }); break;
    case DType::Float64: block1<double, From>(k, [&](From x) DL_LAMBDA { return static_cast<double>(conv(x)); }); break;
    case DType::Int64: block1<int64_t, From>(k, [&](From x) DL_LAMBDA { return static_cast<int64_t>(conv(x)); }); break;
    case DType::Bool: block1<bool, From>(k, [&](From x) DL_LAMBDA { return conv(x) != From(0); }); break;
  }
}

void ew_kernel(const EwArgs& a, const EwBlock& k) {
  const DType dt = a.dtype;
  switch (a.op) {
    // binary
    case EwOp::Add: all2(dt, k, [](auto x, auto y) DL_LAMBDA { return add_(x, y); }); break;
    case EwOp::Sub: num2(dt, k, [](auto x, auto y) DL_LAMBDA { return sub_(x, y); }); break;
    case EwOp::Mul: all2(dt, k, [](auto x, auto y) DL_LAMBDA { return mul_(x, y); }); break;
    case EwOp::Div: float2(dt, k, [](auto x, auto y) DL_LAMBDA { return x / y; }); break;
    case EwOp::Pow:
      if (dt == DType::Int64) {
        block2<int64_t, int64_t>(k, [](int64_t x, int64_t y) DL_LAMBDA { return ipow(x, y); });
      } else if (k.s0[1] == 0 && k.s1[1] == 0 &&
                 (dt == DType::Float32 ? *static_cast<const float*>(k.in[1]) == 2.0f
                                       : *static_cast<const double*>(k.in[1]) == 2.0)) {
        float2(dt, k, [](auto x, auto) DL_LAMBDA { return x * x; });  // exact, as pow(x, 2) is
      } else {
        float2(dt, k, [](auto x, auto y) DL_LAMBDA { return std::pow(x, y); });
      }
      break;
    // NaN-propagating, as NumPy's maximum/minimum and torch.maximum/minimum.
    case EwOp::Maximum: all2(dt, k, [](auto x, auto y) DL_LAMBDA { return sel((x > y) | (x != x), x, y); }); break;
    case EwOp::Minimum: all2(dt, k, [](auto x, auto y) DL_LAMBDA { return sel((x < y) | (x != x), x, y); }); break;
    case EwOp::Eq: cmp2(dt, k, [](auto x, auto y) DL_LAMBDA { return x == y; }); break;
    case EwOp::Ne: cmp2(dt, k, [](auto x, auto y) DL_LAMBDA { return x != y; }); break;
    case EwOp::Lt: cmp2(dt, k, [](auto x, auto y) DL_LAMBDA { return x < y; }); break;
    case EwOp::Le: cmp2(dt, k, [](auto x, auto y) DL_LAMBDA { return x <= y; }); break;
    case EwOp::Gt: cmp2(dt, k, [](auto x, auto y) DL_LAMBDA { return x > y; }); break;
    case EwOp::Ge: cmp2(dt, k, [](auto x, auto y) DL_LAMBDA { return x >= y; }); break;
    // unary
    case EwOp::Neg: num1(dt, k, [](auto x) DL_LAMBDA { return neg_(x); }); break;
    case EwOp::Abs: num1(dt, k, [](auto x) DL_LAMBDA { return sel(x < 0, neg_(x), sel(x == 0, decltype(x)(0), x)); }); break;
    case EwOp::Exp: float1(dt, k, [](auto x) DL_LAMBDA { return exp_(x); }); break;
    case EwOp::Log: float1(dt, k, [](auto x) DL_LAMBDA { return log_(x); }); break;
    case EwOp::Sqrt: float1(dt, k, [](auto x) DL_LAMBDA { return sqrt_(x); }); break;
    case EwOp::Rsqrt: float1(dt, k, [](auto x) DL_LAMBDA { return decltype(x)(1) / sqrt_(x); }); break;
    case EwOp::Tanh: float1(dt, k, [](auto x) DL_LAMBDA { return tanh_(x); }); break;
    case EwOp::Sigmoid: float1(dt, k, [](auto x) DL_LAMBDA { return sigmoid_(x); }); break;
    case EwOp::Relu: num1(dt, k, [](auto x) DL_LAMBDA { return sel(x < 0, decltype(x)(0), x); }); break;
    case EwOp::LeakyRelu: {
      const double s = a.p0;
      float1(dt, k, [s](auto x) DL_LAMBDA { using T = decltype(x); return sel(x > 0, x, x * T(s)); });
      break;
    }
    case EwOp::GeluErf:
      float1(dt, k, [](auto x) DL_LAMBDA {
        using T = decltype(x);
        if constexpr (is_f32<T>) return vm::gelu_erf_f(x);  // one fused approximation, see vec_math.h
        else return x * T(0.5) * (T(1) + erf_(x * T(kSqrt1_2)));
      });
      break;
    case EwOp::GeluTanh:
      float1(dt, k, [](auto x) DL_LAMBDA {
        using T = decltype(x);
        const T inner = T(kBeta) * (x + T(kKappa) * x * x * x);
        return T(0.5) * x * (T(1) + tanh_(inner));
      });
      break;
    case EwOp::Silu: float1(dt, k, [](auto x) DL_LAMBDA { using T = decltype(x); return x / (T(1) + exp_(-x)); }); break;
    case EwOp::Softplus: {
      const double beta = a.p0, thr = a.p1;
      float1(dt, k, [beta, thr](auto x) DL_LAMBDA {
        using T = decltype(x);
        const T xb = x * T(beta);
        return sel(xb > T(thr), x, log1p_(exp_(xb)) / T(beta));
      });
      break;
    }
    case EwOp::Cast:
      switch (dt) {
        case DType::Float32: cast_from<float>(a.out_dtype, k); break;
        case DType::Float64: cast_from<double>(a.out_dtype, k); break;
        case DType::Int64: cast_from<int64_t>(a.out_dtype, k); break;
        case DType::Bool: cast_from<bool>(a.out_dtype, k); break;
      }
      break;
    // unary backward: (g, x) or (g, y) with y the forward output
    case EwOp::NegBackward: float2(dt, k, [](auto g, auto) DL_LAMBDA { return -g; }); break;
    case EwOp::AbsBackward:
      float2(dt, k, [](auto g, auto x) DL_LAMBDA { using T = decltype(x); return g * (T(x > 0) - T(x < 0)); });
      break;
    case EwOp::ExpBackward: float2(dt, k, [](auto g, auto y) DL_LAMBDA { return g * y; }); break;
    case EwOp::LogBackward: float2(dt, k, [](auto g, auto x) DL_LAMBDA { return g / x; }); break;
    case EwOp::SqrtBackward: float2(dt, k, [](auto g, auto y) DL_LAMBDA { return g / (y + y); }); break;
    case EwOp::RsqrtBackward:
      float2(dt, k, [](auto g, auto y) DL_LAMBDA { using T = decltype(y); return T(-0.5) * g * (y * y * y); });
      break;
    case EwOp::TanhBackward: float2(dt, k, [](auto g, auto y) DL_LAMBDA { using T = decltype(y); return g * (T(1) - y * y); }); break;
    case EwOp::SigmoidBackward:
      float2(dt, k, [](auto g, auto y) DL_LAMBDA { using T = decltype(y); return g * (T(1) - y) * y; });
      break;
    case EwOp::ReluBackward: float2(dt, k, [](auto g, auto x) DL_LAMBDA { using T = decltype(x); return sel(x <= 0, T(0), g); }); break;
    case EwOp::LeakyReluBackward: {
      const double s = a.p0;
      float2(dt, k, [s](auto g, auto x) DL_LAMBDA { using T = decltype(x); return sel(x > 0, g, g * T(s)); });
      break;
    }
    case EwOp::GeluErfBackward:
      float2(dt, k, [](auto g, auto x) DL_LAMBDA {
        using T = decltype(x);
        const T cdf = T(0.5) * (T(1) + erf_(x * T(kSqrt1_2)));
        const T pdf = exp_(T(-0.5) * x * x) * T(kPdf);
        return g * (cdf + x * pdf);
      });
      break;
    case EwOp::GeluTanhBackward:
      float2(dt, k, [](auto g, auto x) DL_LAMBDA {
        using T = decltype(x);
        const T xsq = x * x;
        const T inner = T(kBeta) * (x + T(kKappa) * xsq * x);
        const T t = tanh_(inner);
        const T left = T(0.5) * x, right = T(1) + t;
        const T dleft = T(0.5) * right, dright = T(1) - t * t;
        const T dinner = T(kBeta) * (T(1) + T(3 * kKappa) * xsq);
        return g * (dleft + left * dright * dinner);
      });
      break;
    case EwOp::SiluBackward:
      float2(dt, k, [](auto g, auto x) DL_LAMBDA {
        using T = decltype(x);
        const T s = sigmoid_(x);
        return g * s * (T(1) + x * (T(1) - s));
      });
      break;
    case EwOp::SoftplusBackward: {
      const double beta = a.p0, thr = a.p1;
      float2(dt, k, [beta, thr](auto g, auto x) DL_LAMBDA {
        using T = decltype(x);
        const T xb = x * T(beta);
        const T z = exp_(xb);
        return sel(xb > T(thr), g, g * z / (z + T(1)));
      });
      break;
    }
    // ternary
    case EwOp::Where: {
      auto f = [](bool c, auto x, auto y) DL_LAMBDA { return sel(c, x, y); };
      switch (dt) {
        case DType::Float32: block3<float, bool, float>(k, f); break;
        case DType::Float64: block3<double, bool, double>(k, f); break;
        case DType::Int64: block3<int64_t, bool, int64_t>(k, f); break;
        case DType::Bool: block3<bool, bool, bool>(k, f); break;
      }
      break;
    }
    case EwOp::PowBackwardA:
    case EwOp::PowBackwardB: {
      const bool wrt_a = a.op == EwOp::PowBackwardA;
      auto fa = [](auto g, auto x, auto y) DL_LAMBDA {
        using T = decltype(x);
        return y == T(0) ? T(0) : g * y * std::pow(x, y - T(1));
      };
      auto fb = [](auto g, auto x, auto y) DL_LAMBDA {
        using T = decltype(x);
        return (x == T(0) && y >= T(0)) ? T(0) : g * std::pow(x, y) * std::log(x);
      };
      if (dt == DType::Float32) {
        if (wrt_a) block3<float, float, float>(k, fa); else block3<float, float, float>(k, fb);
      } else if (dt == DType::Float64) {
        if (wrt_a) block3<double, double, double>(k, fa); else block3<double, double, double>(k, fb);
      }
      break;
    }
  }
}

}  // namespace
DL_REGISTER_CPU_KERNEL(elementwise, EwFn, ew_kernel);
}  // namespace dl::DL_ISA_NS

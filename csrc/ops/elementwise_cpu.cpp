// Per-ISA elementwise kernels: one entry point that runs an EwBlock (m rows of n elements),
// switching once per block on the op and the dtype.  Row loops (fast paths for contiguous and
// scalar-broadcast operands), dtype visitors and scalar helpers are in elementwise_cpu_inl.h;
// float32 transcendentals come from vec_math.h, float64 uses <cmath>.
#include "ops/elementwise_cpu_inl.h"

namespace dl::DL_ISA_NS {
namespace {

// ---- the kernel -------------------------------------------------------------------------------
void ew_kernel(const EwArgs& a, const EwBlock& k) {
  const DType dt = a.dtype;
  switch (a.op) {
    // binary
    case EwOp::Add: all2(dt, k, [](auto x, auto y) DL_LAMBDA { return add_(x, y); }); break;
    case EwOp::Sub: num2(dt, k, [](auto x, auto y) DL_LAMBDA { return sub_(x, y); }); break;
    case EwOp::Mul: all2(dt, k, [](auto x, auto y) DL_LAMBDA { return mul_(x, y); }); break;
    case EwOp::Div: float2(dt, k, [](auto x, auto y) DL_LAMBDA { return x / y; }); break;
    case EwOp::Pow:
      if (!is_fp(dt)) {
        visit_int(dt, [&](auto t) { using T = decltype(t); block2<T, T>(k, [](T x, T y) DL_LAMBDA { return ipow(x, y); }); });
      } else if (k.s0[1] == 0 && k.s1[1] == 0 &&
                 (dt == DType::Float32 ? *static_cast<const float*>(k.in[1]) == 2.0f
                                       : *static_cast<const double*>(k.in[1]) == 2.0)) {
        float2(dt, k, [](auto x, auto) DL_LAMBDA { return x * x; });  // exact, as pow(x, 2) is
      } else {
        float2(dt, k, [](auto x, auto y) DL_LAMBDA { return std::pow(x, y); });
      }
      break;
    case EwOp::FloorDivide: num2(dt, k, [](auto x, auto y) DL_LAMBDA { return floordiv_(x, y); }); break;
    case EwOp::Remainder: num2(dt, k, [](auto x, auto y) DL_LAMBDA { return remainder_(x, y); }); break;
    case EwOp::Fmod: num2(dt, k, [](auto x, auto y) DL_LAMBDA { return fmod_(x, y); }); break;
    case EwOp::BitAnd: bits2(dt, k, [](auto x, auto y) DL_LAMBDA { return decltype(x)(x & y); }); break;
    case EwOp::BitOr: bits2(dt, k, [](auto x, auto y) DL_LAMBDA { return decltype(x)(x | y); }); break;
    case EwOp::BitXor: bits2(dt, k, [](auto x, auto y) DL_LAMBDA { return decltype(x)(x ^ y); }); break;
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
    case EwOp::Abs:
      num1(dt, k, [](auto x) DL_LAMBDA {
        using T = decltype(x);
        if constexpr (std::is_unsigned<T>::value) return x;
        else return sel(x < T(0), neg_(x), sel(x == T(0), T(0), x));
      });
      break;
    case EwOp::Exp: float1(dt, k, [](auto x) DL_LAMBDA { return exp_(x); }); break;
    case EwOp::Log: float1(dt, k, [](auto x) DL_LAMBDA { return log_(x); }); break;
    case EwOp::Sqrt: float1(dt, k, [](auto x) DL_LAMBDA { return sqrt_(x); }); break;
    case EwOp::Rsqrt: float1(dt, k, [](auto x) DL_LAMBDA { return decltype(x)(1) / sqrt_(x); }); break;
    case EwOp::Tanh: float1(dt, k, [](auto x) DL_LAMBDA { return tanh_(x); }); break;
    case EwOp::Sigmoid: float1(dt, k, [](auto x) DL_LAMBDA { return sigmoid_(x); }); break;
    case EwOp::Relu:
      num1(dt, k, [](auto x) DL_LAMBDA {
        using T = decltype(x);
        if constexpr (std::is_unsigned<T>::value) return x;
        else return sel(x < T(0), T(0), x);
      });
      break;
    case EwOp::BitNot:
      if (dt == DType::Bool) block1<bool, bool>(k, [](bool x) DL_LAMBDA { return !x; });
      else visit_int(dt, [&](auto t) { using T = decltype(t); block1<T, T>(k, [](T x) DL_LAMBDA { return T(~x); }); });
      break;
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
      visit_all(dt, [&](auto from) {
        using From = decltype(from);
        visit_all(a.out_dtype, [&](auto to) {
          using To = decltype(to);
          block1<To, From>(k, [](From x) DL_LAMBDA { return cvt<To>(x); });
        });
      });
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
      // A select moves bits: one instantiation per element size serves every dtype.
      auto f = [](bool c, auto x, auto y) DL_LAMBDA { return sel(c, x, y); };
      visit_all(dt, [&](auto t) {
        using U = Bits<sizeof(t)>;
        block3<U, bool, U>(k, f);
      });
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

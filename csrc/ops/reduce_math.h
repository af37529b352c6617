// Small branch-free math for the reduce family's vectorised loops (softmax, cross-entropy).
// Everything here is `static inline` so each per-ISA kernel file gets its own copy (see
// core/isa.h: no inline code may be shared between ISA variants).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace dl {
namespace reduce_math {

// c ? a : b through the bit patterns.  GCC will not if-convert a float select whose arms are
// computed (under the default -ftrapping-math it keeps the branch, which blocks vectorisation);
// an integer blend it vectorises into compare + and/andnot/or.
static inline float select_f(bool c, float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  const int32_t m = -static_cast<int32_t>(c);
  const int32_t r = (ia & m) | (ib & ~m);
  float out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}

// a*b + c, fused where the ISA has FMA (the build disables implicit contraction; this asks for
// it explicitly: one rounding instead of two, and half the instructions in the polynomial).
static inline float madd(float a, float b, float c) {
#if defined(__FMA__)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}

// exp(x) for float32, ~1 ulp on the normal range: Cody-Waite reduction x = n ln2 + r,
// |r| <= ln2/2, a degree-6 minimax polynomial for e^r (Cephes' coefficients), and 2^n built in
// the exponent bits.  Results below FLT_MIN flush to 0 (softmax never needs denormals); above
// the float range -> inf; NaN propagates.  Written with selects only, so `omp simd` loops
// vectorise it on every ISA.
static inline float expf_fast(float x) {
  const float lo = -87.33654f, hi = 88.72283f;
  float xc = select_f(x < lo, lo, x);
  xc = select_f(xc > hi, hi, xc);
  // Round to nearest with the 1.5*2^23 trick (exact for |t| < 2^22; no rint call).
  const float t = xc * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;
  float r = madd(n, -0.693359375f, xc);
  r = madd(n, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = madd(p, r, 1.3981999507e-3f);
  p = madd(p, r, 8.3334519073e-3f);
  p = madd(p, r, 4.1665795894e-2f);
  p = madd(p, r, 1.6666665459e-1f);
  p = madd(p, r, 5.0000001201e-1f);
  const float y = madd(p, r * r, r) + 1.0f;
  // 2^n as two factors so n = 128 (x near the top of the range) stays finite.
  const int32_t ni = static_cast<int32_t>(n), n1 = ni >> 1, n2 = ni - n1;
  const int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  float out = (y * s1) * s2;
  out = select_f(x < lo, 0.0f, out);
  out = select_f(x > hi, INFINITY, out);
  return select_f(x != x, x, out);
}

static inline float exp_t(float x) { return expf_fast(x); }
static inline double exp_t(double x) { return std::exp(x); }

}  // namespace reduce_math
}  // namespace dl

// Branch-free float32 transcendentals for the elementwise kernels (included only by
// elementwise_cpu.cpp, inside its per-ISA namespace).  std::exp/tanh/erf are library calls that
// stop `#pragma omp simd` loops from vectorising; these are plain arithmetic, bit casts and
// selects, so the loops vectorise under SSE2, AVX2 and AVX-512 alike and every ISA (and the
// scalar tails) computes bitwise the same result (the build uses -ffp-contract=off).
//
// Accuracy (max relative error vs float64 over the whole float range, tests/test_elementwise.py):
// a few ulp.  inf/nan follow C99/NumPy: exp(-inf)=0, exp(inf)=inf, log(0)=-inf, log(x<0)=nan,
// tanh(+-inf)=+-1, erf(+-inf)=+-1, nan -> nan.
#pragma once
#include <cstdint>

#define DL_VINLINE inline __attribute__((always_inline))

namespace vm {

static DL_VINLINE float as_float(int32_t i) {
  float f;
  __builtin_memcpy(&f, &i, 4);
  return f;
}
static DL_VINLINE int32_t as_int(float f) {
  int32_t i;
  __builtin_memcpy(&i, &f, 4);
  return i;
}
static DL_VINLINE float abs_f(float x) { return as_float(as_int(x) & 0x7fffffff); }
// c ? a : b without control flow: both arms are already evaluated, so GCC (whose default
// -ftrapping-math forbids speculating a float operation out of a branch) still vectorises.
static DL_VINLINE float sel(bool c, float a, float b) {
  const int32_t m = -static_cast<int32_t>(c);
  return as_float((as_int(a) & m) | (as_int(b) & ~m));
}
// |mag| with the sign of s (mag >= 0).
static DL_VINLINE float with_sign(float mag, float s) {
  return as_float(as_int(mag) | (as_int(s) & static_cast<int32_t>(0x80000000u)));
}

// exp: round-to-nearest reduction x = n ln2 + r (Cody-Waite, ln2 split so n*hi is exact),
// a degree-7 polynomial on |r| <= ln2/2, and 2^n applied in two halves so results that are
// subnormal (x down to -103.97) round once, correctly.
static DL_VINLINE float exp_f(float x) {
  float xc = sel(x > -104.0f, x, -104.0f);  // also maps nan to -104 (restored below)
  xc = sel(xc < 89.0f, xc, 89.0f);
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (xc * 1.44269504088896341f + magic) - magic;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  const float res = (p * as_float((n1 + 127) << 23)) * as_float((n2 + 127) << 23);
  return sel(x != x, x, res);
}

// log: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) = f - f^2/2 + f^3 P(f), f = m - 1.
static DL_VINLINE float log_f(float x) {
  const bool sub = x < 1.17549435e-38f;  // subnormal (or <= 0, fixed up below): scale by 2^23
  const float xs = sel(sub, x * 8388608.0f, x);
  const int32_t ix = as_int(xs);
  int32_t e = (ix >> 23) - 126;
  e -= 23 * static_cast<int32_t>(sub);  // arithmetic, not a select: keeps the loop branch-free
  const float m = as_float((ix & 0x007fffff) | 0x3f000000);  // [0.5, 1)
  const bool low = m < 0.707106781186547524f;
  const float fe = static_cast<float>(e - static_cast<int32_t>(low));
  const float f = sel(low, (m + m) - 1.0f, m - 1.0f);
  const float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f + -1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f + -1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f + -1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f + -2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  y = y + fe * -2.12194440e-4f;
  y = y - 0.5f * z;
  float r = (f + y) + fe * 0.693359375f;
  const float inf = __builtin_huge_valf();
  r = sel(x == inf, inf, r);
  r = sel(x == 0.0f, -inf, r);
  r = sel(x < 0.0f, __builtin_nanf(""), r);
  return sel(x != x, x, r);
}

// log1p for v >= -1: log(1 + v) * v / ((1 + v) - 1) cancels the rounding of 1 + v.
static DL_VINLINE float log1p_f(float v) {
  const float u = 1.0f + v;
  const float d = u - 1.0f;
  const float r = log_f(u) * (v / sel(d == 0.0f, 1.0f, d));
  return sel(d == 0.0f, v, sel(u == __builtin_huge_valf(), u, r));
}

// tanh: odd polynomial for |x| < 0.625, else 1 - 2 / (exp(2|x|) + 1) with x's sign.
static DL_VINLINE float tanh_f(float x) {
  const float ax = abs_f(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z + -5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z + -3.33332819422e-1f;
  const float small = p * z * x + x;
  const float e = exp_f(ax + ax);
  const float big = with_sign(1.0f - 2.0f / (e + 1.0f), x);
  return sel(ax < 0.625f, small, big);
}

// erf: x P(x^2) on |x| <= 1; beyond, 1 - erfc(|x|) with erfc(x) = exp(g(x) - x^2), g a
// polynomial fitted on [1, 4] (erf rounds to 1 above 3.92).  Coefficients: least-squares fits
// against mpmath at Chebyshev nodes (relative error 1.4e-9 and absolute error in g 1.3e-8).
static DL_VINLINE float erf_f(float x) {
  const float ax = abs_f(x);
  const float s = x * x;
  float p = 7.898068475215516e-05f;
  p = p * s + -8.024316612926325e-04f;
  p = p * s + 5.190049962214519e-03f;
  p = p * s + -2.6854807015236508e-02f;
  p = p * s + 1.1283612402770933e-01f;
  p = p * s + -3.7612628842481044e-01f;
  p = p * s + 1.1283791665105323f;
  const float small = x * p;
  float a = sel(ax < 4.0f, ax, 4.0f);  // nan: fixed up below
  a = sel(a > 1.0f, a, 1.0f);
  const float u = (a - 2.5f) * 0.666666666666666667f;
  float g = 4.13660047336912e-05f;
  g = g * u + -2.274039439701174e-04f;
  g = g * u + 8.815719790111157e-04f;
  g = g * u + -3.1904720122071903e-03f;
  g = g * u + 1.096112347838686e-02f;
  g = g * u + -3.6647495249939765e-02f;
  g = g * u + 1.262393094850956e-01f;
  g = g * u + -5.290210215760555e-01f;
  g = g * u + -1.5568152770543857f;
  const float big = with_sign(1.0f - exp_f(g - a * a), x);
  return sel(x != x, x, sel(ax <= 1.0f, small, big));
}

// GELU (erf form) in one piece: gelu(x) = x Phi(x), with q = Phi(-|x|) = 2^H(|x|) and
// Phi(x) = 1 - q for x >= 0, q for x < 0.  H(u) = log2(Phi(-u)) is smooth on [0, 5.5] and a
// degree-11 polynomial in u (H(0) = -1 exactly) fits it to ~1e-7; 2^H is 2^n times a degree-6
// polynomial on [-1/2, 1/2], with no range checks since H stays in [-26, -1].  This costs about
// half of x/2 (1 + erf(x/sqrt2)) with erf_f (no second polynomial, no general exp), and the
// negative side gets q directly instead of 1 + erf, so it does not cancel.  Beyond |x| = 5.5
// q < 2e-8: Phi rounds to 1 (x > 0), and 0 (x < 0) is within the |x| 2^-23 the tests allow.
// Accuracy (dense grid vs mpmath): <= 2.3 ulp for x > 0, <= 0.5 |x| 2^-23 for x < 0.
// inf -> inf, -inf -> nan (-inf * 0, as x/2 (1 + erf(x)) gives), nan -> nan.
static DL_VINLINE float gelu_erf_f(float x) {
  const float u = abs_f(x);
  const float uc = sel(u < 5.5f, u, 5.5f);  // nan -> 5.5 (q is zeroed below)
  float h = 3.474017518101391e-09f;
  h = h * uc + -1.2190506026854564e-07f;
  h = h * uc + 1.9079132016486255e-06f;
  h = h * uc + -1.7437692804378457e-05f;
  h = h * uc + 0.0001002513527055271f;
  h = h * uc + -0.0003330295148771256f;
  h = h * uc + 7.183716661529616e-05f;
  h = h * uc + 0.00689185643568635f;
  h = h * uc + -0.052419763058423996f;
  h = h * uc + -0.4592241942882538f;
  h = h * uc + -1.1511040925979614f;
  h = h * uc + -1.0f;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (h + magic) - magic;
  const float f = h - n;  // exact, in [-1/2, 1/2]
  float p = 0.00014990888303145766f;
  p = p * f + 0.0013393083354458213f;
  p = p * f + 0.00961967371404171f;
  p = p * f + 0.055503472685813904f;
  p = p * f + 0.2402263730764389f;
  p = p * f + 0.6931471824645996f;
  p = p * f + 1.0f;
  const float q = sel(u < 5.5f, p * as_float((static_cast<int32_t>(n) + 127) << 23), 0.0f);
  return x * sel(x >= 0.0f, 1.0f - q, q);
}

static DL_VINLINE float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

}  // namespace vm

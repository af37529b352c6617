// This machine's FMA peak (compiled once per ISA): register-only FMA chains on every thread for
// a set time, so benchmarks can report the share of peak a kernel reaches.
#include <time.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "core/isa.h"
#include "ops/gemm.h"
#include "ops/gemm_microkernel.h"

namespace dl::DL_ISA_NS {
namespace {
using namespace gemm_detail;

// Register-only FMA loop: 12 independent chains (more than latency x pipes = 4 x 2) so the
// FMA units never wait.  Returns the flops done (2 per lane per FMA).
template <class V>
inline double fma_burn(int64_t iters, typename V::T* sink) {
  using R = typename V::R;
  constexpr int kChains = 12;
  R acc[kChains];
  const R x = V::set1(static_cast<typename V::T>(0.9999999)), y = V::set1(static_cast<typename V::T>(1e-3));
#pragma GCC unroll 16
  for (int i = 0; i < kChains; ++i) acc[i] = V::set1(static_cast<typename V::T>(i));
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = V::fma(acc[i], x, y);
  }
  R s = acc[0];
#pragma GCC unroll 16
  for (int i = 1; i < kChains; ++i) s = V::fma(s, x, acc[i]);
  typename V::T out[V::W];
  V::store(out, s);
  *sink = out[0];
  return 2.0 * kChains * V::W * static_cast<double>(iters);
}

double now_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void fma_peak_kernel(const FmaPeakArgs& a) {
  double flops = 0;
  const double t0 = now_seconds();
#if defined(_OPENMP)
#pragma omp parallel num_threads(a.threads) reduction(+ : flops)
#endif
  {
    float sink = 0;
    const double start = now_seconds();
    do {
      flops += fma_burn<VecF>(1 << 18, &sink);
    } while (now_seconds() - start < a.seconds);
    volatile float keep = sink;
    (void)keep;
  }
  *a.gflops = flops / (now_seconds() - t0) * 1e-9;
}

}  // namespace
DL_REGISTER_CPU_KERNEL(gemm_fma_peak, FmaPeakFn, fma_peak_kernel);
}  // namespace dl::DL_ISA_NS

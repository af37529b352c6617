// Scalar math for the softmax kernels.  The float32 exp is the elementwise family's branch-free
// vm::exp_f (one exp in the library, vectorisable under `omp simd`, bitwise identical on every
// ISA); float64 uses std::exp.  `static` so each per-ISA kernel file gets its own copy (see
// core/isa.h).
#pragma once
#include <cmath>

#include "ops/vec_math.h"

namespace dl {
namespace reduce_math {

static inline float exp_t(float x) { return vm::exp_f(x); }
static inline double exp_t(double x) { return std::exp(x); }

}  // namespace reduce_math
}  // namespace dl

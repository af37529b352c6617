#include "core/cpu_features.h"

#include <atomic>

#include "core/error.h"

namespace dl {
namespace {

Isa detect() {
#if defined(DL_HAVE_X86_VARIANTS) && (defined(__x86_64__) || defined(_M_X64))
  // __builtin_cpu_supports also checks that the OS saves the wide registers (XGETBV).
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("fma"))
    return Isa::AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::AVX2;
#endif
  return Isa::Baseline;
}

std::atomic<int>& active() {
  static std::atomic<int> a{static_cast<int>(detected_isa())};
  return a;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Baseline: return "baseline";
    case Isa::AVX2: return "avx2";
    case Isa::AVX512: return "avx512";
  }
  return "?";
}

bool isa_compiled(Isa isa) {
#ifdef DL_HAVE_X86_VARIANTS
  (void)isa;
  return true;
#else
  return isa == Isa::Baseline;
#endif
}

Isa detected_isa() {
  static const Isa d = detect();
  return d;
}

Isa active_isa() { return static_cast<Isa>(active().load(std::memory_order_relaxed)); }

void set_active_isa(Isa isa) {
  DL_CHECK(static_cast<int>(isa) >= 0 && static_cast<int>(isa) < kNumIsas, Value, "set_isa", "unknown ISA");
  DL_CHECK(static_cast<int>(isa) <= static_cast<int>(detected_isa()), Value, "set_isa",
           "this CPU supports at most '", isa_name(detected_isa()), "', got '", isa_name(isa), "'");
  active().store(static_cast<int>(isa), std::memory_order_relaxed);
}

}  // namespace dl

// Run-time CPU instruction-set detection.  Hot kernels are compiled once per Isa (see the
// *_cpu.cpp rule in CMakeLists.txt); the dispatch table picks the best variant <= active_isa().
#pragma once

namespace dl {

enum class Isa : int { Baseline = 0, AVX2 = 1, AVX512 = 2 };
constexpr int kNumIsas = 3;

const char* isa_name(Isa isa);
Isa detected_isa();         // the best this CPU and OS support (and this build compiled)
Isa active_isa();           // what kernels use now (<= detected_isa)
void set_active_isa(Isa);   // force a lower ISA (tests run every variant); raises if unsupported
bool isa_compiled(Isa isa);  // whether this build contains kernels for it

}  // namespace dl

// Included by every per-ISA kernel file (*_cpu.cpp).  CMake compiles those files once per
// instruction set with DL_ISA_ID / DL_ISA_NS defined; kernels live in namespace dl::DL_ISA_NS so
// the variants never collide at link time.
//
// Rule for *_cpu.cpp files: keep them to plain loops over raw pointers and POD argument structs.
// Do not instantiate inline functions or templates that are also instantiated in baseline code
// (std::vector, std::string, Tensor methods): the linker keeps one copy of such functions, and if
// it keeps the AVX-512 one, a CPU without AVX-512 crashes.  Registration goes through the
// out-of-line dl::register_kernel for the same reason.
#pragma once
#include "core/cpu_features.h"
#include "dispatch/registry.h"

#ifndef DL_ISA_ID
#define DL_ISA_ID 0
#define DL_ISA_NS isa_baseline
#endif

// Registers `fn` as the CPU kernel of `op` for the ISA this file is being compiled for.
#define DL_REGISTER_CPU_KERNEL(op, FnType, fn)                                                   \
  static_assert(std::is_same<decltype(&fn), FnType>::value, "kernel type mismatch for " #op);   \
  static const bool DL_CONCAT(dl_registered_, __LINE__) =                                        \
      (::dl::register_kernel(#op, ::dl::DeviceType::CPU, static_cast<::dl::Isa>(DL_ISA_ID),     \
                             reinterpret_cast<void*>(&fn)),                                      \
       true)

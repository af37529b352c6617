// Shared by the per-ISA convolution kernel files: conv_cpu.cpp (implicit GEMM: forward, backward
// data, backward weight) and conv_direct_cpu.cpp (the direct reference loops and the depthwise
// kernels).  Each file is compiled once per ISA, inside dl::DL_ISA_NS.
#pragma once
#include <stdlib.h>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/conv.h"

namespace dl::DL_ISA_NS {
namespace conv_detail {

template <class T>
T* alloc_aligned(size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, 64, n * sizeof(T) + 64) != 0) return nullptr;
  return static_cast<T*>(p);
}

// Problems smaller than this (multiply-adds) run on the calling thread alone.
constexpr double kParallelWork = 2.0e5;
inline int threads_for(double work) { return work >= kParallelWork ? num_threads() : 1; }

}  // namespace conv_detail

// The algorithms kConvDirect and kConvDepthwise of the three kernels (conv_direct_cpu.cpp).
void conv_direct_forward(const ConvArgs& a);
void conv_direct_backward_data(const ConvArgs& a);
void conv_direct_backward_weight(const ConvArgs& a);

}  // namespace dl::DL_ISA_NS

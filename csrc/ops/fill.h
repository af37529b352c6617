// fill: set every element of a tensor to one value.  The smallest op family, and the template
// for the others: fill.h (kernel signature), fill.cpp (validation + dispatch), fill_cpu.cpp
// (per-ISA CPU kernel), fill_cuda.cu (CUDA kernel).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace dl {

struct FillArgs {
  void* out;        // contiguous
  int64_t n;        // elements
  DType dtype;
  double value;     // converted to dtype by the kernel
};
using FillFn = void (*)(const FillArgs&);

// Fills t (any strides) with value; returns t.
Tensor& fill_(Tensor& t, double value);

}  // namespace dl

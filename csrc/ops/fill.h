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
  double value;     // converted to dtype by the kernel (float and bool tensors)
  int64_t ivalue;   // the exact value for int64 tensors (a double cannot hold every int64)
};
using FillFn = void (*)(const FillArgs&);

// Fills t (any strides) with value; returns t.  For an int64 tensor the value is truncated
// toward zero like torch; NaN, infinities and values outside int64 raise ValueError naming op.
Tensor& fill_(Tensor& t, double value, const char* op = "fill_");
// The same with an exact integer: an int64 tensor gets exactly `value` (2**62 + 1 stays odd).
Tensor& fill_int_(Tensor& t, int64_t value, const char* op = "fill_");

}  // namespace dl

// CUDA helpers shared by the *_cuda.cu kernels.
#pragma once
#include <cuda_runtime.h>

#include "core/error.h"

#define DL_CUDA_CHECK(expr, op)                                                          \
  do {                                                                                   \
    cudaError_t dl_err_ = (expr);                                                        \
    if (dl_err_ != cudaSuccess)                                                          \
      ::dl::fail(::dl::ErrorKind::Runtime, op, "CUDA error: ", cudaGetErrorString(dl_err_)); \
  } while (0)

namespace dl::cuda {
inline int blocks_for(long long n, int threads) {
  long long b = (n + threads - 1) / threads;
  return static_cast<int>(b < 65535LL * 32 ? b : 65535LL * 32);
}
}  // namespace dl::cuda

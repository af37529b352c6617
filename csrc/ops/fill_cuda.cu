#include "cuda/common.cuh"
#include "dispatch/registry.h"
#include "ops/fill.h"

namespace dl {
namespace {

template <class T>
__global__ void fill_kernel_cuda(T* out, long long n, T v) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    out[i] = v;
}

void fill_cuda(const FillArgs& a) {
  const int threads = 256, blocks = cuda::blocks_for(a.n, threads);
  switch (a.dtype) {
    case DType::Float32: fill_kernel_cuda<<<blocks, threads>>>(static_cast<float*>(a.out), a.n, (float)a.value); break;
    case DType::Float64: fill_kernel_cuda<<<blocks, threads>>>(static_cast<double*>(a.out), a.n, a.value); break;
    case DType::Int64: fill_kernel_cuda<<<blocks, threads>>>(static_cast<int64_t*>(a.out), a.n, a.ivalue); break;
    case DType::Bool: fill_kernel_cuda<<<blocks, threads>>>(static_cast<bool*>(a.out), a.n, a.value != 0.0); break;
    // As fill_cpu.cpp: narrow integers wrap through int64, half types are filled with their bits.
    case DType::Int32: fill_kernel_cuda<<<blocks, threads>>>(static_cast<int32_t*>(a.out), a.n, (int32_t)(int64_t)a.value); break;
    case DType::Int16: fill_kernel_cuda<<<blocks, threads>>>(static_cast<int16_t*>(a.out), a.n, (int16_t)(int64_t)a.value); break;
    case DType::Int8: fill_kernel_cuda<<<blocks, threads>>>(static_cast<int8_t*>(a.out), a.n, (int8_t)(int64_t)a.value); break;
    case DType::UInt8: fill_kernel_cuda<<<blocks, threads>>>(static_cast<uint8_t*>(a.out), a.n, (uint8_t)(int64_t)a.value); break;
    case DType::Float16:
      fill_kernel_cuda<<<blocks, threads>>>(static_cast<uint16_t*>(a.out), a.n, float_to_half((float)a.value).bits);
      break;
    case DType::BFloat16:
      fill_kernel_cuda<<<blocks, threads>>>(static_cast<uint16_t*>(a.out), a.n, float_to_bfloat16((float)a.value).bits);
      break;
  }
  DL_CUDA_CHECK(cudaGetLastError(), "fill");
}

}  // namespace
DL_REGISTER_CUDA_KERNEL(fill, FillFn, fill_cuda);
}  // namespace dl

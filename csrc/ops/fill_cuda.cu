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
  }
  DL_CUDA_CHECK(cudaGetLastError(), "fill");
}

}  // namespace
DL_REGISTER_CUDA_KERNEL(fill, FillFn, fill_cuda);
}  // namespace dl

// Fills dl::cuda_hooks() so the core (compiled without nvcc) can allocate and copy device memory.
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "core/storage.h"
#include "cuda/common.cuh"

namespace dl {
namespace {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: report zero, not an error
    return 0;
  }
  return n;
}

const char* device_name(int device) {
  static std::vector<std::string> names;
  if (names.empty()) {
    for (int i = 0; i < device_count(); ++i) {
      cudaDeviceProp p{};
      names.push_back(cudaGetDeviceProperties(&p, i) == cudaSuccess ? p.name : "unknown");
    }
  }
  return device < static_cast<int>(names.size()) ? names[device].c_str() : "unknown";
}

void* cuda_malloc(size_t nbytes, int device) {
  void* p = nullptr;
  if (cudaSetDevice(device) != cudaSuccess || cudaMalloc(&p, nbytes) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}

void cuda_free(void* p, int device) {
  cudaSetDevice(device);
  cudaFree(p);
}

void cuda_memcpy(void* dst, const void* src, size_t nbytes, int kind, int device) {
  static const cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice};
  DL_CUDA_CHECK(cudaSetDevice(device), "to");
  DL_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kinds[kind]), "to");
}

const bool installed = [] {
  CudaHooks& h = cuda_hooks();
  h.malloc = cuda_malloc;
  h.free = cuda_free;
  h.memcpy = cuda_memcpy;
  h.device_count = device_count;
  h.device_name = device_name;
  return true;
}();

}  // namespace
}  // namespace dl

#include "core/storage.h"

#include <cstdint>
#include <cstdlib>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/error.h"

namespace dl {

CudaHooks& cuda_hooks() {
  static CudaHooks hooks;
  return hooks;
}

bool cuda_compiled() {
#ifdef DL_WITH_CUDA
  return true;
#else
  return false;
#endif
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, const Device& device, const char* op) {
  constexpr size_t kAlign = 64;  // one cache line, and a full AVX-512 vector
  const size_t rounded = nbytes == 0 ? kAlign : (nbytes + kAlign - 1) / kAlign * kAlign;
  DL_CHECK(rounded >= nbytes, Memory, op, "cannot allocate ", nbytes, " bytes");
  if (device.is_cpu()) {
    void* p = std::aligned_alloc(kAlign, rounded);
    if (p == nullptr) fail(ErrorKind::Memory, op, "out of memory allocating ", nbytes, " bytes");
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Large buffers: ask for transparent huge pages (as NumPy does) so first-touch page faults
    // do not dominate bandwidth-bound kernels that write a fresh output.  Advisory only.
    if (rounded >= (size_t{4} << 20)) {
      const uintptr_t page = 4096, b = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
      const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + rounded) & ~(page - 1);
      if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);
    }
#endif
    return std::make_shared<Storage>(p, nbytes, device, [](void* q) { std::free(q); });
  }
  const CudaHooks& h = cuda_hooks();
  if (h.malloc == nullptr)
    fail(ErrorKind::Runtime, op, "CUDA device requested, but dlcore was built without CUDA");
  DL_CHECK(device.index >= 0 && device.index < h.device_count(), Runtime, op, "CUDA device ",
           device.index, " is not available (", h.device_count(), " device(s) visible)");
  void* p = h.malloc(rounded, device.index);
  if (p == nullptr) fail(ErrorKind::Memory, op, "CUDA out of memory allocating ", nbytes, " bytes");
  const int index = device.index;
  return std::make_shared<Storage>(p, nbytes, device, [index](void* q) { cuda_hooks().free(q, index); });
}

Device parse_device(const std::string& spec, const char* op) {
  if (spec == "cpu") return Device{};
  if (spec.rfind("cuda", 0) == 0) {
    if (spec.size() == 4) return Device{DeviceType::CUDA, 0};
    if (spec[4] == ':' && spec.size() > 5 && spec.size() < 9) {
      int idx = 0;
      for (size_t i = 5; i < spec.size(); ++i) {
        if (spec[i] < '0' || spec[i] > '9') fail(ErrorKind::Value, op, "bad device '", spec, "'");
        idx = idx * 10 + (spec[i] - '0');
      }
      return Device{DeviceType::CUDA, idx};
    }
  }
  fail(ErrorKind::Value, op, "expected a device 'cpu', 'cuda' or 'cuda:N', got '", spec, "'");
}

}  // namespace dl

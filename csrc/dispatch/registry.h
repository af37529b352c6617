// The one dispatch point: a table from (op, device, CPU ISA) to a kernel.
//
// Kernels register themselves at load time (DL_REGISTER_CPU_KERNEL in *_cpu.cpp, and
// DL_REGISTER_CUDA_KERNEL in *_cuda.cu).  An op's device-independent entry (ops/<family>.cpp)
// validates its arguments, allocates the output and calls
//     dl::Op<FnType>("name").get(device)(args)
// which returns the kernel for that device: on the CPU, the best ISA variant not above
// dl::active_isa().  No op decides its device or ISA anywhere else.
#pragma once
#include <string>
#include <type_traits>
#include <vector>

#include "core/cpu_features.h"
#include "core/device.h"

namespace dl {

// Out of line on purpose: per-ISA files call it without instantiating shared inline code.
void register_kernel(const char* op, DeviceType device, Isa isa, void* fn);

// Returns the kernel (type-erased) for op on device; raises RuntimeError naming the op if none.
void* lookup_kernel(const char* op, DeviceType device);

struct KernelInfo {
  std::string op;
  std::vector<std::string> variants;  // "cpu:baseline", "cpu:avx2", "cuda", ...
};
std::vector<KernelInfo> registered_kernels();

template <class Fn>
class Op {
  static_assert(std::is_pointer<Fn>::value, "Op<Fn>: Fn must be a function pointer type");

 public:
  explicit constexpr Op(const char* name) : name_(name) {}
  Fn get(const Device& device) const { return reinterpret_cast<Fn>(lookup_kernel(name_, device.type)); }
  const char* name() const { return name_; }

 private:
  const char* name_;
};

}  // namespace dl

#define DL_CONCAT_INNER(a, b) a##b
#define DL_CONCAT(a, b) DL_CONCAT_INNER(a, b)

#define DL_REGISTER_CUDA_KERNEL(op, FnType, fn)                                                  \
  static_assert(std::is_same<decltype(&fn), FnType>::value, "kernel type mismatch for " #op);   \
  static const bool DL_CONCAT(dl_registered_cuda_, __LINE__) =                                   \
      (::dl::register_kernel(#op, ::dl::DeviceType::CUDA, ::dl::Isa::Baseline,                   \
                             reinterpret_cast<void*>(&fn)),                                      \
       true)

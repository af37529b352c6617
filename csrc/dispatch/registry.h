// The one dispatch point: a table from (op, device, CPU ISA) to a kernel.
//
// Kernels register themselves at load time (DL_REGISTER_CPU_KERNEL in *_cpu.cpp, and
// DL_REGISTER_CUDA_KERNEL in *_cuda.cu).  An op's device-independent entry (ops/<family>.cpp)
// validates its arguments, allocates the output and calls
//     DL_OP(FnType, "name").get(device)(args)
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

// Kernel lookup in two halves, so that an Op can keep the first: find_op_entry locks the table
// and searches it by name (nullptr if nothing is registered under op; an entry, once there,
// never moves); select_kernel returns the kernel (type-erased) for the device and the active ISA
// (which tests may change at any time), or raises RuntimeError naming the op if there is none.
const void* find_op_entry(const char* op);
void* select_kernel(const void* entry, const char* op, DeviceType device);

struct KernelInfo {
  std::string op;
  std::vector<std::string> variants;  // "cpu:baseline", "cpu:avx2", "cuda", ...
};
std::vector<KernelInfo> registered_kernels();

// An op's handle on its kernels.  It finds its table entry on first use and keeps it, so a call
// takes no lock and compares no strings (the table's mutex and map search were 5-7% of the
// profile of a 1 x 1 matmul, and every op call from every Python thread took that one lock):
// keep Op objects static, at namespace scope or through DL_OP.
template <class Fn>
class Op {
  static_assert(std::is_pointer<Fn>::value, "Op<Fn>: Fn must be a function pointer type");

 public:
  explicit constexpr Op(const char* name) : name_(name) {}
  Fn get(const Device& device) const {
    const void* e = __atomic_load_n(&entry_, __ATOMIC_ACQUIRE);
    if (e == nullptr) {
      e = find_op_entry(name_);
      __atomic_store_n(&entry_, e, __ATOMIC_RELEASE);
    }
    return reinterpret_cast<Fn>(select_kernel(e, name_, device.type));
  }
  const char* name() const { return name_; }

 private:
  const char* name_;
  mutable const void* entry_ = nullptr;
};

}  // namespace dl

// The static Op<Fn> named `name` at this point of the code: DL_OP(GemmFn, "gemm").get(device).
#define DL_OP(Fn, name) ([]() -> const ::dl::Op<Fn>& { static const ::dl::Op<Fn> op_(name); return op_; }())

#define DL_CONCAT_INNER(a, b) a##b
#define DL_CONCAT(a, b) DL_CONCAT_INNER(a, b)

#define DL_REGISTER_CUDA_KERNEL(op, FnType, fn)                                                  \
  static_assert(std::is_same<decltype(&fn), FnType>::value, "kernel type mismatch for " #op);   \
  static const bool DL_CONCAT(dl_registered_cuda_, __LINE__) =                                   \
      (::dl::register_kernel(#op, ::dl::DeviceType::CUDA, ::dl::Isa::Baseline,                   \
                             reinterpret_cast<void*>(&fn)),                                      \
       true)

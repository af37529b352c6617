#include "dispatch/registry.h"

#include <map>
#include <mutex>

#include "core/error.h"

namespace dl {
namespace {

struct Entry {
  void* fns[kNumDeviceTypes][kNumIsas] = {};
};

// Registration happens during static initialisation (single-threaded); lookups afterwards only
// read.  The mutex guards the rare case of a lookup racing a late registration.
struct Table {
  std::mutex mu;
  std::map<std::string, Entry, std::less<>> entries;
};

Table& table() {
  static Table* t = new Table();  // never destroyed: kernels may be looked up during shutdown
  return *t;
}

}  // namespace

void register_kernel(const char* op, DeviceType device, Isa isa, void* fn) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  // Atomic: an Op holding this entry reads the slots without the lock.
  __atomic_store_n(&t.entries[op].fns[static_cast<int>(device)][static_cast<int>(isa)], fn, __ATOMIC_RELEASE);
}

const void* find_op_entry(const char* op) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  auto it = t.entries.find(op);  // std::map nodes never move: the pointer stays valid
  return it != t.entries.end() ? &it->second : nullptr;
}

void* select_kernel(const void* entry, const char* op, DeviceType device) {
  if (entry != nullptr) {
    const Entry* e = static_cast<const Entry*>(entry);
    const int d = static_cast<int>(device);
    if (device == DeviceType::CPU) {
      for (int isa = static_cast<int>(active_isa()); isa >= 0; --isa)
        if (void* fn = __atomic_load_n(&e->fns[d][isa], __ATOMIC_ACQUIRE)) return fn;
    } else if (void* fn = __atomic_load_n(&e->fns[d][0], __ATOMIC_ACQUIRE)) {
      return fn;
    }
  }
  if (device == DeviceType::CUDA) {
#ifdef DL_WITH_CUDA
    fail(ErrorKind::Runtime, op, "no CUDA kernel is implemented for this op yet; move the tensors to the cpu");
#else
    fail(ErrorKind::Runtime, op, "got a CUDA tensor, but dlcore was built without CUDA");
#endif
  }
  fail(ErrorKind::Runtime, op, "no CPU kernel registered (internal error)");
}

std::vector<KernelInfo> registered_kernels() {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  std::vector<KernelInfo> out;
  for (const auto& [name, e] : t.entries) {
    KernelInfo k{name, {}};
    for (int isa = 0; isa < kNumIsas; ++isa)
      if (e.fns[0][isa]) k.variants.push_back(std::string("cpu:") + isa_name(static_cast<Isa>(isa)));
    if (e.fns[1][0]) k.variants.push_back("cuda");
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace dl

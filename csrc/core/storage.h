// A block of memory on one device, shared by every tensor that views it.  The memory is either
// allocated by dlcore (64-byte aligned on the host, cudaMalloc on a GPU) or borrowed from another
// library (a NumPy array, a DLPack producer) and released through the owner's deleter.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/device.h"

namespace dl {

class Storage {
 public:
  using Deleter = std::function<void(void*)>;
  Storage(void* data, size_t nbytes, Device device, Deleter deleter)
      : data_(data), nbytes_(nbytes), device_(device), deleter_(std::move(deleter)) {}
  ~Storage() {
    if (deleter_) deleter_(data_);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  const Device& device() const { return device_; }
  // Borrowed memory the owner marked read-only (a non-writeable NumPy array, a DLPack tensor
  // flagged read-only): views exported back to NumPy stay read-only, and out= arguments refuse it.
  bool read_only() const { return read_only_; }
  void set_read_only(bool r) { read_only_ = r; }

  // Allocates nbytes on device; raises MemoryError (naming op) when the allocator refuses.
  static std::shared_ptr<Storage> allocate(size_t nbytes, const Device& device, const char* op);

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  Deleter deleter_;
  bool read_only_ = false;
};

// Device memory hooks, filled in by csrc/cuda when dlcore is built with CUDA.
struct CudaHooks {
  void* (*malloc)(size_t nbytes, int device) = nullptr;   // returns nullptr on failure
  void (*free)(void* ptr, int device) = nullptr;
  // kind: 0 host->device, 1 device->host, 2 device->device
  void (*memcpy)(void* dst, const void* src, size_t nbytes, int kind, int device) = nullptr;
  int (*device_count)() = nullptr;
  const char* (*device_name)(int device) = nullptr;
};
CudaHooks& cuda_hooks();
bool cuda_compiled();

// The host block cache (storage.cpp): freed host blocks of 1 MiB and more are kept for reuse
// up to a limit, so a training loop does not map and fault in fresh pages every step.  Smaller
// blocks: each thread keeps its last few freed ones (at most 8 and 1 MiB) for the next
// allocation of the same size.
struct HostCacheStats {
  size_t cached_bytes, cached_blocks, limit_bytes;
  uint64_t hits, misses;
  size_t small_blocks, small_bytes;  // the calling thread's small-block cache
  uint64_t small_hits;
};
HostCacheStats host_cache_stats();
void host_cache_empty();                   // releases every cached block (small: this thread's)
void host_cache_set_limit(size_t bytes);   // 0 disables caching

}  // namespace dl

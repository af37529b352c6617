#include "core/storage.h"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
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

namespace {
constexpr size_t kAlign = 64;  // one cache line, and a full AVX-512 vector

// Host block cache.  A training step allocates the same activations and gradients every
// iteration; blocks of at least kCacheMin bytes are kept when their last tensor dies and handed
// to the next request of the same size class instead of going back to the OS.  Without it every
// block above glibc's mmap threshold (32 MiB at most: a 4096 x 4096 weight gradient is 64 MiB)
// is a fresh mapping, paid for in page faults and zeroing: with the cache the Linear-shaped GEMM
// bench (a 48 MiB result per call) runs 4-6% faster, a step of the wide MLP about 3%.
// Size classes: above 2^k bytes, multiples of 2^(k-3) (at most 1/8 wasted).  A reused block is
// not cleared: it holds whatever its last tensor left, as memory from malloc may.
class HostCache {
 public:
  static constexpr size_t kCacheMin = size_t{1} << 20;

  static HostCache& get() {
    // Never destroyed: storages released during interpreter teardown still return here.
    static HostCache* c = new HostCache();
    return *c;
  }

  static size_t size_class(size_t n) {
    size_t top = kCacheMin;
    while (top <= n / 2) top *= 2;  // top <= n < 2 top
    const size_t step = top / 8;
    return (n + step - 1) / step * step;
  }

  // A cached block of exactly this class, most recently freed first; nullptr when none.
  void* take(size_t cls) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = blocks_.size(); i-- > 0;) {
      if (blocks_[i].bytes != cls) continue;
      void* p = blocks_[i].ptr;
      blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(i));
      cached_ -= cls;
      ++hits_;
      return p;
    }
    ++misses_;
    return nullptr;
  }

  // Keeps a released block, dropping the oldest ones if the limit would be passed.
  void give(void* p, size_t cls) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cls <= limit_) {
        blocks_.push_back({p, cls});
        cached_ += cls;
        p = nullptr;
      }
    }
    std::free(p);  // a block larger than the whole limit (outside the lock)
    trim();
  }

  void set_limit(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      limit_ = bytes;
    }
    trim();
  }

  void trim() {  // down to the limit (0: release everything)
    std::vector<void*> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      size_t i = 0;
      while (i < blocks_.size() && cached_ > limit_) {
        drop.push_back(blocks_[i].ptr);
        cached_ -= blocks_[i].bytes;
        ++i;
      }
      blocks_.erase(blocks_.begin(), blocks_.begin() + static_cast<std::ptrdiff_t>(i));
    }
    for (void* q : drop) std::free(q);
  }

  void empty() {
    std::vector<Block> drop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      drop.swap(blocks_);
      cached_ = 0;
    }
    for (const Block& b : drop) std::free(b.ptr);
  }

  HostCacheStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return HostCacheStats{cached_, blocks_.size(), limit_, hits_, misses_, 0, 0, 0};
  }

 private:
  struct Block {
    void* ptr;
    size_t bytes;
  };
  HostCache() {
    // Default limit: 1 GiB, or a quarter of the machine's memory when that is less.
    limit_ = size_t{1} << 30;
#if defined(__linux__)
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) {
      const size_t quarter = static_cast<size_t>(pages) / 4 * static_cast<size_t>(page);
      if (quarter < limit_) limit_ = quarter;
    }
#endif
  }
  std::mutex mu_;
  std::vector<Block> blocks_;  // oldest first
  size_t cached_ = 0, limit_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
};

// Blocks under HostCache::kCacheMin, per thread: the last few freed are reused by an allocation
// of the same rounded size.  An op on small arrays allocates a result of the same size call after
// call; glibc's aligned_alloc and free of it (a memalign split, and a malloc_consolidate pass on
// every request of 1 KiB or more) were ~11% of a 1 x 1 matmul.  Two builds in one process,
// alternating call by call (paired medians): add of 10 to 1000 floats 15-20% faster, 30000
// floats 5%; matmul 1 x 1 6-7%, 16^3 10-12%, 32^3 10-11%, 64^3 1-3%.
// Per thread, so no lock: a block freed on another thread joins that thread's cache.  Bounded by
// kSlots blocks and kMaxBytes per thread.  After the thread's cache is destroyed (thread exit),
// blocks freed on it go straight back to free().
class SmallCache {
 public:
  static constexpr int kSlots = 8;
  static constexpr size_t kMaxBytes = size_t{1} << 20;
  static thread_local bool dead;  // trivially destructible: readable after the cache is gone

  ~SmallCache() {
    release();
    dead = true;
  }
  void* take(size_t n) {
    for (int i = count_ - 1; i >= 0; --i)
      if (slots_[i].n == n) {
        void* p = slots_[i].p;
        slots_[i] = slots_[--count_];
        bytes_ -= n;
        ++hits_;
        return p;
      }
    return nullptr;
  }
  bool give(void* p, size_t n) {
    if (count_ == kSlots || bytes_ + n > kMaxBytes) return false;
    slots_[count_++] = {p, n};
    bytes_ += n;
    return true;
  }
  void release() {
    for (int i = 0; i < count_; ++i) std::free(slots_[i].p);
    count_ = 0;
    bytes_ = 0;
  }
  size_t blocks() const { return static_cast<size_t>(count_); }
  size_t bytes() const { return bytes_; }
  uint64_t hits() const { return hits_; }

 private:
  struct Slot {
    void* p;
    size_t n;
  };
  Slot slots_[kSlots];
  int count_ = 0;
  size_t bytes_ = 0;
  uint64_t hits_ = 0;
};
thread_local bool SmallCache::dead = false;
thread_local SmallCache small_cache;

void* small_alloc(size_t rounded) {
  void* p = SmallCache::dead ? nullptr : small_cache.take(rounded);
  return p ? p : std::aligned_alloc(kAlign, rounded);
}
void small_free(void* p, size_t rounded) {
  if (SmallCache::dead || !small_cache.give(p, rounded)) std::free(p);
}

void* host_alloc(size_t bytes) {
  // Blocks of 4 MiB and more start on a 2 MiB boundary and ask for transparent huge pages (as
  // NumPy does), so first-touch faults do not dominate bandwidth-bound kernels.  Advisory only.
  const size_t align = bytes >= (size_t{4} << 20) ? (size_t{2} << 20) : kAlign;
  void* p = nullptr;
  if (posix_memalign(&p, align, bytes) != 0) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align > kAlign) madvise(p, bytes & ~(size_t{4095}), MADV_HUGEPAGE);
#endif
  return p;
}
}  // namespace

HostCacheStats host_cache_stats() {
  HostCacheStats s = HostCache::get().stats();
  if (!SmallCache::dead) {
    s.small_blocks = small_cache.blocks();
    s.small_bytes = small_cache.bytes();
    s.small_hits = small_cache.hits();
  }
  return s;
}
void host_cache_empty() {
  HostCache::get().empty();
  if (!SmallCache::dead) small_cache.release();
}
void host_cache_set_limit(size_t bytes) { HostCache::get().set_limit(bytes); }

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, const Device& device, const char* op) {
  const size_t rounded = nbytes == 0 ? kAlign : (nbytes + kAlign - 1) / kAlign * kAlign;
  DL_CHECK(rounded >= nbytes, Memory, op, "cannot allocate ", nbytes, " bytes");
  if (device.is_cpu()) {
    if (rounded < HostCache::kCacheMin) {
      void* p = small_alloc(rounded);
      if (p == nullptr) fail(ErrorKind::Memory, op, "out of memory allocating ", nbytes, " bytes");
      return std::make_shared<Storage>(p, nbytes, device, [rounded](void* q) { small_free(q, rounded); });
    }
    const size_t cls = HostCache::size_class(rounded);
    DL_CHECK(cls >= rounded, Memory, op, "cannot allocate ", nbytes, " bytes");
    HostCache& cache = HostCache::get();
    void* p = cache.take(cls);
    if (p == nullptr) p = host_alloc(cls);
    if (p == nullptr) {  // the cache may hold what the OS would give back
      cache.empty();
      p = host_alloc(cls);
    }
    if (p == nullptr) fail(ErrorKind::Memory, op, "out of memory allocating ", nbytes, " bytes");
    return std::make_shared<Storage>(p, nbytes, device, [cls](void* q) { HostCache::get().give(q, cls); });
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

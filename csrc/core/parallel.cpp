#include "core/parallel.h"

#include <atomic>

#include "core/error.h"
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace dl {
namespace {
std::atomic<int>& threads() {
#if defined(_OPENMP)
  static std::atomic<int> n{omp_get_max_threads()};
#else
  static std::atomic<int> n{1};
#endif
  return n;
}
}  // namespace

// Without OpenMP every kernel runs on the calling thread, whatever set_num_threads asked for.
int num_threads() {
#if defined(_OPENMP)
  return threads().load(std::memory_order_relaxed);
#else
  return 1;
#endif
}

void set_num_threads(int n) {
  DL_CHECK(n >= 1, Value, "set_num_threads", "expected a thread count >= 1, got ", n);
  threads().store(n, std::memory_order_relaxed);
}

bool openmp_enabled() {
#if defined(_OPENMP)
  return true;
#else
  return false;
#endif
}

}  // namespace dl

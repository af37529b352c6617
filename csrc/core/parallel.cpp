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

int max_num_threads() {
  // Oversubscribing a few times over can make sense (threads that wait on memory); thousands of
  // threads only exhaust the process's stack/thread limits, and libgomp aborts the whole process
  // (not an exception) when it cannot create one.  So the count is bounded here, up front.
#if defined(_OPENMP)
  const int procs = omp_get_num_procs() > 0 ? omp_get_num_procs() : 1;
#else
  const int procs = 1;
#endif
  return procs >= kMaxThreadsCap / 4 ? kMaxThreadsCap : 4 * procs;
}

void check_thread_count(int64_t n, const char* op) {
  DL_CHECK(n >= 1, Value, op, "expected threads >= 1, got ", n);
  DL_CHECK(n <= max_num_threads(), Value, op, "expected threads <= ", max_num_threads(),
           " (4 x the hardware threads, at most ", kMaxThreadsCap, "), got ", n);
}

void set_num_threads(int n) {
  check_thread_count(n, "set_num_threads");
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

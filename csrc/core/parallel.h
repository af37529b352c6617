// Threads.  Work is split into chunks whose boundaries depend only on the problem size, never on
// the number of threads, so every thread count computes exactly the same floating-point sums.
#pragma once
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace dl {

int num_threads();            // what dlcore.set_num_threads set (default: OpenMP's default)
void set_num_threads(int n);  // 1 <= n <= max_num_threads(), else ValueError
// The most threads a kernel may ask for: 4 x the hardware threads, at most kMaxThreadsCap.
constexpr int kMaxThreadsCap = 1024;
int max_num_threads();
// Raises ValueError naming op unless 1 <= n <= max_num_threads().
void check_thread_count(int64_t n, const char* op);
bool openmp_enabled();

// fn(i) for i in [0, count) on up to `nthreads` threads (the calling thread alone when 1), for
// independent items: a body must not depend on which thread runs it.  Each thread first runs
// its own contiguous share of three quarters of the items, then claims the rest one by one from
// a counter, so a core that runs slower (the two vCPUs of a VM often do) or is preempted hands
// its tail to the other.  libgomp's guided schedule, used before, did the same through a work
// share set up every call.  Against it (two builds in one process, paired medians, 2 threads,
// Zen 4): 100^3 and 200^3 matmuls 3% faster, 64^3 to 128^3 within 2% (12-16% faster for 64^3
// during a slow spell of the VM), exp of 40k floats 9% faster, large elementwise ops within noise.
template <class F>
void parallel_for_each(int64_t count, int nthreads, const F& fn) {
#if defined(_OPENMP)
  if (nthreads > 1 && count > 1) {
    const int64_t fixed = count * 3 / 4;
    int64_t next = fixed;
#pragma omp parallel num_threads(nthreads)
    {
      const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
      for (int64_t i = fixed * t / n, e = fixed * (t + 1) / n; i < e; ++i) fn(i);
      for (int64_t i; (i = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED)) < count;) fn(i);
    }
    return;
  }
#endif
  (void)nthreads;
  for (int64_t i = 0; i < count; ++i) fn(i);
}

// body(chunk) for chunk in [0, n_chunks), in parallel (parallel_for_each on dlcore's thread
// count) when worth it: `work_per_chunk` is the rough per-chunk work in elements, and tiny jobs
// stay on the calling thread.
template <class F>
void parallel_for(int64_t n_chunks, int64_t work_per_chunk, F&& body) {
  const bool parallel = n_chunks > 1 && n_chunks * work_per_chunk >= 32768;
  parallel_for_each(n_chunks, parallel ? num_threads() : 1, body);
}

}  // namespace dl

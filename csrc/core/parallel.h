// Threads.  Work is split into chunks whose boundaries depend only on the problem size, never on
// the number of threads, so every thread count computes exactly the same floating-point sums.
#pragma once
#include <cstdint>

namespace dl {

int num_threads();            // what dlcore.set_num_threads set (default: OpenMP's default)
void set_num_threads(int n);  // n >= 1
bool openmp_enabled();

// Runs body(chunk) for chunk in [0, n_chunks), in parallel when worth it.  Chunks are dealt out
// guided (large runs first, small ones last to whichever thread is free): the two cores of a VM
// often run at different speeds, and a fixed split makes the faster one wait.  A body must not
// depend on which thread runs it.
// `grain` is the rough per-chunk work in elements; tiny jobs stay on the calling thread.
template <class F>
void parallel_for(int64_t n_chunks, int64_t work_per_chunk, F&& body) {
  const bool parallel = n_chunks > 1 && n_chunks * work_per_chunk >= 32768;
#if defined(_OPENMP)
  if (parallel) {
    const int nt = num_threads();
#pragma omp parallel for schedule(guided) num_threads(nt)
    for (int64_t c = 0; c < n_chunks; ++c) body(c);
    return;
  }
#endif
  (void)parallel;
  for (int64_t c = 0; c < n_chunks; ++c) body(c);
}

}  // namespace dl

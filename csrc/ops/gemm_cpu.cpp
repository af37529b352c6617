// CPU GEMM (compiled once per ISA).  One micro-kernel under four drivers, picked by sizes and
// strides only (never by the thread count); the first two are in gemm_small.h, the tile layer
// they all compute through in gemm_tile.h:
//   narrow products (N <= one vector, row-major A): A read in place by 8-row kernels over one
//     packed B panel, each element one FMA chain over all of K, row panels in parallel
//     (run_narrow: a classifier head, x W^T with 10 outputs);
//   small products (one K slice, row-major B <= 256 KiB): B and a row-major A read in place, row
//     panels in parallel (run_small; on AVX-512, with a row-major A and no bias or activation,
//     run_direct's wider 8 x 48 tiles instead, for N above one vector);
//   short products (M <= 3 MC): threads own column chunks, no barriers (run_column_tasks);
//   everything else, the Goto/BLIS structure:
//   for jc (NC columns of B)            B panel KC x NC packed once, shared by all threads (L3)
//                                       (KC here: KC_SHARED, deeper: C is large, see microkernel.h)
//     for pc (KC deep slices of K)      fixed order: every C element sums its K slices in order
//       tasks (M block x N chunk)       a grid that depends only on sizes, claimed in order from
//                                       one counter, no barriers (run_shared_b)
//         pack A block MC x KC          per thread (L2)
//         for jr (NR panels), ir (MR)   micro-kernel, B micro-panel reused from L1/L2
// Edges are handled by zero-padding inside the packed buffers and by running the micro-kernel on
// a small copy of the C edge tile (a last row panel of few rows gets a kernel of MR/3 or 2MR/3
// rows), so every element of C is computed by the same k-ordered FMA chain wherever it lies: the
// result does not depend on the partition or the thread count.
#include <sched.h>
#include <stdlib.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/gemm.h"
#include "ops/gemm_small.h"
#include "ops/gemm_tile.h"

namespace dl::DL_ISA_NS {
namespace {
using namespace gemm_detail;

template <class V>
struct Gemm : GemmTiles<V> {
  using Tiles = GemmTiles<V>;
  using Small = GemmSmall<V>;
  using typename Tiles::T;
  using typename Tiles::Bk;
  using Tiles::MR;
  using Tiles::NR;
  using Tiles::k_step;
  using Tiles::naive;
  using Tiles::no_k;
  using Tiles::tile;

  // The grid of tasks for one (jc) column block: M blocks of whole MR panels, balanced, times
  // N chunks of whole NR panels.  Depends on sizes only.
  struct Grid {
    int64_t mpanels, mb, npanels, nb;
    int64_t i_begin(int64_t ib) const { return (ib * mpanels / mb) * MR; }
    int64_t j_begin(int64_t jb) const { return (jb * npanels / nb) * NR; }
  };
  static Grid grid(int64_t M, int64_t nc) {
    Grid g;
    g.mpanels = ceil_div(M, MR);
    g.mb = ceil_div(g.mpanels, Bk::MC / MR);
    // An even number of M blocks: with the static schedule 2 (or 4) threads get equal shares
    // (15 blocks on 2 threads would leave one idle for 1/15 of the time).  Sizes only decide it.
    if (g.mb > 1 && g.mb % 2 == 1 && g.mb < g.mpanels) ++g.mb;
    g.npanels = ceil_div(nc, NR);
    // Every M block split into (up to) 4 column chunks, so the threads finish together with
    // little left to wait for: a task is 1/40 of a 2048^2 slice instead of 1/10 (measured on 2
    // threads with a barrier per slice, paired medians of several runs: 2048^2 1-5%,
    // 4096 x 4096 x 512, a weight gradient, 3-8%, 4096 x 768 x 3072 1% faster; 8 chunks were no
    // better than 4).  A thread runs an M block's chunks in a row (see run_shared_b) and packs
    // its A block once; chunks of at least 4 panels keep the re-packing in the tail small.
    const int64_t want = g.mb >= 2 ? 4 : 8;
    g.nb = min64(want, ceil_div(g.npanels, 4));
    if (g.nb < 1) g.nb = 1;
    return g;
  }

  // Task t of the grid for slice (pc, kc) of column block jc (phase `phase` of the flow below);
  // apack is this thread's A space, *packed_key names the A block it holds.
  static void task(const Prob<T>& p, const Grid& g, int64_t t, int64_t jc, int64_t nc, int64_t pc, int64_t kc,
                   int64_t phase, const T* bpack, T* apack, int64_t* packed_key) {
    const int64_t ib = t / g.nb, jb = t % g.nb;
    const int64_t i0 = g.i_begin(ib), i1 = min64(p.M, g.i_begin(ib + 1));
    const int64_t j0 = g.j_begin(jb), j1 = min64(nc, g.j_begin(jb + 1));
    if (i0 >= i1 || j0 >= j1) return;
    const int64_t key = phase * g.mb + ib;  // this A block already packed for this slice?
    if (*packed_key != key) {
      pack_a(p, i0, i1 - i0, pc, kc, apack);
      *packed_key = key;
    }
    const bool first = pc == 0, last = pc + kc == p.K;
    for (int64_t jr = j0; jr < j1; jr += NR) {
      const T* bp = bpack + (jr / NR) * kc * NR;
      const int64_t n = min64(NR, j1 - jr);
      for (int64_t ir = i0; ir < i1; ir += MR)
        tile(p, kc, first, last, apack + ((ir - i0) / MR) * kc * MR, bp, ir, jc + jr, min64(MR, i1 - ir), n, NR,
             ir + MR >= i1 && jr + NR < j1 ? bp + kc * NR : nullptr);
    }
  }

  // Short problems (a batch of rows through a layer) are split by columns instead: each thread
  // owns a range of chunks of whole NR panels, packs its own A and B slices and runs every K
  // slice alone, so the threads never meet at a barrier (the shared-B scheme needs two per K
  // slice, a large share of a short product's time).  Every tile runs the same K slices through
  // the same micro-kernel whichever thread owns it, so the thread count does not change a bit.
  // Chunks: an even number (2 or 4 threads get equal shares) of at least kChunkMinPanels panels
  // each, at most kChunkMax of them, none wider than NC; panels are dealt out evenly.
  static constexpr int64_t kChunkMinPanels = 4, kChunkMax = 8;
  static int64_t column_chunks(int64_t npanels) {
    int64_t n = npanels / kChunkMinPanels;
    n = n > kChunkMax ? kChunkMax : n;
    if (n > 1 && n % 2 == 1) --n;
    const int64_t widest = ceil_div(npanels, Bk::NC / NR);
    return n < widest ? widest : n;
  }
  static bool use_column_tasks(const Prob<T>& p) {
    // Up to 3 A blocks of rows (720 x KC, 1.4 MiB of packed A slice in float32, re-read from
    // L2 per B chunk).  Since the shared-B scheme deals out M blocks x 4 column chunks, it wins
    // from 768 rows on (2 threads, paired medians: 1024^2 4-8%, 1400 x 1024 x 1024 6%,
    // 1024 x 256 x 1024, a weight gradient, 14% faster; 768 x 1024 x 1024 2%; 700 rows the
    // same), while a batch of 512 rows stays faster here (512 x 4096 x 4096: 6% slower there).
    return p.M <= 3 * Bk::MC && column_chunks(ceil_div(p.N, NR)) >= 2;
  }

  // One thread's part: in the first K slice it claims chunks (its own static range front to
  // back, then what is left of the others' ranges back to front, so a thread on a slower core
  // leaves its tail to the faster one; a flag per chunk decides who runs it), and it runs the
  // same chunks in every later slice, so no slice waits for another thread.  Per K slice it
  // packs all of A once (the rows are few) and, chunk by chunk, that chunk's slice of B, then
  // runs the tiles A block by A block so a B micro-panel is reused while an A block streams
  // from L2.  Which thread runs a chunk does not change how its tiles are computed.  Measured
  // against a fixed split: up to +9% (720 x 2048 x 2048, 512 x 4096 x 4096), never slower.
  // claimed: a flag per chunk (0 until a thread takes it); mine: room for nchunks indices.
  static void column_range(const Prob<T>& p, unsigned char* claimed, int64_t* mine, int tid, int nt,
                           int64_t npanels, int64_t nchunks, T* bpack, T* apack) {
    // A blocks of equal whole-panel heights (at most MC): 512 rows as 168 + 168 + 176, not
    // 240 + 240 + 32, whose 3 panels would barely reuse the B micro-panel in L1.
    const int64_t mpanels = ceil_div(p.M, MR), mblocks = ceil_div(mpanels, Bk::MC / MR);
    int64_t taken = 0;  // mine[0, taken): the chunks this thread took in the first K slice
    for (int64_t pc = 0, ks = k_step(p.K); pc < p.K; pc += ks) {
      const int64_t kc = min64(ks, p.K - pc);
      const bool first = pc == 0, last = pc + kc == p.K;
      if (!first && taken == 0) break;
      pack_a(p, 0, p.M, pc, kc, apack);
      auto run_chunk = [&](int64_t c) {
        const int64_t j0 = (c * npanels / nchunks) * NR, j1 = min64(p.N, ((c + 1) * npanels / nchunks) * NR);
        const int64_t npan = ceil_div(j1 - j0, NR);
        for (int64_t q = 0; q < npan; ++q)
          pack_b_panel<T, NR>(p, pc, kc, j0 + q * NR, min64(NR, j1 - j0 - q * NR), bpack + q * kc * NR);
        for (int64_t b = 0; b < mblocks; ++b) {
          const int64_t i0 = (b * mpanels / mblocks) * MR, i1 = min64(p.M, ((b + 1) * mpanels / mblocks) * MR);
          for (int64_t q = 0; q < npan; ++q)
            for (int64_t ir = i0; ir < i1; ir += MR)
              tile(p, kc, first, last, apack + (ir / MR) * kc * MR, bpack + q * kc * NR, ir, j0 + q * NR,
                   min64(MR, p.M - ir), min64(NR, j1 - j0 - q * NR), NR,
                   ir + MR >= i1 && q + 1 < npan ? bpack + (q + 1) * kc * NR : nullptr);
        }
      };
      if (first) {
        const int64_t c0 = tid * nchunks / nt, c1 = (tid + 1) * nchunks / nt;
        auto take = [&](int64_t c) {
          if (!__atomic_exchange_n(&claimed[c], static_cast<unsigned char>(1), __ATOMIC_RELAXED)) {
            mine[taken++] = c;
            run_chunk(c);
          }
        };
        for (int64_t c = c0; c < c1; ++c) take(c);
        for (int k = 1; k < nt; ++k) {
          const int u = (tid + nt - k) % nt;  // the previous threads' ranges, each from its end
          for (int64_t c = (u + 1) * nchunks / nt - 1; c >= u * nchunks / nt; --c) take(c);
        }
      } else {
        for (int64_t t = 0; t < taken; ++t) run_chunk(mine[t]);
      }
    }
  }

  static void run_column_tasks(const Prob<T>& p, int nthreads) {
    const int64_t npanels = ceil_div(p.N, NR), nchunks = column_chunks(npanels);
    const int64_t widest = ceil_div(npanels, nchunks);
    if (nthreads > nchunks) nthreads = static_cast<int>(nchunks);
    const size_t bsz = static_cast<size_t>(Bk::KC) * static_cast<size_t>(widest * NR) + 64 / sizeof(T);
    const size_t asz = static_cast<size_t>(Bk::KC) * static_cast<size_t>(ceil_div(p.M, MR) * MR) + 64 / sizeof(T);
    char* base = static_cast<char*>(tls_scratch.get((bsz + asz) * sizeof(T) * static_cast<size_t>(nthreads) + 64));
    if (!base) return naive(p);
    // Plain malloc'd arrays, not std::vector: a std:: template instantiated in this file would be
    // compiled for this file's ISA, and the linker could pick that copy for baseline code too.
    const size_t n = static_cast<size_t>(nchunks);
    void* book = calloc(n * (1 + sizeof(int64_t) * static_cast<size_t>(nthreads)), 1);
    if (!book) return naive(p);
    int64_t* lists = static_cast<int64_t*>(book);
    unsigned char* claimed = reinterpret_cast<unsigned char*>(lists + n * static_cast<size_t>(nthreads));
    auto run_range = [&](int tid, int nt) {
      char* mine = base + (bsz + asz) * sizeof(T) * static_cast<size_t>(tid);
      column_range(p, claimed, lists + n * static_cast<size_t>(tid), tid, nt, npanels, nchunks, align64<T>(mine),
                   align64<T>(mine + bsz * sizeof(T)));
    };
#if defined(_OPENMP)
    if (nthreads > 1) {
#pragma omp parallel num_threads(nthreads)
      run_range(omp_get_thread_num(), omp_get_num_threads());
      free(book);
      return;
    }
#endif
    run_range(0, 1);
    free(book);
  }

  // C = A B as C^T = B^T A^T: the same products summed in the same k order (FMA commutes
  // exactly), so the same bits.  Worth it when C has fewer columns than half a micro-tile (a
  // classifier head: 10 outputs would fill 10 of the one-vector kernel's 16 lanes; as rows they
  // fill 10 of 12).  A row-major A takes the narrow path before this.
  static bool runs_transposed(const Prob<T>& p) { return 2 * p.N <= NR && p.M >= 2 * NR; }
  static Prob<T> transposed(Prob<T> p) {
    Prob<T> t = p;
    t.a = p.b, t.a_rs = p.b_cs, t.a_cs = p.b_rs;
    t.b = p.a, t.b_rs = p.a_cs, t.b_cs = p.a_rs;
    t.M = p.N, t.N = p.M;
    t.c_rs = p.c_cs, t.c_cs = p.c_rs;
    t.bias_per_row = !p.bias_per_row;
    return t;
  }

  // The least work (multiply-adds plus packing, see gemm_typed) worth a parallel region.  The
  // small paths' row panels need no barrier, and from 2e5 on two threads won on this 2-vCPU
  // Zen 4 (two builds in one process, paired medians: 64^3 1.32x, 72^3 1.25x, 80^3 1.51x,
  // 128 x 16 x 128 1.38x, 64 x 32 x 64 1.09x faster; 48^3 and 56^3 within 4%; 40^3, below, 33%
  // slower).  On an earlier Intel VM, whose two vCPUs ran cache-bound code 1.6x apart, 64^3 was
  // 10% slower on two and 96^3 to 128^3 21-27% faster.  The other paths meet at barriers or
  // wait for each other's K slices: from 2e5 on two threads, 32 x 600 x 32 ran 1.5x and
  // 16 x 1024 x 16 3x slower, so they keep ~1M.
  static double parallel_work(const Prob<T>& p) {
    return Small::use_narrow(p) || Small::use_small(runs_transposed(p) ? transposed(p) : p) ? 2.0e5 : 1.0e6;
  }

  static void run(const Prob<T>& p, int nthreads) {
    if (p.K == 0) return no_k(p);
    if (Small::use_narrow(p)) return Small::run_narrow(p, nthreads);
    if (runs_transposed(p)) return run(transposed(p), nthreads);
    if (Small::use_small(p))
      return Small::use_direct(p) ? Small::run_direct(p, nthreads) : Small::run_small(p, nthreads);
    if (use_column_tasks(p)) return run_column_tasks(p, nthreads);
    run_shared_b(p, nthreads);
  }

  // ---- The shared-B scheme as a flow of items, without barriers ----
  // Phases: the (jc, pc) slices in order.  A phase's items: its B panel packed in groups of
  // kPackPanels micro-panels, then its grid of tasks.  Threads claim items in that one order from
  // a shared counter and wait only for what an item reads:
  //   a task of phase s waits for all of phase s's B packed, and (pc > 0) for the same task of
  //     phase s-1, which sums the earlier K slice into the same C block;
  //   phase s packs into B buffer s % 2, so it waits until every task of phase s-2 is done.
  // So while one thread finishes the last tasks of a slice the other packs the next B panel and
  // starts the next slice, where fork-join loops had every thread wait at two barriers per slice
  // (4.4% of a 2-thread 1024^2 profile).  Whichever thread runs a task, its tiles are computed
  // the same way in the same K order: the result does not depend on the thread count.  No wait
  // can deadlock: an item waits only for items claimed before it, and the earliest unfinished
  // item waits for nothing.
  // A thread claims the rest of an M block's tasks at once, so it packs that A block once (runs
  // of guided chunks began mid-block and packed it twice); the last nt * nb tasks are claimed
  // one by one, so the threads finish together.  Against the fork-join loops (2 threads,
  // alternating processes, paired medians): 1024^2 3.5-4.6% faster, 2048^2 0.4-2.5%,
  // 4096 x 4096 x 512 (a weight gradient) 5.7%, a wide-MLP training step 3.2%, the 4096 x 768 x
  // 3072 Linear 1.4%; the 1024^2 profile went from 4.4% to 1.3% in libgomp and from 6% to 2.6%
  // packing A.
  static constexpr int64_t kPackPanels = 4;

  struct Flow {
    int64_t nslices, ks, nphases, total;
    int64_t next;        // the first unclaimed item
    int64_t* base;       // [nphases + 1]: first item of each phase
    int64_t* packed;     // [nphases]: B groups packed
    int64_t* computed;   // [nphases]: tasks done
    int64_t* done;       // [tasks of the widest grid]: 1 + the latest phase whose task t is done
  };
  struct Phase {
    int64_t jc, nc, pc, kc, groups, tasks;
    Grid g;
  };
  static Phase phase_of(const Prob<T>& p, const Flow& f, int64_t s) {
    Phase ph;
    ph.jc = (s / f.nslices) * Bk::NC;
    ph.nc = min64(Bk::NC, p.N - ph.jc);
    ph.pc = (s % f.nslices) * f.ks;
    ph.kc = min64(f.ks, p.K - ph.pc);
    ph.g = grid(p.M, ph.nc);
    ph.groups = ceil_div(ph.g.npanels, kPackPanels);
    ph.tasks = ph.g.mb * ph.g.nb;
    return ph;
  }
  // Spin (the wait is normally a fraction of one task), then yield: with more threads than free
  // cores the thread being waited for may need this one's core.
  static void wait_until(const int64_t* x, int64_t v) {
    for (int spins = 0; __atomic_load_n(x, __ATOMIC_ACQUIRE) < v; ++spins) {
      if (spins >= 4096) {
        sched_yield();
        continue;
      }
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }

  static void flow_worker(const Prob<T>& p, Flow& f, T* const* bbuf, T* apack, int nt) {
    int64_t s = -1, key = -1;
    Phase ph{};
    for (;;) {
      int64_t cur = __atomic_load_n(&f.next, __ATOMIC_RELAXED), n;
      do {
        if (cur >= f.total) return;
        while (cur >= f.base[s + 1]) ph = phase_of(p, f, ++s);
        const int64_t t = cur - f.base[s] - ph.groups;  // task index, or < 0 for a B group
        n = 1;
        if (t >= 0 && f.total - cur > nt * ph.g.nb) n = ph.g.nb - t % ph.g.nb;
      } while (!__atomic_compare_exchange_n(&f.next, &cur, cur + n, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
      T* bpack = bbuf[s % 2];
      for (int64_t item = cur - f.base[s]; item < cur + n - f.base[s]; ++item) {
        if (item < ph.groups) {
          if (s >= 2) wait_until(&f.computed[s - 2], phase_of(p, f, s - 2).tasks);
          const int64_t q1 = min64(ph.g.npanels, (item + 1) * kPackPanels);
          for (int64_t q = item * kPackPanels; q < q1; ++q)
            pack_b_panel<T, NR>(p, ph.pc, ph.kc, ph.jc + q * NR, min64(NR, ph.nc - q * NR), bpack + q * ph.kc * NR);
          __atomic_add_fetch(&f.packed[s], 1, __ATOMIC_RELEASE);
          continue;
        }
        const int64_t t = item - ph.groups;
        wait_until(&f.packed[s], ph.groups);
        if (ph.pc > 0) wait_until(&f.done[t], s);
        task(p, ph.g, t, ph.jc, ph.nc, ph.pc, ph.kc, s, bpack, apack, &key);
        // done[t] only grows: the same task of a later column block may finish first.
        int64_t d = __atomic_load_n(&f.done[t], __ATOMIC_RELAXED);
        while (d < s + 1 && !__atomic_compare_exchange_n(&f.done[t], &d, s + 1, false, __ATOMIC_RELEASE,
                                                         __ATOMIC_RELAXED)) {
        }
        __atomic_add_fetch(&f.computed[s], 1, __ATOMIC_RELEASE);
      }
    }
  }

  static void run_shared_b(const Prob<T>& p, int nthreads) {
    Flow f{};
    f.ks = k_step(p.K, Bk::KC_SHARED);
    f.nslices = ceil_div(p.K, f.ks);
    f.nphases = ceil_div(p.N, Bk::NC) * f.nslices;
    const Grid widest = grid(p.M, min64(Bk::NC, p.N));
    const int64_t max_tasks = widest.mb * widest.nb;
    // Packing space: two B panels and one A block per thread, each 64-byte aligned.
    const size_t bsz = static_cast<size_t>(f.ks) * static_cast<size_t>(widest.npanels * NR) + 64 / sizeof(T);
    const size_t asz = static_cast<size_t>(f.ks) * static_cast<size_t>(ceil_div(Bk::MC, MR) * MR) + 64 / sizeof(T);
    char* base = static_cast<char*>(tls_scratch.get((2 * bsz + asz * static_cast<size_t>(nthreads)) * sizeof(T) + 64));
    // Bookkeeping in a plain calloc'd array (see run_column_tasks on std:: containers here).
    const size_t nbook = static_cast<size_t>(4 * f.nphases + 1 + max_tasks);
    int64_t* book = static_cast<int64_t*>(calloc(nbook, sizeof(int64_t)));
    if (!base || !book) {
      free(book);
      return naive(p);
    }
    f.base = book, f.packed = book + f.nphases + 1, f.computed = f.packed + f.nphases, f.done = f.computed + f.nphases;
    for (int64_t s = 0; s < f.nphases; ++s) {
      const Phase ph = phase_of(p, f, s);
      f.base[s + 1] = f.base[s] + ph.groups + ph.tasks;
    }
    f.total = f.base[f.nphases];
    T* bbuf[2] = {align64<T>(base), align64<T>(base + bsz * sizeof(T))};
    auto abuf = [&](int tid) { return align64<T>(base + (2 * bsz + asz * static_cast<size_t>(tid)) * sizeof(T)); };
#if defined(_OPENMP)
    if (nthreads > 1) {
#pragma omp parallel num_threads(nthreads)
      flow_worker(p, f, bbuf, abuf(omp_get_thread_num()), omp_get_num_threads());
      free(book);
      return;
    }
#endif
    flow_worker(p, f, bbuf, abuf(0), 1);
    free(book);
  }
};

template <class T>
Prob<T> problem(const GemmArgs& a, int64_t t) {
  Prob<T> p;
  p.a = static_cast<const T*>(a.a) + (a.a_off ? a.a_off[t] : 0);
  p.b = static_cast<const T*>(a.b) + (a.b_off ? a.b_off[t] : 0);
  p.c = static_cast<T*>(a.c) + (a.c_off ? a.c_off[t] : 0);
  p.M = a.M, p.N = a.N, p.K = a.K;
  p.a_rs = a.a_rs, p.a_cs = a.a_cs, p.b_rs = a.b_rs, p.b_cs = a.b_cs, p.c_rs = a.c_rs, p.c_cs = a.c_cs;
  p.alpha = static_cast<T>(a.alpha), p.beta = static_cast<T>(a.beta);
  p.bias = static_cast<const T*>(a.bias);
  p.bias_stride = a.bias_stride;
  p.bias_per_row = false;
  p.act = a.act;
  return p;
}

template <class V>
void gemm_typed(const GemmArgs& a) {
  using T = typename V::T;
  // Cost in multiply-add equivalents: the products, plus packing A and B (read and write every
  // element once) and writing C, which dominate when one of M, N, K is small (a 10-wide
  // gradient: 10 x 1024 x 256 packs a 256 x 1024 B for 10 rows).
  const double M = static_cast<double>(a.M), N = static_cast<double>(a.N), K = static_cast<double>(a.K);
  const double work = M * N * K + 8.0 * (K * N + M * K) + 16.0 * M * N;
  const int nt = num_threads();
  // Batched products smaller than this run one per thread, each on a single thread.
  constexpr double kBatchSplitWork = 4.0e6;
  if (a.batch == 1) {
    const Prob<T> p = problem<T>(a, 0);
    Gemm<V>::run(p, work >= Gemm<V>::parallel_work(p) ? nt : 1);
    return;
  }
  if (work < kBatchSplitWork) {
    // Many small products, each on a single thread, dealt out to the threads (the least total
    // work for a parallel region as in parallel_for).
    const bool parallel = work * static_cast<double>(a.batch) >= 32768;
    parallel_for_each(a.batch, parallel ? nt : 1, [&](int64_t t) { Gemm<V>::run(problem<T>(a, t), 1); });
    return;
  }
  for (int64_t t = 0; t < a.batch; ++t) Gemm<V>::run(problem<T>(a, t), nt);
}

void gemm_kernel(const GemmArgs& a) {
  if (a.dtype == DType::Float64) gemm_typed<VecD>(a);
  else gemm_typed<VecF>(a);
}

}  // namespace
DL_REGISTER_CPU_KERNEL(gemm, GemmFn, gemm_kernel);
}  // namespace dl::DL_ISA_NS

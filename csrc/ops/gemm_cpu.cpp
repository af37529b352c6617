// CPU GEMM (compiled once per ISA).  One micro-kernel under four drivers, picked by sizes and
// strides only (never by the thread count):
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

#include <type_traits>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/gemm.h"
#include "ops/gemm_epilogue.h"
#include "ops/gemm_microkernel.h"
#include "ops/gemm_pack.h"

namespace dl::DL_ISA_NS {
namespace {
using namespace gemm_detail;

template <class V>
struct Gemm {
  using T = typename V::T;
  using Bk = Blocking<V>;
  static constexpr int MR = Bk::MR, NR = Bk::NR;

  // K slices of equal depth (at most KC): K = 1100 runs as 3 slices of 367 or 366 rather than
  // 2 of 512 and one of 76, whose short k loop would not amortise the C tile's load and store.
  static int64_t k_step(int64_t K, int64_t kc_max = Bk::KC) { return ceil_div(K, ceil_div(K, kc_max)); }

  // One MR x NR tile.  Edge tiles (and a C with non-unit column stride) go through a padded
  // local copy so they run the very same micro-kernel as interior tiles.  pf: the packed B
  // micro-panel the next tiles will use, given to the last tile on the current one; its k loop
  // pulls it into L2 while it computes (3% on 1024^2 and 2048^2, more when the machine is busy).
  // kARows: ap is row i of a row-major A read in place, rows lda apart (m == MR); otherwise ap
  // is a packed A micro-panel (kc steps of MR values; lda unused).
  template <bool kARows = false>
  static void tile(const Prob<T>& p, int64_t kc, bool first, bool last, const T* ap, const T* bp, int64_t i,
                   int64_t j, int64_t m, int64_t n, int64_t ldb = NR, const T* pf = nullptr, int64_t lda = MR) {
    T* cp = p.c + i * p.c_rs + j * p.c_cs;
    const bool read_c = !first || p.beta != T(0);
    const T beta = first ? p.beta : T(1);
    // A last column panel of at most one vector of columns runs a one-vector kernel (N = 100 is
    // 3 x 32 + 4: the two-vector kernel spent a quarter of its time on that panel).
    if (n <= V::W) rows_kernel<kARows, 1>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
    else rows_kernel<kARows, kNV>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
    if (last && (p.bias || p.act)) {
      const bool vec = m == MR && n == NR && p.c_cs == 1 && p.act != kGemmActGelu &&
                       (!p.bias || (p.bias_stride == 1 && !p.bias_per_row));
      if (vec) epilogue_tile<V>(p, cp, j);
      else epilogue(p, cp, m, n, i, j);
    }
  }

  // A last row panel of m < MR rows runs a kernel of MR/3 or 2MR/3 rows when that covers it,
  // instead of MR rows that are mostly padding (64 rows are 5 x 12 + 4: a 12-row kernel for the
  // last 4 did 1/9 more work than 64^3 needs).  Each element's FMA chain is the same.
  template <bool kARows, int kNVt>
  static void rows_kernel(const Prob<T>& p, int64_t kc, const T* ap, int64_t lda, const T* bp, int64_t ldb, T* cp,
                          int64_t m, int64_t n, bool read_c, T beta, const T* pf) {
    if constexpr (!kARows && MR % 3 == 0) {
      if (m <= MR / 3) compute<MR / 3, false, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
      else if (m <= 2 * MR / 3) compute<2 * MR / 3, false, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
      else compute<MR, false, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
    } else if constexpr (kARows && MR % 3 == 0) {  // in place: m is MR or 2MR/3 (see small_panel)
      if (m == MR) compute<MR, true, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
      else compute<2 * MR / 3, true, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
    } else {
      compute<MR, kARows, kNVt>(p, kc, ap, lda, bp, ldb, cp, m, n, read_c, beta, pf);
    }
  }

  // The kM-row, kNVt-vector kernel on an m x n (m <= kM, n <= kNVt W) tile at cp: in place when
  // it fills the kernel's tile and C's columns are unit-stride, else through a padded local copy,
  // so that edge tiles run the very same kernel as interior ones.
  template <int kM, bool kARows, int kNVt>
  static void compute(const Prob<T>& p, int64_t kc, const T* ap, int64_t lda, const T* bp, int64_t ldb, T* cp,
                      int64_t m, int64_t n, bool read_c, T beta, const T* pf) {
    constexpr int kN = kNVt * V::W;
    if (m == kM && n == kN && p.c_cs == 1) {
      ukernel<V, kARows, kM, kNVt>(kc, ap, lda, bp, ldb, cp, p.c_rs, p.alpha, beta, read_c, pf);
      return;
    }
    alignas(64) T t[kM * kN];
    if (read_c)  // (otherwise the kernel writes every element of t without reading it)
      for (int64_t ii = 0; ii < kM; ++ii)
        for (int64_t jj = 0; jj < kN; ++jj) t[ii * kN + jj] = (ii < m && jj < n) ? cp[ii * p.c_rs + jj * p.c_cs] : T(0);
    ukernel<V, kARows, kM, kNVt>(kc, ap, lda, bp, ldb, t, kN, p.alpha, beta, read_c);
    for (int64_t ii = 0; ii < m; ++ii)
      for (int64_t jj = 0; jj < n; ++jj) cp[ii * p.c_rs + jj * p.c_cs] = t[ii * kN + jj];
  }

  // C = beta C (K == 0), then the epilogue.
  static void no_k(const Prob<T>& p) {
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t j = 0; j < p.N; ++j) {
        T& c = p.c[i * p.c_rs + j * p.c_cs];
        c = p.beta == T(0) ? T(0) : p.beta * c;
      }
    if (p.bias || p.act) epilogue(p, p.c, p.M, p.N, 0, 0);
  }

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

  static void naive(const Prob<T>& p) {  // only when scratch memory cannot be had
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t j = 0; j < p.N; ++j) {
        T s = 0;
        for (int64_t k = 0; k < p.K; ++k) s = s + p.a[i * p.a_rs + k * p.a_cs] * p.b[k * p.b_rs + j * p.b_cs];
        T& c = p.c[i * p.c_rs + j * p.c_cs];
        c = p.beta == T(0) ? p.alpha * s : p.alpha * s + p.beta * c;
      }
    if (p.bias || p.act) epilogue(p, p.c, p.M, p.N, 0, 0);
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

  // Small products: one K slice and a row-major B of at most kSmallBBytes, which then stays in
  // L1/L2 for the whole product.  On one thread (a batch's products, or a product too small for
  // two), a B of at least kSmallPackBytes reused by at least kSmallPackRows row panels is packed
  // once into contiguous NR-column panels, so the kernel streams one compact panel instead of
  // NR-wide strips of rows a B row apart.  In one process, alternating call by call (paired
  // medians): 256^3 7% faster, 128^3 5%, a batch of 32 128 x 64 x 128 products 4% (and 13-28%
  // while the VM's cores were contended); but a 64^3 B (16 KiB, in L1 anyway) 5-7% slower, 17
  // rows (2 panels) 6%, and on two threads 128^3 22% and 256^3 5% slower (packing needs a
  // barrier before the row panels).  Otherwise the kernel reads B's full panels in place and
  // only a partial last panel is packed.  Full row panels of a row-major A are read in place
  // (12 row streams); others are packed one at a time into a stack buffer.  Row panels are
  // independent, so they run in parallel without any barrier.  Every element is the same
  // k-ordered FMA chain as in the packed paths: same bits whichever path runs.
  static constexpr int64_t kSmallBBytes = 256 * 1024, kSmallPackRows = 4, kSmallPackBytes = 32 * 1024;
  static bool use_small(const Prob<T>& p) {
    return p.K <= Bk::KC && p.b_cs == 1 && p.K * p.N * int64_t(sizeof(T)) <= kSmallBBytes;
  }
  // Row panel r of the small path: rows [i, i + m).  A remainder of at most MR/3 rows joins the
  // last full panel as two panels of 2MR/3 rows or fewer (64 = 5 x 12 + 4 runs as 4 x 12 + 8 + 8):
  // the MR/3-row kernel, 8 FMA chains on two B vectors a k step, took 2.25 times as long per
  // multiply-add as the MR-row one.
  struct SmallPanel {
    int64_t i, m;
  };
  static SmallPanel small_panel(int64_t M, int64_t r) {
    const int64_t full = M / MR, rem = M % MR;
    if (MR % 3 == 0 && full >= 1 && rem > 0 && rem <= MR / 3 && r >= full - 1) {
      const int64_t h = 2 * MR / 3, i = (full - 1) * MR + (r - (full - 1)) * h;
      return {i, min64(h, M - i)};
    }
    return {r * MR, min64(MR, M - r * MR)};
  }

  static void run_small(const Prob<T>& p, int nthreads) {
    const int64_t full = p.N / NR, npanels = ceil_div(p.N, NR), rem = p.N - full * NR;
    const int64_t rows = ceil_div(p.M, MR);
    const bool pack = nthreads <= 1 && rows >= kSmallPackRows && p.K * p.N * int64_t(sizeof(T)) >= kSmallPackBytes;
    const int64_t packed = pack ? npanels : rem ? 1 : 0;  // panels in bpack
    T* bpack = nullptr;  // (scratch blocks are 64-byte aligned)
    if (packed && !(bpack = static_cast<T*>(tls_scratch.get(static_cast<size_t>(p.K * NR * packed) * sizeof(T)))))
      return naive(p);
    // One row panel of C across all column panels; full panels of a row-major A are read in place.
    auto across = [&](auto a_rows, const T* ap, int64_t lda, int64_t i, int64_t m) {
      constexpr bool kARows = decltype(a_rows)::value;
      for (int64_t q = 0; q < npanels; ++q) {
        const bool in_place = !pack && q < full;
        const T* bq = in_place ? p.b + q * NR : bpack + (pack ? q * p.K * NR : 0);
        tile<kARows>(p, p.K, true, true, ap, bq, i, q * NR, m, min64(NR, p.N - q * NR), in_place ? p.b_rs : NR,
                     nullptr, lda);
      }
    };
    auto row_panel = [&](int64_t r) {
      const SmallPanel sp = small_panel(p.M, r);
      const int64_t i = sp.i, m = sp.m;
      // Panels of MR and of 2MR/3 rows (a split tail, or a remainder such as 128 = 10 x 12 + 8)
      // have in-place kernels.
      if ((m == MR || (MR % 3 == 0 && m == 2 * MR / 3)) && p.a_cs == 1)
        return across(std::true_type{}, p.a + i * p.a_rs, p.a_rs, i, m);
      alignas(64) T apanel[MR * Bk::KC];
      pack_a(p, i, m, 0, p.K, apanel);
      across(std::false_type{}, apanel, MR, i, m);
    };
    // All column panels into bpack (the full ones row by row: a batch of 32 128 x 64 x 128
    // products 1.6-1.9% faster on one thread than panel by panel, in one process, alternating
    // call by call), or only the partial last one.
    if (pack) pack_b_rows<T, NR>(p, full, bpack);
    for (int64_t q = full; q < npanels; ++q)
      pack_b_panel<T, NR>(p, 0, p.K, q * NR, min64(NR, p.N - q * NR), bpack + (pack ? q * p.K * NR : 0));
    parallel_for_each(rows, nthreads, row_panel);  // (row panels need no barrier)
  }

  // ---- The direct small path: wider tiles over A and B read in place ----
  // Where the ISA has registers for a wider tile (AVX-512: 8 x 48, 24 accumulators), a small
  // product of row-major A and B runs it over both read in place (B packed on one thread): per k step 3 B vectors and 8
  // broadcasts feed 24 FMAs, where the 12 x 32 kernel loads 2 and broadcasts 12 (MKL's "nocopy"
  // kernels take this shape for such products).  Standalone, both kernels over in-place operands,
  // 8 x 48 ran 4-7% closer to the FMA peak (96 x 64 x 96, 32 products streaming from L3).  Against
  // run_small, two builds in one process (paired medians, 1 / 2 threads): 96^3 5% / 6%, 176^3
  // 9% / 19%, 128 x 256 x 128 3.5% / 10%, 128^3 0% / 10%, a batch of 32 128 x 64 x 128 products
  // 2-4.5% / 0-4% faster; float64 96^3 13% / 6%.  Rows past the last full panel are packed (4 or
  // 8 of them), as are column panels that are not whole vectors wide (zero-padded).  The same
  // k-ordered FMA chain for every element as every other path: the same bits (tests/test_gemm.py
  // checks them against run_small's).
  static constexpr int SMR = Bk::SMALL_MR, SNV = Bk::SMALL_NV, SNR = SNV * V::W;
  // Column panels: N / 48 full ones, then the rest r = N % 48 as one panel of ceil(r / 16)
  // vectors, except that a rest of at most one vector joins the last full panel as two panels of
  // two vectors (48 + r = 32 + (16 + r)): never a one-vector panel, whose 8 x 16 kernel is
  // load-bound (8 broadcasts and a load for 8 FMAs; 64^3 ran 8% slower as 48 + 16 columns than
  // as 32 + 32).  Against run_small, 1 / 2 threads: 256^3 3.7% / 2.7%, 112^3 5.8% / 33%,
  // 200^3 8% / 8%, 100^3 2% / 7%, 150^3 2% / 6% faster; 64^3 and 160^3 within 2%.
  struct Panel {
    int64_t j, n;  // first column, width
    int nv;        // vectors: the kernel's width
    bool packed;   // read from bpack (at `off`) rather than from B in place
    int64_t off;
  };
  static bool use_direct(const Prob<T>& p) {
    return SNV > Bk::NV && p.a_cs == 1 && p.c_cs == 1 && !p.bias && !p.act && p.N > V::W;
  }
  template <int kM, bool kARows>
  static void direct_tile(const Prob<T>& p, int nv, const T* ap, int64_t lda, const T* bp, int64_t ldb, T* cp,
                          int64_t m, int64_t n) {
    const bool read_c = p.beta != T(0);
    if (nv == SNV) compute<kM, kARows, SNV>(p, p.K, ap, lda, bp, ldb, cp, m, n, read_c, p.beta, nullptr);
    else if (nv == 2) compute<kM, kARows, 2>(p, p.K, ap, lda, bp, ldb, cp, m, n, read_c, p.beta, nullptr);
    else compute<kM, kARows, 1>(p, p.K, ap, lda, bp, ldb, cp, m, n, read_c, p.beta, nullptr);
  }
  static void run_direct(const Prob<T>& p, int nthreads) {
    constexpr int W = V::W;
    const int64_t rows = ceil_div(p.M, SMR), r = p.N % SNR;
    const bool split = r > 0 && r <= W && p.N > SNR;
    const int64_t full = p.N / SNR - (split ? 1 : 0);
    // On one thread every panel is packed, as in run_small (a B row strip read in place is mostly
    // unaligned: NumPy's arrays are 16-byte aligned, and rows of 100 floats are 400 B); otherwise
    // only a panel that is not whole vectors wide.
    const bool pack = nthreads <= 1 && rows >= kSmallPackRows && p.K * p.N * int64_t(sizeof(T)) >= kSmallPackBytes;
    Panel tail[2];
    int ntail = 0;
    if (split) tail[ntail++] = {full * SNR, 2 * W, 2, false, 0}, tail[ntail++] = {full * SNR + 2 * W, W + r, 2, false, 0};
    else if (r) tail[ntail++] = {full * SNR, r, static_cast<int>(ceil_div(r, W)), false, 0};
    int64_t packed_elems = pack ? full * p.K * SNR : 0;
    for (int t = 0; t < ntail; ++t)
      if (pack || tail[t].n % W != 0) tail[t].packed = true, tail[t].off = packed_elems, packed_elems += p.K * tail[t].nv * W;
    T* bpack = nullptr;  // (scratch blocks are 64-byte aligned)
    if (packed_elems) {
      if (!(bpack = static_cast<T*>(tls_scratch.get(static_cast<size_t>(packed_elems) * sizeof(T))))) return naive(p);
      if (pack) pack_b_rows<T, SNR>(p, full, bpack);
      for (int t = 0; t < ntail; ++t) {
        const Panel& pn = tail[t];
        if (!pn.packed) continue;
        if (pn.nv == 3) pack_b_panel<T, 3 * W>(p, 0, p.K, pn.j, pn.n, bpack + pn.off);
        else if (pn.nv == 2) pack_b_panel<T, 2 * W>(p, 0, p.K, pn.j, pn.n, bpack + pn.off);
        else pack_b_panel<T, W>(p, 0, p.K, pn.j, pn.n, bpack + pn.off);
      }
    }
    auto row_panel = [&](int64_t rp) {
      const int64_t i = rp * SMR, m = min64(SMR, p.M - i);
      alignas(64) T apanel[MR * Bk::KC];  // a partial row panel, packed (MR-value steps)
      if (m < SMR) pack_a(p, i, m, 0, p.K, apanel);
      for (int64_t q = 0; q < full + ntail; ++q) {
        const Panel pn = q < full ? Panel{q * SNR, SNR, SNV, pack, q * p.K * SNR} : tail[q - full];
        const T* bq = pn.packed ? bpack + pn.off : p.b + pn.j;
        const int64_t ldb = pn.packed ? pn.nv * W : p.b_rs;
        T* cp = p.c + i * p.c_rs + pn.j;
        if (m == SMR) direct_tile<SMR, true>(p, pn.nv, p.a + i * p.a_rs, p.a_rs, bq, ldb, cp, m, pn.n);
        else if (m <= SMR / 2) direct_tile<SMR / 2, false>(p, pn.nv, apanel, MR, bq, ldb, cp, m, pn.n);
        else direct_tile<SMR, false>(p, pn.nv, apanel, MR, bq, ldb, cp, m, pn.n);
      }
    };
    parallel_for_each(rows, nthreads, row_panel);  // (row panels need no barrier)
  }

  // ---- The narrow path: C of at most one vector of columns over a row-major A in place ----
  // A classifier head (64 x 1024 x 10) ran transposed (10 rows of C^T), which packs A^T: a
  // transpose of the large operand, as slow as the product itself when A's rows are a power of
  // two apart (16 rows in one L1 set; 64 x 1024 x 10 spent half its time in transpose16).  Here
  // op(B) is packed once into one zero-padded vector-wide panel (K x 16 floats, in L2) and A is
  // read in place by 8-row kernels (8 rows a power of two apart still fit the L1's 8 ways),
  // each element one k-ordered FMA chain over all of K: C is written once.  Row panels need no
  // barrier.  (The lanes past N idle; the transposed path's packing cost more.)
  static constexpr int NMR = 8;
  static bool use_narrow(const Prob<T>& p) {
    return p.N <= V::W && p.M >= NMR && p.a_cs == 1 && p.K * V::W * int64_t(sizeof(T)) <= 512 * 1024;
  }
  // op(B)'s N <= W columns into one zero-padded W-wide panel, k by k.  The general packing
  // copies element by element here (n < NR), which cost as much as the product for a head.
  static void pack_narrow(const Prob<T>& p, T* dst) {
    constexpr int W = V::W;
    const int n = static_cast<int>(p.N);
    if (p.b_cs == 1) {  // row-major B: one partial vector per k
      for (int64_t k = 0; k < p.K; ++k) V::store(dst + k * W, V::load_n(p.b + k * p.b_rs, n));
      return;
    }
#if defined(DL_GEMM_HAVE_TRANSPOSE16)
    if constexpr (sizeof(T) == 4 && W == 16) {
      if (p.b_rs == 1) {  // op(B) = W^T (a Linear weight of n rows): 16 k at a time through registers
        memset(dst, 0, static_cast<size_t>(p.K * W) * sizeof(T));  // transpose16 writes n lanes
        int64_t k0 = 0;
        for (; k0 + 16 <= p.K; k0 += 16) transpose16(p.b + k0, p.b_cs, n, dst + k0 * W, W);
        for (int64_t k = k0; k < p.K; ++k)
          for (int j = 0; j < n; ++j) dst[k * W + j] = p.b[k + j * p.b_cs];
        return;
      }
    }
#endif
    pack_b_panel<T, W>(p, 0, p.K, 0, p.N, dst);
  }

  static void run_narrow(const Prob<T>& p, int nthreads) {
    constexpr int W = V::W;
    const int64_t rows = ceil_div(p.M, NMR);
    if (nthreads > rows) nthreads = static_cast<int>(rows);
    const bool read_c = p.beta != T(0);
    // Row panel r: rows [8r, 8r + 8), the last one's rest as in-place kernels of 4, 2 and 1 rows.
    auto row_panel = [&](int64_t r, const T* bpack) {
      int64_t i = r * NMR;
      const int64_t end = min64(p.M, i + NMR);
      auto rows_of = [&](auto km) {
        constexpr int kM = decltype(km)::value;
        for (; i + kM <= end; i += kM) {
          T* cp = p.c + i * p.c_rs;
          compute<kM, true, 1>(p, p.K, p.a + i * p.a_rs, p.a_rs, bpack, W, cp, kM, p.N, read_c, p.beta, nullptr);
          if (p.bias || p.act) epilogue(p, cp, kM, p.N, i, 0);
        }
      };
      rows_of(std::integral_constant<int, NMR>{});
      rows_of(std::integral_constant<int, 4>{});
      rows_of(std::integral_constant<int, 2>{});
      rows_of(std::integral_constant<int, 1>{});
    };
    // Every thread packs B into its own scratch and claims row panels from a shared counter.
    // One panel shared by all was rewritten by one core every call while the other core's cache
    // held it: a 64 KiB pack then cost 6 us of invalidations (64 x 1024 x 16: 20 us on two
    // threads, no faster than one).  A thread whose scratch cannot grow claims nothing.
    int64_t next = 0;
    int packed = 0;
    auto worker = [&] {
      T* bpack = static_cast<T*>(tls_scratch.get(static_cast<size_t>(p.K * W) * sizeof(T)));
      if (!bpack) return;
      pack_narrow(p, bpack);
      __atomic_add_fetch(&packed, 1, __ATOMIC_RELAXED);
      for (int64_t r; (r = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED)) < rows;) row_panel(r, bpack);
    };
#if defined(_OPENMP)
    if (nthreads > 1) {
#pragma omp parallel num_threads(nthreads)
      worker();
    } else {
      worker();
    }
#else
    worker();
#endif
    if (packed == 0) naive(p);  // (no thread could pack: nothing was written)
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
    return use_narrow(p) || use_small(runs_transposed(p) ? transposed(p) : p) ? 2.0e5 : 1.0e6;
  }

  static void run(const Prob<T>& p, int nthreads) {
    if (p.K == 0) return no_k(p);
    if (use_narrow(p)) return run_narrow(p, nthreads);
    if (runs_transposed(p)) return run(transposed(p), nthreads);
    if (use_small(p)) return use_direct(p) ? run_direct(p, nthreads) : run_small(p, nthreads);
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

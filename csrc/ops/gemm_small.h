// The CPU GEMM's paths for small products, which read A and B in place where they can and whose
// row panels run in parallel without any barrier: run_small (one K slice, a row-major B of at
// most 256 KiB), run_direct (its wider AVX-512 tiles for a row-major A) and run_narrow (N of at
// most one vector over a row-major A: a classifier head).  Gemm::run (gemm_cpu.cpp) picks them
// by sizes and strides.  Included only by gemm_cpu.cpp, i.e. compiled once per ISA: everything
// here lives in dl::DL_ISA_NS.
#pragma once
#include <stdint.h>
#include <string.h>

#include <type_traits>

#include "core/parallel.h"
#include "ops/gemm_tile.h"

namespace dl::DL_ISA_NS {
namespace {

template <class V>
struct GemmSmall : GemmTiles<V> {
  using Tiles = GemmTiles<V>;
  using typename Tiles::T;
  using typename Tiles::Bk;
  using Tiles::MR;
  using Tiles::NR;
  using Tiles::naive;

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
        Tiles::template tile<kARows>(p, p.K, true, true, ap, bq, i, q * NR, m, min64(NR, p.N - q * NR),
                                     in_place ? p.b_rs : NR, nullptr, lda);
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
    auto run = [&](auto nvt) {
      Tiles::template compute<kM, kARows, decltype(nvt)::value>(p, p.K, ap, lda, bp, ldb, cp, m, n, read_c, p.beta,
                                                                nullptr);
    };
    if (nv == SNV) run(std::integral_constant<int, SNV>{});
    else if (nv == 2) run(std::integral_constant<int, 2>{});
    else run(std::integral_constant<int, 1>{});
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
          Tiles::template compute<kM, true, 1>(p, p.K, p.a + i * p.a_rs, p.a_rs, bpack, W, cp, kM, p.N, read_c,
                                               p.beta, nullptr);
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
};

}  // namespace
}  // namespace dl::DL_ISA_NS

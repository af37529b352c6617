// CPU convolution kernels (compiled once per ISA): forward, backward data and backward weight,
// each as implicit GEMM on the GEMM's micro-kernels (gemm_tile.h), plus the direct reference
// loops and the depthwise kernels.  See conv.h for the three kernels' roles.
//
// Implicit GEMM, forward: per (image, group) y (Kg x P) = W (Kg x Kdim) patches (Kdim x P), with
// Kdim = Cg kh kw and P = OH OW.  The weight is packed once into MR-row micro-panels; the
// patches are never materialised: each task owns a tile of kTileCols output pixels of one image
// and packs, K slice by K slice, the patch values of its pixels straight into NR-column panels
// (stride, dilation and padding are resolved in that packing), then runs the micro-kernel over
// every row panel.  Workspace: the packed weight plus kc x kTileCols values per thread.
// Backward weight: gw (Kg x Kdim) = sum_n gy_n (Kg x P) patches_n^T; each task owns one NR-wide
// column panel of gw and runs the whole reduction (images, then pixel slices, in order) into it.
// Backward data: per image, chunks of output pixels: cols (Kdim x chunk) = W^T gy, then a
// scatter (col2im) of cols into gx, channels in parallel; a 1x1 stride-1 conv writes gx directly.
// Every output element is one fixed sequence of FMAs whichever thread computes it, and tasks
// never share an output element: results are bitwise identical for any thread count.
#include <stdlib.h>
#include <string.h>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/conv.h"
#include "ops/gemm_tile.h"

namespace dl::DL_ISA_NS {
namespace {
using namespace gemm_detail;

template <class T>
T* alloc_aligned(size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, 64, n * sizeof(T) + 64) != 0) return nullptr;
  return static_cast<T*>(p);
}

// Problems smaller than this (multiply-adds) run on the calling thread alone.
constexpr double kParallelWork = 2.0e5;
inline int threads_for(double work) { return work >= kParallelWork ? num_threads() : 1; }

template <class V>
struct Conv : GemmTiles<V> {
  using T = typename V::T;
  using Bk = Blocking<V>;
  using Tiles = GemmTiles<V>;
  static constexpr int MR = Bk::MR, NR = Bk::NR;
  static constexpr int64_t kTilePanels = 4, kTileCols = kTilePanels * NR;

  static bool is_1x1(const ConvGeom& g) {
    return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && g.OH == g.H && g.OW == g.W;
  }

  // The product y_tile = A B whose C is `c` (rows c_rs apart), for the tile layer.
  static Prob<T> prob(T* c, int64_t M, int64_t N, int64_t K, int64_t c_rs, const T* bias, int act) {
    Prob<T> p{};
    p.c = c, p.M = M, p.N = N, p.K = K, p.c_rs = c_rs, p.c_cs = 1;
    p.alpha = T(1), p.beta = T(0);
    p.bias = bias, p.bias_stride = 1, p.bias_per_row = true, p.act = act;
    return p;
  }

  // The whole of A (M x K, element (i, k) at a[i * rs + k * cs]) packed slice by slice (slices
  // of k_step(K)): slice at pc starts at dst + Mpad * pc.
  static void pack_all_a(const T* a, int64_t M, int64_t K, int64_t rs, int64_t cs, T* dst) {
    Prob<T> p{};
    p.a = a, p.a_rs = rs, p.a_cs = cs, p.M = M, p.K = K;
    const int64_t Mpad = ceil_div(M, MR) * MR, ks = Tiles::k_step(K);
    for (int64_t pc = 0; pc < K; pc += ks) pack_a(p, 0, M, pc, min64(ks, K - pc), dst + Mpad * pc);
  }

  // ---- forward ---------------------------------------------------------------------------

  // Patch rows [pc, pc + kc) x pixels [col0, col0 + ncols) of one image and group (xg: its first
  // channel) -> NR-column panels.  A panel of pixels on one output row whose taps all fall inside
  // the input is a plain (strided) row copy; everything else goes element by element.
  static void pack_patches(const ConvGeom& g, const T* xg, int64_t pc, int64_t kc, int64_t col0, int64_t ncols,
                           T* dst) {
    int64_t ihb[kTileCols], iwb[kTileCols];
    bool row_run[kTilePanels];
    for (int64_t c = 0; c < ncols; ++c) {
      const int64_t pix = col0 + c, oh = pix / g.OW, ow = pix - oh * g.OW;
      ihb[c] = oh * g.sh - g.ph, iwb[c] = ow * g.sw - g.pw;
    }
    const int64_t npan = ceil_div(ncols, NR);
    for (int64_t q = 0; q < npan; ++q)
      row_run[q] = (q + 1) * NR <= ncols && ihb[q * NR] == ihb[q * NR + NR - 1];
    const int64_t khw = g.kh * g.kw, HW = g.H * g.W;
    for (int64_t kk = 0; kk < kc; ++kk) {
      const int64_t k = pc + kk, c = k / khw, r = k - c * khw, i = r / g.kw, j = r - i * g.kw;
      const T* xc = xg + c * HW;
      const int64_t di = i * g.dh, dj = j * g.dw;
      for (int64_t q = 0; q < npan; ++q) {
        T* d = dst + q * kc * NR + kk * NR;
        const int64_t c0 = q * NR;
        if (row_run[q]) {
          const int64_t ih = ihb[c0] + di, iw0 = iwb[c0] + dj;
          if (ih < 0 || ih >= g.H) {
            for (int jj = 0; jj < NR; ++jj) d[jj] = T(0);
            continue;
          }
          if (iw0 >= 0 && iw0 + (NR - 1) * g.sw < g.W) {
            const T* src = xc + ih * g.W + iw0;
            if (g.sw == 1) {
              for (int jj = 0; jj < NR; ++jj) d[jj] = src[jj];
            } else {
              for (int jj = 0; jj < NR; ++jj) d[jj] = src[jj * g.sw];
            }
            continue;
          }
        }
        const int64_t n = min64(NR, ncols - c0);
        for (int jj = 0; jj < NR; ++jj) {
          T v = T(0);
          if (jj < n) {
            const int64_t ih = ihb[c0 + jj] + di, iw = iwb[c0 + jj] + dj;
            if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) v = xc[ih * g.W + iw];
          }
          d[jj] = v;
        }
      }
    }
  }

  static void forward_igemm(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const T* bias = static_cast<const T*>(a.bias);
    T* y = static_cast<T*>(a.out);
    const int64_t G = g.groups, Cg = g.C / G, Kg = g.K / G, Kdim = Cg * g.kh * g.kw;
    const int64_t P = g.OH * g.OW, HW = g.H * g.W, Mpad = ceil_div(Kg, MR) * MR;
    const int64_t ks = Tiles::k_step(Kdim), ntiles = ceil_div(P, kTileCols);
    const bool one = is_1x1(g);
    T* wpack = alloc_aligned<T>(static_cast<size_t>(G * Mpad * Kdim));
    if (!wpack) {
      *a.workspace = -1;
      return;
    }
    for (int64_t gr = 0; gr < G; ++gr) pack_all_a(w + gr * Kg * Kdim, Kg, Kdim, Kdim, 1, wpack + gr * Mpad * Kdim);
    const size_t bsz = static_cast<size_t>(ks * kTileCols) + 64 / sizeof(T);
    const double work = static_cast<double>(g.N) * static_cast<double>(g.K * P) * static_cast<double>(Kdim);
    const int nt = threads_for(work);
    *a.workspace = static_cast<int64_t>((static_cast<size_t>(G * Mpad * Kdim) + bsz * nt) * sizeof(T));
    bool failed = false;
    parallel_for_each(g.N * G * ntiles, nt, [&](int64_t t) {
      const int64_t tile = t % ntiles, ng = t / ntiles, n = ng / G, gr = ng % G;
      T* bpack = static_cast<T*>(tls_scratch.get(bsz * sizeof(T) + 64));
      if (!bpack) {
        __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
        return;
      }
      bpack = align64<T>(reinterpret_cast<char*>(bpack));
      const T* xg = x + (n * g.C + gr * Cg) * HW;
      const int64_t col0 = tile * kTileCols, ncols = min64(kTileCols, P - col0);
      const Prob<T> p = prob(y + (n * g.K + gr * Kg) * P, Kg, P, Kdim, P, bias ? bias + gr * Kg : nullptr, a.act);
      Prob<T> pb{};
      pb.b = xg, pb.b_rs = HW, pb.b_cs = 1;
      const T* wg = wpack + gr * Mpad * Kdim;
      for (int64_t pc = 0; pc < Kdim; pc += ks) {
        const int64_t kc = min64(ks, Kdim - pc);
        if (one) {
          for (int64_t q = 0; q * NR < ncols; ++q)
            pack_b_panel<T, NR>(pb, pc, kc, col0 + q * NR, min64(NR, ncols - q * NR), bpack + q * kc * NR);
        } else {
          pack_patches(g, xg, pc, kc, col0, ncols, bpack);
        }
        const bool first = pc == 0, last = pc + kc == Kdim;
        const T* ap = wg + Mpad * pc;
        for (int64_t q = 0; q * NR < ncols; ++q) {
          const int64_t nq = min64(NR, ncols - q * NR);
          for (int64_t ir = 0; ir < Kg; ir += MR)
            Tiles::tile(p, kc, first, last, ap + (ir / MR) * kc * MR, bpack + q * kc * NR, ir, col0 + q * NR,
                        min64(MR, Kg - ir), nq);
        }
      }
    });
    free(wpack);
    if (failed) *a.workspace = -1;
  }

  // ---- backward weight -------------------------------------------------------------------

  // Pixels [pc, pc + kc) x patch columns [col0, col0 + n) (n <= NR) of one image and group ->
  // one NR-column panel (the transpose of pack_patches' layout).
  static void pack_patches_t(const ConvGeom& g, const T* xg, int64_t pc, int64_t kc, int64_t col0, int64_t n,
                             T* dst) {
    const int64_t khw = g.kh * g.kw, HW = g.H * g.W;
    for (int jj = 0; jj < NR; ++jj) {
      if (jj >= n) {
        for (int64_t kk = 0; kk < kc; ++kk) dst[kk * NR + jj] = T(0);
        continue;
      }
      const int64_t k = col0 + jj, c = k / khw, r = k - c * khw, i = r / g.kw, j = r - i * g.kw;
      const T* xc = xg + c * HW;
      int64_t oh = pc / g.OW, ow = pc - oh * g.OW;
      for (int64_t kk = 0; kk < kc;) {
        // One output row at a time: ih is fixed, iw steps by the stride.
        const int64_t ih = oh * g.sh - g.ph + i * g.dh;
        const int64_t run = min64(g.OW - ow, kc - kk);
        if (ih < 0 || ih >= g.H) {
          for (int64_t e = 0; e < run; ++e) dst[(kk + e) * NR + jj] = T(0);
        } else {
          const T* row = xc + ih * g.W;
          const int64_t base = -g.pw + j * g.dw;
          for (int64_t e = 0; e < run; ++e) {
            const int64_t iw = (ow + e) * g.sw + base;
            dst[(kk + e) * NR + jj] = iw >= 0 && iw < g.W ? row[iw] : T(0);
          }
        }
        kk += run, ow = 0, ++oh;
      }
    }
  }

  static void weight_igemm(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* x = static_cast<const T*>(a.w);
    T* gw = static_cast<T*>(a.out);
    const int64_t G = g.groups, Cg = g.C / G, Kg = g.K / G, Kdim = Cg * g.kh * g.kw;
    const int64_t P = g.OH * g.OW, HW = g.H * g.W, Mpad = ceil_div(Kg, MR) * MR;
    const int64_t ks = Tiles::k_step(P), npanels = ceil_div(Kdim, NR);
    const bool one = is_1x1(g);
    const size_t asz = static_cast<size_t>(Mpad * ks) + 64 / sizeof(T), bsz = static_cast<size_t>(ks * NR);
    const double work = static_cast<double>(g.N) * static_cast<double>(g.K * P) * static_cast<double>(Kdim);
    const int nt = threads_for(work);
    *a.workspace = static_cast<int64_t>((asz + bsz) * sizeof(T) * nt);
    bool failed = false;
    parallel_for_each(G * npanels, nt, [&](int64_t t) {
      const int64_t gr = t / npanels, q = t % npanels, col0 = q * NR, nq = min64(NR, Kdim - col0);
      char* base = static_cast<char*>(tls_scratch.get((asz + bsz) * sizeof(T) + 64));
      if (!base) {
        __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
        return;
      }
      T* apack = align64<T>(base);
      T* bpack = apack + asz;
      const Prob<T> p = prob(gw + gr * Kg * Kdim, Kg, Kdim, P * g.N, Kdim, nullptr, 0);
      for (int64_t n = 0; n < g.N; ++n) {
        Prob<T> pa{};
        pa.a = gy + (n * g.K + gr * Kg) * P, pa.a_rs = P, pa.a_cs = 1;
        Prob<T> pb{};
        const T* xg = x + (n * g.C + gr * Cg) * HW;
        pb.b = xg, pb.b_rs = 1, pb.b_cs = HW;
        for (int64_t pc = 0; pc < P; pc += ks) {
          const int64_t kc = min64(ks, P - pc);
          pack_a(pa, 0, Kg, pc, kc, apack);
          if (one) pack_b_panel<T, NR>(pb, pc, kc, col0, nq, bpack);
          else pack_patches_t(g, xg, pc, kc, col0, nq, bpack);
          const bool first = n == 0 && pc == 0, last = n == g.N - 1 && pc + kc == P;
          for (int64_t ir = 0; ir < Kg; ir += MR)
            Tiles::tile(p, kc, first, last, apack + (ir / MR) * kc * MR, bpack, ir, col0, min64(MR, Kg - ir), nq);
        }
      }
    });
    if (failed) *a.workspace = -1;
  }

  // ---- backward data ---------------------------------------------------------------------

  // gx[c] += cols rows (c, i, j) over pixels [p0, p0 + np) (col2im of one channel): per output
  // row, a run of columns whose taps land in the row; the order is fixed (i, j, pixel).
  static void col2im_channel(const ConvGeom& g, const T* cols, int64_t ldc, int64_t p0, int64_t np, T* gxc) {
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* src = cols + (i * g.kw + j) * ldc;
        int64_t oh = p0 / g.OW, ow = p0 - oh * g.OW;
        const int64_t base = -g.pw + j * g.dw;
        // output columns whose tap iw = ow * sw + base lies in [0, W)
        const int64_t lo = base >= 0 ? 0 : ceil_div(-base, g.sw);
        const int64_t hi = base >= g.W ? 0 : min64(g.OW, (g.W - 1 - base) / g.sw + 1);
        for (int64_t e = 0; e < np;) {
          const int64_t run = min64(g.OW - ow, np - e);
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih >= 0 && ih < g.H) {
            T* row = gxc + ih * g.W;
            const T* s = src + e - ow;  // s[ow'] is pixel (oh, ow')
            const int64_t a0 = ow > lo ? ow : lo, a1 = ow + run < hi ? ow + run : hi;
            if (g.sw == 1) {
              T* r = row + base;
              for (int64_t o = a0; o < a1; ++o) r[o] += s[o];
            } else {
              for (int64_t o = a0; o < a1; ++o) row[o * g.sw + base] += s[o];
            }
          }
          e += run, ow = 0, ++oh;
        }
      }
  }

  // Per-thread cols buffers of the backward-data pass (tls_scratch holds the B panel).
  static Scratch& cols_scratch() {
    static thread_local Scratch s;
    return s;
  }

  static void data_igemm(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    T* gx = static_cast<T*>(a.out);
    const int64_t G = g.groups, Cg = g.C / G, Kg = g.K / G, khw = g.kh * g.kw, Kdim = Cg * khw;
    const int64_t P = g.OH * g.OW, HW = g.H * g.W, Mpad = ceil_div(Kdim, MR) * MR;
    if (Kg == 0) {
      memset(gx, 0, static_cast<size_t>(g.N * g.C * HW) * sizeof(T));
      return;
    }
    const bool one = is_1x1(g);
    const int64_t ks = Tiles::k_step(Kg);
    // Pixel chunks of whole panels, cols (Kdim x chunk) at most ~4 MiB.
    const int64_t fit = (int64_t{4} << 20) / static_cast<int64_t>(sizeof(T)) / Kdim / NR * NR;
    const int64_t chunk = one ? ceil_div(P, NR) * NR : min64(ceil_div(P, NR) * NR, fit < NR ? NR : fit);
    T* wpack = alloc_aligned<T>(static_cast<size_t>(G * Mpad * Kg));
    if (!wpack) {
      *a.workspace = -1;
      return;
    }
    // A = W_g^T (Kdim x Kg): element (r, k) at w[k * Kdim + r].
    for (int64_t gr = 0; gr < G; ++gr) pack_all_a(w + gr * Kg * Kdim, Kdim, Kg, 1, Kdim, wpack + gr * Mpad * Kg);
    const size_t bsz = static_cast<size_t>(ks * NR), csz = one ? 0 : static_cast<size_t>(Kdim * chunk);
    const double work = static_cast<double>(g.N * G) * static_cast<double>(Kdim * Kg) * static_cast<double>(P);
    const int nt = threads_for(work);
    // Enough (image, group) pairs: one task each, each on one thread (a single parallel region;
    // on a busy machine every region's closing barrier can cost a time slice).  Otherwise the
    // pairs in turn, each chunk's panels and then its channels in parallel.  The same
    // arithmetic in the same order either way.
    const bool outer = g.N * G >= 4;
    const int inner = outer ? 1 : nt;
    *a.workspace = static_cast<int64_t>((static_cast<size_t>(G * Mpad * Kg) + (csz + bsz) * (outer ? nt : 1) +
                                         bsz * nt) * sizeof(T));
    bool failed = false;
    auto image = [&](int64_t n, int64_t gr) {
      const T* gyg = gy + (n * g.K + gr * Kg) * P;
      T* gxg = gx + (n * g.C + gr * Cg) * HW;
      T* cols = nullptr;
      if (!one) {
        char* c = static_cast<char*>(cols_scratch().get(csz * sizeof(T) + 64));
        if (!c) {
          __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
          return;
        }
        cols = align64<T>(c);
        memset(gxg, 0, static_cast<size_t>(Cg * HW) * sizeof(T));
      }
      for (int64_t p0 = 0; p0 < P; p0 += chunk) {
        const int64_t np = min64(chunk, P - p0), npan = ceil_div(np, NR);
        // cols (or gx itself for 1x1: its pixels are gx's) = W_g^T gy[:, p0:p0+np]
        const Prob<T> p = one ? prob(gxg, Kdim, P, Kg, HW, nullptr, 0) : prob(cols, Kdim, np, Kg, chunk, nullptr, 0);
        const int64_t cshift = one ? p0 : 0;
        parallel_for_each(npan, inner, [&](int64_t q) {
          T* bpack = static_cast<T*>(tls_scratch.get(bsz * sizeof(T) + 64));
          if (!bpack) {
            __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
            return;
          }
          bpack = align64<T>(reinterpret_cast<char*>(bpack));
          Prob<T> pb{};
          pb.b = gyg, pb.b_rs = P, pb.b_cs = 1;
          const int64_t nq = min64(NR, np - q * NR);
          for (int64_t pc = 0; pc < Kg; pc += ks) {
            const int64_t kc = min64(ks, Kg - pc);
            pack_b_panel<T, NR>(pb, pc, kc, p0 + q * NR, nq, bpack);
            const T* ap = wpack + gr * Mpad * Kg + Mpad * pc;
            for (int64_t ir = 0; ir < Kdim; ir += MR)
              Tiles::tile(p, kc, pc == 0, pc + kc == Kg, ap + (ir / MR) * kc * MR, bpack, ir, cshift + q * NR,
                          min64(MR, Kdim - ir), nq);
          }
        });
        if (one) continue;
        parallel_for_each(Cg, inner > 1 ? threads_for(static_cast<double>(Kdim * np)) : 1, [&](int64_t c) {
          col2im_channel(g, cols + c * khw * chunk, chunk, p0, np, gxg + c * HW);
        });
      }
    };
    if (outer) {
      parallel_for_each(g.N * G, nt, [&](int64_t t) { image(t / G, t % G); });
    } else {
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t gr = 0; gr < G; ++gr) image(n, gr);
    }
    free(wpack);
    if (failed) *a.workspace = -1;
  }

  // ---- direct reference loops ------------------------------------------------------------

  static void forward_direct(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const T* bias = static_cast<const T*>(a.bias);
    T* y = static_cast<T*>(a.out);
    const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
    parallel_for_each(g.N * g.K, threads_for(double(g.N * g.K * g.OH * g.OW * Cg * g.kh * g.kw)), [&](int64_t t) {
      const int64_t n = t / g.K, k = t % g.K, c0 = (k / Kg) * Cg;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          T s = T(0);
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < g.kh; ++i) {
              const int64_t ih = oh * g.sh - g.ph + i * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t iw = ow * g.sw - g.pw + j * g.dw;
                if (iw < 0 || iw >= g.W) continue;
                s += x[((n * g.C + c0 + c) * g.H + ih) * g.W + iw] * w[((k * Cg + c) * g.kh + i) * g.kw + j];
              }
            }
          if (bias) s += bias[k];
          y[((n * g.K + k) * g.OH + oh) * g.OW + ow] = apply_act(s, a.act);
        }
    });
  }

  static void data_direct(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    T* gx = static_cast<T*>(a.out);
    const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
    parallel_for_each(g.N * g.C, threads_for(double(g.N * g.K * g.OH * g.OW * Cg * g.kh * g.kw)), [&](int64_t t) {
      const int64_t n = t / g.C, c = t % g.C, gr = c / Cg, cl = c % Cg;
      for (int64_t ih = 0; ih < g.H; ++ih)
        for (int64_t iw = 0; iw < g.W; ++iw) {
          T s = T(0);
          for (int64_t kk = 0; kk < Kg; ++kk) {
            const int64_t k = gr * Kg + kk;
            for (int64_t i = 0; i < g.kh; ++i) {
              const int64_t th = ih + g.ph - i * g.dh;
              if (th < 0 || th % g.sh != 0 || th / g.sh >= g.OH) continue;
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t tw = iw + g.pw - j * g.dw;
                if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.OW) continue;
                s += gy[((n * g.K + k) * g.OH + th / g.sh) * g.OW + tw / g.sw] * w[((k * Cg + cl) * g.kh + i) * g.kw + j];
              }
            }
          }
          gx[((n * g.C + c) * g.H + ih) * g.W + iw] = s;
        }
    });
  }

  static void weight_direct(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* x = static_cast<const T*>(a.w);
    T* gw = static_cast<T*>(a.out);
    const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
    parallel_for_each(g.K * Cg, threads_for(double(g.N * g.K * g.OH * g.OW * Cg * g.kh * g.kw)), [&](int64_t t) {
      const int64_t k = t / Cg, cl = t % Cg, c = (k / Kg) * Cg + cl;
      for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) {
          T s = T(0);
          for (int64_t n = 0; n < g.N; ++n)
            for (int64_t oh = 0; oh < g.OH; ++oh) {
              const int64_t ih = oh * g.sh - g.ph + i * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t ow = 0; ow < g.OW; ++ow) {
                const int64_t iw = ow * g.sw - g.pw + j * g.dw;
                if (iw < 0 || iw >= g.W) continue;
                s += gy[((n * g.K + k) * g.OH + oh) * g.OW + ow] * x[((n * g.C + c) * g.H + ih) * g.W + iw];
              }
            }
          gw[((k * Cg + cl) * g.kh + i) * g.kw + j] = s;
        }
    });
  }

  // ---- depthwise (groups == C == K) ------------------------------------------------------

  // Output columns [lo, hi) whose tap iw = ow * sw + base lies inside [0, W).
  static void tap_range(const ConvGeom& g, int64_t base, int64_t* lo, int64_t* hi) {
    *lo = base >= 0 ? 0 : ceil_div(-base, g.sw);
    *hi = base >= g.W ? 0 : min64(g.OW, (g.W - 1 - base) / g.sw + 1);
  }

  // One plane at a time: per output row, an accumulator row gathers the kh x kw taps, each a
  // vectorised multiply-add over the columns whose tap lands in the input (fixed tap order).
  static void forward_depthwise(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const T* bias = static_cast<const T*>(a.bias);
    T* y = static_cast<T*>(a.out);
    const size_t rsz = static_cast<size_t>(g.OW) + 64 / sizeof(T);
    *a.workspace = static_cast<int64_t>(rsz * sizeof(T));
    bool failed = false;
    parallel_for_each(g.N * g.C, threads_for(double(g.N * g.C * g.OH * g.OW * g.kh * g.kw)), [&](int64_t t) {
      const int64_t c = t % g.C;
      T* acc = static_cast<T*>(tls_scratch.get(rsz * sizeof(T) + 64));
      if (!acc) {
        __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
        return;
      }
      acc = align64<T>(reinterpret_cast<char*>(acc));
      const T* xp = x + t * g.H * g.W;
      const T* wc = w + c * g.kh * g.kw;
      T* yp = y + t * g.OH * g.OW;
      const T b = bias ? bias[c] : T(0);
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        for (int64_t ow = 0; ow < g.OW; ++ow) acc[ow] = b;
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          const T* row = xp + ih * g.W;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t base = j * g.dw - g.pw;
            int64_t lo, hi;
            tap_range(g, base, &lo, &hi);
            const T wv = wc[i * g.kw + j];
            if (g.sw == 1) {
              const T* r = row + base;
#pragma omp simd
              for (int64_t ow = lo; ow < hi; ++ow) acc[ow] += wv * r[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) acc[ow] += wv * row[ow * g.sw + base];
            }
          }
        }
        T* yr = yp + oh * g.OW;
        if (a.act == kGemmActNone) {
          for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] = acc[ow];
        } else {
          for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] = apply_act(acc[ow], a.act);
        }
      }
    });
    if (failed) *a.workspace = -1;
  }

  static void data_depthwise(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    T* gx = static_cast<T*>(a.out);
    parallel_for_each(g.N * g.C, threads_for(double(g.N * g.C * g.OH * g.OW * g.kh * g.kw)), [&](int64_t t) {
      const int64_t c = t % g.C;
      const T* gp = gy + t * g.OH * g.OW;
      const T* wc = w + c * g.kh * g.kw;
      T* xp = gx + t * g.H * g.W;
      for (int64_t e = 0; e < g.H * g.W; ++e) xp[e] = T(0);
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const T* gr = gp + oh * g.OW;
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* row = xp + ih * g.W;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t base = j * g.dw - g.pw;
            int64_t lo, hi;
            tap_range(g, base, &lo, &hi);
            const T wv = wc[i * g.kw + j];
            if (g.sw == 1) {
              T* r = row + base;
#pragma omp simd
              for (int64_t ow = lo; ow < hi; ++ow) r[ow] += wv * gr[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) row[ow * g.sw + base] += wv * gr[ow];
            }
          }
        }
      }
    });
  }

  // Each tap's gradient is a dot product over images and pixels in kLanes interleaved partial
  // sums (a fixed fold): vectorised, and the same bits for any thread count.
  static constexpr int kLanes = 16;
  static void weight_depthwise(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* x = static_cast<const T*>(a.w);
    T* gw = static_cast<T*>(a.out);
    parallel_for_each(g.C, threads_for(double(g.N * g.C * g.OH * g.OW * g.kh * g.kw)), [&](int64_t c) {
      for (int64_t i = 0; i < g.kh; ++i)
        for (int64_t j = 0; j < g.kw; ++j) {
          T acc[kLanes] = {};
          const int64_t base = j * g.dw - g.pw;
          int64_t lo, hi;
          tap_range(g, base, &lo, &hi);
          for (int64_t n = 0; n < g.N; ++n) {
            const T* gp = gy + (n * g.C + c) * g.OH * g.OW;
            const T* xp = x + (n * g.C + c) * g.H * g.W;
            for (int64_t oh = 0; oh < g.OH; ++oh) {
              const int64_t ih = oh * g.sh - g.ph + i * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              const T* gr = gp + oh * g.OW;
              const T* row = xp + ih * g.W;
              int64_t ow = lo;
              if (g.sw == 1) {
                for (; ow + kLanes <= hi; ow += kLanes) {
#pragma omp simd
                  for (int l = 0; l < kLanes; ++l) acc[l] += gr[ow + l] * row[ow + l + base];
                }
              }
              for (int l = 0; ow < hi; ++ow, ++l) acc[l] += gr[ow] * row[ow * g.sw + base];
            }
          }
          T s = T(0);
          for (int l = 0; l < kLanes; ++l) s += acc[l];
          gw[(c * g.kh + i) * g.kw + j] = s;
        }
    });
  }
};

template <class V>
void forward_typed(const ConvArgs& a) {
  switch (a.algo) {
    case kConvDirect: return Conv<V>::forward_direct(a);
    case kConvDepthwise: return Conv<V>::forward_depthwise(a);
    default: return Conv<V>::forward_igemm(a);
  }
}
template <class V>
void data_typed(const ConvArgs& a) {
  switch (a.algo) {
    case kConvDirect: return Conv<V>::data_direct(a);
    case kConvDepthwise: return Conv<V>::data_depthwise(a);
    default: return Conv<V>::data_igemm(a);
  }
}
template <class V>
void weight_typed(const ConvArgs& a) {
  switch (a.algo) {
    case kConvDirect: return Conv<V>::weight_direct(a);
    case kConvDepthwise: return Conv<V>::weight_depthwise(a);
    default: return Conv<V>::weight_igemm(a);
  }
}

void conv_forward_kernel(const ConvArgs& a) {
  if (a.dtype == DType::Float64) forward_typed<VecD>(a);
  else forward_typed<VecF>(a);
}
void conv_backward_data_kernel(const ConvArgs& a) {
  if (a.dtype == DType::Float64) data_typed<VecD>(a);
  else data_typed<VecF>(a);
}
void conv_backward_weight_kernel(const ConvArgs& a) {
  if (a.dtype == DType::Float64) weight_typed<VecD>(a);
  else weight_typed<VecF>(a);
}

}  // namespace
DL_REGISTER_CPU_KERNEL(conv_forward, ConvFn, conv_forward_kernel);
DL_REGISTER_CPU_KERNEL(conv_backward_data, ConvFn, conv_backward_data_kernel);
DL_REGISTER_CPU_KERNEL(conv_backward_weight, ConvFn, conv_backward_weight_kernel);
}  // namespace dl::DL_ISA_NS

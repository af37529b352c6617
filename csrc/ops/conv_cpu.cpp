// CPU convolution kernels (compiled once per ISA): forward, backward data and backward weight,
// each as implicit GEMM on the GEMM's micro-kernels (gemm_tile.h); the direct reference loops and
// the depthwise kernels are conv_direct_cpu.cpp's.  See conv.h for the three kernels' roles.
//
// Implicit GEMM, forward: per (image, group) y (Kg x P) = W (Kg x Kdim) patches (Kdim x P), with
// Kdim = Cg kh kw (run tap-major: k = tap Cg + c) and P = OH OW.  The weight is packed once into
// MR-row micro-panels; the patches are never materialised: each task owns a tile of kTileCols
// output pixels of one image and packs, K slice by K slice, the patch values of its pixels
// straight into NR-column panels (stride, dilation and padding are resolved once per run of
// pixels and tap, the values copied by masked vector loads), then runs the micro-kernel over
// every row panel.  Workspace: the packed weight plus kc x kTileCols values per thread.
// Backward weight: gw (Kg x Kdim) = sum_n gy_n (Kg x P) patches_n^T; each task owns a block of
// NR-wide column panels of gw, packs each gy slice once for them, and runs the whole reduction
// (all pixels of all images in order, in slices that cross image boundaries) into them.
// Backward data: stride 1 is the forward of gy with the flipped, transposed weight; otherwise per
// image (or several small images), chunks of output pixels: cols (Kdim x chunk) = W^T gy, then a
// scatter (col2im) of cols into gx, channels in parallel; a 1x1 stride-1 conv writes gx directly.
// Every output element is one fixed sequence of FMAs whichever thread computes it, and tasks
// never share an output element: results are bitwise identical for any thread count.
#include <algorithm>

#include <stdlib.h>
#include <string.h>

#include "ops/conv_cpu.h"
#include "ops/gemm_tile.h"

namespace dl::DL_ISA_NS {
namespace {
using namespace gemm_detail;
using namespace conv_detail;

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

  // A run of output pixels on one output row, inside one NR-column panel of a tile: the unit of
  // patch packing, so bounds are resolved once per run and not once per value.
  struct Run {
    int64_t col, len, ih0, iw0;  // first column in the tile, length, input row/col of its tap (0, 0)
  };

  // The runs of pixels [col0, col0 + ncols) placed from tile column coff on, split at
  // output-row and panel boundaries.
  static int64_t pixel_runs(const ConvGeom& g, int64_t col0, int64_t ncols, int64_t coff, Run* runs) {
    int64_t nr = 0;
    for (int64_t c = 0; c < ncols;) {
      const int64_t pix = col0 + c, oh = pix / g.OW, ow = pix - oh * g.OW;
      const int64_t len = min64(min64(g.OW - ow, ncols - c), NR - (coff + c) % NR);
      runs[nr++] = Run{coff + c, len, oh * g.sh - g.ph, ow * g.sw - g.pw};
      c += len;
    }
    return nr;
  }

  // Values e in [0, len) of a run whose tap column iw0 + e * sw lies in [0, W): [lo, hi).
  static void valid_span(int64_t iw0, int64_t len, int64_t sw, int64_t W, int64_t& lo, int64_t& hi) {
    lo = iw0 >= 0 ? 0 : ceil_div(-iw0, sw);
    hi = iw0 >= W ? 0 : (W - 1 - iw0) / sw + 1;
    lo = min64(lo, len), hi = hi < lo ? lo : min64(hi, len);
  }

#if defined(__AVX512F__)
  // Lanes e in [a0, a1) of src[2 e] (every other value, stride-2 taps), zero elsewhere: two
  // masked loads and one even-lane permute; no value outside the lanes is read.
  static __m512 load_lanes_s2(const float* src, int a0, int a1) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const uint32_t m = a1 > a0 ? ((a1 >= 16 ? 0xFFFFFFFFu : (1u << (2 * a1)) - 1u) & ~((1u << (2 * a0)) - 1u) &
                                  0x55555555u)
                               : 0u;
    const __mmask16 mlo = static_cast<__mmask16>(m & 0xFFFFu), mhi = static_cast<__mmask16>(m >> 16);
    return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(mlo, src), even, _mm512_maskz_loadu_ps(mhi, src + 16));
  }
#endif

  // Patch rows [pc, pc + kc) x pixels [col0, col0 + ncols) of one image and group (xg: its first
  // channel) -> NR-column panels.  The forward's patch rows run tap-major (k = tap * Cg + c, the
  // weight is reordered to match): per (tap, run) the bounds are resolved once and the channels
  // are then plain (masked-vector) row copies HW apart.  A run is a zero head, a copy of the
  // taps inside the input and a zero tail; masked loads give the head and tail for free.
  // coff: the tile column of pixel col0 (a tile that spans images packs one piece per image);
  // the last panel's columns past coff + ncols are zeroed.
  static void pack_patches(const ConvGeom& g, const T* xg, int64_t pc, int64_t kc, int64_t col0, int64_t ncols,
                           T* dst, int64_t coff = 0) {
    Run runs[kTileCols + kTilePanels];
    const int64_t nruns = pixel_runs(g, col0, ncols, coff, runs);
    const int64_t end = coff + ncols, Cg = g.C / g.groups, HW = g.H * g.W, tail = end % NR, last = end / NR;
    for (int64_t kk = 0, tap = pc / Cg, c0 = pc % Cg; kk < kc; ++tap, c0 = 0) {
      const int64_t i = tap / g.kw, j = tap - i * g.kw, nc = min64(Cg - c0, kc - kk);
      for (int64_t s = 0; s < nruns; ++s) {
        const Run& u = runs[s];
        T* d = dst + (u.col / NR) * kc * NR + kk * NR + u.col % NR;
        const int64_t ih = u.ih0 + i * g.dh, iw0 = u.iw0 + j * g.dw;
        int64_t lo = 0, hi = 0;
        if (ih >= 0 && ih < g.H) valid_span(iw0, u.len, g.sw, g.W, lo, hi);
        const T* src = xg + c0 * HW + ih * g.W + iw0;  // (its values outside [lo, hi) are never read)
        if (g.sw == 1) {
          for (int64_t e0 = 0; e0 < u.len; e0 += V::W) {
            const int n = static_cast<int>(min64(V::W, u.len - e0));
            const int a0 = static_cast<int>(lo - e0 < 0 ? 0 : min64(lo - e0, n));
            const int a1 = static_cast<int>(hi - e0 < a0 ? a0 : min64(hi - e0, n));
            if (a1 > a0) {
              for (int64_t c = 0; c < nc; ++c) V::store_n(d + c * NR + e0, V::load_lanes(src + c * HW + e0, a0, a1), n);
            } else {
              for (int64_t c = 0; c < nc; ++c) V::store_n(d + c * NR + e0, V::zero(), n);
            }
          }
          continue;
        }
#if defined(__AVX512F__)
        if constexpr (sizeof(T) == 4) {
          if (g.sw == 2) {
            for (int64_t e0 = 0; e0 < u.len; e0 += 16) {
              const int n = static_cast<int>(min64(16, u.len - e0));
              const int a0 = static_cast<int>(lo - e0 < 0 ? 0 : min64(lo - e0, n));
              const int a1 = static_cast<int>(hi - e0 < a0 ? a0 : min64(hi - e0, n));
              const __mmask16 mout = static_cast<__mmask16>((1u << n) - 1u);
              for (int64_t c = 0; c < nc; ++c)
                _mm512_mask_storeu_ps(reinterpret_cast<float*>(d + c * NR) + e0, mout,
                                      load_lanes_s2(reinterpret_cast<const float*>(src + c * HW) + 2 * e0, a0, a1));
            }
            continue;
          }
        }
#endif
        for (int64_t c = 0; c < nc; ++c) {
          T* dc = d + c * NR;
          const T* sc = src + c * HW;
          for (int64_t e = 0; e < lo; ++e) dc[e] = T(0);
          for (int64_t e = lo; e < hi; ++e) dc[e] = sc[e * g.sw];
          for (int64_t e = hi; e < u.len; ++e) dc[e] = T(0);
        }
      }
      kk += nc;
    }
    if (tail)  // the last panel's columns past the tile
      for (int64_t kk = 0; kk < kc; ++kk)
        for (int64_t jj = tail; jj < NR; ++jj) dst[last * kc * NR + kk * NR + jj] = T(0);
  }

  static void forward_igemm(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const T* bias = static_cast<const T*>(a.bias);
    T* y = static_cast<T*>(a.out);
    const int64_t G = g.groups, Cg = g.C / G, Kg = g.K / G, Kdim = Cg * g.kh * g.kw;
    const int64_t P = g.OH * g.OW, HW = g.H * g.W, Mpad = ceil_div(Kg, MR) * MR;
    const int64_t ks = Tiles::k_step(Kdim);
    const bool one = is_1x1(g);
    T* wpack = alloc_aligned<T>(static_cast<size_t>(G * Mpad * Kdim));
    if (!wpack) {
      *a.workspace = -1;
      return;
    }
    // The patch rows run tap-major (pack_patches): the weight's columns (c, tap) are reordered to
    // (tap, c) in a copy first (weights are small), then packed.
    const int64_t khw = g.kh * g.kw;
    T* wt = alloc_aligned<T>(static_cast<size_t>(Kg * Kdim));
    if (!wt) {
      free(wpack);
      *a.workspace = -1;
      return;
    }
    for (int64_t gr = 0; gr < G; ++gr) {
      const T* wg = w + gr * Kg * Kdim;
      for (int64_t m = 0; m < Kg; ++m)
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t tap = 0; tap < khw; ++tap) wt[m * Kdim + tap * Cg + c] = wg[m * Kdim + c * khw + tap];
      pack_all_a(wt, Kg, Kdim, Kdim, 1, wpack + gr * Mpad * Kdim);
    }
    free(wt);
    // Tiles run over the pixels of all images (image-major), so small outputs (7x7: 49 pixels,
    // two 32-column panels with 15 of padding) fill whole panels; a tile that spans images packs
    // one piece per image, computes into a per-thread buffer and copies each piece out.  The
    // arithmetic of every output element is the same either way.  (1x1: per image, as the
    // panels of a plain GEMM.)
    const int64_t R = one ? 0 : g.N * P, ntiles = one ? g.N * ceil_div(P, kTileCols) : ceil_div(R, kTileCols);
    const size_t bsz = static_cast<size_t>(ks * kTileCols) + 64 / sizeof(T), csz = static_cast<size_t>(Kg * kTileCols);
    const double work = static_cast<double>(g.N) * static_cast<double>(g.K * P) * static_cast<double>(Kdim);
    const int nt = threads_for(work);
    *a.workspace = static_cast<int64_t>((static_cast<size_t>(G * Mpad * Kdim) + (bsz + csz) * nt) * sizeof(T));
    bool failed = false;
    parallel_for_each(G * ntiles, nt, [&](int64_t t) {
      const int64_t gr = t / ntiles, tile = t % ntiles;
      T* bpack = static_cast<T*>(tls_scratch.get((bsz + csz) * sizeof(T) + 64));
      if (!bpack) {
        __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
        return;
      }
      bpack = align64<T>(reinterpret_cast<char*>(bpack));
      // pixels [r0, r0 + ncols) of the image-major order; n0: the image of the first
      int64_t n0, col0, ncols;
      if (one) {
        const int64_t per = ceil_div(P, kTileCols);
        n0 = tile / per, col0 = (tile % per) * kTileCols, ncols = min64(kTileCols, P - col0);
      } else {
        const int64_t r0 = tile * kTileCols;
        n0 = r0 / P, col0 = r0 - n0 * P, ncols = min64(kTileCols, R - r0);
      }
      const bool spans = col0 + ncols > P;
      T* ctile = bpack + bsz;
      const T* b = bias ? bias + gr * Kg : nullptr;
      const Prob<T> p = spans ? prob(ctile, Kg, kTileCols, Kdim, kTileCols, b, a.act)
                              : prob(y + (n0 * g.K + gr * Kg) * P, Kg, P, Kdim, P, b, a.act);
      const int64_t cbase = spans ? 0 : col0;  // C column of the tile's first pixel
      Prob<T> pb{};
      pb.b = x + (n0 * g.C + gr * Cg) * HW, pb.b_rs = HW, pb.b_cs = 1;
      const T* wg = wpack + gr * Mpad * Kdim;
      for (int64_t pc = 0; pc < Kdim; pc += ks) {
        const int64_t kc = min64(ks, Kdim - pc);
        if (one) {
          for (int64_t q = 0; q * NR < ncols; ++q)
            pack_b_panel<T, NR>(pb, pc, kc, col0 + q * NR, min64(NR, ncols - q * NR), bpack + q * kc * NR);
        } else {
          for (int64_t c = 0, n = n0, p0 = col0; c < ncols; c += min64(P - p0, ncols - c), ++n, p0 = 0)
            pack_patches(g, x + (n * g.C + gr * Cg) * HW, pc, kc, p0, min64(P - p0, ncols - c), bpack, c);
        }
        const bool first = pc == 0, last = pc + kc == Kdim;
        const T* ap = wg + Mpad * pc;
        for (int64_t q = 0; q * NR < ncols; ++q) {
          const int64_t nq = min64(NR, ncols - q * NR);
          for (int64_t ir = 0; ir < Kg; ir += MR)
            Tiles::tile(p, kc, first, last, ap + (ir / MR) * kc * MR, bpack + q * kc * NR, ir, cbase + q * NR,
                        min64(MR, Kg - ir), nq);
        }
      }
      if (spans)
        for (int64_t c = 0, n = n0, p0 = col0; c < ncols; c += min64(P - p0, ncols - c), ++n, p0 = 0) {
          const int64_t len = min64(P - p0, ncols - c);
          for (int64_t m = 0; m < Kg; ++m)
            memcpy(y + (n * g.K + gr * Kg + m) * P + p0, ctile + m * kTileCols + c, static_cast<size_t>(len) * sizeof(T));
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

#if defined(DL_GEMM_HAVE_TRANSPOSE16)
  // pack_patches_t for strides 1 and 2 and float on AVX-512: per run of up to 16 pixels on one
  // output row, 16 patch columns are read as masked 16-wide rows of the input (padding comes
  // free; stride 2 keeps the even lanes of 32) and transposed in registers into the panel's
  // pixel-major layout.
  static void pack_patches_t_vec(const ConvGeom& g, const float* xg, int64_t pc, int64_t kc, int64_t col0, int64_t n,
                                 float* dst) {
    const int64_t khw = g.kh * g.kw, HW = g.H * g.W;
    int64_t coff[NR], di[NR], dj[NR];
    for (int jj = 0; jj < NR; ++jj) {
      const int64_t k = col0 + (jj < n ? jj : 0), c = k / khw, r = k - c * khw, i = r / g.kw;
      coff[jj] = c * HW, di[jj] = i * g.dh, dj[jj] = (r - i * g.kw) * g.dw;
    }
    alignas(64) float rows[16 * 16], tr[16 * 16];
    int64_t oh = pc / g.OW, ow = pc - oh * g.OW;
    for (int64_t kk = 0; kk < kc;) {
      const int len = static_cast<int>(min64(min64(16, g.OW - ow), kc - kk));
      const bool direct = len == 16;
      for (int g0 = 0; g0 < NR; g0 += 16) {
        for (int r = 0; r < 16; ++r) {
          const int jj = g0 + r;
          const int64_t ih = oh * g.sh - g.ph + di[jj], iw0 = ow * g.sw - g.pw + dj[jj];
          int64_t lo = 0, hi = 0;
          if (jj < n && ih >= 0 && ih < g.H) valid_span(iw0, len, g.sw, g.W, lo, hi);
          const float* src = xg + coff[jj] + ih * g.W + iw0;
          const int a0 = static_cast<int>(lo), a1 = static_cast<int>(hi);
          const __m512 v = hi <= lo ? _mm512_setzero_ps()
                           : g.sw == 1 ? V::load_lanes(src, a0, a1) : load_lanes_s2(src, a0, a1);
          _mm512_store_ps(rows + r * 16, v);
        }
        transpose16(rows, 16, 16, direct ? dst + kk * NR + g0 : tr, direct ? NR : 16);
        if (!direct)
          for (int e = 0; e < len; ++e) _mm512_storeu_ps(dst + (kk + e) * NR + g0, _mm512_load_ps(tr + e * 16));
      }
      kk += len, ow += len;
      if (ow == g.OW) ow = 0, ++oh;
    }
  }
#endif

  static void weight_igemm(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* gy = static_cast<const T*>(a.x);
    const T* x = static_cast<const T*>(a.w);
    T* gw = static_cast<T*>(a.out);
    const int64_t G = g.groups, Cg = g.C / G, Kg = g.K / G, Kdim = Cg * g.kh * g.kw;
    const int64_t P = g.OH * g.OW, HW = g.H * g.W, Mpad = ceil_div(Kg, MR) * MR;
    // The reduction runs over every pixel of every image (image-major) in slices of equal depth
    // that cross image boundaries: 7x7 outputs would otherwise make 49-deep slices, too short to
    // amortise the C tile's load and store (about half the time of a stride-2 4x4 layer's gw).
    const int64_t R = P * g.N;
    if (R == 0) return;  // gw is zero-filled by the caller
    // Slices of KC (the last one shorter): the workspace stays independent of the batch.
    const int64_t ks = min64(R, Bk::KC), npanels = ceil_div(Kdim, NR);
    const double work = static_cast<double>(g.N) * static_cast<double>(g.K * P) * static_cast<double>(Kdim);
    const int nt = threads_for(work);
    // A task owns a block of column panels of one group and packs each slice of gy once for all
    // of them: two blocks per thread, since each block packs all of gy (a gw element's sum is
    // the same whichever block holds it, so the partition may follow the thread count).
    const int64_t per = ceil_div(npanels, int64_t{2} * nt), nblk = ceil_div(npanels, per);
    const bool one = is_1x1(g);
    const size_t asz = static_cast<size_t>(Mpad * ks) + 64 / sizeof(T), bsz = static_cast<size_t>(ks * NR);
    *a.workspace = static_cast<int64_t>((asz + bsz * per) * sizeof(T) * nt);
    bool failed = false;
    parallel_for_each(G * nblk, nt, [&](int64_t t) {
      const int64_t gr = t / nblk, q0 = (t % nblk) * per, q1 = min64(npanels, q0 + per);
      char* base = static_cast<char*>(tls_scratch.get((asz + bsz * per) * sizeof(T) + 64));
      if (!base) {
        __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
        return;
      }
      T* apack = align64<T>(base);
      T* bpack = apack + asz;
      const Prob<T> p = prob(gw + gr * Kg * Kdim, Kg, Kdim, R, Kdim, nullptr, 0);
      for (int64_t r0 = 0; r0 < R; r0 += ks) {
        const int64_t kc = min64(ks, R - r0);
        // The slice's pieces, one per image it touches, packed side by side along k.
        for (int64_t kk = 0; kk < kc;) {
          const int64_t n = (r0 + kk) / P, pc = r0 + kk - n * P, len = min64(P - pc, kc - kk);
          Prob<T> pa{};
          pa.a = gy + (n * g.K + gr * Kg) * P, pa.a_rs = P, pa.a_cs = 1;
          for (int64_t ir = 0; ir < Kg; ir += MR)
            pack_a(pa, ir, min64(MR, Kg - ir), pc, len, apack + (ir / MR) * kc * MR + kk * MR);
          const T* xg = x + (n * g.C + gr * Cg) * HW;
          Prob<T> pb{};
          pb.b = xg, pb.b_rs = 1, pb.b_cs = HW;
          for (int64_t q = q0; q < q1; ++q) {
            const int64_t col0 = q * NR, nq = min64(NR, Kdim - col0);
            T* bq = bpack + (q - q0) * kc * NR + kk * NR;
            if (one) pack_b_panel<T, NR>(pb, pc, len, col0, nq, bq);
            else pack_patches_any_t(g, xg, pc, len, col0, nq, bq);
          }
          kk += len;
        }
        const bool first = r0 == 0, last = r0 + kc == R;
        for (int64_t q = q0; q < q1; ++q) {
          const int64_t col0 = q * NR, nq = min64(NR, Kdim - col0);
          for (int64_t ir = 0; ir < Kg; ir += MR)
            Tiles::tile(p, kc, first, last, apack + (ir / MR) * kc * MR, bpack + (q - q0) * kc * NR, ir, col0,
                        min64(MR, Kg - ir), nq);
        }
      }
    });
    if (failed) *a.workspace = -1;
  }

  static void pack_patches_any_t(const ConvGeom& g, const T* xg, int64_t pc, int64_t kc, int64_t col0, int64_t n,
                                 T* dst) {
#if defined(DL_GEMM_HAVE_TRANSPOSE16)
    if constexpr (sizeof(T) == 4 && NR % 16 == 0) {
      if (g.sw <= 2) return pack_patches_t_vec(g, xg, pc, kc, col0, n, dst);
    }
#endif
    pack_patches_t(g, xg, pc, kc, col0, n, dst);
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

  // Stride 1: grad_x is the forward convolution of gy with the flipped, transposed weight and
  // padding d (k - 1) - p, so it runs on the forward's implicit GEMM (no cols buffer, no col2im).
  static bool data_as_forward(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const int64_t ph = g.dh * (g.kh - 1) - g.ph, pw = g.dw * (g.kw - 1) - g.pw;
    if (g.sh != 1 || g.sw != 1 || ph < 0 || pw < 0 || is_1x1(g)) return false;
    const int64_t G = g.groups, Cg = g.C / G, Kg = g.K / G, khw = g.kh * g.kw;
    T* wf = alloc_aligned<T>(static_cast<size_t>(g.K * Cg * khw));
    if (!wf) return false;
    const T* w = static_cast<const T*>(a.w);
    for (int64_t gr = 0; gr < G; ++gr)  // wf[gr Cg + c][k][tap'] = w[gr Kg + k][c][khw - 1 - tap']
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t k = 0; k < Kg; ++k)
          for (int64_t t = 0; t < khw; ++t)
            wf[((gr * Cg + c) * Kg + k) * khw + t] = w[((gr * Kg + k) * Cg + c) * khw + khw - 1 - t];
    ConvArgs f = a;
    f.g = ConvGeom{g.N, g.K, g.OH, g.OW, g.C, g.H, g.W, g.kh, g.kw, 1, 1, ph, pw, g.dh, g.dw, G};
    f.w = wf, f.bias = nullptr, f.act = 0;
    forward_igemm(f);
    free(wf);
    if (*a.workspace >= 0) *a.workspace += static_cast<int64_t>(g.K * Cg * khw * sizeof(T));
    return true;
  }

  static void data_igemm(const ConvArgs& a) {
    if (data_as_forward(a)) return;
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
    const double work = static_cast<double>(g.N * G) * static_cast<double>(Kdim * Kg) * static_cast<double>(P);
    const int nt = threads_for(work);
    // Small images (under 512 pixels) go several to a task, so cols' columns fill whole panels
    // (a 7x7 gy made two 32-column panels with 15 of padding per image); each image's gx still
    // comes from its own columns only, with the same arithmetic.  At least two tasks a thread.
    const int64_t nimg = one || g.N * G < 4 ? 1 : std::max<int64_t>(1, min64(min64(512, fit) / P, g.N / (2 * nt)));
    const int64_t span = ceil_div(nimg * P, NR) * NR;
    const size_t bsz = static_cast<size_t>(ks * NR), csz = one ? 0 : static_cast<size_t>(Kdim * std::max(chunk, span));
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
    // Images [n0, n0 + m) of group gr (small images, see nimg): cols = W_g^T gy over all their
    // pixels, then each image's col2im from its own columns.
    auto images = [&](int64_t n0, int64_t m, int64_t gr) {
      char* c = static_cast<char*>(cols_scratch().get(csz * sizeof(T) + 64));
      T* bpack = static_cast<T*>(tls_scratch.get(bsz * sizeof(T) + 64));
      if (!c || !bpack) {
        __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
        return;
      }
      T* cols = align64<T>(c);
      bpack = align64<T>(reinterpret_cast<char*>(bpack));
      const int64_t ncols = m * P, ldc = ceil_div(ncols, NR) * NR;
      const Prob<T> p = prob(cols, Kdim, ncols, Kg, ldc, nullptr, 0);
      for (int64_t j0 = 0; j0 < ncols; j0 += NR) {
        const int64_t nq = min64(NR, ncols - j0);
        for (int64_t pc = 0; pc < Kg; pc += ks) {
          const int64_t kc = min64(ks, Kg - pc);
          // the panel's columns are pixels of one or more images: row pieces of each
          for (int64_t jj = 0; jj < nq;) {
            const int64_t r = j0 + jj, n = n0 + r / P, pix = r % P, len = min64(P - pix, nq - jj);
            const T* src = gy + (n * g.K + gr * Kg + pc) * P + pix;
            for (int64_t kk = 0; kk < kc; ++kk)
              memcpy(bpack + kk * NR + jj, src + kk * P, static_cast<size_t>(len) * sizeof(T));
            jj += len;
          }
          for (int64_t kk = 0; kk < kc && nq < NR; ++kk)
            for (int64_t jj = nq; jj < NR; ++jj) bpack[kk * NR + jj] = T(0);
          const T* ap = wpack + gr * Mpad * Kg + Mpad * pc;
          for (int64_t ir = 0; ir < Kdim; ir += MR)
            Tiles::tile(p, kc, pc == 0, pc + kc == Kg, ap + (ir / MR) * kc * MR, bpack, ir, j0, min64(MR, Kdim - ir),
                        nq);
        }
      }
      for (int64_t i = 0; i < m; ++i) {
        T* gxg = gx + ((n0 + i) * g.C + gr * Cg) * HW;
        memset(gxg, 0, static_cast<size_t>(Cg * HW) * sizeof(T));
        for (int64_t ch = 0; ch < Cg; ++ch) col2im_channel(g, cols + ch * khw * ldc + i * P, ldc, 0, P, gxg + ch * HW);
      }
    };
    if (nimg > 1) {
      const int64_t nb = ceil_div(g.N, nimg);
      parallel_for_each(nb * G, nt, [&](int64_t t) {
        const int64_t n0 = (t / G) * nimg;
        images(n0, min64(nimg, g.N - n0), t % G);
      });
    } else if (outer) {
      parallel_for_each(g.N * G, nt, [&](int64_t t) { image(t / G, t % G); });
    } else {
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t gr = 0; gr < G; ++gr) image(n, gr);
    }
    free(wpack);
    if (failed) *a.workspace = -1;
  }
};

bool is_direct(const ConvArgs& a) { return a.algo == kConvDirect || a.algo == kConvDepthwise; }

void conv_forward_kernel(const ConvArgs& a) {
  if (is_direct(a)) conv_direct_forward(a);
  else if (a.dtype == DType::Float64) Conv<VecD>::forward_igemm(a);
  else Conv<VecF>::forward_igemm(a);
}
void conv_backward_data_kernel(const ConvArgs& a) {
  if (is_direct(a)) conv_direct_backward_data(a);
  else if (a.dtype == DType::Float64) Conv<VecD>::data_igemm(a);
  else Conv<VecF>::data_igemm(a);
}
void conv_backward_weight_kernel(const ConvArgs& a) {
  if (is_direct(a)) conv_direct_backward_weight(a);
  else if (a.dtype == DType::Float64) Conv<VecD>::weight_igemm(a);
  else Conv<VecF>::weight_igemm(a);
}

}  // namespace
DL_REGISTER_CPU_KERNEL(conv_forward, ConvFn, conv_forward_kernel);
DL_REGISTER_CPU_KERNEL(conv_backward_data, ConvFn, conv_backward_data_kernel);
DL_REGISTER_CPU_KERNEL(conv_backward_weight, ConvFn, conv_backward_weight_kernel);
}  // namespace dl::DL_ISA_NS

// Winograd F(2x2, 3x3) forward convolution (compiled once per ISA) for 3x3, stride 1,
// dilation 1, groups 1 with any padding.  Per 4x4 input tile (stride 2) and channel,
// V = B^T d B; per (out, in) channel pair U = G g G^T; the 16 element-wise products summed over
// input channels are 16 GEMMs M[xi] = U[xi] (K x C) V[xi] (C x tiles), run on the GEMM
// micro-kernels with V written by the input transform straight into the packed B-panel layout;
// the output transform Y = A^T m A adds the bias and activation.  2.25x fewer multiplies than a
// direct 3x3; float32 error a few ulps of the (small) transform constants.
// Tasks: (image, block of kBlockPanels * NR tiles), each with its own V and M buffers (a few MiB
// per thread at most); every output element is computed by one task in a fixed order, so the
// result does not depend on the thread count.
#include <stdlib.h>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/conv.h"
#include "ops/gemm_tile.h"

namespace dl::DL_ISA_NS {
namespace {
using namespace gemm_detail;

template <class V>
struct Winograd : GemmTiles<V> {
  using T = typename V::T;
  using Tiles = GemmTiles<V>;
  using Bk = Blocking<V>;
  static constexpr int MR = Bk::MR, NR = Bk::NR;
  static constexpr int64_t kBlockPanels = 2, kBlock = kBlockPanels * NR;

  // U[xi][k][c] = (G g G^T)[xi] for the 3x3 filter g of (k, c).
  static void weight_transform(const T* w, int64_t K, int64_t C, T* U) {
    for (int64_t k = 0; k < K; ++k)
      for (int64_t c = 0; c < C; ++c) {
        const T* g = w + (k * C + c) * 9;
        T t[4][3];  // G g
        for (int j = 0; j < 3; ++j) {
          t[0][j] = g[j];
          t[1][j] = T(0.5) * (g[j] + g[3 + j] + g[6 + j]);
          t[2][j] = T(0.5) * (g[j] - g[3 + j] + g[6 + j]);
          t[3][j] = g[6 + j];
        }
        for (int i = 0; i < 4; ++i) {
          const T u[4] = {t[i][0], T(0.5) * (t[i][0] + t[i][1] + t[i][2]), T(0.5) * (t[i][0] - t[i][1] + t[i][2]),
                          t[i][2]};
          for (int j = 0; j < 4; ++j) U[((i * 4 + j) * K + k) * C + c] = u[j];
        }
      }
  }

  // V for tiles [t0, t0 + nt) of one image, every channel, into Vp[xi][q][c][jj] (panel q of NR
  // tiles; missing tiles of the last panel zero).
  static void input_transform(const ConvGeom& g, const T* x, int64_t TW, int64_t t0, int64_t nt, T* Vp) {
    const int64_t C = g.C, npan = ceil_div(nt, NR), HW = g.H * g.W;
    for (int64_t q = 0; q < npan; ++q)
      for (int jj = 0; jj < NR; ++jj) {
        const int64_t t = t0 + q * NR + jj;
        const bool have = q * NR + jj < nt;
        const int64_t th = have ? t / TW : 0, tw = have ? t - th * TW : 0;
        const int64_t ih0 = 2 * th - g.ph, iw0 = 2 * tw - g.pw;
        const bool inside = have && ih0 >= 0 && iw0 >= 0 && ih0 + 4 <= g.H && iw0 + 4 <= g.W;
        for (int64_t c = 0; c < C; ++c) {
          T d[4][4];
          const T* xc = x + c * HW;
          if (inside) {
            for (int i = 0; i < 4; ++i)
              for (int j = 0; j < 4; ++j) d[i][j] = xc[(ih0 + i) * g.W + iw0 + j];
          } else {
            for (int i = 0; i < 4; ++i)
              for (int j = 0; j < 4; ++j) {
                const int64_t ih = ih0 + i, iw = iw0 + j;
                d[i][j] = have && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? xc[ih * g.W + iw] : T(0);
              }
          }
          T r[4][4];  // B^T d
          for (int j = 0; j < 4; ++j) {
            r[0][j] = d[0][j] - d[2][j];
            r[1][j] = d[1][j] + d[2][j];
            r[2][j] = d[2][j] - d[1][j];
            r[3][j] = d[1][j] - d[3][j];
          }
          for (int i = 0; i < 4; ++i) {
            const T v[4] = {r[i][0] - r[i][2], r[i][1] + r[i][2], r[i][2] - r[i][1], r[i][1] - r[i][3]};
            for (int j = 0; j < 4; ++j) Vp[(((i * 4 + j) * npan + q) * C + c) * NR + jj] = v[j];
          }
        }
      }
  }

  static void run(const ConvArgs& a) {
    const ConvGeom& g = a.g;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.w);
    const T* bias = static_cast<const T*>(a.bias);
    T* y = static_cast<T*>(a.out);
    const int64_t K = g.K, C = g.C, TH = ceil_div(g.OH, 2), TW = ceil_div(g.OW, 2), tiles = TH * TW;
    const int64_t Mpad = ceil_div(K, MR) * MR, ks = Tiles::k_step(C), nblocks = ceil_div(tiles, kBlock);
    T* U = static_cast<T*>(malloc(static_cast<size_t>(16 * K * C) * sizeof(T)));
    void* up = nullptr;
    if (posix_memalign(&up, 64, static_cast<size_t>(16 * Mpad * C) * sizeof(T)) != 0) up = nullptr;
    T* Upack = static_cast<T*>(up);
    if (!U || !Upack) {
      free(U), free(Upack);
      *a.workspace = -1;
      return;
    }
    weight_transform(w, K, C, U);
    for (int xi = 0; xi < 16; ++xi) {
      Prob<T> pa{};
      pa.a = U + xi * K * C, pa.a_rs = C, pa.a_cs = 1;
      for (int64_t pc = 0; pc < C; pc += ks) pack_a(pa, 0, K, pc, min64(ks, C - pc), Upack + xi * Mpad * C + Mpad * pc);
    }
    free(U);
    const size_t vsz = static_cast<size_t>(16 * kBlock * C), msz = static_cast<size_t>(16 * K * kBlock);
    const double work = static_cast<double>(g.N * tiles) * static_cast<double>(16 * K * C);
    const int nt = work >= 2.0e5 ? num_threads() : 1;
    *a.workspace = static_cast<int64_t>((static_cast<size_t>(16 * Mpad * C) + (vsz + msz) * nt) * sizeof(T) + 128 * nt);
    bool failed = false;
    parallel_for_each(g.N * nblocks, nt, [&](int64_t task) {
      const int64_t n = task / nblocks, blk = task % nblocks, t0 = blk * kBlock, ntl = min64(kBlock, tiles - t0);
      const int64_t npan = ceil_div(ntl, NR);
      char* base = static_cast<char*>(tls_scratch.get((vsz + msz) * sizeof(T) + 128));
      if (!base) {
        __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
        return;
      }
      T* Vp = align64<T>(base);
      T* Mb = Vp + vsz;
      input_transform(g, x + n * C * g.H * g.W, TW, t0, ntl, Vp);
      for (int xi = 0; xi < 16; ++xi) {
        Prob<T> p{};
        p.c = Mb + xi * K * kBlock, p.M = K, p.N = ntl, p.K = C, p.c_rs = kBlock, p.c_cs = 1;
        p.alpha = T(1), p.beta = T(0);
        for (int64_t pc = 0; pc < C; pc += ks) {
          const int64_t kc = min64(ks, C - pc);
          const T* ap = Upack + xi * Mpad * C + Mpad * pc;
          for (int64_t q = 0; q < npan; ++q) {
            const T* bp = Vp + ((xi * npan + q) * C + pc) * NR;
            for (int64_t ir = 0; ir < K; ir += MR)
              Tiles::tile(p, kc, pc == 0, pc + kc == C, ap + (ir / MR) * kc * MR, bp, ir, q * NR, min64(MR, K - ir),
                          min64(NR, ntl - q * NR));
          }
        }
      }
      // Y = A^T m A per (k, tile), plus bias and activation.
      for (int64_t k = 0; k < K; ++k) {
        T* yk = y + (n * K + k) * g.OH * g.OW;
        const T b = bias ? bias[k] : T(0);
        for (int64_t e = 0; e < ntl; ++e) {
          T m[4][4];
          for (int xi = 0; xi < 16; ++xi) m[xi / 4][xi % 4] = Mb[(xi * K + k) * kBlock + e];
          T r[2][4];
          for (int j = 0; j < 4; ++j) {
            r[0][j] = m[0][j] + m[1][j] + m[2][j];
            r[1][j] = m[1][j] - m[2][j] - m[3][j];
          }
          const int64_t t = t0 + e, th = t / TW, tw = t - th * TW;
          for (int i = 0; i < 2; ++i) {
            const int64_t oh = 2 * th + i;
            if (oh >= g.OH) continue;
            const T o[2] = {r[i][0] + r[i][1] + r[i][2], r[i][1] - r[i][2] - r[i][3]};
            for (int j = 0; j < 2; ++j) {
              const int64_t ow = 2 * tw + j;
              if (ow < g.OW) yk[oh * g.OW + ow] = apply_act(o[j] + b, a.act);
            }
          }
        }
      }
    });
    free(Upack);
    if (failed) *a.workspace = -1;
  }
};

void conv_winograd_kernel(const ConvArgs& a) {
  if (a.dtype == DType::Float64) Winograd<VecD>::run(a);
  else Winograd<VecF>::run(a);
}

}  // namespace
DL_REGISTER_CPU_KERNEL(conv_winograd, ConvFn, conv_winograd_kernel);
}  // namespace dl::DL_ISA_NS

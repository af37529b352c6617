// CPU kernels of scaled_dot_product_attention (per ISA): FlashAttention-2 tiles, forward and
// backward, no buffer of L x S anywhere.  (The row reference is attention_ref_cpu.cpp.)
//
// Forward: a task is (flat head bh, block of BQ query rows).  Its queries are packed once,
// transposed and pre-scaled by scale * log2(e) (Qt, E x BQ), so a key block's scores come out
// transposed, St = K Qt (BK keys x BQ queries), straight from K's rows with no packing, in base-2
// units.  The online softmax then runs across the BQ queries in vector lanes (column max, 2^(t -
// m), column sums: no horizontal reductions) and O += P V reads V's rows in place (A = St read
// transposed by strides).  Causal: key blocks right of the diagonal are skipped.  At the end
// out = O / l and logsumexp = (m + log2 l) ln 2.
//
// Backward (FA-2, probabilities recomputed from logsumexp, no atomics): pass 1 delta_i =
// dO_i . O_i; pass 2 owns a key block of one key/value head (the query heads that read it, in
// order): S = Q Kt and dP = dO Vt with K, V packed once per task, dV += Pd^T dO and dK += dS^T Q
// with Q and dO read in place; pass 3 owns a query block as the forward does: dQ += dS K.  Sums
// run in an order fixed by the shapes, so results do not depend on the thread count.
//
// Products use one register-blocked micro-kernel (attention_tile.h): 4 rows x NV vectors of
// accumulators; a B operand whose width is not a multiple of the vector chunk is packed, padded.
#include "core/parallel.h"
#include "ops/attention_tile.h"

namespace dl::DL_ISA_NS {
namespace attn {
namespace {

template <class V>
struct Geo {
  static constexpr int64_t CW = kNV * V::W;
  int64_t Ep, Evp, nqb, nkb, G;
  explicit Geo(const AttnArgs& a)
      : Ep(round_up(a.E, CW)), Evp(round_up(a.Ev, CW)), nqb((a.L + kBQ - 1) / kBQ), nkb((a.S + kBK - 1) / kBK),
        G(a.Hq / a.Hk) {}
};

// Mask, ALiBi, causal and padding of a transposed score tile St (keys jj < nk, queries r < BQ),
// in base-2 units; query columns r >= nrows become -inf.
template <class T>
void bias_t(const AttnArgs& a, int64_t bh, int64_t i0, int64_t nrows, int64_t j0, int64_t nk, T* St) {
  const T lg = static_cast<T>(kLog2e), ninf = -__builtin_huge_val();
  for (int64_t jj = 0; jj < nk; ++jj) {
    T* row = St + jj * kBQ;
    const int64_t j = j0 + jj;
    if (a.mask) {
      const T* m = static_cast<const T*>(a.mask) + a.mask_off[bh] + i0 * a.mask_rs + j * a.mask_cs;
      for (int64_t r = 0; r < nrows; ++r) row[r] += m[r * a.mask_rs] * lg;
    }
    if (a.alibi) {
      const T slope = static_cast<const T*>(a.alibi)[bh] * lg;
      const int64_t d0 = j - i0;
#pragma omp simd
      for (int64_t r = 0; r < kBQ; ++r) row[r] += slope * static_cast<T>(d0 - r);
    }
    if (a.causal)  // query i0 + r sees key j only when j <= i0 + r
      for (int64_t r = 0, e = min64(kBQ, j - i0); r < e; ++r) row[r] = ninf;
    for (int64_t r = nrows; r < kBQ; ++r) row[r] = ninf;
  }
}

template <class V>
void flash_forward(const AttnArgs& a) {
  using T = typename V::T;
  const Geo<V> g(a);
  const bool v_direct = g.Evp == a.Ev;
  const T sc = static_cast<T>(a.scale * kLog2e), ninf = -__builtin_huge_val();
  parallel_for_each(a.B * a.Hq * g.nqb, a.nthreads, [&](int64_t task) {
    const int64_t bh = task / g.nqb, i0 = (task % g.nqb) * kBQ, nrows = min64(kBQ, a.L - i0);
    const int64_t kvh = (bh / a.Hq) * a.Hk + (bh % a.Hq) / g.G;
    const T* k = static_cast<const T*>(a.k) + kvh * a.S * a.E;
    const T* v = static_cast<const T*>(a.v) + kvh * a.S * a.Ev;
    Carver<T> w{thread_work<T>(a)};
    T* Qt = w.take(a.E * kBQ);
    T* St = w.take(kBK * kBQ);
    T* Ob = w.take(kBQ * g.Evp);
    T* Vp = v_direct ? nullptr : w.take(kBK * g.Evp);
    T* m = w.take(kBQ);
    T* l = w.take(kBQ);
    T* al = w.take(kBQ);
    T* ls = w.take(kBQ);
    T* z = w.take(kBK);
    pack_t(static_cast<const T*>(a.q) + (bh * a.L + i0) * a.E, a.E, nrows, kBQ, Qt, sc);
    for (int64_t x = 0; x < nrows * g.Evp; ++x) Ob[x] = T(0);
    for (int64_t r = 0; r < kBQ; ++r) {
      m[r] = ninf;
      l[r] = T(0);
    }
    const int64_t kend = a.causal ? min64(a.S, i0 + nrows) : a.S;
    for (int64_t j0 = 0; j0 < kend; j0 += kBK) {
      const int64_t nk = min64(kBK, kend - j0);  // keys past kend are causal-masked for every row
      block_gemm<V>(k + j0 * a.E, a.E, 1, Qt, kBQ, St, kBQ, nk, kBQ, a.E, false);
      bias_t(a, bh, i0, nrows, j0, nk, St);
      for (int64_t r = 0; r < kBQ; ++r) al[r] = m[r];
      for (int64_t jj = 0; jj < nk; ++jj) {
        const T* row = St + jj * kBQ;
#pragma omp simd
        for (int64_t r = 0; r < kBQ; ++r) al[r] = row[r] > al[r] ? row[r] : al[r];
      }
#pragma omp simd
      for (int64_t r = 0; r < kBQ; ++r) {  // al: the new max -> the rescale factor of the old sums
        const T mn = al[r];
        al[r] = pexp(m[r], mn);
        m[r] = mn;
        ls[r] = T(0);
      }
      for (int64_t jj = 0; jj < nk; ++jj) {
        T* row = St + jj * kBQ;
#pragma omp simd
        for (int64_t r = 0; r < kBQ; ++r) {
          const T p = pexp(row[r], m[r]);
          row[r] = p;
          ls[r] += p;
        }
      }
      for (int64_t r = 0; r < nrows; ++r) {
        l[r] = l[r] * al[r] + ls[r];
        if (al[r] != T(1)) {
          T* o = Ob + r * g.Evp;
          const T f = al[r];
#pragma omp simd
          for (int64_t c = 0; c < g.Evp; ++c) o[c] *= f;
        }
      }
      if (a.dropout_p > 0)
        for (int64_t r = 0; r < nrows; ++r) {
          dropout_row(a, bh, i0 + r, j0, nk, z);
          for (int64_t jj = 0; jj < nk; ++jj) St[jj * kBQ + r] *= z[jj];
        }
      const T* vb = v + j0 * a.Ev;
      if (!v_direct) {
        pack_rows(vb, a.Ev, nk, Vp, g.Evp);
        vb = Vp;
      }
      block_gemm<V>(St, 1, kBQ, vb, g.Evp, Ob, g.Evp, nrows, g.Evp, nk, true);
    }
    T* out = static_cast<T*>(a.out) + (bh * a.L + i0) * a.Ev;
    T* lse = static_cast<T*>(a.lse) + bh * a.L + i0;
    for (int64_t r = 0; r < nrows; ++r) {
      const T inv = l[r] > T(0) ? T(1) / l[r] : T(0);
      const T* o = Ob + r * g.Evp;
      T* dst = out + r * a.Ev;
#pragma omp simd
      for (int64_t c = 0; c < a.Ev; ++c) dst[c] = o[c] * inv;
      lse[r] = l[r] > T(0) ? (m[r] + log2_t(l[r])) * static_cast<T>(kLn2) : ninf;
    }
  });
}

// delta_i = dO_i . O_i for every row.
template <class T>
void compute_delta(const AttnArgs& a) {
  const T* go = static_cast<const T*>(a.grad_out);
  const T* o = static_cast<const T*>(a.out_in);
  T* dl = static_cast<T*>(a.delta);
  const int64_t rows = a.B * a.Hq * a.L, chunk = 256;
  parallel_for_each((rows + chunk - 1) / chunk, a.nthreads, [&](int64_t t) {
    for (int64_t r = t * chunk, e = min64(rows, r + chunk); r < e; ++r) {
      T acc = T(0);
      for (int64_t c = 0; c < a.Ev; ++c) acc += go[r * a.Ev + c] * o[r * a.Ev + c];
      dl[r] = acc;
    }
  });
}

// logsumexp in base 2, with +inf for an empty row (so that 2^(t - lse) is 0 there).
template <class T>
inline T lse2(T lse) {
  return lse == -__builtin_huge_val() ? T(__builtin_huge_val()) : lse * static_cast<T>(kLog2e);
}

// Pass 2: dK, dV of one (key/value head, key block).
template <class V>
void backward_kv(const AttnArgs& a, const Geo<V>& g, int64_t task, bool fuse_dq) {
  using T = typename V::T;
  const bool q_direct = g.Ep == a.E, o_direct = g.Evp == a.Ev;
  const T sc = static_cast<T>(a.scale * kLog2e), lg = static_cast<T>(kLog2e);
  const int64_t kvh = task / g.nkb, j0 = (task % g.nkb) * kBK, nk = min64(kBK, a.S - j0);
  const int64_t b = kvh / a.Hk, hk = kvh % a.Hk;
  const T* LSE = static_cast<const T*>(a.lse_in);
  const T* DL = static_cast<const T*>(a.delta);
  Carver<T> w{thread_work<T>(a)};
  T* Kt = w.take(a.E * kBK);
  T* Vt = w.take(a.Ev * kBK);
  T* Sb = w.take(kBQ * kBK);
  T* Db = w.take(kBQ * kBK);
  T* dKa = w.take(kBK * g.Ep);
  T* dVa = w.take(kBK * g.Evp);
  T* Qp = q_direct ? nullptr : w.take(kBQ * g.Ep);
  T* dOp = o_direct ? nullptr : w.take(kBQ * g.Evp);
  T* z = w.take(kBK);
  pack_t(static_cast<const T*>(a.k) + (kvh * a.S + j0) * a.E, a.E, nk, kBK, Kt, sc);
  pack_t(static_cast<const T*>(a.v) + (kvh * a.S + j0) * a.Ev, a.Ev, nk, kBK, Vt, T(1));
  for (int64_t x = 0; x < kBK * g.Ep; ++x) dKa[x] = T(0);
  for (int64_t x = 0; x < kBK * g.Evp; ++x) dVa[x] = T(0);
  const int64_t qb0 = a.causal ? j0 / kBQ : 0;  // causal: rows above the block's first key see none of it
  for (int64_t h = hk * g.G; h < (hk + 1) * g.G; ++h) {
    const int64_t bh = b * a.Hq + h;
    for (int64_t qb = qb0; qb < g.nqb; ++qb) {
      const int64_t i0 = qb * kBQ, nrows = min64(kBQ, a.L - i0);
      const T* q = static_cast<const T*>(a.q) + (bh * a.L + i0) * a.E;
      const T* go = static_cast<const T*>(a.grad_out) + (bh * a.L + i0) * a.Ev;
      block_gemm<V>(q, a.E, 1, Kt, kBK, Sb, kBK, nrows, kBK, a.E, false);
      block_gemm<V>(go, a.Ev, 1, Vt, kBK, Db, kBK, nrows, kBK, a.Ev, false);
      for (int64_t r = 0; r < nrows; ++r) {
        const int64_t i = i0 + r;
        T* s = Sb + r * kBK;
        T* dp = Db + r * kBK;
        finish_scores(a, bh, i, j0, nk, kBK, s, T(1), lg);
        const T l2 = lse2(LSE[bh * a.L + i]), di = DL[bh * a.L + i];
        if (a.dropout_p > 0) {
          dropout_row(a, bh, i, j0, nk, z);
          for (int64_t jj = nk; jj < kBK; ++jj) z[jj] = T(0);
#pragma omp simd
          for (int64_t jj = 0; jj < kBK; ++jj) {
            const T p = pexp(s[jj], l2);
            s[jj] = p * z[jj];                   // dropped P (for dV)
            dp[jj] = p * (dp[jj] * z[jj] - di);  // dS
          }
        } else {
#pragma omp simd
          for (int64_t jj = 0; jj < kBK; ++jj) {
            const T p = pexp(s[jj], l2);
            s[jj] = p;
            dp[jj] = p * (dp[jj] - di);
          }
        }
      }
      if (!q_direct) {
        pack_rows(q, a.E, nrows, Qp, g.Ep);
        q = Qp;
      }
      if (!o_direct) {
        pack_rows(go, a.Ev, nrows, dOp, g.Evp);
        go = dOp;
      }
      block_gemm<V>(Sb, 1, kBK, go, g.Evp, dVa, g.Evp, nk, g.Evp, nrows, true);
      block_gemm<V>(Db, 1, kBK, q, g.Ep, dKa, g.Ep, nk, g.Ep, nrows, true);
      if (fuse_dq)  // this task owns the query heads of its key/value head: dQ += dS K, in key-block order
        block_gemm<V>(Db, kBK, 1, static_cast<const T*>(a.k) + (kvh * a.S + j0) * a.E, a.E,
                      static_cast<T*>(a.grad_q) + (bh * a.L + i0) * a.E, a.E, nrows, a.E, nk, true);
    }
  }
  const T scale = static_cast<T>(a.scale);
  T* dk = static_cast<T*>(a.grad_k) + (kvh * a.S + j0) * a.E;
  T* dv = static_cast<T*>(a.grad_v) + (kvh * a.S + j0) * a.Ev;
  for (int64_t r = 0; r < nk; ++r) {
    for (int64_t c = 0; c < a.E; ++c) dk[r * a.E + c] = dKa[r * g.Ep + c] * scale;
    for (int64_t c = 0; c < a.Ev; ++c) dv[r * a.Ev + c] = dVa[r * g.Evp + c];
  }
}

// Pass 3: dQ of one (flat head, query block), scores transposed as in the forward.
template <class V>
void backward_q(const AttnArgs& a, const Geo<V>& g, int64_t task) {
  using T = typename V::T;
  const bool k_direct = g.Ep == a.E;
  const T sc = static_cast<T>(a.scale * kLog2e);
  const int64_t bh = task / g.nqb, i0 = (task % g.nqb) * kBQ, nrows = min64(kBQ, a.L - i0);
  const int64_t kvh = (bh / a.Hq) * a.Hk + (bh % a.Hq) / g.G;
  const T* k = static_cast<const T*>(a.k) + kvh * a.S * a.E;
  const T* v = static_cast<const T*>(a.v) + kvh * a.S * a.Ev;
  Carver<T> w{thread_work<T>(a)};
  T* Qt = w.take(a.E * kBQ);
  T* dOt = w.take(a.Ev * kBQ);
  T* St = w.take(kBK * kBQ);
  T* Dt = w.take(kBK * kBQ);
  T* dQa = w.take(kBQ * g.Ep);
  T* Kp = k_direct ? nullptr : w.take(kBK * g.Ep);
  T* l2 = w.take(kBQ);
  T* dl = w.take(kBQ);
  T* z = w.take(kBK);
  pack_t(static_cast<const T*>(a.q) + (bh * a.L + i0) * a.E, a.E, nrows, kBQ, Qt, sc);
  pack_t(static_cast<const T*>(a.grad_out) + (bh * a.L + i0) * a.Ev, a.Ev, nrows, kBQ, dOt, T(1));
  for (int64_t x = 0; x < nrows * g.Ep; ++x) dQa[x] = T(0);
  for (int64_t r = 0; r < kBQ; ++r) {
    l2[r] = r < nrows ? lse2(static_cast<const T*>(a.lse_in)[bh * a.L + i0 + r]) : T(__builtin_huge_val());
    dl[r] = r < nrows ? static_cast<const T*>(a.delta)[bh * a.L + i0 + r] : T(0);
  }
  const int64_t kend = a.causal ? min64(a.S, i0 + nrows) : a.S;
  for (int64_t j0 = 0; j0 < kend; j0 += kBK) {
    const int64_t nk = min64(kBK, kend - j0);
    block_gemm<V>(k + j0 * a.E, a.E, 1, Qt, kBQ, St, kBQ, nk, kBQ, a.E, false);
    block_gemm<V>(v + j0 * a.Ev, a.Ev, 1, dOt, kBQ, Dt, kBQ, nk, kBQ, a.Ev, false);
    bias_t(a, bh, i0, nrows, j0, nk, St);
    if (a.dropout_p > 0)
      for (int64_t r = 0; r < nrows; ++r) {  // dP = (dO V^T) * z
        dropout_row(a, bh, i0 + r, j0, nk, z);
        for (int64_t jj = 0; jj < nk; ++jj) Dt[jj * kBQ + r] *= z[jj];
      }
    for (int64_t jj = 0; jj < nk; ++jj) {
      T* s = St + jj * kBQ;
      const T* dp = Dt + jj * kBQ;
#pragma omp simd
      for (int64_t r = 0; r < kBQ; ++r) s[r] = pexp(s[r], l2[r]) * (dp[r] - dl[r]);  // dS^T
    }
    const T* kb = k + j0 * a.E;
    if (!k_direct) {
      pack_rows(kb, a.E, nk, Kp, g.Ep);
      kb = Kp;
    }
    block_gemm<V>(St, 1, kBQ, kb, g.Ep, dQa, g.Ep, nrows, g.Ep, nk, true);
  }
  const T scale = static_cast<T>(a.scale);
  T* dq = static_cast<T*>(a.grad_q) + (bh * a.L + i0) * a.E;
  for (int64_t r = 0; r < nrows; ++r)
    for (int64_t c = 0; c < a.E; ++c) dq[r * a.E + c] = dQa[r * g.Ep + c] * scale;
}

// Two schemes, chosen from the shapes alone (never the thread count, so the bits do not change
// with it).  With many key/value heads (B * Hk >= 8) and E a multiple of the vector chunk, a task
// owns a whole key/value head, walks its key blocks in order and accumulates dQ of its query heads
// in place (dQ += dS K): five products per tile, as FA-2.  Otherwise (few heads: a task per head
// would leave threads idle) tasks own key blocks (dK, dV) and then query blocks (dQ), which
// recomputes S and dP: seven products per tile.
template <class V>
void flash_backward(const AttnArgs& a) {
  using T = typename V::T;
  const Geo<V> g(a);
  compute_delta<T>(a);
  if (a.B * a.Hk >= 8 && g.Ep == a.E) {
    parallel_for_each(a.B * a.Hk, a.nthreads, [&](int64_t kvh) {
      for (int64_t kb = 0; kb < g.nkb; ++kb) backward_kv<V>(a, g, kvh * g.nkb + kb, true);
      const T scale = static_cast<T>(a.scale);
      const int64_t b = kvh / a.Hk, hk = kvh % a.Hk;
      T* dq = static_cast<T*>(a.grad_q) + (b * a.Hq + hk * g.G) * a.L * a.E;  // the group's heads are adjacent
      for (int64_t x = 0, n = g.G * a.L * a.E; x < n; ++x) dq[x] *= scale;
    });
    return;
  }
  parallel_for_each(a.B * a.Hk * g.nkb, a.nthreads, [&](int64_t t) { backward_kv<V>(a, g, t, false); });
  parallel_for_each(a.B * a.Hq * g.nqb, a.nthreads, [&](int64_t t) { backward_q<V>(a, g, t); });
}

template <class V>
int64_t workspace_elems(const AttnArgs& a, bool backward) {
  const Geo<V> g(a);
  auto r = [](int64_t n) { return round_up(n, 16); };
  if (a.algo == kAttnReference) return 2 * r(a.S) + 16;
  const int64_t small = 4 * r(kBQ) + r(kBK);
  if (!backward) return r(a.E * kBQ) + r(kBK * kBQ) + r(kBQ * g.Evp) + r(kBK * g.Evp) + small + 16;
  const int64_t kv = r(a.E * kBK) + r(a.Ev * kBK) + 2 * r(kBQ * kBK) + r(kBK * g.Ep) + r(kBK * g.Evp) +
                     r(kBQ * g.Ep) + r(kBQ * g.Evp);
  const int64_t q = r(a.E * kBQ) + r(a.Ev * kBQ) + 2 * r(kBK * kBQ) + r(kBQ * g.Ep) + r(kBK * g.Ep);
  return (kv > q ? kv : q) + small + 16;
}

int64_t attention_workspace(const AttnArgs& a, bool backward) {
  if (a.dtype == DType::Float32) return workspace_elems<VecF>(a, backward) * 4;
  return workspace_elems<VecD>(a, backward) * 8;
}

void attention_forward_kernel(const AttnArgs& a) {
  const bool f32 = a.dtype == DType::Float32;
  if (a.algo == kAttnReference)
    f32 ? reference_forward_f32(a) : reference_forward_f64(a);
  else
    f32 ? flash_forward<VecF>(a) : flash_forward<VecD>(a);
}

void attention_backward_kernel(const AttnArgs& a) {
  const bool f32 = a.dtype == DType::Float32;
  if (a.algo == kAttnReference)
    f32 ? reference_backward_f32(a) : reference_backward_f64(a);
  else
    f32 ? flash_backward<VecF>(a) : flash_backward<VecD>(a);
}

}  // namespace
}  // namespace attn

using attn::attention_backward_kernel;
using attn::attention_forward_kernel;
using attn::attention_workspace;
DL_REGISTER_CPU_KERNEL(sdpa_workspace, AttnWorkFn, attention_workspace);
DL_REGISTER_CPU_KERNEL(sdpa_forward, AttnFn, attention_forward_kernel);
DL_REGISTER_CPU_KERNEL(sdpa_backward, AttnFn, attention_backward_kernel);
}  // namespace dl::DL_ISA_NS

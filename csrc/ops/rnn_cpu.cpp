// Fused gate passes of the recurrent layers (compiled once per ISA): one pass per time step over
// the B rows of the step, vectorised along the hidden units, rows in parallel.  Everything is
// elementwise per (row, unit), so results do not depend on the thread count.  float32 uses
// vec_math.h's branch-free tanh/sigmoid (they vectorise; std::tanh would not); float64 uses libm.
#include <cmath>
#include <cstring>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/gemm_tile.h"
#include "ops/rnn.h"
#include "ops/vec_math.h"

namespace dl::DL_ISA_NS {
namespace {

inline float sigm(float x) { return vm::sigmoid_f(x); }
inline float tanh_(float x) { return vm::tanh_f(x); }
inline double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double tanh_(double x) { return std::tanh(x); }

template <class T>
void zero_row(T* p, int64_t n) { std::memset(p, 0, static_cast<size_t>(n) * sizeof(T)); }
template <class T>
void copy_row(T* d, const T* s, int64_t n) { std::memcpy(d, s, static_cast<size_t>(n) * sizeof(T)); }

template <class T>
void gates_forward(const RnnGateFwdArgs& a) {
  const int64_t H = a.H, hs = a.hs, G = rnn_gates(a.mode), GH = G * H;
  const int64_t hw = a.proj ? H : hs;  // width of an h_out row
  parallel_for(a.B, GH * 8, [&](int64_t b) {
    const T* __restrict gi = static_cast<const T*>(a.gi) + b * GH;
    const T* __restrict hp = static_cast<const T*>(a.h_prev) + b * hs;
    T* __restrict ho = static_cast<T*>(a.h_out) + b * hw;
    const bool on = a.active == nullptr || a.active[b];
    if (a.mode == kRnnLstm) {
      const T* __restrict cp = static_cast<const T*>(a.c_prev) + b * H;
      T* __restrict co = static_cast<T*>(a.c_out) + b * H;
      T* __restrict ac = static_cast<T*>(a.act) + b * GH;
      if (!on) {
        zero_row(ac, GH), copy_row(co, cp, H);
        if (a.proj) zero_row(ho, H); else copy_row(ho, hp, hs);
        return;
      }
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const T i = sigm(gi[j]), f = sigm(gi[H + j]), g = tanh_(gi[2 * H + j]), o = sigm(gi[3 * H + j]);
        const T c = f * cp[j] + i * g;
        co[j] = c;
        ho[j] = o * tanh_(c);
        ac[j] = i, ac[H + j] = f, ac[2 * H + j] = g, ac[3 * H + j] = o;
      }
    } else if (a.mode == kRnnGru) {
      const T* __restrict gh = static_cast<const T*>(a.gh) + b * GH;
      T* __restrict ac = static_cast<T*>(a.act) + b * GH;
      T* __restrict gn = static_cast<T*>(a.ghn) + b * H;
      if (!on) {
        zero_row(ac, GH), zero_row(gn, H), copy_row(ho, hp, hs);
        return;
      }
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const T r = sigm(gi[j] + gh[j]), z = sigm(gi[H + j] + gh[H + j]);
        const T n = tanh_(gi[2 * H + j] + r * gh[2 * H + j]);
        ho[j] = n + z * (hp[j] - n);  // torch's form of (1 - z) n + z h
        ac[j] = r, ac[H + j] = z, ac[2 * H + j] = n;
        gn[j] = gh[2 * H + j];
      }
    } else {
      if (!on) {
        copy_row(ho, hp, hs);
        return;
      }
      if (a.mode == kRnnTanh) {
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) ho[j] = tanh_(gi[j]);
      } else {
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) ho[j] = gi[j] > T(0) ? gi[j] : T(0);
      }
    }
  });
}

template <class T>
void gates_backward(const RnnGateBwdArgs& a) {
  const int64_t H = a.H, hs = a.hs, G = rnn_gates(a.mode), GH = G * H;
  parallel_for(a.B, GH * 8, [&](int64_t b) {
    const T* __restrict ds = static_cast<const T*>(a.dstate) + b * hs;
    T* __restrict dgi = static_cast<T*>(a.dgi) + b * GH;
    T* __restrict dhp = static_cast<T*>(a.dh_prev) + b * hs;
    const bool on = a.active == nullptr || a.active[b];
    if (!on) {  // the state passed through unchanged: so does its gradient
      zero_row(dgi, GH), copy_row(dhp, ds, hs);
      if (a.mode == kRnnGru) zero_row(static_cast<T*>(a.dgh) + b * GH, GH);
      if (a.mode == kRnnLstm) copy_row(static_cast<T*>(a.dc_prev) + b * H, static_cast<const T*>(a.dc) + b * H, H);
      return;
    }
    if (a.mode == kRnnLstm) {
      const T* __restrict dh = static_cast<const T*>(a.dh) + b * H;
      const T* __restrict dc = static_cast<const T*>(a.dc) + b * H;
      const T* __restrict ac = static_cast<const T*>(a.act) + b * GH;
      const T* __restrict c = static_cast<const T*>(a.c) + b * H;
      const T* __restrict cp = static_cast<const T*>(a.c_prev) + b * H;
      T* __restrict dcp = static_cast<T*>(a.dc_prev) + b * H;
      zero_row(dhp, hs);
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const T i = ac[j], f = ac[H + j], g = ac[2 * H + j], o = ac[3 * H + j];
        const T tc = tanh_(c[j]);
        const T dct = dc[j] + dh[j] * o * (T(1) - tc * tc);
        dgi[j] = dct * g * i * (T(1) - i);
        dgi[H + j] = dct * cp[j] * f * (T(1) - f);
        dgi[2 * H + j] = dct * i * (T(1) - g * g);
        dgi[3 * H + j] = dh[j] * tc * o * (T(1) - o);
        dcp[j] = dct * f;
      }
    } else if (a.mode == kRnnGru) {
      const T* __restrict ac = static_cast<const T*>(a.act) + b * GH;
      const T* __restrict hp = static_cast<const T*>(a.h_prev) + b * H;
      const T* __restrict gn = static_cast<const T*>(a.ghn) + b * H;
      T* __restrict dgh = static_cast<T*>(a.dgh) + b * GH;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const T r = ac[j], z = ac[H + j], n = ac[2 * H + j], d = ds[j];
        const T dnp = d * (T(1) - z) * (T(1) - n * n);
        const T drp = dnp * gn[j] * r * (T(1) - r);
        const T dzp = d * (hp[j] - n) * z * (T(1) - z);
        dgi[j] = drp, dgi[H + j] = dzp, dgi[2 * H + j] = dnp;
        dgh[j] = drp, dgh[H + j] = dzp, dgh[2 * H + j] = dnp * r;
        dhp[j] = d * z;
      }
    } else {
      const T* __restrict h = static_cast<const T*>(a.h) + b * H;
      zero_row(dhp, hs);
      if (a.mode == kRnnTanh) {
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) dgi[j] = ds[j] * (T(1) - h[j] * h[j]);
      } else {
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) dgi[j] = h[j] > T(0) ? ds[j] : T(0);
      }
    }
  });
}

// The recurrent GEMM on prepacked weight panels: W^T's K slices (the GEMM's k_step) x NR-column
// panels, packed once; a step packs its A (M x K, small) once per slice and each task owns a
// block of column panels, every C element one fixed FMA chain whatever the thread count.
template <class V>
struct RecurrentGemm : GemmTiles<V> {
  using T = typename V::T;
  using Tiles = GemmTiles<V>;
  using Bk = gemm_detail::Blocking<V>;
  static constexpr int MR = Bk::MR, NR = Bk::NR;
  static constexpr int64_t kPanelsPerTask = 4;

  static int64_t run(const RnnMatArgs& r) {
    using namespace gemm_detail;
    const int64_t ks = Tiles::k_step(r.K), npan = ceil_div(r.N, NR), Mpad = ceil_div(r.M, MR) * MR;
    if (r.phase == kRnnMatBytes) return static_cast<int64_t>(npan * NR * r.K * int64_t{sizeof(T)});
    T* packed = static_cast<T*>(r.packed);
    if (r.phase == kRnnMatPack) {
      Prob<T> pb{};
      pb.b = static_cast<const T*>(r.w), pb.b_rs = r.w_ks, pb.b_cs = r.w_ns;  // op(B) = W^T
      // slice pc starts at packed + NRpad * pc; its panel q at + q * kc * NR
      parallel_for_each(npan, num_threads(), [&](int64_t q) {
        for (int64_t pc = 0; pc < r.K; pc += ks) {
          const int64_t kc = min64(ks, r.K - pc);
          pack_b_panel<T, NR>(pb, pc, kc, q * NR, min64(NR, r.N - q * NR), packed + npan * NR * pc + q * kc * NR);
        }
      });
      return 0;
    }
    Prob<T> p{};
    p.c = static_cast<T*>(r.c), p.M = r.M, p.N = r.N, p.K = r.K, p.c_rs = r.c_rs, p.c_cs = 1;
    p.alpha = T(1), p.beta = r.accumulate ? T(1) : T(0);
    p.bias = static_cast<const T*>(r.bias), p.bias_stride = 1, p.bias_per_row = false, p.act = 0;
    Prob<T> pa{};
    pa.a = static_cast<const T*>(r.a), pa.a_rs = r.a_rs, pa.a_cs = 1, pa.M = r.M, pa.K = r.K;
    const int64_t ntasks = ceil_div(npan, kPanelsPerTask);
    const double work = static_cast<double>(r.M) * static_cast<double>(r.N) * static_cast<double>(r.K);
    const size_t asz = static_cast<size_t>(Mpad * ks);
    bool failed = false;
    parallel_for_each(ntasks, work >= 2.0e5 ? num_threads() : 1, [&](int64_t t) {
      T* apack = static_cast<T*>(tls_scratch.get(asz * sizeof(T) + 64));
      if (!apack) {
        __atomic_store_n(&failed, true, __ATOMIC_RELAXED);
        return;
      }
      apack = align64<T>(reinterpret_cast<char*>(apack));
      const int64_t q0 = t * kPanelsPerTask, q1 = min64(npan, q0 + kPanelsPerTask);
      for (int64_t pc = 0; pc < r.K; pc += ks) {
        const int64_t kc = min64(ks, r.K - pc);
        pack_a(pa, 0, r.M, pc, kc, apack);  // (repacked per task: A is a few hundred KiB at most)
        for (int64_t q = q0; q < q1; ++q) {
          const T* bp = packed + npan * NR * pc + q * kc * NR;
          const int64_t nq = min64(NR, r.N - q * NR);
          for (int64_t ir = 0; ir < r.M; ir += MR)
            Tiles::tile(p, kc, pc == 0, pc + kc == r.K, apack + (ir / MR) * kc * MR, bp, ir, q * NR,
                        min64(MR, r.M - ir), nq);
        }
      }
    });
    return failed ? -1 : 0;
  }
};

int64_t rnn_recurrent_gemm_cpu(const RnnMatArgs& a) {
  if (a.dtype == DType::Float32) return RecurrentGemm<gemm_detail::VecF>::run(a);
  return RecurrentGemm<gemm_detail::VecD>::run(a);
}

void rnn_gates_forward_cpu(const RnnGateFwdArgs& a) {
  if (a.dtype == DType::Float32) gates_forward<float>(a);
  else gates_forward<double>(a);
}

void rnn_gates_backward_cpu(const RnnGateBwdArgs& a) {
  if (a.dtype == DType::Float32) gates_backward<float>(a);
  else gates_backward<double>(a);
}

}  // namespace

DL_REGISTER_CPU_KERNEL(rnn_gates_forward, RnnGateFwdFn, rnn_gates_forward_cpu);
DL_REGISTER_CPU_KERNEL(rnn_gates_backward, RnnGateBwdFn, rnn_gates_backward_cpu);
DL_REGISTER_CPU_KERNEL(rnn_recurrent_gemm, RnnMatFn, rnn_recurrent_gemm_cpu);

}  // namespace dl::DL_ISA_NS

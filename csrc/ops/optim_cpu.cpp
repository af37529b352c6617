// Per-ISA kernels of the optim family.  Each chunk of a tensor runs one branch-free loop: the
// options that change the formula (weight decay, momentum, amsgrad, centered, the side lerp
// starts from) are template parameters chosen once per chunk, so `#pragma omp simd` vectorises
// every combination.  Each line of a loop is one torch operation, rounded to T; the comments name
// the torch call it stands for.  No FMA (-ffp-contract=off), so every ISA gives the same bits.
#include <type_traits>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/optim.h"
#include "ops/vec_math.h"

namespace dl::DL_ISA_NS {
namespace {

// Builtins, not std::sqrt: the ISA rule forbids instantiating shared inline library code.
DL_VINLINE float root(float x) { return __builtin_sqrtf(x); }
DL_VINLINE double root(double x) { return __builtin_sqrt(x); }

// torch.maximum: NaN in either operand gives NaN.
template <class T>
DL_VINLINE T nan_max(T a, T b) {
  return (a >= b || a != a) ? a : b;
}

// Calls f(std::integral_constant<bool, b>{}): turns a run-time option into a template argument.
template <class F>
DL_VINLINE void with_flag(bool b, F&& f) {
  if (b) f(std::true_type{});
  else f(std::false_type{});
}

// torch.lerp(start, end, w) uses start + w*(end - start) when |w| < 0.5, else
// end - (end - start)*(1 - w).  Both are base + c*(end - start): c = w, or c = w - 1, which is
// exactly -(1 - w).  kFromEnd picks the second form.
template <class T>
struct LerpWeight {
  T c;
  bool from_end;
};
template <class T>
LerpWeight<T> lerp_weight(double w64) {
  const T w = static_cast<T>(w64);
  const bool small = w < T(0.5) && w > T(-0.5);
  return {small ? w : w - T(1), !small};
}
template <bool kFromEnd, class T>
DL_VINLINE T lerp(T start, T end, T c) {
  return (kFromEnd ? end : start) + c * (end - start);
}

template <class T>
T* elem(void* p, int64_t off) {
  return p ? static_cast<T*>(p) + off : nullptr;
}
template <class T>
const T* elem(const void* p, int64_t off) {
  return static_cast<const T*>(p) + off;
}

// Runs body(T{}, slot, begin, count) over every chunk of the group, in parallel; T (float or
// double) is the slot's element type.
template <class Body>
void for_chunks(const OptimWork& w, Body&& body) {
  parallel_for(w.n_chunks, w.n_elements / w.n_chunks, [&](int64_t c) {
    const OptimChunk& ch = w.chunks[c];
    const OptimSlot& sl = w.slots[ch.slot];
    if (sl.dtype == DType::Float32) body(0.0f, sl, ch.begin, ch.end - ch.begin);
    else body(0.0, sl, ch.begin, ch.end - ch.begin);
  });
}

// ---- SGD -------------------------------------------------------------------------------------
template <class T>
struct SgdScalars {
  T sign, wd, momentum, keep_grad, neg_lr;
  explicit SgdScalars(const SgdOptions& o)
      : sign(o.maximize ? T(-1) : T(1)), wd(static_cast<T>(o.weight_decay)),
        momentum(static_cast<T>(o.momentum)), keep_grad(static_cast<T>(1.0 - o.dampening)),
        neg_lr(static_cast<T>(-o.lr)) {}
};

enum SgdMomentum { kNoMomentum, kFreshBuffer, kUpdateBuffer };

template <class T, bool kDecay, int kMomentum, bool kNesterov>
void sgd_loop(const SgdScalars<T>& s, int64_t n, T* __restrict p, const T* __restrict g, T* __restrict buf) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i] * s.sign;                                               // maximize: -grad
    if (kDecay) d = d + s.wd * p[i];                                   // grad.add(param, alpha=wd)
    if (kMomentum == kFreshBuffer) buf[i] = d;                         // buf = grad.clone()
    if (kMomentum == kUpdateBuffer) buf[i] = buf[i] * s.momentum + s.keep_grad * d;  // mul_, add_
    if (kMomentum != kNoMomentum) d = kNesterov ? d + s.momentum * buf[i] : buf[i];
    p[i] = p[i] + s.neg_lr * d;                                        // param.add_(grad, alpha=-lr)
  }
}

template <class T>
void sgd_chunk(const SgdOptions& o, const OptimSlot& sl, int64_t b, int64_t n) {
  const SgdScalars<T> s(o);
  T* p = elem<T>(sl.param, b);
  const T* g = elem<T>(sl.grad, b);
  T* buf = elem<T>(sl.state[0], b);
  const int mode = o.momentum == 0.0 ? kNoMomentum : sl.fresh ? kFreshBuffer : kUpdateBuffer;
  with_flag(o.weight_decay != 0.0, [&](auto decay) {
    with_flag(o.nesterov, [&](auto nesterov) {
      constexpr bool kD = decltype(decay)::value, kN = decltype(nesterov)::value;
      if (mode == kNoMomentum) sgd_loop<T, kD, kNoMomentum, false>(s, n, p, g, buf);
      else if (mode == kFreshBuffer) sgd_loop<T, kD, kFreshBuffer, kN>(s, n, p, g, buf);
      else sgd_loop<T, kD, kUpdateBuffer, kN>(s, n, p, g, buf);
    });
  });
}

void sgd_kernel(const SgdArgs& a) {
  for_chunks(a.work, [&](auto t, const OptimSlot& sl, int64_t b, int64_t n) {
    sgd_chunk<decltype(t)>(a.opt, sl, b, n);
  });
}

// ---- Adam / AdamW ------------------------------------------------------------------------------
template <class T>
struct AdamScalars {
  T sign, decay, wd, beta2, one_minus_beta2, eps;
  LerpWeight<T> w1;
  explicit AdamScalars(const AdamOptions& o)
      : sign(o.maximize ? T(-1) : T(1)),
        // AdamW's param.mul_(1 - lr*wd); 1 leaves the parameter exactly as it is.
        decay(static_cast<T>(o.decoupled_weight_decay ? 1.0 - o.lr * o.weight_decay : 1.0)),
        wd(static_cast<T>(o.weight_decay)), beta2(static_cast<T>(o.beta2)),
        one_minus_beta2(static_cast<T>(1.0 - o.beta2)), eps(static_cast<T>(o.eps)),
        w1(lerp_weight<T>(1.0 - o.beta1)) {}
};

template <class T, bool kL2, bool kAmsgrad, bool kFromEnd>
void adam_loop(const AdamScalars<T>& s, T neg_step_size, T bias2_sqrt, int64_t n, T* __restrict p,
               const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T pi = p[i] * s.decay;                                       // AdamW: param.mul_(1 - lr*wd)
    T d = g[i] * s.sign;                                               // maximize: -grad
    if (kL2) d = d + s.wd * pi;                                        // grad.add(param, alpha=wd)
    const T mi = lerp<kFromEnd>(m[i], d, s.w1.c);                      // exp_avg.lerp_(grad, 1-beta1)
    const T vi = v[i] * s.beta2 + (s.one_minus_beta2 * d) * d;         // mul_(beta2).addcmul_(g, g, 1-beta2)
    m[i] = mi;
    v[i] = vi;
    T second = vi;
    if (kAmsgrad) {
      second = nan_max(vmax[i], vi);                                   // torch.maximum(max_sq, sq, out=max_sq)
      vmax[i] = second;
    }
    const T denom = root(second) / bias2_sqrt + s.eps;                 // (sq.sqrt() / bc2_sqrt).add_(eps)
    p[i] = pi + (neg_step_size * mi) / denom;                          // addcdiv_(m, denom, value=-step_size)
  }
}

template <class T>
void adam_chunk(const AdamOptions& o, const OptimSlot& sl, int64_t b, int64_t n) {
  const AdamScalars<T> s(o);
  const T neg_step = static_cast<T>(-sl.step_size), b2 = static_cast<T>(sl.bias2_sqrt);
  T* p = elem<T>(sl.param, b);
  const T* g = elem<T>(sl.grad, b);
  T *m = elem<T>(sl.state[0], b), *v = elem<T>(sl.state[1], b), *vmax = elem<T>(sl.state[2], b);
  const bool l2 = o.weight_decay != 0.0 && !o.decoupled_weight_decay;
  with_flag(l2, [&](auto l2c) {
    with_flag(o.amsgrad, [&](auto ams) {
      with_flag(s.w1.from_end, [&](auto from_end) {
        adam_loop<T, decltype(l2c)::value, decltype(ams)::value, decltype(from_end)::value>(
            s, neg_step, b2, n, p, g, m, v, vmax);
      });
    });
  });
}

void adam_kernel(const AdamArgs& a) {
  for_chunks(a.work, [&](auto t, const OptimSlot& sl, int64_t b, int64_t n) {
    adam_chunk<decltype(t)>(a.opt, sl, b, n);
  });
}

// ---- RMSprop -----------------------------------------------------------------------------------
template <class T>
struct RmspropScalars {
  T sign, wd, alpha, one_minus_alpha, eps, momentum, neg_lr;
  LerpWeight<T> w;
  explicit RmspropScalars(const RmspropOptions& o)
      : sign(o.maximize ? T(-1) : T(1)), wd(static_cast<T>(o.weight_decay)), alpha(static_cast<T>(o.alpha)),
        one_minus_alpha(static_cast<T>(1.0 - o.alpha)), eps(static_cast<T>(o.eps)),
        momentum(static_cast<T>(o.momentum)), neg_lr(static_cast<T>(-o.lr)), w(lerp_weight<T>(1.0 - o.alpha)) {}
};

template <class T, bool kDecay, bool kCentered, bool kMomentum, bool kFromEnd>
void rmsprop_loop(const RmspropScalars<T>& s, int64_t n, T* __restrict p, const T* __restrict g,
                  T* __restrict sq, T* __restrict buf, T* __restrict gavg) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i] * s.sign;                                               // maximize: -grad
    if (kDecay) d = d + s.wd * p[i];                                   // grad.add(param, alpha=wd)
    const T si = sq[i] * s.alpha + (s.one_minus_alpha * d) * d;        // mul_(alpha).addcmul_(g, g, 1-alpha)
    sq[i] = si;
    T avg;
    if (kCentered) {
      const T ga = lerp<kFromEnd>(gavg[i], d, s.w.c);                  // grad_avg.lerp_(grad, 1-alpha)
      gavg[i] = ga;
      avg = root(si - ga * ga);  // addcmul(ga, ga, value=-1).sqrt_(): (-1*ga)*ga is exactly -(ga*ga)
    } else {
      avg = root(si);
    }
    avg = avg + s.eps;                                                 // avg.add_(eps)
    if (kMomentum) {
      const T bi = buf[i] * s.momentum + d / avg;                      // mul_(momentum).addcdiv_(g, avg)
      buf[i] = bi;
      p[i] = p[i] + s.neg_lr * bi;                                     // param.add_(buf, alpha=-lr)
    } else {
      p[i] = p[i] + (s.neg_lr * d) / avg;                              // addcdiv_(g, avg, value=-lr)
    }
  }
}

template <class T>
void rmsprop_chunk(const RmspropOptions& o, const OptimSlot& sl, int64_t b, int64_t n) {
  const RmspropScalars<T> s(o);
  T* p = elem<T>(sl.param, b);
  const T* g = elem<T>(sl.grad, b);
  T *sq = elem<T>(sl.state[0], b), *buf = elem<T>(sl.state[1], b), *gavg = elem<T>(sl.state[2], b);
  with_flag(o.weight_decay != 0.0, [&](auto decay) {
    with_flag(o.centered, [&](auto centered) {
      with_flag(o.momentum > 0.0, [&](auto mom) {
        with_flag(s.w.from_end, [&](auto from_end) {
          rmsprop_loop<T, decltype(decay)::value, decltype(centered)::value, decltype(mom)::value,
                       decltype(from_end)::value>(s, n, p, g, sq, buf, gavg);
        });
      });
    });
  });
}

void rmsprop_kernel(const RmspropArgs& a) {
  for_chunks(a.work, [&](auto t, const OptimSlot& sl, int64_t b, int64_t n) {
    rmsprop_chunk<decltype(t)>(a.opt, sl, b, n);
  });
}

}  // namespace
DL_REGISTER_CPU_KERNEL(sgd_step, SgdFn, sgd_kernel);
DL_REGISTER_CPU_KERNEL(adam_step, AdamFn, adam_kernel);
DL_REGISTER_CPU_KERNEL(rmsprop_step, RmspropFn, rmsprop_kernel);
}  // namespace dl::DL_ISA_NS

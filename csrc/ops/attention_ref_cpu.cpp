// The reference algorithm of scaled_dot_product_attention (per ISA): one query row at a time,
// that row's S scores in scratch, plain loops, natural-base exp.  Forceable with
// force_algorithm("scaled_dot_product_attention", "reference"); the tests compare it with the
// flash tiles on every option.  O(S) scratch per thread, no L x S buffer.
#include "ops/attention_tile.h"

#include "core/parallel.h"

namespace dl::DL_ISA_NS {
namespace attn {
namespace {

template <class T>
T dot(const T* x, const T* y, int64_t n) {
  T acc = T(0);
  for (int64_t c = 0; c < n; ++c) acc += x[c] * y[c];
  return acc;
}

inline float exp_n(float x) { return ::expf(x); }
inline double exp_n(double x) { return ::exp(x); }
inline float log_n(float x) { return ::logf(x); }
inline double log_n(double x) { return ::log(x); }

// Probabilities of row i of head bh into s (S values); false for a row with every key masked.
// Writes the row's logsumexp when lse is not null.
template <class T>
bool row_probs(const AttnArgs& a, int64_t bh, int64_t i, const T* q, const T* k, T* s, T* lse) {
  const T ninf = -__builtin_huge_val();
  for (int64_t j = 0; j < a.S; ++j) s[j] = dot(q + i * a.E, k + j * a.E, a.E);
  finish_scores(a, bh, i, 0, a.S, a.S, s, static_cast<T>(a.scale), T(1));
  T mx = ninf;
  for (int64_t j = 0; j < a.S; ++j) mx = s[j] > mx ? s[j] : mx;
  if (mx == ninf) {
    if (lse) *lse = ninf;
    return false;
  }
  T sum = T(0);
  for (int64_t j = 0; j < a.S; ++j) {
    s[j] = s[j] == ninf ? T(0) : exp_n(s[j] - mx);
    sum += s[j];
  }
  for (int64_t j = 0; j < a.S; ++j) s[j] /= sum;
  if (lse) *lse = mx + log_n(sum);
  return true;
}

template <class T>
void forward(const AttnArgs& a) {
  const int64_t G = a.Hq / a.Hk;
  parallel_for_each(a.B * a.Hq * a.L, a.nthreads, [&](int64_t task) {
    const int64_t bh = task / a.L, i = task % a.L, kvh = (bh / a.Hq) * a.Hk + (bh % a.Hq) / G;
    const T* q = static_cast<const T*>(a.q) + bh * a.L * a.E;
    const T* k = static_cast<const T*>(a.k) + kvh * a.S * a.E;
    const T* v = static_cast<const T*>(a.v) + kvh * a.S * a.Ev;
    T* s = thread_work<T>(a);
    T* z = s + round_up(a.S, 16);
    T* o = static_cast<T*>(a.out) + (bh * a.L + i) * a.Ev;
    for (int64_t c = 0; c < a.Ev; ++c) o[c] = T(0);
    if (!row_probs(a, bh, i, q, k, s, static_cast<T*>(a.lse) + bh * a.L + i)) return;
    if (a.dropout_p > 0) {
      dropout_row(a, bh, i, 0, a.S, z);
      for (int64_t j = 0; j < a.S; ++j) s[j] *= z[j];
    }
    for (int64_t j = 0; j < a.S; ++j)
      for (int64_t c = 0; c < a.Ev; ++c) o[c] += s[j] * v[j * a.Ev + c];
  });
}

template <class T>
void backward(const AttnArgs& a) {
  const int64_t G = a.Hq / a.Hk;
  const T scale = static_cast<T>(a.scale);
  // One task per key/value head: it owns dK and dV of that head (no atomics).
  parallel_for_each(a.B * a.Hk, a.nthreads, [&](int64_t kvh) {
    const int64_t b = kvh / a.Hk, hk = kvh % a.Hk;
    const T* k = static_cast<const T*>(a.k) + kvh * a.S * a.E;
    const T* v = static_cast<const T*>(a.v) + kvh * a.S * a.Ev;
    T* dk = static_cast<T*>(a.grad_k) + kvh * a.S * a.E;
    T* dv = static_cast<T*>(a.grad_v) + kvh * a.S * a.Ev;
    for (int64_t x = 0; x < a.S * a.E; ++x) dk[x] = T(0);
    for (int64_t x = 0; x < a.S * a.Ev; ++x) dv[x] = T(0);
    T* s = thread_work<T>(a);
    T* z = s + round_up(a.S, 16);
    for (int64_t h = hk * G; h < (hk + 1) * G; ++h) {
      const int64_t bh = b * a.Hq + h;
      const T* q = static_cast<const T*>(a.q) + bh * a.L * a.E;
      const T* go = static_cast<const T*>(a.grad_out) + bh * a.L * a.Ev;
      const T* o = static_cast<const T*>(a.out_in) + bh * a.L * a.Ev;
      T* dq = static_cast<T*>(a.grad_q) + bh * a.L * a.E;
      for (int64_t i = 0; i < a.L; ++i) {
        T* dqi = dq + i * a.E;
        for (int64_t c = 0; c < a.E; ++c) dqi[c] = T(0);
        if (!row_probs<T>(a, bh, i, q, k, s, nullptr)) continue;
        if (a.dropout_p > 0)
          dropout_row(a, bh, i, 0, a.S, z);
        else
          for (int64_t j = 0; j < a.S; ++j) z[j] = T(1);
        const T* gi = go + i * a.Ev;
        const T di = dot(gi, o + i * a.Ev, a.Ev);
        for (int64_t j = 0; j < a.S; ++j) {
          if (s[j] == T(0)) continue;
          const T pd = s[j] * z[j];
          const T ds = s[j] * (dot(gi, v + j * a.Ev, a.Ev) * z[j] - di) * scale;
          for (int64_t c = 0; c < a.Ev; ++c) dv[j * a.Ev + c] += pd * gi[c];
          for (int64_t c = 0; c < a.E; ++c) {
            dqi[c] += ds * k[j * a.E + c];
            dk[j * a.E + c] += ds * q[i * a.E + c];
          }
        }
      }
    }
  });
}

}  // namespace

void reference_forward_f32(const AttnArgs& a) { forward<float>(a); }
void reference_forward_f64(const AttnArgs& a) { forward<double>(a); }
void reference_backward_f32(const AttnArgs& a) { backward<float>(a); }
void reference_backward_f64(const AttnArgs& a) { backward<double>(a); }

}  // namespace attn
}  // namespace dl::DL_ISA_NS

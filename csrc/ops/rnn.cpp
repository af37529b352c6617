// Entries of the recurrent layers: validation, the time loop and back-propagation through time.
// The GEMMs go through dlcore's GEMM kernel (ops/gemm.h, whose results do not depend on the
// thread count); the per-step gate passes are rnn_cpu.cpp's per-ISA kernels.
#include "ops/rnn.h"

#include <cstring>
#include <exception>
#include <utility>
#include <vector>

#include "core/kernel_log.h"
#include "core/parallel.h"
#include "dispatch/registry.h"
#include "ops/gemm.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace dl {
namespace {

// C (M, N; row stride c_rs) = op(A) op(B) + beta C (+ bias per column), through the GEMM kernel.
void mm(DType dt, int64_t M, int64_t N, int64_t K, const void* a, int64_t a_rs, int64_t a_cs, const void* b,
        int64_t b_rs, int64_t b_cs, void* c, int64_t c_rs, double beta, const void* bias = nullptr) {
  if (M == 0 || N == 0) return;
  GemmArgs g{};
  g.dtype = dt;
  g.batch = 1, g.M = M, g.N = N, g.K = K;
  g.a = a, g.b = b, g.c = c;
  g.a_rs = a_rs, g.a_cs = a_cs, g.b_rs = b_rs, g.b_cs = b_cs, g.c_rs = c_rs, g.c_cs = 1;
  g.alpha = 1.0, g.beta = beta;
  g.bias = bias, g.bias_stride = 1;
  g.act = kGemmActNone;
  DL_OP(GemmFn, "gemm").get(cpu_device())(g);
}

// The recurrent weight packed once per sequence into the GEMM's B panels (RnnMatArgs): every
// step's product then streams them; re-packing the whole weight each step took a fifth of an
// LSTM's forward at 512 x 2048.  r's shape and strides are set by the caller.
Tensor pack_recurrent(RnnMatArgs& r, DType dt, const Tensor& w, const char* op) {
  const auto fn = DL_OP(RnnMatFn, "rnn_recurrent_gemm").get(cpu_device());
  r.dtype = dt, r.w = w.raw_data(), r.phase = kRnnMatBytes;
  Tensor packed = Tensor::empty({fn(r)}, DType::UInt8, cpu_device(), op);
  r.packed = packed.raw_data(), r.phase = kRnnMatPack;
  fn(r);
  r.phase = kRnnMatMultiply;
  return packed;
}
void recurrent_gemm(const RnnMatArgs& r, const char* op) {
  if (r.M == 0 || r.N == 0) return;
  const int64_t rc = DL_OP(RnnMatFn, "rnn_recurrent_gemm").get(cpu_device())(r);
  DL_CHECK(rc == 0, Memory, op, "out of memory for the recurrent product's scratch space");
}

// Typed byte arithmetic on raw buffers (dtype known only at run time).
struct Buf {
  char* p;
  size_t item;
  void* at(int64_t elems) const { return p + static_cast<size_t>(elems) * item; }
};
Buf buf(const Tensor& t) { return Buf{static_cast<char*>(t.raw_data()), t.itemsize()}; }

struct Dims {
  int mode = 0;
  int64_t T = 0, B = 0, I = 0, H = 0, G = 1, hs = 0;
  bool proj = false;
};

// Workspace layout: [h_t | act | c_t | o*tanh(c_t) | gh_n] for every step, in time order.
struct WsLayout {
  int64_t hs_all = 0, act = 0, c_all = 0, hpre = 0, ghn = 0, total = 0;
};
WsLayout ws_layout(const Dims& d) {
  WsLayout w;
  const int64_t TB = d.T * d.B;
  int64_t o = 0;
  w.hs_all = o, o += TB * d.hs;
  w.act = o, o += (d.mode == kRnnLstm || d.mode == kRnnGru) ? TB * d.G * d.H : 0;
  w.c_all = o, o += d.mode == kRnnLstm ? TB * d.H : 0;
  w.hpre = o, o += d.proj ? TB * d.H : 0;
  w.ghn = o, o += d.mode == kRnnGru ? TB * d.H : 0;
  w.total = o;
  return w;
}

void check_tensor(const Tensor& t, const char* op, const char* what, DType dt, const Shape& shape) {
  check_cpu(t, op);
  DL_CHECK(t.dtype() == dt, Type, op, "expected ", what, " of dtype ", dtype_name(dt), ", got ", dtype_name(t.dtype()));
  DL_CHECK(t.shape() == shape, Value, op, "expected ", what, " of shape ", shape_str(shape), ", got ",
           shape_str(t.shape()));
}

Dims validate(int mode, const Tensor& x, const Tensor& h0, const Tensor& c0, const RnnLayerWeights& w,
              const Tensor& lengths, const char* op) {
  DL_CHECK(mode >= kRnnTanh && mode <= kRnnGru, Value, op, "unknown mode ", mode);
  check_cpu(x, op);
  DL_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64, Type, op,
           "expected input of dtype float32 or float64, got ", dtype_name(x.dtype()));
  DL_CHECK(x.ndim() == 3, Value, op, "expected input of shape (T, B, input_size), got ", shape_str(x.shape()));
  Dims d;
  d.mode = mode, d.G = rnn_gates(mode);
  d.T = x.size(0), d.B = x.size(1), d.I = x.size(2);
  DL_CHECK(d.T >= 1 && d.B >= 1 && d.I >= 1, Value, op, "expected a non-empty input, got shape ",
           shape_str(x.shape()));
  DL_CHECK(w.w_ih.defined() && w.w_ih.ndim() == 2 && w.w_ih.size(0) % d.G == 0 && w.w_ih.size(0) > 0, Value, op,
           "expected weight_ih of shape (", d.G, " * hidden_size, input_size), got ",
           w.w_ih.defined() ? shape_str(w.w_ih.shape()) : std::string("None"));
  d.H = w.w_ih.size(0) / d.G;
  DL_CHECK(w.w_ih.size(1) == d.I, Value, op, "input size ", d.I, " does not match weight_ih of shape ",
           shape_str(w.w_ih.shape()), " (expected input_size ", w.w_ih.size(1), ")");
  d.proj = w.w_hr.defined();
  DL_CHECK(!d.proj || mode == kRnnLstm, Value, op, "a projection (weight_hr) is only supported for LSTM");
  if (d.proj) {
    DL_CHECK(w.w_hr.ndim() == 2 && w.w_hr.size(1) == d.H && w.w_hr.size(0) >= 1 && w.w_hr.size(0) < d.H, Value, op,
             "expected weight_hr of shape (proj_size, ", d.H, ") with 0 < proj_size < hidden_size, got ",
             shape_str(w.w_hr.shape()));
    check_tensor(w.w_hr, op, "weight_hr", x.dtype(), w.w_hr.shape());
  }
  d.hs = d.proj ? w.w_hr.size(0) : d.H;
  const DType dt = x.dtype();
  check_tensor(w.w_ih, op, "weight_ih", dt, w.w_ih.shape());
  check_tensor(w.w_hh, op, "weight_hh", dt, Shape{d.G * d.H, d.hs});
  DL_CHECK(w.b_ih.defined() == w.b_hh.defined(), Value, op, "expected both biases or neither");
  if (w.b_ih.defined()) {
    check_tensor(w.b_ih, op, "bias_ih", dt, Shape{d.G * d.H});
    check_tensor(w.b_hh, op, "bias_hh", dt, Shape{d.G * d.H});
  }
  check_tensor(h0, op, "h0", dt, Shape{d.B, d.hs});
  if (mode == kRnnLstm) check_tensor(c0, op, "c0", dt, Shape{d.B, d.H});
  if (lengths.defined()) {
    check_cpu(lengths, op);
    DL_CHECK(lengths.dtype() == DType::Int64, Type, op, "expected lengths of dtype int64, got ",
             dtype_name(lengths.dtype()));
    DL_CHECK(lengths.shape() == Shape{d.B}, Value, op, "expected lengths of shape (", d.B, ",), got ",
             shape_str(lengths.shape()));
    const Tensor l = lengths.contiguous();
    for (int64_t b = 0; b < d.B; ++b) {
      const int64_t v = l.data<int64_t>()[b];
      DL_CHECK(v >= 1 && v <= d.T, Value, op, "lengths must lie in [1, T=", d.T, "], got ", v, " at batch ", b);
    }
  }
  return d;
}

// The one CPU algorithm (fused gate passes around GEMMs): logged, and a forced other one refused.
void check_forced(const char* op) {
  if (const char* f = forced_algorithm(op))
    DL_CHECK(std::strcmp(f, "fused_gates") == 0, Value, op, "algorithm '", f,
             "' does not apply: the CPU kernels have one algorithm, 'fused_gates'");
}
void choose_algorithm(const char* op) {
  check_forced(op);
  log_kernel(op, DeviceType::CPU, "fused_gates");
}

Tensor opt_contig(const Tensor& t) { return t.defined() ? t.contiguous() : t; }

RnnLayerWeights contig(const RnnLayerWeights& w) {
  return RnnLayerWeights{w.w_ih.contiguous(), w.w_hh.contiguous(), opt_contig(w.b_ih), opt_contig(w.b_hh),
                         opt_contig(w.w_hr)};
}

// Per-step activity of each row (all ones without lengths).
struct Mask {
  std::vector<int64_t> len;
  std::vector<uint8_t> on;
  Mask(const Tensor& lengths, int64_t B) : on(static_cast<size_t>(B), 1) {
    if (!lengths.defined()) return;
    const Tensor l = lengths.contiguous();
    len.assign(l.data<int64_t>(), l.data<int64_t>() + B);
  }
  const uint8_t* at(int64_t t) {
    if (len.empty()) return nullptr;
    for (size_t b = 0; b < on.size(); ++b) on[b] = t < len[b] ? 1 : 0;
    return on.data();
  }
};

}  // namespace

RnnLayerOut rnn_layer_forward(int mode, const Tensor& x_in, const Tensor& h0_in, const Tensor& c0_in,
                              const RnnLayerWeights& w_in, const Tensor& lengths, bool reverse, const char* op) {
  const Dims d = validate(mode, x_in, h0_in, c0_in, w_in, lengths, op);
  choose_algorithm(op);
  const Tensor x = x_in.contiguous(), h0 = h0_in.contiguous(), c0 = opt_contig(c0_in);
  const RnnLayerWeights w = contig(w_in);
  const DType dt = x.dtype();
  const int64_t T = d.T, B = d.B, H = d.H, hs = d.hs, GH = d.G * d.H;
  const WsLayout L = ws_layout(d);
  RnnLayerOut out;
  out.ws = Tensor::empty({L.total}, dt, cpu_device(), op);
  out.y = Tensor::empty({T, B, hs}, dt, cpu_device(), op);
  Tensor gi = Tensor::empty({T, B, GH}, dt, cpu_device(), op);
  Tensor gh = mode == kRnnGru ? Tensor::empty({B, GH}, dt, cpu_device(), op) : Tensor();
  const Buf W = buf(out.ws), Y = buf(out.y), GI = buf(gi), X = buf(x);
  const void* bih = w.b_ih.defined() ? w.b_ih.raw_data() : nullptr;
  const void* bhh = w.b_hh.defined() ? w.b_hh.raw_data() : nullptr;
  // The input projection of every step at once.
  mm(dt, T * B, GH, d.I, X.p, d.I, 1, w.w_ih.raw_data(), 1, d.I, GI.p, GH, 0.0, bih);
  // W_hh packed once into the GEMM's panels: re-packing the whole weight every step took a
  // fifth of an LSTM's forward at 512 x 2048.
  RnnMatArgs ra{};
  ra.M = B, ra.N = GH, ra.K = hs, ra.w_ns = hs, ra.w_ks = 1, ra.a_rs = hs, ra.bias = bhh;
  const Tensor whh_packed = pack_recurrent(ra, dt, w.w_hh, op);
  Mask mask(lengths, B);
  const auto gate_fwd = DL_OP(RnnGateFwdFn, "rnn_gates_forward").get(cpu_device());
  int64_t tp = -1;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = reverse ? T - 1 - s : s;
    const void* hp = tp < 0 ? h0.raw_data() : W.at(L.hs_all + tp * B * hs);
    const void* cp = mode != kRnnLstm ? nullptr : tp < 0 ? c0.raw_data() : W.at(L.c_all + tp * B * H);
    void* git = GI.at(t * B * GH);
    // GRU: gh = h W_hh^T + b_hh; otherwise accumulated into this step's input projection
    ra.a = hp, ra.c = mode == kRnnGru ? gh.raw_data() : git, ra.c_rs = GH, ra.accumulate = mode != kRnnGru;
    recurrent_gemm(ra, op);
    const uint8_t* on = mask.at(t);
    void* hst = W.at(L.hs_all + t * B * hs);
    RnnGateFwdArgs a{};
    a.dtype = dt, a.mode = mode, a.B = B, a.H = H, a.hs = hs, a.proj = d.proj;
    a.gi = git, a.gh = mode == kRnnGru ? gh.raw_data() : nullptr;
    a.h_prev = hp, a.c_prev = cp, a.active = on;
    a.act = W.at(L.act + t * B * GH), a.ghn = W.at(L.ghn + t * B * H), a.c_out = W.at(L.c_all + t * B * H);
    a.h_out = d.proj ? W.at(L.hpre + t * B * H) : hst;
    gate_fwd(a);
    if (d.proj) {
      mm(dt, B, hs, H, a.h_out, H, 1, w.w_hr.raw_data(), 1, H, hst, hs, 0.0);
      if (on)
        for (int64_t b = 0; b < B; ++b)
          if (!on[b]) std::memcpy(W.at(L.hs_all + (t * B + b) * hs), static_cast<const char*>(hp) + b * hs * W.item,
                                  static_cast<size_t>(hs) * W.item);
    }
    std::memcpy(Y.at(t * B * hs), hst, static_cast<size_t>(B * hs) * W.item);
    if (on)
      for (int64_t b = 0; b < B; ++b)
        if (!on[b]) std::memset(Y.at((t * B + b) * hs), 0, static_cast<size_t>(hs) * W.item);
    tp = t;
  }
  out.h_n = Tensor::empty({B, hs}, dt, cpu_device(), op);
  std::memcpy(out.h_n.raw_data(), W.at(L.hs_all + tp * B * hs), static_cast<size_t>(B * hs) * W.item);
  if (mode == kRnnLstm) {
    out.c_n = Tensor::empty({B, H}, dt, cpu_device(), op);
    std::memcpy(out.c_n.raw_data(), W.at(L.c_all + tp * B * H), static_cast<size_t>(B * H) * W.item);
  }
  return out;
}

RnnLayerGrads rnn_layer_backward(int mode, const Tensor& dy_in, const Tensor& dh_n, const Tensor& dc_n,
                                 const Tensor& x_in, const Tensor& h0_in, const Tensor& c0_in,
                                 const RnnLayerWeights& w_in, const Tensor& lengths, bool reverse, const Tensor& ws,
                                 const char* op) {
  const Dims d = validate(mode, x_in, h0_in, c0_in, w_in, lengths, op);
  const DType dt = x_in.dtype();
  const int64_t T = d.T, B = d.B, H = d.H, hs = d.hs, GH = d.G * d.H, TB = T * B;
  const WsLayout L = ws_layout(d);
  check_tensor(ws, op, "workspace", dt, Shape{L.total});
  if (dy_in.defined()) check_tensor(dy_in, op, "grad_output", dt, Shape{T, B, hs});
  if (dh_n.defined()) check_tensor(dh_n, op, "grad_h_n", dt, Shape{B, hs});
  if (dc_n.defined()) {
    DL_CHECK(mode == kRnnLstm, Value, op, "grad_c_n is only defined for LSTM");
    check_tensor(dc_n, op, "grad_c_n", dt, Shape{B, H});
  }
  choose_algorithm(op);
  const Tensor x = x_in.contiguous(), h0 = h0_in.contiguous(), c0 = opt_contig(c0_in), wsc = ws.contiguous();
  const Tensor dy = opt_contig(dy_in);
  const RnnLayerWeights w = contig(w_in);
  const Buf W = buf(wsc);
  const size_t item = W.item;

  RnnLayerGrads g;
  Tensor dgi = Tensor::empty({T, B, GH}, dt, cpu_device(), op);
  Tensor dgh = mode == kRnnGru ? Tensor::empty({T, B, GH}, dt, cpu_device(), op) : dgi;
  Tensor hprev = Tensor::empty({T, B, hs}, dt, cpu_device(), op);
  Tensor dsm = d.proj ? Tensor::empty({T, B, hs}, dt, cpu_device(), op) : Tensor();
  Tensor dhpre = d.proj ? Tensor::empty({B, H}, dt, cpu_device(), op) : Tensor();
  Tensor carry = dh_n.defined() ? dh_n.contiguous().clone() : Tensor::zeros({B, hs}, dt, cpu_device(), op);
  Tensor carry2 = Tensor::empty({B, hs}, dt, cpu_device(), op);
  Tensor dc, dc2;
  if (mode == kRnnLstm) {
    dc = dc_n.defined() ? dc_n.contiguous().clone() : Tensor::zeros({B, H}, dt, cpu_device(), op);
    dc2 = Tensor::empty({B, H}, dt, cpu_device(), op);
  }
  Mask mask(lengths, B);
  const auto gate_bwd = DL_OP(RnnGateBwdFn, "rnn_gates_backward").get(cpu_device());
  RnnMatArgs rb{};  // carry += dgh W_hh: W = W_hh^T, element (n, k) at w_hh[k * hs + n]
  rb.M = B, rb.N = hs, rb.K = GH, rb.w_ns = 1, rb.w_ks = hs, rb.a_rs = GH, rb.c_rs = hs, rb.accumulate = true;
  const Tensor whh_packed = pack_recurrent(rb, dt, w.w_hh, op);
  const Buf DGI = buf(dgi), DGH = buf(dgh), HP = buf(hprev), DY = dy.defined() ? buf(dy) : Buf{nullptr, item};
  for (int64_t s = T - 1; s >= 0; --s) {
    const int64_t t = reverse ? T - 1 - s : s;
    const int64_t tp = s == 0 ? -1 : (reverse ? t + 1 : t - 1);  // the step processed before t
    const uint8_t* on = mask.at(t);
    const void* hp = tp < 0 ? h0.raw_data() : W.at(L.hs_all + tp * B * hs);
    std::memcpy(HP.at(t * B * hs), hp, static_cast<size_t>(B * hs) * item);
    // dstate = carried gradient + this step's output gradient (padded rows have no output)
    if (dy.defined()) {
      if (dt == DType::Float32) {
        float* c = carry.data<float>();
        const float* g2 = static_cast<const float*>(DY.at(t * B * hs));
        for (int64_t b = 0; b < B; ++b)
          if (!on || on[b])
            for (int64_t j = 0; j < hs; ++j) c[b * hs + j] += g2[b * hs + j];
      } else {
        double* c = carry.data<double>();
        const double* g2 = static_cast<const double*>(DY.at(t * B * hs));
        for (int64_t b = 0; b < B; ++b)
          if (!on || on[b])
            for (int64_t j = 0; j < hs; ++j) c[b * hs + j] += g2[b * hs + j];
      }
    }
    if (d.proj) {
      // dW_hr needs the state gradient of active rows only (o*tanh(c) is 0 on inactive rows).
      mm(dt, B, H, hs, carry.raw_data(), hs, 1, w.w_hr.raw_data(), H, 1, dhpre.raw_data(), H, 0.0);
      std::memcpy(buf(dsm).at(t * B * hs), carry.raw_data(), static_cast<size_t>(B * hs) * item);
    }
    RnnGateBwdArgs a{};
    a.dtype = dt, a.mode = mode, a.B = B, a.H = H, a.hs = hs;
    a.dh = d.proj ? dhpre.raw_data() : carry.raw_data();
    a.dstate = carry.raw_data();
    a.dc = mode == kRnnLstm ? dc.raw_data() : nullptr;
    a.act = W.at(L.act + t * B * GH);
    a.h = W.at(L.hs_all + t * B * hs);
    a.c = W.at(L.c_all + t * B * H);
    a.c_prev = mode != kRnnLstm ? nullptr : tp < 0 ? c0.raw_data() : W.at(L.c_all + tp * B * H);
    a.h_prev = hp;
    a.ghn = W.at(L.ghn + t * B * H);
    a.active = on;
    a.dgi = DGI.at(t * B * GH), a.dgh = DGH.at(t * B * GH);
    a.dc_prev = mode == kRnnLstm ? dc2.raw_data() : nullptr;
    a.dh_prev = carry2.raw_data();
    gate_bwd(a);
    rb.a = a.dgh, rb.c = carry2.raw_data();
    recurrent_gemm(rb, op);
    std::swap(carry, carry2);
    if (mode == kRnnLstm) std::swap(dc, dc2);
  }
  g.dh0 = carry;
  g.dc0 = dc;
  const int64_t I = d.I;
  g.dx = Tensor::empty({T, B, I}, dt, cpu_device(), op);
  mm(dt, TB, I, GH, DGI.p, GH, 1, w.w_ih.raw_data(), I, 1, g.dx.raw_data(), I, 0.0);
  g.dw_ih = Tensor::empty({GH, I}, dt, cpu_device(), op);
  mm(dt, GH, I, TB, DGI.p, 1, GH, x.raw_data(), I, 1, g.dw_ih.raw_data(), I, 0.0);
  g.dw_hh = Tensor::empty({GH, hs}, dt, cpu_device(), op);
  mm(dt, GH, hs, TB, DGH.p, 1, GH, HP.p, hs, 1, g.dw_hh.raw_data(), hs, 0.0);
  if (w.b_ih.defined()) {
    // Column sums as a (1 x TB) (TB x GH) product: same fixed order for every thread count.
    Tensor ones = Tensor::empty({TB}, dt, cpu_device(), op);
    if (dt == DType::Float32) for (int64_t i = 0; i < TB; ++i) ones.data<float>()[i] = 1.0f;
    else for (int64_t i = 0; i < TB; ++i) ones.data<double>()[i] = 1.0;
    g.db_ih = Tensor::empty({GH}, dt, cpu_device(), op);
    g.db_hh = Tensor::empty({GH}, dt, cpu_device(), op);
    mm(dt, 1, GH, TB, ones.raw_data(), TB, 1, DGI.p, GH, 1, g.db_ih.raw_data(), GH, 0.0);
    mm(dt, 1, GH, TB, ones.raw_data(), TB, 1, DGH.p, GH, 1, g.db_hh.raw_data(), GH, 0.0);
  }
  if (d.proj) {
    // Rows of inactive steps: o*tanh(c) was stored as 0 there, so they add nothing.
    g.dw_hr = Tensor::empty({hs, H}, dt, cpu_device(), op);
    mm(dt, hs, H, TB, buf(dsm).p, 1, hs, W.at(L.hpre), H, 1, g.dw_hr.raw_data(), H, 0.0);
  }
  return g;
}

namespace {
// f(0) and f(1), concurrently on two threads when dlcore has 2 or 3 (see rnn.h); exceptions are
// carried out of the parallel region and rethrown, direction 0's first.
template <class F>
void both_directions(const F& f) {
  std::exception_ptr err[2];
#if defined(_OPENMP)
  if (num_threads() == 2 || num_threads() == 3) {
#pragma omp parallel num_threads(2)
    for (int d = omp_get_thread_num(); d < 2; d += omp_get_num_threads()) {
      try {
        f(d);
      } catch (...) {
        err[d] = std::current_exception();
      }
    }
    for (const auto& e : err)
      if (e) std::rethrow_exception(e);
    return;
  }
#endif
  f(0);
  f(1);
}
}  // namespace

std::array<RnnLayerOut, 2> rnn_bidir_layer_forward(int mode, const Tensor& x, const RnnPair& h0, const RnnPair& c0,
                                                   const std::array<RnnLayerWeights, 2>& w, const Tensor& lengths,
                                                   const char* op) {
  check_forced(op);  // (here, on the caller's thread: forced algorithms are per thread)
  std::array<RnnLayerOut, 2> out;
  both_directions([&](int d) { out[d] = rnn_layer_forward(mode, x, h0[d], c0[d], w[d], lengths, d == 1, op); });
  return out;
}

std::array<RnnLayerGrads, 2> rnn_bidir_layer_backward(int mode, const RnnPair& dy, const RnnPair& dh_n,
                                                      const RnnPair& dc_n, const Tensor& x, const RnnPair& h0,
                                                      const RnnPair& c0, const std::array<RnnLayerWeights, 2>& w,
                                                      const Tensor& lengths, const RnnPair& ws, const char* op) {
  check_forced(op);
  std::array<RnnLayerGrads, 2> g;
  both_directions([&](int d) {
    g[d] = rnn_layer_backward(mode, dy[d], dh_n[d], dc_n[d], x, h0[d], c0[d], w[d], lengths, d == 1, ws[d], op);
  });
  return g;
}

}  // namespace dl

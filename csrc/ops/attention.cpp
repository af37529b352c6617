// Entries of scaled_dot_product_attention and its backward: validation of the canonical shapes,
// the choice of algorithm (the one place; logged, forceable), workspace and dispatch.
// Kernels: attention_cpu.cpp.
#include "ops/attention.h"

#include <cmath>
#include <cstring>
#include <string>

#include "core/kernel_log.h"
#include "core/parallel.h"
#include "dispatch/registry.h"

namespace dl {
namespace {

constexpr const char* kOp = "scaled_dot_product_attention";
constexpr const char* kOpBwd = "scaled_dot_product_attention_backward";

thread_local int64_t g_last_workspace = 0;

void check_operand(const Tensor& t, const char* op, const char* name, DType dtype) {
  check_cpu(t, op);
  DL_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64, Type, op, "expected ", name,
           " of dtype float32 or float64, got ", dtype_name(t.dtype()));
  DL_CHECK(t.dtype() == dtype, Type, op, "expected ", name, " of dtype ", dtype_name(dtype), " (the query's), got ",
           dtype_name(t.dtype()));
}

void check_shape(const Tensor& t, const Shape& want, const char* op, const char* name) {
  DL_CHECK(t.shape() == want, Value, op, "expected ", name, " of shape ", shape_str(want), ", got ",
           shape_str(t.shape()));
}

// Validates q (B, Hq, L, E), k (B, Hk, S, E), v (B, Hk, S, Ev) and the options; fills the shape
// fields and options of a.
AttnArgs setup(const Tensor& q, const Tensor& k, const Tensor& v, const AttnOptions& o, const char* op) {
  check_operand(q, op, "query", q.dtype());
  check_operand(k, op, "key", q.dtype());
  check_operand(v, op, "value", q.dtype());
  DL_CHECK(q.ndim() == 4 && k.ndim() == 4 && v.ndim() == 4, Value, op,
           "expected 4-d query, key and value (batch, heads, length, dim), got shapes ", shape_str(q.shape()), ", ",
           shape_str(k.shape()), " and ", shape_str(v.shape()));
  AttnArgs a{};
  a.dtype = q.dtype();
  a.B = q.size(0);
  a.Hq = q.size(1);
  a.L = q.size(2);
  a.E = q.size(3);
  a.Hk = k.size(1);
  a.S = k.size(2);
  a.Ev = v.size(3);
  DL_CHECK(k.size(0) == a.B && v.size(0) == a.B, Value, op, "expected query, key and value of one batch size, got ",
           shape_str(q.shape()), ", ", shape_str(k.shape()), " and ", shape_str(v.shape()));
  DL_CHECK(k.size(3) == a.E, Value, op, "expected key of head dim ", a.E, " (the query's), got ", k.size(3));
  DL_CHECK(v.size(1) == a.Hk && v.size(2) == a.S, Value, op, "expected value with key's heads and length (",
           a.Hk, ", ", a.S, "), got ", shape_str(v.shape()));
  DL_CHECK(a.Hk > 0 && a.Hq % a.Hk == 0, Value, op, "expected the query's heads (", a.Hq,
           ") to be a multiple of the key's (", a.Hk, ")");
  DL_CHECK(o.dropout_p >= 0.0 && o.dropout_p < 1.0, Value, op, "expected dropout_p in [0, 1), got ", o.dropout_p);
  const int64_t heads = a.B * a.Hq;
  if (o.mask.defined()) {
    check_operand(o.mask, op, "attn_mask", q.dtype());
    DL_CHECK(!o.causal, Value, op, "expected attn_mask or is_causal, not both");
    DL_CHECK(o.mask_off.defined() && o.mask_off.dtype() == DType::Int64 && o.mask_off.numel() == heads &&
                 o.mask_off.is_contiguous(),
             Value, op, "expected mask offsets of ", heads, " int64 values");
    DL_CHECK(o.mask.is_contiguous(), Value, op, "expected a contiguous attn_mask");
    // Every element the kernel reads lies inside the mask.
    const int64_t* off = o.mask_off.data<int64_t>();
    const int64_t last = (a.L > 0 ? (a.L - 1) * o.mask_rs : 0) + (a.S > 0 ? (a.S - 1) * o.mask_cs : 0);
    for (int64_t i = 0; i < heads; ++i)
      DL_CHECK(o.mask_rs >= 0 && o.mask_cs >= 0 && off[i] >= 0 && (a.L * a.S == 0 || off[i] + last < o.mask.numel()),
               Value, op, "attn_mask offsets out of range");
  }
  if (o.alibi.defined()) {
    check_operand(o.alibi, op, "alibi_slopes", q.dtype());
    DL_CHECK(o.alibi.numel() == heads && o.alibi.is_contiguous(), Value, op, "expected ", heads,
             " alibi slopes (one per batch item and head), got shape ", shape_str(o.alibi.shape()));
  }
  a.mask_rs = o.mask_rs;
  a.mask_cs = o.mask_cs;
  a.causal = o.causal;
  a.scale = o.has_scale ? o.scale : 1.0 / std::sqrt(static_cast<double>(a.E > 0 ? a.E : 1));
  a.dropout_p = o.dropout_p;
  a.seed = o.seed;
  a.mask = o.mask.defined() ? o.mask.raw_data() : nullptr;
  a.mask_off = o.mask.defined() ? o.mask_off.data<int64_t>() : nullptr;
  a.alibi = o.alibi.defined() ? o.alibi.raw_data() : nullptr;
  return a;
}

// The one place the algorithm is chosen: flash tiles unless the caller forced "reference".
int choose(const char* op) {
  const char* f = forced_algorithm(kOp);
  if (f == nullptr || std::strcmp(f, "flash") == 0) {
    log_kernel(op, DeviceType::CPU, "flash");
    return kAttnFlash;
  }
  if (std::strcmp(f, "reference") == 0) {
    log_kernel(op, DeviceType::CPU, "reference");
    return kAttnReference;
  }
  fail(ErrorKind::Value, kOp, "algorithm '", f, "' does not apply: the algorithms are 'flash' and 'reference'");
}

// Threads and per-thread scratch; returns the workspace tensor (kept alive by the caller).
Tensor prepare_work(AttnArgs& a, bool backward, const char* op) {
  const double work = static_cast<double>(a.B * a.Hq) * static_cast<double>(a.L) * static_cast<double>(a.S) *
                      static_cast<double>(a.E + a.Ev);
  a.nthreads = work < 65536.0 ? 1 : num_threads();
  const int64_t bytes = DL_OP(AttnWorkFn, "sdpa_workspace").get(cpu_device())(a, backward);
  a.work_stride = (bytes + 63) / 64 * 64;
  Tensor w = Tensor::empty({a.work_stride * a.nthreads}, DType::UInt8, cpu_device(), op);
  a.work = w.raw_data();
  g_last_workspace = a.work_stride * a.nthreads;
  return w;
}

}  // namespace

std::pair<Tensor, Tensor> sdpa_forward(const Tensor& q0, const Tensor& k0, const Tensor& v0, const AttnOptions& o) {
  AttnArgs a = setup(q0, k0, v0, o, kOp);
  a.algo = choose(kOp);
  const Tensor q = q0.contiguous(), k = k0.contiguous(), v = v0.contiguous();
  Tensor out = Tensor::empty({a.B, a.Hq, a.L, a.Ev}, a.dtype, cpu_device(), kOp);
  Tensor lse = Tensor::empty({a.B, a.Hq, a.L}, a.dtype, cpu_device(), kOp);
  g_last_workspace = 0;
  if (a.B * a.Hq * a.L == 0) return {out, lse};
  a.q = q.raw_data();
  a.k = k.raw_data();
  a.v = v.raw_data();
  a.out = out.raw_data();
  a.lse = lse.raw_data();
  Tensor w = prepare_work(a, false, kOp);
  DL_OP(AttnFn, "sdpa_forward").get(cpu_device())(a);
  return {out, lse};
}

std::tuple<Tensor, Tensor, Tensor> sdpa_backward(const Tensor& g0, const Tensor& q0, const Tensor& k0,
                                                 const Tensor& v0, const Tensor& out0, const Tensor& lse0,
                                                 const AttnOptions& o) {
  AttnArgs a = setup(q0, k0, v0, o, kOpBwd);
  check_operand(g0, kOpBwd, "grad_out", a.dtype);
  check_operand(out0, kOpBwd, "out", a.dtype);
  check_operand(lse0, kOpBwd, "logsumexp", a.dtype);
  check_shape(g0, {a.B, a.Hq, a.L, a.Ev}, kOpBwd, "grad_out");
  check_shape(out0, {a.B, a.Hq, a.L, a.Ev}, kOpBwd, "out");
  check_shape(lse0, {a.B, a.Hq, a.L}, kOpBwd, "logsumexp");
  a.algo = choose(kOpBwd);
  const Tensor q = q0.contiguous(), k = k0.contiguous(), v = v0.contiguous();
  const Tensor g = g0.contiguous(), out = out0.contiguous(), lse = lse0.contiguous();
  Tensor gq = Tensor::zeros(q.shape(), a.dtype, cpu_device(), kOpBwd);
  Tensor gk = Tensor::zeros(k.shape(), a.dtype, cpu_device(), kOpBwd);
  Tensor gv = Tensor::zeros(v.shape(), a.dtype, cpu_device(), kOpBwd);
  g_last_workspace = 0;
  if (a.B * a.Hq * a.L == 0 || a.S == 0) return {gq, gk, gv};
  Tensor delta = Tensor::empty({a.B, a.Hq, a.L}, a.dtype, cpu_device(), kOpBwd);
  a.q = q.raw_data();
  a.k = k.raw_data();
  a.v = v.raw_data();
  a.grad_out = g.raw_data();
  a.out_in = out.raw_data();
  a.lse_in = lse.raw_data();
  a.delta = delta.raw_data();
  a.grad_q = gq.raw_data();
  a.grad_k = gk.raw_data();
  a.grad_v = gv.raw_data();
  Tensor w = prepare_work(a, true, kOpBwd);
  DL_OP(AttnFn, "sdpa_backward").get(cpu_device())(a);
  return {gq, gk, gv};
}

int64_t sdpa_last_workspace_bytes() { return g_last_workspace; }

}  // namespace dl

// Entries of conv2d / conv_transpose2d and their backwards: validation, geometry, the one place
// where an algorithm is chosen (choose_algo), and dispatch.  Kernels: conv_cpu.cpp (implicit GEMM)
// and conv_direct_cpu.cpp (direct reference loops, depthwise).
#include "ops/conv.h"

#include <cstring>

#include "core/kernel_log.h"
#include "core/parallel.h"
#include "dispatch/registry.h"
#include "ops/gemm.h"

namespace dl {
namespace {

thread_local int64_t tls_workspace = 0;

enum Kind { kFwd, kBwdData, kBwdWeight };

const char* const kAlgoNames[] = {"direct", "implicit_gemm", "gemm_1x1", "depthwise", "winograd"};
constexpr int kNumAlgos = 5;

bool is_1x1(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && g.OH == g.H && g.OW == g.W;
}
bool is_depthwise(const ConvGeom& g) { return g.groups == g.C && g.K == g.C; }

bool is_winograd(const ConvGeom& g) {
  return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.groups == 1;
}

// Why `algo` cannot run this geometry (nullptr: it can).  forward: the op is a conv forward
// (Winograd is implemented for that pass only).
const char* not_applicable(int algo, const ConvGeom& g, bool forward) {
  switch (algo) {
    case kConvGemm1x1:
      return is_1x1(g) ? nullptr : "needs a 1x1 kernel, stride 1 and no padding";
    case kConvDepthwise:
      return is_depthwise(g) ? nullptr : "needs groups == in_channels == out_channels";
    case kConvWinograd:
      if (!forward) return "implemented for the forward convolution (conv2d) only";
      return is_winograd(g) ? nullptr : "needs a 3x3 kernel, stride 1, dilation 1 and groups 1";
    default:
      return nullptr;
  }
}

// Winograd's scalar transforms cost per channel what its saved multiplies gain only with many
// channels (2 threads, 4 x 64 x 56^2: even with implicit GEMM; 8 x 256 x 14^2: 15% faster).
constexpr int64_t kWinogradMinChannels = 128;

// The one choice point of every conv kernel: a forced algorithm (dlcore.force_algorithm(op,
// name)) when it applies, else by geometry alone (never by the thread count).  Logged.
int choose_algo(const char* op, const ConvGeom& g, bool forward) {
  int algo = -1;
  if (const char* forced = forced_algorithm(op)) {
    for (int a = 0; a < kNumAlgos; ++a)
      if (std::strcmp(forced, kAlgoNames[a]) == 0) algo = a;
    DL_CHECK(algo >= 0, Value, op, "unknown algorithm '", forced,
             "' (expected direct, implicit_gemm, gemm_1x1, depthwise or winograd)");
    const char* why = not_applicable(algo, g, forward);
    DL_CHECK(why == nullptr, Value, op, "algorithm '", forced, "' does not apply: ", why);
  } else if (is_depthwise(g)) {
    algo = kConvDepthwise;
  } else if (is_1x1(g)) {
    algo = kConvGemm1x1;
  } else if (forward && is_winograd(g) && g.C >= kWinogradMinChannels && g.K >= kWinogradMinChannels) {
    algo = kConvWinograd;
  } else {
    algo = kConvImplicitGemm;
  }
  log_kernel(op, DeviceType::CPU, kAlgoNames[algo]);
  return algo;
}

void check_input(const Tensor& t, const char* op, const char* what, DType dtype) {
  check_cpu(t, op);
  DL_CHECK(t.dtype() == dtype, Type, op, "expected ", what, " of dtype ", dtype_name(dtype), ", got ",
           dtype_name(t.dtype()));
}

void check_rank4(const Tensor& t, const char* op, const char* what) {
  DL_CHECK(t.ndim() == 4, Value, op, "expected ", what, " of 4 dimensions, got shape ", shape_str(t.shape()));
}

void check_params(const ConvParams& p, const char* op, bool transposed) {
  constexpr int64_t kMax = int64_t{1} << 31;  // keeps every size product well inside int64
  for (int d = 0; d < 2; ++d) {
    DL_CHECK(p.stride[d] >= 1 && p.stride[d] < kMax, Value, op, "expected stride >= 1, got ", p.stride[d]);
    DL_CHECK(p.dilation[d] >= 1 && p.dilation[d] < kMax, Value, op, "expected dilation >= 1, got ", p.dilation[d]);
    DL_CHECK(p.output_padding[d] >= 0 && p.output_padding[d] < kMax, Value, op,
             "expected output_padding >= 0, got ", p.output_padding[d]);
    if (transposed)
      DL_CHECK(p.output_padding[d] < p.stride[d] || p.output_padding[d] < p.dilation[d], Value, op,
               "output padding must be smaller than either stride or dilation, got output_padding ",
               p.output_padding[d], ", stride ", p.stride[d], ", dilation ", p.dilation[d]);
  }
  for (int d = 0; d < 4; ++d)
    DL_CHECK(p.pad[d] >= 0 && p.pad[d] < kMax, Value, op, "expected padding >= 0, got ", p.pad[d]);
  DL_CHECK(p.groups >= 1 && p.groups < kMax, Value, op, "expected groups >= 1, got ", p.groups);
}

// Geometry of conv2d(x, weight): validates shapes, channels and groups, the kernel against the
// padded input.
ConvGeom conv_geom(const Tensor& x, const Tensor& w, const ConvParams& p, const char* op) {
  check_params(p, op, false);
  check_rank4(x, op, "input");
  check_rank4(w, op, "weight");
  ConvGeom g{};
  g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.K = w.size(0), g.kh = w.size(2), g.kw = w.size(3);
  g.groups = p.groups;
  DL_CHECK(g.C >= 1, Value, op, "expected at least one input channel, got input of shape ", shape_str(x.shape()));
  DL_CHECK(g.kh >= 1 && g.kw >= 1, Value, op, "expected a kernel of at least 1x1, got weight of shape ",
           shape_str(w.shape()));
  DL_CHECK(g.C % g.groups == 0 && w.size(1) * g.groups == g.C, Value, op, "expected input with ",
           w.size(1) * g.groups, " channels (weight of shape ", shape_str(w.shape()), ", groups=", g.groups,
           ") and divisible by groups, got input of shape ", shape_str(x.shape()));
  DL_CHECK(g.K % g.groups == 0, Value, op, "expected out_channels (", g.K, ") divisible by groups (", g.groups,
           ")");
  g.sh = p.stride[0], g.sw = p.stride[1], g.dh = p.dilation[0], g.dw = p.dilation[1];
  g.ph = p.pad[0], g.pw = p.pad[2];
  const int64_t eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1;
  const int64_t hp = g.H + p.pad[0] + p.pad[1], wp = g.W + p.pad[2] + p.pad[3];
  DL_CHECK(hp >= eh && wp >= ew, Value, op, "kernel size (", eh, ", ", ew, ") (dilated) is larger than the padded input (",
           hp, ", ", wp, ")");
  g.OH = (hp - eh) / g.sh + 1;
  g.OW = (wp - ew) / g.sw + 1;
  return g;
}

// Geometry of conv_transpose2d(x, weight) as the conv whose backward data it is: the conv's
// input is the transposed op's output (C = Cout, H x W = its size), its output is x.
ConvGeom transpose_geom(const Tensor& x, const Tensor& w, const ConvParams& p, const char* op) {
  check_params(p, op, true);
  check_rank4(x, op, "input");
  check_rank4(w, op, "weight");
  ConvGeom g{};
  g.N = x.size(0), g.K = x.size(1), g.OH = x.size(2), g.OW = x.size(3);
  g.groups = p.groups;
  g.kh = w.size(2), g.kw = w.size(3);
  DL_CHECK(g.K >= 1, Value, op, "expected at least one input channel, got input of shape ", shape_str(x.shape()));
  DL_CHECK(g.kh >= 1 && g.kw >= 1, Value, op, "expected a kernel of at least 1x1, got weight of shape ",
           shape_str(w.shape()));
  DL_CHECK(w.size(0) == g.K && g.K % g.groups == 0, Value, op, "expected weight of shape (", g.K,
           ", out_channels/groups, kh, kw) with ", g.K, " divisible by groups=", g.groups, ", got weight of shape ",
           shape_str(w.shape()));
  g.C = w.size(1) * g.groups;
  DL_CHECK(g.C >= 1, Value, op, "expected at least one output channel, got weight of shape ", shape_str(w.shape()));
  g.sh = p.stride[0], g.sw = p.stride[1], g.dh = p.dilation[0], g.dw = p.dilation[1];
  g.ph = p.pad[0], g.pw = p.pad[2];
  g.H = (g.OH - 1) * g.sh - p.pad[0] - p.pad[1] + g.dh * (g.kh - 1) + p.output_padding[0] + 1;
  g.W = (g.OW - 1) * g.sw - p.pad[2] - p.pad[3] + g.dw * (g.kw - 1) + p.output_padding[1] + 1;
  DL_CHECK(g.H >= 1 && g.W >= 1, Value, op, "the output size (", g.H, ", ", g.W,
           ") is not positive: padding is too large for this input and kernel");
  return g;
}

int parse_act(const std::string& a, const char* op) {
  if (a.empty() || a == "none") return kGemmActNone;
  if (a == "relu") return kGemmActRelu;
  if (a == "gelu") return kGemmActGelu;
  fail(ErrorKind::Value, op, "expected activation None, 'relu' or 'gelu', got '", a, "'");
}

void run(const char* kernel_op, const char* kernel, ConvArgs a) {
  int64_t ws = 0;
  a.workspace = &ws;
  if (a.algo == kConvWinograd) DL_OP(ConvFn, "conv_winograd").get(cpu_device())(a);
  else if (std::strcmp(kernel, "fwd") == 0) DL_OP(ConvFn, "conv_forward").get(cpu_device())(a);
  else if (std::strcmp(kernel, "data") == 0) DL_OP(ConvFn, "conv_backward_data").get(cpu_device())(a);
  else DL_OP(ConvFn, "conv_backward_weight").get(cpu_device())(a);
  DL_CHECK(ws >= 0, Memory, kernel_op, "out of memory for the convolution's scratch space");
  if (ws > tls_workspace) tls_workspace = ws;
}

// Per-channel sum of grad_out (N, K, P) over N and P: each channel in a fixed order, accumulated
// in double (a float32 sum of N * P terms would lose digits), channels in parallel.
Tensor bias_grad(const Tensor& gy, int64_t N, int64_t K, int64_t P) {
  Tensor gb = Tensor::empty({K}, gy.dtype(), cpu_device(), "conv");
  const bool f32 = gy.dtype() == DType::Float32;
  const void* src = gy.raw_data();
  void* dst = gb.raw_data();
  parallel_for(K, N * P, [&](int64_t k) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t base = (n * K + k) * P;
      if (f32) {
        const float* q = static_cast<const float*>(src) + base;
        for (int64_t i = 0; i < P; ++i) s += q[i];
      } else {
        const double* q = static_cast<const double*>(src) + base;
        for (int64_t i = 0; i < P; ++i) s += q[i];
      }
    }
    if (f32) static_cast<float*>(dst)[k] = static_cast<float>(s);
    else static_cast<double*>(dst)[k] = s;
  });
  return gb;
}

void add_bias(Tensor& y, const Tensor& bias, int64_t N, int64_t K, int64_t P) {
  const bool f32 = y.dtype() == DType::Float32;
  parallel_for(N * K, P, [&](int64_t t) {
    const int64_t k = t % K;
    if (f32) {
      float* q = y.data<float>() + t * P;
      const float b = bias.data<float>()[k];
      for (int64_t i = 0; i < P; ++i) q[i] += b;
    } else {
      double* q = y.data<double>() + t * P;
      const double b = bias.data<double>()[k];
      for (int64_t i = 0; i < P; ++i) q[i] += b;
    }
  });
}

Tensor checked_bias(const Tensor& bias, int64_t K, DType dtype, const char* op) {
  if (!bias.defined()) return bias;
  check_input(bias, op, "bias", dtype);
  DL_CHECK(bias.shape() == Shape{K}, Value, op, "expected bias of shape (", K, ",), got ", shape_str(bias.shape()));
  return bias.contiguous();
}

void check_float(const Tensor& x, const char* op) {
  check_cpu(x, op);
  DL_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64, Type, op,
           "expected input of dtype float32 or float64, got ", dtype_name(x.dtype()));
}

void check_grad_out(const Tensor& gy, const Shape& want, DType dtype, const char* op) {
  check_input(gy, op, "grad_out", dtype);
  DL_CHECK(gy.shape() == want, Value, op, "expected grad_out of shape ", shape_str(want), ", got ",
           shape_str(gy.shape()));
}

}  // namespace

const char* conv_algo_name(int algo) { return algo >= 0 && algo < kNumAlgos ? kAlgoNames[algo] : "?"; }

int64_t conv_last_workspace_bytes() { return tls_workspace; }

Tensor conv2d(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvParams& p,
              const std::string& activation) {
  check_float(x, op);
  check_input(weight, op, "weight", x.dtype());
  const ConvGeom g = conv_geom(x, weight, p, op);
  const Tensor b = checked_bias(bias, g.K, x.dtype(), op);
  const int act = parse_act(activation, op);
  Tensor y = Tensor::empty({g.N, g.K, g.OH, g.OW}, x.dtype(), cpu_device(), op);
  tls_workspace = 0;
  const int algo = choose_algo(op, g, true);
  if (y.numel() == 0) return y;
  const Tensor xc = x.contiguous(), wc = weight.contiguous();
  run(op, "fwd", ConvArgs{x.dtype(), g, algo, xc.raw_data(), wc.raw_data(), b.defined() ? b.raw_data() : nullptr,
                      y.raw_data(), act, nullptr});
  return y;
}

std::tuple<Tensor, Tensor, Tensor> conv2d_backward(const char* op, const Tensor& grad_out, const Tensor& x,
                                                   const Tensor& weight, const ConvParams& p,
                                                   std::array<bool, 3> mask) {
  check_float(x, op);
  check_input(weight, op, "weight", x.dtype());
  const ConvGeom g = conv_geom(x, weight, p, op);
  check_grad_out(grad_out, {g.N, g.K, g.OH, g.OW}, x.dtype(), op);
  tls_workspace = 0;
  const int algo = choose_algo(op, g, false);
  const Tensor gy = grad_out.contiguous();
  Tensor gx, gw, gb;
  if (mask[0]) {
    gx = Tensor::empty(x.shape(), x.dtype(), cpu_device(), op);
    if (gx.numel() > 0) {
      const Tensor wc = weight.contiguous();
      run(op, "data", ConvArgs{x.dtype(), g, algo, gy.raw_data(), wc.raw_data(), nullptr, gx.raw_data(), 0, nullptr});
    }
  }
  if (mask[1]) {
    gw = Tensor::zeros(weight.shape(), x.dtype(), cpu_device(), op);
    if (gw.numel() > 0 && g.N > 0) {
      const Tensor xc = x.contiguous();
      run(op, "weight", ConvArgs{x.dtype(), g, algo, gy.raw_data(), xc.raw_data(), nullptr, gw.raw_data(), 0, nullptr});
    }
  }
  if (mask[2]) gb = bias_grad(gy, g.N, g.K, g.OH * g.OW);
  return {gx, gw, gb};
}

Tensor conv_transpose2d(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const ConvParams& p) {
  check_float(x, op);
  check_input(weight, op, "weight", x.dtype());
  const ConvGeom g = transpose_geom(x, weight, p, op);
  const Tensor b = checked_bias(bias, g.C, x.dtype(), op);
  Tensor y = Tensor::empty({g.N, g.C, g.H, g.W}, x.dtype(), cpu_device(), op);
  tls_workspace = 0;
  const int algo = choose_algo(op, g, false);
  if (y.numel() == 0) return y;
  const Tensor xc = x.contiguous(), wc = weight.contiguous();
  run(op, "data", ConvArgs{x.dtype(), g, algo, xc.raw_data(), wc.raw_data(), nullptr, y.raw_data(), 0, nullptr});
  if (b.defined()) add_bias(y, b, g.N, g.C, g.H * g.W);
  return y;
}

std::tuple<Tensor, Tensor, Tensor> conv_transpose2d_backward(const char* op, const Tensor& grad_out,
                                                             const Tensor& x, const Tensor& weight,
                                                             const ConvParams& p, std::array<bool, 3> mask) {
  check_float(x, op);
  check_input(weight, op, "weight", x.dtype());
  const ConvGeom g = transpose_geom(x, weight, p, op);
  check_grad_out(grad_out, {g.N, g.C, g.H, g.W}, x.dtype(), op);
  tls_workspace = 0;
  const int algo = choose_algo(op, g, false);
  const Tensor gy = grad_out.contiguous();
  Tensor gx, gw, gb;
  if (mask[0]) {  // grad_x = conv2d(grad_out, weight)
    gx = Tensor::empty(x.shape(), x.dtype(), cpu_device(), op);
    if (gx.numel() > 0) {
      const Tensor wc = weight.contiguous();
      run(op, "fwd", ConvArgs{x.dtype(), g, algo, gy.raw_data(), wc.raw_data(), nullptr, gx.raw_data(), 0, nullptr});
    }
  }
  if (mask[1]) {  // the conv's weight gradient with the roles of x and grad_out exchanged
    gw = Tensor::zeros(weight.shape(), x.dtype(), cpu_device(), op);
    if (gw.numel() > 0 && g.N > 0) {
      const Tensor xc = x.contiguous();
      run(op, "weight", ConvArgs{x.dtype(), g, algo, xc.raw_data(), gy.raw_data(), nullptr, gw.raw_data(), 0, nullptr});
    }
  }
  if (mask[2]) gb = bias_grad(gy, g.N, g.C, g.H * g.W);
  return {gx, gw, gb};
}

}  // namespace dl

// conv: 2-D convolution (conv1d is conv2d with H = 1) and its transpose, forward and backward.
//
// Every op reduces to three kernels over one geometry (ConvGeom: an input x (N, C, H, W), a
// weight (K, C/groups, kh, kw), an output y (N, K, OH, OW)):
//   forward        y  = conv(x, w)             (conv2d; grad_x of conv_transpose2d)
//   backward data  gx = conv^T(gy, w)          (grad_x of conv2d; conv_transpose2d's forward)
//   backward wt    gw = sum_n gy (x) patches   (grad_weight of both)
// Each kernel has several algorithms (ConvAlgo), chosen in one place (conv.cpp: choose_algo),
// logged to the kernel log and forceable with dlcore.force_algorithm(op, name).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <tuple>

#include "core/tensor.h"

namespace dl {

enum ConvAlgo : int {
  kConvDirect = 0,        // plain loops: the reference
  kConvImplicitGemm = 1,  // patches packed tile by tile into GEMM panels, GEMM micro-kernels
  kConvGemm1x1 = 2,       // 1x1, stride 1, no padding: a GEMM over NCHW
  kConvDepthwise = 3,     // groups == C == K: vectorised direct kernel
  kConvWinograd = 4,      // F(2x2, 3x3): 3x3, stride 1, dilation 1, groups 1; forward only (conv_winograd_cpu.cpp)
};
const char* conv_algo_name(int algo);

struct ConvGeom {
  int64_t N, C, H, W;     // input
  int64_t K, OH, OW;      // output channels and size
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;  // kernel, stride, top/left padding, dilation
  int64_t groups;
};

struct ConvArgs {
  DType dtype;         // Float32 or Float64
  ConvGeom g;
  int algo;            // ConvAlgo
  const void* x;       // forward: x;  backward data: gy;  backward weight: gy
  const void* w;       // forward: w;  backward data: w;   backward weight: x
  const void* bias;    // forward only: (K,) or nullptr
  void* out;           // forward: y;  backward data: gx;  backward weight: gw   (contiguous)
  int act;             // forward only: GemmAct
  int64_t* workspace;  // out: bytes of scratch the call allocated (peak)
};
using ConvFn = void (*)(const ConvArgs&);

// Geometry parameters in the user's terms (validated by the entries).
struct ConvParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 4> pad{0, 0, 0, 0};  // top, bottom, left, right
  std::array<int64_t, 2> dilation{1, 1};
  std::array<int64_t, 2> output_padding{0, 0};  // transposed ops only
  int64_t groups = 1;
};

// x (N, C, H, W), weight (K, C/groups, kh, kw), bias (K,) or undefined; activation "", "relu", "gelu".
// `op` names the public op in errors, the kernel log and algorithm forcing.
Tensor conv2d(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvParams& p,
              const std::string& activation);
// (grad_x, grad_weight, grad_bias); undefined where mask is false.
std::tuple<Tensor, Tensor, Tensor> conv2d_backward(const char* op, const Tensor& grad_out, const Tensor& x,
                                                   const Tensor& weight, const ConvParams& p,
                                                   std::array<bool, 3> mask);
// x (N, Cin, H, W), weight (Cin, Cout/groups, kh, kw) (PyTorch's layout), bias (Cout,).
Tensor conv_transpose2d(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const ConvParams& p);
std::tuple<Tensor, Tensor, Tensor> conv_transpose2d_backward(const char* op, const Tensor& grad_out,
                                                             const Tensor& x, const Tensor& weight,
                                                             const ConvParams& p, std::array<bool, 3> mask);
// Peak scratch bytes of the most recent conv kernel call on this thread (bench/tests).
int64_t conv_last_workspace_bytes();

}  // namespace dl

// gemm: C = alpha * op(A) op(B) + beta * C, and the ops built on it (matmul, linear).
//
// The kernel sees one (possibly batched) problem described by raw pointers and element strides,
// so transposed, sliced and offset operands reach it without copies: op(A)(i, k) is
// a[i * a_rs + k * a_cs], op(B)(k, j) is b[k * b_rs + j * b_cs], C(i, j) is c[i * c_rs + j * c_cs].
// Batch item t adds a_off[t] / b_off[t] / c_off[t] elements to the base pointers.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace dl {

enum GemmAct : int { kGemmActNone = 0, kGemmActRelu = 1, kGemmActGelu = 2 };

struct GemmArgs {
  DType dtype;                 // Float32 or Float64 (A, B, C, bias alike)
  int64_t batch, M, N, K;      // batch >= 1; M, N >= 1; K >= 0
  const void* a;
  const void* b;
  void* c;                     // must not overlap A or B
  const int64_t* a_off;        // batch offsets in elements (nullptr: 0 for every item)
  const int64_t* b_off;
  const int64_t* c_off;
  int64_t a_rs, a_cs, b_rs, b_cs, c_rs, c_cs;
  double alpha, beta;          // beta == 0: C is not read (NaNs in C do not propagate)
  const void* bias;            // per column of C (length N) or nullptr; epilogue: C = act(C + bias)
  int64_t bias_stride;
  int act;                     // GemmAct
};
using GemmFn = void (*)(const GemmArgs&);

// Peak FMA throughput of this machine for the active ISA: a register-only loop of independent
// FMA chains on `threads` threads for about `seconds`.  Result in *gflops (float32 flops).
struct FmaPeakArgs {
  int threads;
  double seconds;
  double* gflops;
};
using FmaPeakFn = void (*)(const FmaPeakArgs&);

// NumPy matmul semantics (1-D, 2-D, batched with broadcasting); float32/float64.
Tensor matmul(const Tensor& a, const Tensor& b);
// C = alpha op(A) op(B) + beta C for 2-D (or batched, broadcast) operands; writes into c when
// defined (and returns it), else returns a new tensor (beta ignored).
Tensor gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta, bool trans_a,
            bool trans_b);
// y = x weight^T + bias, activation fused ("", "relu", "gelu"); x (..., in), weight (out, in).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const std::string& activation);
// Gradients of y = x weight^T + bias w.r.t. x, weight and bias (undefined where not needed).
void linear_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, bool need_x, bool need_w,
                     bool need_b, Tensor* grad_x, Tensor* grad_w, Tensor* grad_b);
double fma_peak_gflops(int threads, double seconds);

}  // namespace dl

// elementwise: NumPy-broadcasting binary ops, comparisons, where, unary activations and their
// backward kernels.
//
// One generic strided iterator (elementwise.cpp) serves every arity: it broadcasts the operands
// to the output shape (stride 0), coalesces dimensions, cuts the output into fixed-size chunks
// (thread-count independent) and hands the per-ISA kernel 2-D blocks (EwBlock): `m` rows of `n`
// elements, each operand with an inner and an outer stride.  The kernel (elementwise_cpu.cpp)
// switches once per block on (op, dtype) and runs vectorised row loops with fast paths for
// contiguous and scalar-broadcast operands.
#pragma once
#include <cstdint>
#include <utility>

#include "core/tensor.h"

namespace dl {

enum class EwOp : int32_t {
  // binary (a, b) -> same dtype
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,
  FloorDivide, Remainder, Fmod,  // torch.floor_divide / remainder (Python's sign) / fmod (C's)
  BitAnd, BitOr, BitXor,         // integer and bool only
  // comparisons (a, b) -> bool
  Eq, Ne, Lt, Le, Gt, Ge,
  // unary (x)
  Neg, Abs, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Relu, LeakyRelu, GeluErf, GeluTanh, Silu,
  Softplus, BitNot, Cast,
  // unary backward (grad, x) or (grad, y) where y is the forward output
  NegBackward, AbsBackward, ExpBackward, LogBackward, SqrtBackward, RsqrtBackward,
  TanhBackward, SigmoidBackward, ReluBackward, LeakyReluBackward, GeluErfBackward,
  GeluTanhBackward, SiluBackward, SoftplusBackward,
  // ternary
  Where,          // (cond bool, a, b)
  PowBackwardA,   // (grad, a, b) -> grad * b * a^(b-1)
  PowBackwardB,   // (grad, a, b) -> grad * a^b * log(a)
};

struct EwArgs {
  EwOp op;
  DType dtype;      // compute dtype of the (non-cond) inputs
  DType out_dtype;  // Cast: the target; comparisons: Bool; else == dtype
  double p0, p1;    // leaky_relu: slope; softplus: beta, threshold
};

// One 2-D block of work: out[j*out_s1 + i*out_s0] = f(in_k[j*s1[k] + i*s0[k]]...), i < n, j < m.
// Strides are in elements of each operand's own dtype.
struct EwBlock {
  int64_t n, m;
  void* out;
  int64_t out_s0, out_s1;
  const void* in[3];
  int64_t s0[3], s1[3];
};
using EwFn = void (*)(const EwArgs&, const EwBlock&);

// An operand of a binary op.  Type promotion is PyTorch's (c10 ResultTypeState) over three
// tiers: dimensioned tensors, 0-d tensors, and scalars (Python or NumPy numbers, `python_scalar`:
// held in a 0-d tensor of int64, float64 or bool, or the NumPy scalar's dtype).  A lower tier
// changes the result only when its category (bool < integer < floating) is higher: then 0-d
// tensors bring their own dtype and scalars the category's default (int64, float32).
struct EwOperand {
  Tensor t;
  bool python_scalar = false;
};

// PyTorch's promote_types over all dtypes: the larger of a category wins; integer with floating
// gives the floating type; uint8 with int8 gives int16; float16 with bfloat16 gives float32.
DType promote_types(DType a, DType b);
// Result dtype of combining a and b (the three-tier rule above, exactly torch.result_type).
DType ew_result_type(const EwOperand& a, const EwOperand& b);

Tensor ew_binary(EwOp op, const EwOperand& a, const EwOperand& b, const char* name);
Tensor ew_unary(EwOp op, const Tensor& x, const char* name, double p0 = 0, double p1 = 0);
// grad_in = f'(.) * grad; `x` is the forward input or, for exp/sqrt/rsqrt/tanh/sigmoid, the
// forward output (see the Python docstrings).
Tensor ew_unary_backward(EwOp op, const Tensor& grad, const Tensor& x, const char* name,
                         double p0 = 0, double p1 = 0);
Tensor ew_where(const Tensor& cond, const EwOperand& a, const EwOperand& b);
// (grad_a, grad_b) at the broadcast shape (not reduced to a's and b's shapes).
std::pair<Tensor, Tensor> ew_pow_backward(const Tensor& grad, const EwOperand& a, const EwOperand& b);
// A contiguous copy of x converted to dtype `to` (x itself when it already has it).
Tensor ew_cast(const Tensor& x, DType to, const char* name);

}  // namespace dl

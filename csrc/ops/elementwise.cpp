#include "ops/elementwise.h"

#include <algorithm>
#include <cstdint>
#include <array>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "dispatch/registry.h"

namespace dl {
namespace {

// Output elements per chunk: big enough to amortise a chunk's setup, small enough that a
// (64, 512, 768) tensor splits into thousands of chunks for the threads to share.
constexpr int64_t kChunk = 16384;

Shape broadcast_shapes(const Tensor* const* ts, int n, const char* name) {
  int64_t nd = 0;
  for (int k = 0; k < n; ++k) nd = std::max(nd, ts[k]->ndim());
  Shape out(static_cast<size_t>(nd), 1);
  for (int k = 0; k < n; ++k) {
    const Tensor& t = *ts[k];
    for (int64_t d = 0; d < t.ndim(); ++d) {
      const size_t od = static_cast<size_t>(nd - t.ndim() + d);
      const int64_t s = t.size(d);
      if (s == out[od]) continue;
      if (out[od] == 1) {
        out[od] = s;
        continue;
      }
      if (s != 1) {
        std::string shapes;
        for (int j = 0; j < n; ++j) shapes += (j ? " " : "") + shape_str(ts[j]->shape());
        fail(ErrorKind::Value, name, "operands could not be broadcast together with shapes ", shapes);
      }
    }
  }
  return out;
}

// Runs `args` over out (any strides) and inputs broadcast to out's shape.
void run_iter(const EwArgs& args, const Tensor& out, const Tensor* const* ins, int nin) {
  const int64_t numel = out.numel();
  if (numel == 0) return;
  const int nops = nin + 1;
  const int64_t nd = out.ndim();
  // Per dimension, innermost first: size and the stride of every operand (0 where broadcast).
  std::vector<int64_t> size;
  std::vector<std::array<int64_t, 4>> st;
  for (int64_t d = nd - 1; d >= 0; --d) {
    const int64_t s = out.size(d);
    if (s == 1) continue;
    std::array<int64_t, 4> row{};
    row[0] = out.stride(d);
    for (int k = 0; k < nin; ++k) {
      const Tensor& t = *ins[k];
      const int64_t td = d - (nd - t.ndim());
      row[static_cast<size_t>(k + 1)] = (td < 0 || t.size(td) == 1) ? 0 : t.stride(td);
    }
    // Merge into the previous (inner) dimension when it continues it for every operand.
    if (!size.empty()) {
      bool merge = true;
      for (int k = 0; k < nops; ++k) merge = merge && row[k] == st.back()[k] * size.back();
      if (merge) {
        size.back() *= s;
        continue;
      }
    }
    size.push_back(s);
    st.push_back(row);
  }
  if (size.empty()) {
    size.push_back(1);
    st.push_back(std::array<int64_t, 4>{});
  }
  const int64_t D = static_cast<int64_t>(size.size());

  char* out_base = static_cast<char*>(out.raw_data());
  const char* in_base[3] = {nullptr, nullptr, nullptr};
  int64_t isz[4] = {static_cast<int64_t>(out.itemsize()), 0, 0, 0};
  for (int k = 0; k < nin; ++k) {
    in_base[k] = static_cast<const char*>(ins[k]->raw_data());
    isz[k + 1] = static_cast<int64_t>(ins[k]->itemsize());
  }
  EwFn fn = DL_OP(EwFn, "elementwise").get(out.device());
  const int64_t n_chunks = (numel + kChunk - 1) / kChunk;

  parallel_for(n_chunks, kChunk, [&](int64_t c) {
    const int64_t start = c * kChunk, end = std::min(numel, start + kChunk);
    int64_t idx[32] = {0};  // tensors have at most 32 non-unit dims after coalescing in practice
    std::vector<int64_t> idx_big;
    int64_t* ix = idx;
    if (D > 32) {
      idx_big.assign(static_cast<size_t>(D), 0);
      ix = idx_big.data();
    }
    int64_t rem = start;
    for (int64_t d = 0; d < D; ++d) {
      ix[d] = rem % size[static_cast<size_t>(d)];
      rem /= size[static_cast<size_t>(d)];
    }
    int64_t pos = start;
    EwBlock blk{};
    blk.out_s0 = st[0][0];
    for (int k = 0; k < nin; ++k) blk.s0[k] = st[0][static_cast<size_t>(k + 1)];
    if (D > 1) {
      blk.out_s1 = st[1][0];
      for (int k = 0; k < nin; ++k) blk.s1[k] = st[1][static_cast<size_t>(k + 1)];
    }
    while (pos < end) {
      int64_t n, m = 1;
      if (D == 1 || ix[0] != 0 || end - pos < size[0]) {
        n = std::min(size[0] - ix[0], end - pos);
      } else {
        n = size[0];
        m = std::min(size[1] - ix[1], (end - pos) / size[0]);
      }
      int64_t off[4] = {0, 0, 0, 0};
      for (int64_t d = 0; d < D; ++d)
        for (int k = 0; k < nops; ++k) off[k] += ix[d] * st[static_cast<size_t>(d)][static_cast<size_t>(k)];
      blk.n = n;
      blk.m = m;
      blk.out = out_base + off[0] * isz[0];
      for (int k = 0; k < nin; ++k) blk.in[k] = in_base[k] + off[k + 1] * isz[k + 1];
      fn(args, blk);
      pos += n * m;
      // Advance the multi-index.
      int64_t d;
      if (m > 1 || (ix[0] == 0 && n == size[0])) {
        if (D == 1) break;
        ix[1] += m;
        d = 1;
      } else {
        ix[0] += n;
        d = 0;
      }
      while (d < D - 1 && ix[d] >= size[static_cast<size_t>(d)]) {
        ix[d] = 0;
        ++ix[d + 1];
        ++d;
      }
    }
  });
}

void check_devices(const Tensor* const* ts, int n, const char* name) {
  for (int k = 0; k < n; ++k) check_cpu(*ts[k], name);
}

// Type categories (PyTorch): bool < integer < floating.
int category(DType d) { return d == DType::Bool ? 0 : is_integer(d) ? 1 : 2; }

DType default_for(int cat) { return cat == 2 ? DType::Float32 : cat == 1 ? DType::Int64 : DType::Bool; }

// c10's combine_categories over one tier's result (`higher`) and the lower tiers' (`lower`);
// `has_*` false means the tier had no operand.
DType combine_categories(bool has_higher, DType higher, bool has_lower, DType lower) {
  if (!has_higher) return lower;
  if (!has_lower || is_float_kind(higher)) return higher;
  if (higher == DType::Bool || is_float_kind(lower)) return promote_types(higher, lower);
  return higher;
}

bool is_unary(EwOp op) { return op >= EwOp::Neg && op <= EwOp::Cast; }
bool is_compare(EwOp op) { return op >= EwOp::Eq && op <= EwOp::Ge; }
bool is_bitwise(EwOp op) { return op == EwOp::BitAnd || op == EwOp::BitOr || op == EwOp::BitXor; }
bool is_division(EwOp op) { return op == EwOp::FloorDivide || op == EwOp::Remainder || op == EwOp::Fmod; }

void require_float(DType d, const char* name, const char* what) {
  DL_CHECK(is_floating(d), Type, name, "expected float32 or float64 ", what, ", got ", dtype_name(d));
}

// The dtype a kernel computes in: float16/bfloat16 are computed in float32 and rounded once.
DType compute_dtype(DType d) { return is_half(d) ? DType::Float32 : d; }

// Runs `args` into out; when the kernel's result dtype (args.out_dtype) differs from out's (a
// float16/bfloat16 result computed in float32), through a float32 buffer and one rounding cast.
void run_rounded(const EwArgs& args, const Tensor& out, const Tensor* const* ins, int nin, const char* name) {
  if (args.out_dtype == out.dtype()) {
    run_iter(args, out, ins, nin);
    return;
  }
  Tensor tmp = Tensor::empty(out.shape(), args.out_dtype, out.device(), name);
  run_iter(args, tmp, ins, nin);
  const Tensor* src[1] = {&tmp};
  run_iter(EwArgs{EwOp::Cast, args.out_dtype, out.dtype(), 0, 0}, out, src, 1);
}

// True when some element of t (any strides) compares `op` to 0, e.g. a zero divisor.
bool any_vs_zero(EwOp op, const Tensor& t, const char* name) {
  EwOperand zero;
  zero.t = Tensor::empty({}, DType::Int64, t.device(), name);
  *zero.t.data<int64_t>() = 0;
  zero.python_scalar = true;
  Tensor hit = ew_binary(op, EwOperand{t, false}, zero, name);
  const bool* p = hit.data<bool>();  // fresh and contiguous
  for (int64_t i = 0, n = hit.numel(); i < n; ++i)
    if (p[i]) return true;
  return false;
}

}  // namespace

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  const bool fa = is_float_kind(a), fb = is_float_kind(b);
  if (fa && fb) {
    if (a == DType::Float64 || b == DType::Float64) return DType::Float64;
    return DType::Float32;  // float32 with a half type, or float16 with bfloat16
  }
  if (fa) return a;
  if (fb) return b;
  if (a == DType::UInt8 || b == DType::UInt8) {  // uint8 with a signed integer
    const DType s = a == DType::UInt8 ? b : a;
    return s == DType::Int8 ? DType::Int16 : s;
  }
  return itemsize(a) >= itemsize(b) ? a : b;
}

DType ew_result_type(const EwOperand& a, const EwOperand& b) {
  // The three tiers of c10's ResultTypeState: dimensioned tensors, 0-d tensors, scalars.
  bool has[3] = {false, false, false};
  DType res[3] = {DType::Bool, DType::Bool, DType::Bool};
  for (const EwOperand* o : {&a, &b}) {
    const DType d = o->t.dtype();
    const int tier = o->python_scalar ? 2 : o->t.ndim() == 0 ? 1 : 0;
    const DType cur = tier == 2 ? default_for(category(d)) : d;
    res[tier] = has[tier] ? promote_types(res[tier], cur) : cur;
    has[tier] = true;
  }
  const DType low = combine_categories(has[1], res[1], has[2], res[2]);
  return combine_categories(has[0], res[0], has[1] || has[2], low);
}

Tensor ew_cast(const Tensor& x, DType to, const char* name) {
  if (x.dtype() == to) return x;
  check_cpu(x, name);
  Tensor out = Tensor::empty(x.shape(), to, x.device(), name);
  const Tensor* ins[1] = {&x};
  run_iter(EwArgs{EwOp::Cast, x.dtype(), to, 0, 0}, out, ins, 1);
  return out;
}

Tensor ew_binary(EwOp op, const EwOperand& a, const EwOperand& b, const char* name) {
  const Tensor* ts[2] = {&a.t, &b.t};
  check_devices(ts, 2, name);
  DType dt = ew_result_type(a, b);
  const bool is_cmp = is_compare(op);
  if (op == EwOp::Div && !is_float_kind(dt)) dt = DType::Float32;  // true division, like torch
  if (dt == DType::Bool && (op == EwOp::Sub || op == EwOp::Pow || op == EwOp::Div || is_division(op)))
    fail(ErrorKind::Type, name, "not supported for two bool operands (got bool and bool)");
  if (is_bitwise(op) && is_float_kind(dt))
    fail(ErrorKind::Type, name, "expected integer or bool operands, got ", dtype_name(a.t.dtype()), " and ",
         dtype_name(b.t.dtype()), " (the result would be ", dtype_name(dt), ")");
  if (op >= EwOp::NegBackward && op <= EwOp::SoftplusBackward) {
    require_float(a.t.dtype(), name, "grad");
    require_float(b.t.dtype(), name, "input");
  }
  const Shape shape = broadcast_shapes(ts, 2, name);
  checked_numel(shape, name);
  Tensor out = Tensor::empty(shape, is_cmp ? DType::Bool : dt, a.t.device(), name);
  if (out.numel() == 0) return out;
  const DType cdt = compute_dtype(dt);
  Tensor ca = ew_cast(a.t, cdt, name), cb = ew_cast(b.t, cdt, name);
  if (is_integer(cdt) && op == EwOp::Pow && any_vs_zero(EwOp::Lt, cb, name))
    fail(ErrorKind::Value, name, "integers to negative integer powers are not allowed (convert to float first)");
  if (is_integer(cdt) && is_division(op) && any_vs_zero(EwOp::Eq, cb, name))
    fail(ErrorKind::Runtime, name, "integer division by zero (ZeroDivisionError)");
  const Tensor* ins[2] = {&ca, &cb};
  run_rounded(EwArgs{op, cdt, is_cmp ? DType::Bool : cdt, 0, 0}, out, ins, 2, name);
  return out;
}

Tensor ew_unary(EwOp op, const Tensor& x, const char* name, double p0, double p1) {
  DL_CHECK(is_unary(op) && op != EwOp::Cast, Value, name, "not a unary op");
  check_cpu(x, name);
  DType dt = x.dtype();
  if (op == EwOp::Neg || op == EwOp::Abs || op == EwOp::Relu) {
    DL_CHECK(dt != DType::Bool, Type, name, "expected a floating or integer input, got bool");
  } else if (op == EwOp::BitNot) {
    DL_CHECK(!is_float_kind(dt), Type, name, "expected an integer or bool input, got ", dtype_name(dt));
  } else if (!is_float_kind(dt)) {
    dt = DType::Float32;  // like torch: exp(int tensor) is float32
  }
  Tensor out = Tensor::empty(x.shape(), dt, x.device(), name);
  if (out.numel() == 0) return out;
  const DType cdt = compute_dtype(dt);
  Tensor cx = ew_cast(x, cdt, name);
  const Tensor* ins[1] = {&cx};
  run_rounded(EwArgs{op, cdt, cdt, p0, p1}, out, ins, 1, name);
  return out;
}

Tensor ew_unary_backward(EwOp op, const Tensor& grad, const Tensor& x, const char* name, double p0,
                         double p1) {
  DL_CHECK(op >= EwOp::NegBackward && op <= EwOp::SoftplusBackward, Value, name, "not a backward op");
  const Tensor* ts[2] = {&grad, &x};
  check_devices(ts, 2, name);
  require_float(grad.dtype(), name, "grad");
  require_float(x.dtype(), name, "input");
  const DType dt = promote_types(grad.dtype(), x.dtype());
  const Shape shape = broadcast_shapes(ts, 2, name);
  checked_numel(shape, name);
  Tensor out = Tensor::empty(shape, dt, grad.device(), name);
  if (out.numel() == 0) return out;
  Tensor cg = ew_cast(grad, dt, name), cx = ew_cast(x, dt, name);
  const Tensor* ins[2] = {&cg, &cx};
  run_iter(EwArgs{op, dt, dt, p0, p1}, out, ins, 2);
  return out;
}

Tensor ew_where(const Tensor& cond, const EwOperand& a, const EwOperand& b) {
  const char* name = "where";
  const Tensor* ts[3] = {&cond, &a.t, &b.t};
  check_devices(ts, 3, name);
  DL_CHECK(cond.dtype() == DType::Bool, Type, name, "expected a bool condition, got ", dtype_name(cond.dtype()));
  const DType dt = ew_result_type(a, b);
  const Shape shape = broadcast_shapes(ts, 3, name);
  checked_numel(shape, name);
  Tensor out = Tensor::empty(shape, dt, cond.device(), name);
  if (out.numel() == 0) return out;
  Tensor ca = ew_cast(a.t, dt, name), cb = ew_cast(b.t, dt, name);  // the select moves bits: any dtype
  const Tensor* ins[3] = {&cond, &ca, &cb};
  run_iter(EwArgs{EwOp::Where, dt, dt, 0, 0}, out, ins, 3);
  return out;
}

std::pair<Tensor, Tensor> ew_pow_backward(const Tensor& grad, const EwOperand& a, const EwOperand& b) {
  const char* name = "pow_backward";
  const Tensor* ts[3] = {&grad, &a.t, &b.t};
  check_devices(ts, 3, name);
  require_float(grad.dtype(), name, "grad");
  DType dt = ew_result_type(a, b);
  if (!is_floating(dt)) dt = DType::Float32;  // integer and half operands: float32
  dt = promote_types(dt, grad.dtype());
  const Shape shape = broadcast_shapes(ts, 3, name);
  checked_numel(shape, name);
  Tensor ga = Tensor::empty(shape, dt, grad.device(), name);
  Tensor gb = Tensor::empty(shape, dt, grad.device(), name);
  if (ga.numel() == 0) return {ga, gb};
  Tensor cg = ew_cast(grad, dt, name), ca = ew_cast(a.t, dt, name), cb = ew_cast(b.t, dt, name);
  const Tensor* ins[3] = {&cg, &ca, &cb};
  run_iter(EwArgs{EwOp::PowBackwardA, dt, dt, 0, 0}, ga, ins, 3);
  run_iter(EwArgs{EwOp::PowBackwardB, dt, dt, 0, 0}, gb, ins, 3);
  return {ga, gb};
}

}  // namespace dl

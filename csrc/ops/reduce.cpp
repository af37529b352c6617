// Device-independent entries of the reductions: axis validation, the canonical (outer, red,
// inner) view, output allocation and dispatch.  Kernels: reduce_cpu.cpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include "dispatch/registry.h"
#include "ops/reduce.h"

namespace dl {
namespace {

std::string axes_str(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

// mask[d] is true for reduced axes.  A 0-d tensor accepts axis 0 / -1 (like torch) and reduces nothing.
std::vector<bool> reduced_mask(int64_t nd, const AxisSpec& spec, const char* op) {
  std::vector<bool> mask(static_cast<size_t>(nd), spec.all);
  if (spec.all) return mask;
  const int64_t lo = nd == 0 ? -1 : -nd, hi = nd == 0 ? 0 : nd - 1;
  for (int64_t ax : spec.axes) {
    DL_CHECK(ax >= lo && ax <= hi, Value, op, "axis ", ax, " is out of range for a tensor of ", nd,
             " dimension(s)");
    if (nd == 0) continue;
    const int64_t a = ax < 0 ? ax + nd : ax;
    DL_CHECK(!mask[static_cast<size_t>(a)], Value, op, "duplicate axis ", ax, " in ", axes_str(spec.axes));
    mask[static_cast<size_t>(a)] = true;
  }
  return mask;
}

Shape out_shape_of(const Shape& in, const std::vector<bool>& mask, bool keepdims) {
  Shape s;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!mask[d])
      s.push_back(in[d]);
    else if (keepdims)
      s.push_back(1);
  }
  return s;
}

struct Canon {
  Tensor x;  // the tensor the strides refer to (the input, or a contiguous copy)
  int64_t outer = 1, red = 1, inner = 1, so = 0, sr = 1, si = 0;
};

struct Dim {
  int64_t size, stride;
};

std::vector<Dim> merged(const Tensor& x, const std::vector<bool>& mask, bool want_reduced) {
  std::vector<Dim> v;
  for (int64_t d = 0; d < x.ndim(); ++d) {
    if (mask[static_cast<size_t>(d)] != want_reduced || x.size(d) == 1) continue;
    if (!v.empty() && v.back().stride == x.stride(d) * x.size(d)) {
      v.back().size *= x.size(d);
      v.back().stride = x.stride(d);
    } else {
      v.push_back({x.size(d), x.stride(d)});
    }
  }
  return v;
}

// Brings x to the kernels' canonical form; copies only when the kept axes do not collapse into
// two strided dims or the reduced axes into one (then it permutes to kept..., reduced...).
Canon canonicalize(const Tensor& x, const std::vector<bool>& mask, int64_t n_out) {
  Canon c;
  c.x = x;
  int64_t R = 1;
  for (int64_t d = 0; d < x.ndim(); ++d)
    if (mask[static_cast<size_t>(d)]) R *= x.size(d);
  if (R == 0) {  // nothing to read
    c.outer = n_out;
    c.red = 0;
    return c;
  }
  std::vector<Dim> kept = merged(x, mask, false), red = merged(x, mask, true);
  if (kept.size() > 2 || red.size() > 1) {
    Shape perm_shape, perm_strides;
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t d = 0; d < x.ndim(); ++d)
        if (mask[static_cast<size_t>(d)] == (pass == 1)) {
          perm_shape.push_back(x.size(d));
          perm_strides.push_back(x.stride(d));
        }
    c.x = x.view(perm_shape, perm_strides, x.offset()).contiguous();
    c.outer = n_out;
    c.so = R;
    c.red = R;
    c.sr = 1;
    return c;
  }
  if (!red.empty()) {
    c.red = red[0].size;
    c.sr = red[0].stride;
  }
  if (kept.size() == 2) {
    c.outer = kept[0].size;
    c.so = kept[0].stride;
    c.inner = kept[1].size;
    c.si = kept[1].stride;
  } else if (kept.size() == 1) {
    if (kept[0].stride == 1 && c.sr != 1 && c.red > 1) {
      c.inner = kept[0].size;
      c.si = 1;
    } else {
      c.outer = kept[0].size;
      c.so = kept[0].stride;
    }
  }
  return c;
}

void run_reduce(const Canon& c, ReduceKind kind, double divisor, const void* center, void* out, int64_t* idx) {
  if (c.outer * c.inner == 0) return;
  Tensor work;
  if (c.red > kReduceRowChunk) {
    const int64_t chunks = (c.red + kReduceRowChunk - 1) / kReduceRowChunk;
    work = Tensor::empty({c.outer * c.inner * chunks * 2}, DType::Float64, c.x.device(), "reduce");
  }
  ReduceArgs a{c.x.raw_data(), c.x.dtype(), out, idx, center, c.outer, c.red, c.inner, c.so, c.sr, c.si,
               kind, divisor, work.defined() ? work.raw_data() : nullptr};
  DL_OP(ReduceFn, "reduce").get(c.x.device())(a);
}

void check_float(const Tensor& x, const char* op) {
  DL_CHECK(is_floating(x.dtype()), Type, op, "expected a float32 or float64 tensor, got ", dtype_name(x.dtype()));
}

void check_ordered(const Tensor& x, const char* op) {
  // The kernels cover float32/float64/int64 (and bool sums): the narrow types are refused, not misread.
  DL_CHECK(is_floating(x.dtype()) || x.dtype() == DType::Int64, Type, op,
           "expected a float32, float64 or int64 tensor, got ", dtype_name(x.dtype()),
           " (convert with .long() or .float() first)");
}

int64_t reduced_count(const Tensor& x, const std::vector<bool>& mask) {
  int64_t R = 1;
  for (int64_t d = 0; d < x.ndim(); ++d)
    if (mask[static_cast<size_t>(d)]) R *= x.size(d);
  return R;
}

Tensor reduce_values(const Tensor& x, const AxisSpec& axis, bool keepdims, ReduceKind kind, const char* op) {
  check_cpu(x, op);
  const auto mask = reduced_mask(x.ndim(), axis, op);
  const Shape oshape = out_shape_of(x.shape(), mask, keepdims);
  const bool int_sum = kind == ReduceKind::Sum && !is_floating(x.dtype());
  Tensor out = Tensor::empty(oshape, int_sum ? DType::Int64 : x.dtype(), x.device(), op);
  const int64_t n_out = out.numel();
  if (kind == ReduceKind::Max || kind == ReduceKind::Min)
    DL_CHECK(reduced_count(x, mask) > 0 || n_out == 0, Value, op, "cannot reduce over an empty axis (input shape ",
             shape_str(x.shape()), ") because the operation has no identity");
  const Canon c = canonicalize(x, mask, n_out);
  run_reduce(c, kind, 1.0, nullptr, out.raw_data(), nullptr);
  return out;
}

Tensor mean_impl(const Tensor& x, const std::vector<bool>& mask, bool keepdims, const char* op) {
  const Shape oshape = out_shape_of(x.shape(), mask, keepdims);
  Tensor out = Tensor::empty(oshape, x.dtype(), x.device(), op);
  const Canon c = canonicalize(x, mask, out.numel());
  run_reduce(c, ReduceKind::Sum, static_cast<double>(reduced_count(x, mask)), nullptr, out.raw_data(), nullptr);
  return out;
}

Tensor arg_impl(const Tensor& x, const AxisSpec& axis, bool keepdims, bool is_min, const char* op, Tensor* values) {
  check_cpu(x, op);
  check_ordered(x, op);
  DL_CHECK(axis.all || axis.axes.size() == 1, Value, op, "expected axis=None or a single axis, got ",
           axes_str(axis.axes));
  const auto mask = reduced_mask(x.ndim(), axis, op);
  const Shape oshape = out_shape_of(x.shape(), mask, keepdims);
  Tensor idx = Tensor::empty(oshape, DType::Int64, x.device(), op);
  DL_CHECK(reduced_count(x, mask) > 0 || idx.numel() == 0, Value, op,
           "cannot reduce over an empty axis (input shape ", shape_str(x.shape()), ")");
  if (values) *values = Tensor::empty(oshape, x.dtype(), x.device(), op);
  const Canon c = canonicalize(x, mask, idx.numel());
  run_reduce(c, is_min ? ReduceKind::ArgMin : ReduceKind::ArgMax, 1.0, nullptr,
             values ? values->raw_data() : nullptr, idx.data<int64_t>());
  return idx;
}

// Coalesces the index space of out (contiguous, `shape`) with the strides of up to three
// operands and fills the kernel's fixed arrays.
void fill_broadcast(ReduceBroadcastArgs& a, const Shape& shape, const Shape& sa, const Shape& sb, const Shape& sc,
                    const char* op) {
  Shape s2, a2, b2, c2, so2;
  const Shape so = contiguous_strides(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!s2.empty() && so2.back() == so[d] * shape[d] && a2.back() == sa[d] * shape[d] &&
        b2.back() == sb[d] * shape[d] && c2.back() == sc[d] * shape[d]) {
      s2.back() *= shape[d];
      so2.back() = so[d];
      a2.back() = sa[d];
      b2.back() = sb[d];
      c2.back() = sc[d];
    } else {
      s2.push_back(shape[d]);
      so2.push_back(so[d]);
      a2.push_back(sa[d]);
      b2.push_back(sb[d]);
      c2.push_back(sc[d]);
    }
  }
  DL_CHECK(s2.size() <= static_cast<size_t>(kReduceMaxDims), Value, op, "at most ", kReduceMaxDims,
           " non-trivial dimensions are supported, got ", s2.size());
  a.ndim = static_cast<int32_t>(s2.size());
  for (size_t d = 0; d < s2.size(); ++d) {
    a.shape[d] = s2[d];
    a.sa[d] = a2[d];
    a.sb[d] = b2[d];
    a.sc[d] = c2[d];
  }
}

// Strides that broadcast a reduction result of shape `gshape` (keepdims or not) over `in`.
Shape broadcast_strides(const Tensor& g, const Shape& in, const std::vector<bool>& mask, bool keepdims,
                        const char* op) {
  const Shape expect = out_shape_of(in, mask, keepdims);
  DL_CHECK(g.shape() == expect, Value, op, "expected grad of shape ", shape_str(expect), ", got ",
           shape_str(g.shape()));
  Shape st(in.size(), 0);
  int64_t k = 0;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!mask[d]) {
      st[d] = g.stride(k++);
    } else if (keepdims) {
      ++k;
    }
  }
  return st;
}

}  // namespace

Tensor reduce_sum(const Tensor& x, const AxisSpec& axis, bool keepdims) {
  if (x.dtype() != DType::Bool) check_ordered(x, "sum");
  return reduce_values(x, axis, keepdims, ReduceKind::Sum, "sum");
}

Tensor reduce_mean(const Tensor& x, const AxisSpec& axis, bool keepdims) {
  check_cpu(x, "mean");
  check_float(x, "mean");
  return mean_impl(x, reduced_mask(x.ndim(), axis, "mean"), keepdims, "mean");
}

Tensor reduce_var(const Tensor& x, const AxisSpec& axis, double correction, bool keepdims) {
  const char* op = "var";
  check_cpu(x, op);
  check_float(x, op);
  DL_CHECK(std::isfinite(correction) && correction >= 0, Value, op, "expected correction >= 0, got ", correction);
  const auto mask = reduced_mask(x.ndim(), axis, op);
  Tensor mean = mean_impl(x, mask, keepdims, op);
  Tensor out = Tensor::empty(mean.shape(), x.dtype(), x.device(), op);
  const double R = static_cast<double>(reduced_count(x, mask));
  const Canon c = canonicalize(x, mask, out.numel());
  run_reduce(c, ReduceKind::SumSqDev, std::max(R - correction, 0.0), mean.raw_data(), out.raw_data(), nullptr);
  return out;
}

Tensor reduce_max(const Tensor& x, const AxisSpec& axis, bool keepdims) {
  check_ordered(x, "max");
  return reduce_values(x, axis, keepdims, ReduceKind::Max, "max");
}

Tensor reduce_min(const Tensor& x, const AxisSpec& axis, bool keepdims) {
  check_ordered(x, "min");
  return reduce_values(x, axis, keepdims, ReduceKind::Min, "min");
}

Tensor reduce_argmax(const Tensor& x, const AxisSpec& axis, bool keepdims) {
  return arg_impl(x, axis, keepdims, false, "argmax", nullptr);
}

Tensor reduce_argmin(const Tensor& x, const AxisSpec& axis, bool keepdims) {
  return arg_impl(x, axis, keepdims, true, "argmin", nullptr);
}

std::pair<Tensor, Tensor> reduce_max_with_indices(const Tensor& x, int64_t axis, bool keepdims, bool is_min) {
  const char* op = is_min ? "min_with_indices" : "max_with_indices";
  AxisSpec spec;
  spec.all = false;
  spec.axes = {axis};
  Tensor values;
  Tensor idx = arg_impl(x, spec, keepdims, is_min, op, &values);
  return {values, idx};
}

Tensor reduce_sum_backward(const Tensor& grad, const Shape& input_shape, const AxisSpec& axis, bool keepdims,
                           bool mean) {
  const char* op = mean ? "mean_backward" : "sum_backward";
  check_cpu(grad, op);
  check_float(grad, op);
  checked_numel(input_shape, op);
  const auto mask = reduced_mask(static_cast<int64_t>(input_shape.size()), axis, op);
  const Shape sg = broadcast_strides(grad, input_shape, mask, keepdims, op);
  int64_t R = 1;
  for (size_t d = 0; d < input_shape.size(); ++d)
    if (mask[d]) R *= input_shape[d];
  Tensor out = Tensor::empty(input_shape, grad.dtype(), grad.device(), op);
  if (out.numel() == 0) return out;
  ReduceBroadcastArgs a{};
  a.a = grad.raw_data();
  a.out = out.raw_data();
  a.dtype = grad.dtype();
  a.mode = 0;
  a.scale = mean ? 1.0 / static_cast<double>(R) : 1.0;
  fill_broadcast(a, input_shape, sg, sg, sg, op);
  DL_OP(ReduceBroadcastFn, "reduce_broadcast").get(grad.device())(a);
  return out;
}

Tensor reduce_var_backward(const Tensor& grad, const Tensor& x, const AxisSpec& axis, double correction,
                           bool keepdims) {
  const char* op = "var_backward";
  check_cpu(grad, op);
  check_cpu(x, op);
  check_float(x, op);
  DL_CHECK(grad.dtype() == x.dtype(), Type, op, "expected grad of dtype ", dtype_name(x.dtype()), ", got ",
           dtype_name(grad.dtype()));
  DL_CHECK(std::isfinite(correction) && correction >= 0, Value, op, "expected correction >= 0, got ", correction);
  const auto mask = reduced_mask(x.ndim(), axis, op);
  const Shape sg = broadcast_strides(grad, x.shape(), mask, keepdims, op);
  Tensor mean = mean_impl(x, mask, true, op);  // contiguous, keepdims shape
  Shape sm = contiguous_strides(mean.shape());
  for (size_t d = 0; d < sm.size(); ++d)
    if (mask[d]) sm[d] = 0;
  const double R = static_cast<double>(reduced_count(x, mask));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (out.numel() == 0) return out;
  ReduceBroadcastArgs a{};
  a.a = grad.raw_data();
  a.b = x.raw_data();
  a.c = mean.raw_data();
  a.out = out.raw_data();
  a.dtype = x.dtype();
  a.mode = 1;
  a.scale = 2.0 / std::max(R - correction, 0.0);
  fill_broadcast(a, x.shape(), sg, x.strides(), sm, op);
  DL_OP(ReduceBroadcastFn, "reduce_broadcast").get(x.device())(a);
  return out;
}

Tensor reduce_index_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape, int64_t axis,
                             bool keepdims, const char* op) {
  check_cpu(grad, op);
  check_cpu(indices, op);
  check_float(grad, op);
  DL_CHECK(indices.dtype() == DType::Int64, Type, op, "expected int64 indices, got ", dtype_name(indices.dtype()));
  checked_numel(input_shape, op);
  const int64_t nd = static_cast<int64_t>(input_shape.size());
  AxisSpec spec;
  spec.all = false;
  spec.axes = {axis};
  const auto mask = reduced_mask(nd, spec, op);
  const Shape expect = out_shape_of(input_shape, mask, keepdims);
  DL_CHECK(grad.shape() == expect, Value, op, "expected grad of shape ", shape_str(expect), ", got ",
           shape_str(grad.shape()));
  DL_CHECK(indices.shape() == expect, Value, op, "expected indices of shape ", shape_str(expect), ", got ",
           shape_str(indices.shape()));
  Tensor out = Tensor::zeros(input_shape, grad.dtype(), grad.device(), op);
  if (nd == 0) {
    if (out.numel() == 1) copy_into(out, grad.view({}, {}, grad.offset()), op);
    return out;
  }
  const int64_t ax = axis < 0 ? axis + nd : axis;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < ax; ++d) outer *= input_shape[static_cast<size_t>(d)];
  for (int64_t d = ax + 1; d < nd; ++d) inner *= input_shape[static_cast<size_t>(d)];
  const int64_t R = input_shape[static_cast<size_t>(ax)];
  const Tensor g = grad.contiguous(), ix = indices.contiguous();
  const int64_t* pi = ix.data<int64_t>();
  const int64_t n = outer * inner;
  for (int64_t k = 0; k < n; ++k)
    DL_CHECK(pi[k] >= 0 && pi[k] < R, Index, op, "index ", pi[k], " is out of range for an axis of size ", R);
  auto scatter = [&](auto* dst, const auto* src) {
    for (int64_t k = 0; k < n; ++k) {
      const int64_t o = k / inner, i = k % inner;
      dst[(o * R + pi[k]) * inner + i] += src[k];
    }
  };
  if (grad.dtype() == DType::Float32)
    scatter(out.data<float>(), g.data<float>());
  else
    scatter(out.data<double>(), g.data<double>());
  return out;
}

}  // namespace dl

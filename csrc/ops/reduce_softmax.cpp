// Entries of softmax, log_softmax, cross_entropy and nll_loss (validation, layout, dispatch).
// Kernels: reduce_softmax_cpu.cpp.
#include <cmath>

#include "dispatch/registry.h"
#include "ops/reduce.h"

namespace dl {
namespace {

struct Split {
  int64_t outer = 1, len = 1, inner = 1;
};

Split split_at(const Shape& s, int64_t axis, const char* op) {
  const int64_t nd = static_cast<int64_t>(s.size());
  const int64_t lo = nd == 0 ? -1 : -nd, hi = nd == 0 ? 0 : nd - 1;
  DL_CHECK(axis >= lo && axis <= hi, Value, op, "axis ", axis, " is out of range for a tensor of ", nd,
           " dimension(s)");
  Split r;
  if (nd == 0) return r;
  const int64_t ax = axis < 0 ? axis + nd : axis;
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t n = s[static_cast<size_t>(d)];
    if (d < ax) r.outer *= n;
    else if (d == ax) r.len = n;
    else r.inner *= n;
  }
  return r;
}

void check_float(const Tensor& x, const char* op, const char* what) {
  check_cpu(x, op);
  DL_CHECK(is_floating(x.dtype()), Type, op, "expected ", what, " of dtype float32 or float64, got ",
           dtype_name(x.dtype()));
}

// Validated loss arguments, with the class axis moved last: rows = N * d1 * ..., classes = C.
struct LossSetup {
  int64_t n = 1, classes = 1, spatial = 1, rows = 0;
  bool unbatched = false, probs = false;
  Shape target_shape;    // per-row loss shape (reduction='none')
  Tensor target;         // int64 (rows,) contiguous, or probabilities (rows, C) contiguous
  Tensor weight;         // contiguous (C,) or undefined
  double weight_total = 0;
};

// (N, C, D) contiguous-logical -> (N, D, C) contiguous (no copy when D == 1 and contiguous).
Tensor classes_last(const Tensor& t, int64_t n, int64_t c, int64_t d) {
  const Tensor x = t.contiguous();
  if (d == 1) return x.view({n, c}, {c, 1}, x.offset());
  return x.view({n, d, c}, {c * d, 1, d}, x.offset()).contiguous();
}

LossSetup setup_loss(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     bool allow_probs, const char* op, const char* input_name) {
  check_float(logits, op, input_name);
  check_cpu(target, op);
  LossSetup s;
  const Shape& ls = logits.shape();
  DL_CHECK(!ls.empty(), Value, op, "expected ", input_name, " of shape (C,), (N, C) or (N, C, d1, ...), got ",
           shape_str(ls));
  s.unbatched = ls.size() == 1;
  s.n = s.unbatched ? 1 : ls[0];
  s.classes = s.unbatched ? ls[0] : ls[1];
  for (size_t d = 2; d < ls.size(); ++d) s.spatial *= ls[d];
  s.rows = s.n * s.spatial;
  if (is_floating(target.dtype()) && allow_probs) {
    DL_CHECK(target.dtype() == logits.dtype(), Type, op, "expected probability target of dtype ",
             dtype_name(logits.dtype()), ", got ", dtype_name(target.dtype()));
    DL_CHECK(target.shape() == ls, Value, op, "expected probability target of shape ", shape_str(ls), ", got ",
             shape_str(target.shape()));
    s.probs = true;
  } else {
    DL_CHECK(target.dtype() == DType::Int64, Type, op, "expected target of dtype int64 (class indices)",
             allow_probs ? " or float (probabilities)" : "", ", got ", dtype_name(target.dtype()));
    Shape expect;
    if (!s.unbatched) {
      expect.push_back(s.n);
      expect.insert(expect.end(), ls.begin() + 2, ls.end());
    }
    DL_CHECK(target.shape() == expect, Value, op, "expected target of shape ", shape_str(expect), " for ",
             input_name, " of shape ", shape_str(ls), ", got ", shape_str(target.shape()));
  }
  if (!s.unbatched) {
    s.target_shape.push_back(s.n);
    s.target_shape.insert(s.target_shape.end(), ls.begin() + 2, ls.end());
  }
  if (weight.defined()) {
    check_cpu(weight, op);
    DL_CHECK(weight.dtype() == logits.dtype(), Type, op, "expected weight of dtype ", dtype_name(logits.dtype()),
             ", got ", dtype_name(weight.dtype()));
    DL_CHECK(weight.shape() == Shape{s.classes}, Value, op, "expected weight of shape (", s.classes, ",), got ",
             shape_str(weight.shape()));
    s.weight = weight.contiguous();
    for (int64_t c = 0; c < s.classes; ++c)
      s.weight_total += logits.dtype() == DType::Float32 ? s.weight.data<float>()[c] : s.weight.data<double>()[c];
  } else {
    s.weight_total = static_cast<double>(s.classes);
  }
  if (s.probs) {
    s.target = classes_last(target, s.n, s.classes, s.spatial);
  } else {
    s.target = target.contiguous();
    const int64_t* t = s.target.data<int64_t>();
    for (int64_t r = 0; r < s.rows; ++r)
      if (t[r] != ignore_index && (t[r] < 0 || t[r] >= s.classes))
        fail(ErrorKind::Index, op, "target ", t[r], " is out of range for ", s.classes, " classes");
  }
  return s;
}

// Denominator of reduction='mean': the weight of the non-ignored targets (their count without
// weights), or the number of rows for probability targets.
double mean_denominator(const LossSetup& s, int64_t ignore_index, DType dtype) {
  if (s.probs) return static_cast<double>(s.rows);
  const int64_t* t = s.target.data<int64_t>();
  double total = 0;
  for (int64_t r = 0; r < s.rows; ++r) {
    if (t[r] == ignore_index) continue;
    if (!s.weight.defined())
      total += 1;
    else
      total += dtype == DType::Float32 ? s.weight.data<float>()[t[r]] : s.weight.data<double>()[t[r]];
  }
  return total;
}

Tensor reduce_rows(const Tensor& per_row, const LossSetup& s, LossReduction red, double denom) {
  if (red == LossReduction::None) return per_row.view(s.target_shape, contiguous_strides(s.target_shape), 0);
  AxisSpec all;
  Tensor total = reduce_sum(per_row, all, false);
  if (red == LossReduction::Mean) {
    if (total.dtype() == DType::Float32)
      *total.data<float>() = static_cast<float>(*total.data<float>() / denom);
    else
      *total.data<double>() = *total.data<double>() / denom;
  }
  return total;
}

// Per-row upstream gradient: (pointer or null, scalar scale).
std::pair<Tensor, double> upstream(const Tensor& grad, const LossSetup& s, LossReduction red, double denom,
                                   DType dtype, const char* op) {
  check_cpu(grad, op);
  DL_CHECK(grad.dtype() == dtype, Type, op, "expected grad of dtype ", dtype_name(dtype), ", got ",
           dtype_name(grad.dtype()));
  if (red == LossReduction::None) {
    DL_CHECK(grad.shape() == s.target_shape, Value, op, "expected grad of shape ", shape_str(s.target_shape),
             ", got ", shape_str(grad.shape()));
    return {grad.contiguous(), 1.0};
  }
  DL_CHECK(grad.numel() == 1 && grad.ndim() == 0, Value, op, "expected a 0-d grad for reduction='",
           red == LossReduction::Mean ? "mean" : "sum", "', got shape ", shape_str(grad.shape()));
  const double g = dtype == DType::Float32 ? *grad.data<float>() : *grad.data<double>();
  return {Tensor(), red == LossReduction::Mean ? g / denom : g};
}

}  // namespace

LossReduction parse_loss_reduction(const std::string& s, const char* op) {
  if (s == "none") return LossReduction::None;
  if (s == "mean") return LossReduction::Mean;
  if (s == "sum") return LossReduction::Sum;
  fail(ErrorKind::Value, op, "expected reduction 'none', 'mean' or 'sum', got '", s, "'");
}

Tensor softmax(const Tensor& x, int64_t axis, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check_float(x, op, "input");
  const Split sp = split_at(x.shape(), axis, op);
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  DL_OP(SoftmaxFn, "softmax").get(x.device())(
      SoftmaxArgs{xc.raw_data(), out.raw_data(), x.dtype(), sp.outer, sp.len, sp.inner, log});
  return out;
}

Tensor softmax_backward(const Tensor& grad, const Tensor& out, int64_t axis, bool log) {
  const char* op = log ? "log_softmax_backward" : "softmax_backward";
  check_float(grad, op, "grad");
  check_float(out, op, "output");
  DL_CHECK(grad.dtype() == out.dtype(), Type, op, "expected grad and output of one dtype, got ",
           dtype_name(grad.dtype()), " and ", dtype_name(out.dtype()));
  DL_CHECK(grad.shape() == out.shape(), Value, op, "expected grad and output of one shape, got ",
           shape_str(grad.shape()), " and ", shape_str(out.shape()));
  const Split sp = split_at(out.shape(), axis, op);
  const Tensor g = grad.contiguous(), y = out.contiguous();
  Tensor gx = Tensor::empty(out.shape(), out.dtype(), out.device(), op);
  DL_OP(SoftmaxBackwardFn, "softmax_backward").get(out.device())(SoftmaxBackwardArgs{
      g.raw_data(), y.raw_data(), gx.raw_data(), out.dtype(), sp.outer, sp.len, sp.inner, log});
  return gx;
}

static void check_smoothing(double eps, const char* op) {
  DL_CHECK(eps >= 0.0 && eps <= 1.0, Value, op, "expected label_smoothing in [0, 1], got ", eps);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     LossReduction reduction, double label_smoothing) {
  const char* op = "cross_entropy";
  check_smoothing(label_smoothing, op);
  const LossSetup s = setup_loss(logits, target, weight, ignore_index, true, op, "logits");
  const Tensor x = classes_last(logits, s.n, s.classes, s.spatial);
  Tensor per_row = Tensor::empty({s.rows}, logits.dtype(), logits.device(), op);
  if (s.rows > 0 && s.classes > 0) {
    CrossEntropyArgs a{};
    a.logits = x.raw_data();
    a.dtype = logits.dtype();
    a.rows = s.rows;
    a.classes = s.classes;
    a.target = s.probs ? nullptr : s.target.data<int64_t>();
    a.probs = s.probs ? s.target.raw_data() : nullptr;
    a.weight = s.weight.defined() ? s.weight.raw_data() : nullptr;
    a.ignore_index = ignore_index;
    a.smoothing = label_smoothing;
    a.weight_total = s.weight_total;
    a.loss = per_row.raw_data();
    DL_OP(CrossEntropyFn, "cross_entropy").get(logits.device())(a);
  } else if (s.rows > 0) {
    fail(ErrorKind::Value, op, "expected at least one class, got logits of shape ", shape_str(logits.shape()));
  }
  const double denom = reduction == LossReduction::Mean ? mean_denominator(s, ignore_index, logits.dtype()) : 1.0;
  return reduce_rows(per_row, s, reduction, denom);
}

Tensor cross_entropy_backward(const Tensor& grad, const Tensor& logits, const Tensor& target, const Tensor& weight,
                              int64_t ignore_index, LossReduction reduction, double label_smoothing) {
  const char* op = "cross_entropy_backward";
  check_smoothing(label_smoothing, op);
  const LossSetup s = setup_loss(logits, target, weight, ignore_index, true, op, "logits");
  const double denom = reduction == LossReduction::Mean ? mean_denominator(s, ignore_index, logits.dtype()) : 1.0;
  const auto up = upstream(grad, s, reduction, denom, logits.dtype(), op);
  const Tensor x = classes_last(logits, s.n, s.classes, s.spatial);
  Tensor gx = Tensor::empty(logits.shape(), logits.dtype(), logits.device(), op);
  if (gx.numel() == 0) return gx;
  Tensor buf = s.spatial == 1 ? gx : Tensor::empty({s.n, s.spatial, s.classes}, logits.dtype(), logits.device(), op);
  CrossEntropyArgs a{};
  a.logits = x.raw_data();
  a.dtype = logits.dtype();
  a.rows = s.rows;
  a.classes = s.classes;
  a.target = s.probs ? nullptr : s.target.data<int64_t>();
  a.probs = s.probs ? s.target.raw_data() : nullptr;
  a.weight = s.weight.defined() ? s.weight.raw_data() : nullptr;
  a.ignore_index = ignore_index;
  a.smoothing = label_smoothing;
  a.weight_total = s.weight_total;
  a.grad = up.first.defined() ? up.first.raw_data() : nullptr;
  a.grad_scale = up.second;
  a.grad_logits = buf.raw_data();
  DL_OP(CrossEntropyFn, "cross_entropy").get(logits.device())(a);
  if (s.spatial != 1) {
    const int64_t C = s.classes, D = s.spatial;
    copy_into(gx.view({s.n, D, C}, {C * D, 1, D}, 0), buf, op);
  }
  return gx;
}

namespace {
template <class T>
void nll_rows(const LossSetup& s, const Tensor& x, int64_t ignore_index, T* loss, T* gx, const T* g, T gs) {
  const int64_t* t = s.target.data<int64_t>();
  const T* xp = x.data<T>();
  const T* w = s.weight.defined() ? s.weight.data<T>() : nullptr;
  const int64_t C = s.classes, D = s.spatial;
  for (int64_t r = 0; r < s.rows; ++r) {
    const int64_t n = r / D, d = r % D;
    if (t[r] == ignore_index) {
      if (loss) loss[r] = T(0);
      continue;
    }
    const T wt = w ? w[t[r]] : T(1);
    if (loss) loss[r] = -wt * xp[(n * C + t[r]) * D + d];
    if (gx) gx[(n * C + t[r]) * D + d] = -wt * (g ? g[r] * gs : gs);
  }
}
}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                LossReduction reduction) {
  const char* op = "nll_loss";
  const LossSetup s = setup_loss(log_probs, target, weight, ignore_index, false, op, "log_probs");
  const Tensor x = log_probs.contiguous();
  Tensor per_row = Tensor::empty({s.rows}, x.dtype(), x.device(), op);
  if (x.dtype() == DType::Float32)
    nll_rows<float>(s, x, ignore_index, per_row.data<float>(), nullptr, nullptr, 0.f);
  else
    nll_rows<double>(s, x, ignore_index, per_row.data<double>(), nullptr, nullptr, 0.0);
  const double denom = reduction == LossReduction::Mean ? mean_denominator(s, ignore_index, x.dtype()) : 1.0;
  return reduce_rows(per_row, s, reduction, denom);
}

Tensor nll_loss_backward(const Tensor& grad, const Tensor& log_probs, const Tensor& target, const Tensor& weight,
                         int64_t ignore_index, LossReduction reduction) {
  const char* op = "nll_loss_backward";
  const LossSetup s = setup_loss(log_probs, target, weight, ignore_index, false, op, "log_probs");
  const double denom = reduction == LossReduction::Mean ? mean_denominator(s, ignore_index, log_probs.dtype()) : 1.0;
  const auto up = upstream(grad, s, reduction, denom, log_probs.dtype(), op);
  Tensor gx = Tensor::zeros(log_probs.shape(), log_probs.dtype(), log_probs.device(), op);
  const Tensor x = log_probs.contiguous();
  if (x.dtype() == DType::Float32)
    nll_rows<float>(s, x, ignore_index, nullptr, gx.data<float>(),
                    up.first.defined() ? up.first.data<float>() : nullptr, static_cast<float>(up.second));
  else
    nll_rows<double>(s, x, ignore_index, nullptr, gx.data<double>(),
                     up.first.defined() ? up.first.data<double>() : nullptr, up.second);
  return gx;
}

}  // namespace dl

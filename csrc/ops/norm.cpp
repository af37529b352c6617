// Entries of batch_norm, layer_norm, group_norm, instance_norm and their backwards: validation,
// the canonical (channel or row) form, per-channel coefficients and running-statistics updates.
// Kernels: norm_cpu.cpp.
#include "ops/norm.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "dispatch/registry.h"

namespace dl {
namespace {

void check_input(const Tensor& x, const char* op, const char* what) {
  check_cpu(x, op);
  DL_CHECK(is_floating(x.dtype()), Type, op, "expected ", what, " of dtype float32 or float64, got ",
           dtype_name(x.dtype()));
}

// (N, C, S) of an (N, C, *) input.
struct Ncs {
  int64_t n = 0, c = 0, s = 1;
};

Ncs split_ncs(const Tensor& x, const char* op) {
  DL_CHECK(x.ndim() >= 2, Value, op, "expected input of shape (N, C, *) with at least 2 dims, got ",
           shape_str(x.shape()));
  Ncs r;
  r.n = x.size(0);
  r.c = x.size(1);
  for (int64_t d = 2; d < x.ndim(); ++d) r.s *= x.size(d);
  return r;
}

// An optional per-channel tensor (weight, bias, running stats, saved stats) of shape `shape`.
Tensor per_channel(const Tensor& t, const Shape& shape, DType dtype, const char* op, const char* what) {
  if (!t.defined()) return t;
  check_cpu(t, op);
  DL_CHECK(t.dtype() == dtype, Type, op, "expected ", what, " of dtype ", dtype_name(dtype), ", got ",
           dtype_name(t.dtype()));
  DL_CHECK(t.shape() == shape, Value, op, "expected ", what, " of shape ", shape_str(shape), ", got ",
           shape_str(t.shape()));
  return t.contiguous();
}

double at(const Tensor& t, int64_t i) {  // element i of a 1-D tensor, through its stride
  const int64_t o = i * t.stride(0);
  return t.dtype() == DType::Float32 ? static_cast<double>(t.data<float>()[o]) : t.data<double>()[o];
}

void put(const Tensor& t, int64_t i, double v) {
  const int64_t o = i * t.stride(0);
  if (t.dtype() == DType::Float32)
    t.data<float>()[o] = static_cast<float>(v);
  else
    t.data<double>()[o] = v;
}

Tensor from_doubles(const std::vector<double>& v, const Shape& shape, DType dtype, const char* op) {
  Tensor t = Tensor::empty(shape, dtype, cpu_device(), op);
  for (size_t i = 0; i < v.size(); ++i) put(t, static_cast<int64_t>(i), v[i]);
  return t;
}

std::vector<double> to_doubles(const Tensor& t) {
  const int64_t n = t.numel();
  std::vector<double> v(static_cast<size_t>(n));
  const Tensor c = t.contiguous();
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] =
        c.dtype() == DType::Float32 ? static_cast<double>(c.data<float>()[i]) : c.data<double>()[i];
  return v;
}

// The pair of running statistics: both or neither, writable (C,) of x's dtype.
void check_running(const Tensor& rm, const Tensor& rv, int64_t c, DType dtype, const char* op) {
  DL_CHECK(rm.defined() == rv.defined(), Value, op,
           "expected running_mean and running_var both given or both None, got only ",
           rm.defined() ? "running_mean" : "running_var");
  per_channel(rm, {c}, dtype, op, "running_mean");
  per_channel(rv, {c}, dtype, op, "running_var");
}

// out = (a - Ca) A + (b - Cb) B + D per channel (empty vectors: no centre / no b term).
void run_affine(const Tensor& a, const Tensor& b, const Tensor& out, const std::vector<double>& Ca,
                const std::vector<double>& A, const std::vector<double>& Cb, const std::vector<double>& B,
                const std::vector<double>& D, const Ncs& d) {
  if (out.numel() == 0) return;
  auto p = [](const std::vector<double>& v) { return v.empty() ? nullptr : v.data(); };
  DL_OP(ChannelAffineFn, "norm_channel_affine").get(out.device())(ChannelAffineArgs{
      a.raw_data(), b.defined() ? b.raw_data() : nullptr, out.raw_data(), p(Ca), A.data(), p(Cb), p(B), D.data(),
      out.dtype(), d.n, d.c, d.s});
}

// Running statistics after one batch: (1 - m) * old + m * new, per channel.
void update_running(const Tensor& rm, const Tensor& rv, const std::vector<double>& mean,
                    const std::vector<double>& unbiased_var, double momentum) {
  for (size_t c = 0; c < mean.size(); ++c) {
    const int64_t i = static_cast<int64_t>(c);
    put(rm, i, (1.0 - momentum) * at(rm, i) + momentum * mean[c]);
    put(rv, i, (1.0 - momentum) * at(rv, i) + momentum * unbiased_var[c]);
  }
}

// Rows per chunk of the row-form backward's parameter sums: about 64 chunks, from the sizes only.
int64_t chunk_rows(int64_t rows) { return rows <= 64 ? 1 : (rows + 63) / 64; }

NormOut rows_forward(const Tensor& x, int64_t rows, int64_t groups, int64_t cg, int64_t s, const Tensor& weight,
                     const Tensor& bias, double eps, const Shape& stat_shape, const char* op) {
  const Tensor xc = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  Tensor mean = Tensor::empty(stat_shape, x.dtype(), x.device(), op);
  Tensor rstd = Tensor::empty(stat_shape, x.dtype(), x.device(), op);
  if (rows > 0)
    DL_OP(RowNormFn, "norm_rows").get(x.device())(RowNormArgs{
        xc.raw_data(), y.raw_data(), mean.raw_data(), rstd.raw_data(), weight.defined() ? weight.raw_data() : nullptr,
        bias.defined() ? bias.raw_data() : nullptr, x.dtype(), rows, groups, cg, s, eps});
  return {y, mean, rstd};
}

NormGrads rows_backward(const Tensor& grad, const Tensor& x, int64_t rows, int64_t groups, int64_t cg, int64_t s,
                        const Tensor& mean, const Tensor& rstd, const Tensor& weight, const Shape& param_shape,
                        NormMask mask, const char* op) {
  const Tensor g = grad.contiguous(), xc = x.contiguous();
  const Tensor mc = mean.contiguous(), rc = rstd.contiguous();
  Tensor gx = mask.input ? Tensor::empty(x.shape(), x.dtype(), x.device(), op) : Tensor();
  Tensor gw = mask.weight ? Tensor::zeros(param_shape, x.dtype(), x.device(), op) : Tensor();
  Tensor gb = mask.bias ? Tensor::zeros(param_shape, x.dtype(), x.device(), op) : Tensor();
  if (rows == 0 || (!mask.input && !mask.weight && !mask.bias)) return {gx, gw, gb};
  const int64_t cr = chunk_rows(rows), chunks = (rows + cr - 1) / cr;
  Tensor work;
  if (mask.weight || mask.bias)
    work = Tensor::empty({chunks, 2, groups * cg}, DType::Float64, x.device(), op);
  DL_OP(RowNormBackwardFn, "norm_rows_backward").get(x.device())(RowNormBackwardArgs{
      g.raw_data(), xc.raw_data(), mc.raw_data(), rc.raw_data(), weight.defined() ? weight.raw_data() : nullptr,
      gx.defined() ? gx.raw_data() : nullptr, gw.defined() ? gw.raw_data() : nullptr,
      gb.defined() ? gb.raw_data() : nullptr, work.defined() ? work.data<double>() : nullptr, cr, x.dtype(), rows,
      groups, cg, s});
  return {gx, gw, gb};
}

void check_grad(const Tensor& grad, const Tensor& x, const char* op) {
  check_input(grad, op, "grad");
  DL_CHECK(grad.dtype() == x.dtype(), Type, op, "expected grad of dtype ", dtype_name(x.dtype()), ", got ",
           dtype_name(grad.dtype()));
  DL_CHECK(grad.shape() == x.shape(), Value, op, "expected grad of the input's shape ", shape_str(x.shape()),
           ", got ", shape_str(grad.shape()));
}

}  // namespace

NormOut batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                   const Tensor& bias, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  check_input(x, op, "input");
  const Ncs d = split_ncs(x, op);
  const Tensor w = per_channel(weight, {d.c}, x.dtype(), op, "weight");
  const Tensor b = per_channel(bias, {d.c}, x.dtype(), op, "bias");
  check_running(running_mean, running_var, d.c, x.dtype(), op);
  DL_CHECK(training || running_mean.defined(), Value, op,
           "expected running_mean and running_var in evaluation mode (training=False), got None");
  const int64_t M = d.n * d.s;
  DL_CHECK(!training || M != 1, Value, op, "expected more than 1 value per channel when training, got input of shape ",
           shape_str(x.shape()));
  std::vector<double> mean(static_cast<size_t>(d.c), 0.0), var(static_cast<size_t>(d.c), 0.0);
  const Tensor xc = x.contiguous();
  if (training) {
    if (M > 0)
      DL_OP(ChannelStatsFn, "norm_channel_stats").get(x.device())(ChannelStatsArgs{
          xc.raw_data(), nullptr, nullptr, x.dtype(), d.n, d.c, d.s, mean.data(), var.data()});
  } else {
    for (int64_t c = 0; c < d.c; ++c) {
      mean[static_cast<size_t>(c)] = at(running_mean, c);
      var[static_cast<size_t>(c)] = at(running_var, c);
    }
  }
  std::vector<double> rstd(mean.size()), A(mean.size()), D(mean.size());
  for (size_t c = 0; c < mean.size(); ++c) {
    rstd[c] = 1.0 / std::sqrt(var[c] + eps);
    A[c] = rstd[c] * (w.defined() ? at(w, static_cast<int64_t>(c)) : 1.0);
    D[c] = b.defined() ? at(b, static_cast<int64_t>(c)) : 0.0;
  }
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  run_affine(xc, Tensor(), y, mean, A, {}, {}, D, d);
  if (training && running_mean.defined() && M > 0) {
    std::vector<double> unbiased(var);
    for (double& v : unbiased) v *= static_cast<double>(M) / static_cast<double>(M - 1);
    update_running(running_mean, running_var, mean, unbiased, momentum);
  }
  return {y, from_doubles(mean, {d.c}, x.dtype(), op), from_doubles(rstd, {d.c}, x.dtype(), op)};
}

NormGrads batch_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& rstd, bool training, NormMask mask) {
  const char* op = "batch_norm_backward";
  check_input(x, op, "input");
  check_grad(grad, x, op);
  const Ncs d = split_ncs(x, op);
  const Tensor w = per_channel(weight, {d.c}, x.dtype(), op, "weight");
  DL_CHECK(mean.defined() && rstd.defined(), Value, op, "expected the saved mean and rstd, got None");
  const std::vector<double> mu = to_doubles(per_channel(mean, {d.c}, x.dtype(), op, "mean"));
  const std::vector<double> rs = to_doubles(per_channel(rstd, {d.c}, x.dtype(), op, "rstd"));
  const int64_t M = d.n * d.s;
  const Tensor g = grad.contiguous(), xc = x.contiguous();
  std::vector<double> sg(mu.size(), 0.0), sgd(mu.size(), 0.0);
  const bool sums = mask.weight || mask.bias || (mask.input && training);
  if (sums && M > 0)
    DL_OP(ChannelStatsFn, "norm_channel_stats").get(x.device())(ChannelStatsArgs{
        xc.raw_data(), g.raw_data(), mu.data(), x.dtype(), d.n, d.c, d.s, sg.data(), sgd.data()});
  Tensor gx, gw, gb;
  if (mask.input) {
    gx = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
    std::vector<double> A(mu.size()), B(mu.size(), 0.0), D(mu.size(), 0.0);
    for (size_t c = 0; c < mu.size(); ++c) {
      const double wr = rs[c] * (w.defined() ? at(w, static_cast<int64_t>(c)) : 1.0);
      A[c] = wr;
      if (training && M > 0) {  // gx = w r (g - sum(g)/M - xhat sum(g xhat)/M)
        B[c] = -wr * rs[c] * rs[c] * sgd[c] / static_cast<double>(M);
        D[c] = -wr * sg[c] / static_cast<double>(M);
      }
    }
    run_affine(g, training ? xc : Tensor(), gx, {}, A, mu, B, D, d);
  }
  if (mask.weight) {
    std::vector<double> v(mu.size());
    for (size_t c = 0; c < mu.size(); ++c) v[c] = sgd[c] * rs[c];
    gw = from_doubles(v, {d.c}, x.dtype(), op);
  }
  if (mask.bias) gb = from_doubles(sg, {d.c}, x.dtype(), op);
  return {gx, gw, gb};
}

NormOut layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                   double eps) {
  const char* op = "layer_norm";
  check_input(x, op, "input");
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  DL_CHECK(k >= 1, Value, op, "expected a non-empty normalized_shape, got ()");
  bool match = x.ndim() >= k;
  for (int64_t i = 0; match && i < k; ++i)
    match = x.size(x.ndim() - k + i) == normalized_shape[static_cast<size_t>(i)];
  DL_CHECK(match, Value, op, "expected input of shape (*, ", shape_str(normalized_shape).substr(1),
           " to match normalized_shape ", shape_str(normalized_shape), ", got ", shape_str(x.shape()));
  const Tensor w = per_channel(weight, normalized_shape, x.dtype(), op, "weight");
  const Tensor b = per_channel(bias, normalized_shape, x.dtype(), op, "bias");
  int64_t D = 1;
  for (int64_t v : normalized_shape) D *= v;
  Shape stat(x.shape().begin(), x.shape().end() - k);
  int64_t rows = 1;
  for (int64_t v : stat) rows *= v;
  if (D == 0) rows = 0;
  return rows_forward(x, rows, 1, D, 1, w, b, eps, stat, op);
}

NormGrads layer_norm_backward(const Tensor& grad, const Tensor& x, const Shape& normalized_shape,
                              const Tensor& mean, const Tensor& rstd, const Tensor& weight, NormMask mask) {
  const char* op = "layer_norm_backward";
  check_input(x, op, "input");
  check_grad(grad, x, op);
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  bool match = k >= 1 && x.ndim() >= k;
  for (int64_t i = 0; match && i < k; ++i)
    match = x.size(x.ndim() - k + i) == normalized_shape[static_cast<size_t>(i)];
  DL_CHECK(match, Value, op, "expected input of shape (*, ", shape_str(normalized_shape).substr(1),
           " to match normalized_shape ", shape_str(normalized_shape), ", got ", shape_str(x.shape()));
  const Tensor w = per_channel(weight, normalized_shape, x.dtype(), op, "weight");
  Shape stat(x.shape().begin(), x.shape().end() - k);
  DL_CHECK(mean.defined() && rstd.defined(), Value, op, "expected the saved mean and rstd, got None");
  per_channel(mean, stat, x.dtype(), op, "mean");
  per_channel(rstd, stat, x.dtype(), op, "rstd");
  int64_t D = 1, rows = 1;
  for (int64_t v : normalized_shape) D *= v;
  for (int64_t v : stat) rows *= v;
  if (D == 0) rows = 0;
  return rows_backward(grad, x, rows, 1, D, 1, mean, rstd, w, normalized_shape, mask, op);
}

NormOut group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, double eps,
                   const char* op) {
  check_input(x, op, "input");
  const Ncs d = split_ncs(x, op);
  DL_CHECK(groups > 0, Value, op, "expected num_groups > 0, got ", groups);
  DL_CHECK(d.c % groups == 0, Value, op, "expected num_channels (", d.c, ") divisible by num_groups (", groups,
           ")");
  const Tensor w = per_channel(weight, {d.c}, x.dtype(), op, "weight");
  const Tensor b = per_channel(bias, {d.c}, x.dtype(), op, "bias");
  const int64_t cg = d.c / groups;
  return rows_forward(x, cg * d.s == 0 ? 0 : d.n * groups, groups, cg, d.s, w, b, eps, {d.n, groups}, op);
}

NormGrads group_norm_backward(const Tensor& grad, const Tensor& x, int64_t groups, const Tensor& mean,
                              const Tensor& rstd, const Tensor& weight, NormMask mask, const char* op) {
  check_input(x, op, "input");
  check_grad(grad, x, op);
  const Ncs d = split_ncs(x, op);
  DL_CHECK(groups > 0 && d.c % groups == 0, Value, op, "expected num_channels (", d.c,
           ") divisible by num_groups (", groups, ")");
  const Tensor w = per_channel(weight, {d.c}, x.dtype(), op, "weight");
  DL_CHECK(mean.defined() && rstd.defined(), Value, op, "expected the saved mean and rstd, got None");
  per_channel(mean, {d.n, groups}, x.dtype(), op, "mean");
  per_channel(rstd, {d.n, groups}, x.dtype(), op, "rstd");
  const int64_t cg = d.c / groups;
  return rows_backward(grad, x, cg * d.s == 0 ? 0 : d.n * groups, groups, cg, d.s, mean, rstd, w, {d.c}, mask, op);
}

NormOut instance_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                      const Tensor& weight, const Tensor& bias, bool use_input_stats, double momentum, double eps) {
  const char* op = "instance_norm";
  check_input(x, op, "input");
  const Ncs d = split_ncs(x, op);
  check_running(running_mean, running_var, d.c, x.dtype(), op);
  if (!use_input_stats) {
    DL_CHECK(running_mean.defined(), Value, op,
             "expected running_mean and running_var when use_input_stats=False, got None");
    try {
      return batch_norm(x, running_mean, running_var, weight, bias, false, momentum, eps);
    } catch (const Error& e) {  // re-raised under this op's name
      fail(e.kind(), op, std::string(e.what()).substr(std::string("batch_norm: ").size()));
    }
  }
  DL_CHECK(d.s != 1, Value, op, "expected more than 1 spatial element when training, got input of shape ",
           shape_str(x.shape()));
  NormOut out = group_norm(x, d.c, weight, bias, eps, op);
  if (running_mean.defined() && d.n > 0 && d.s > 1) {
    // torch: the batch's instances update copies of the running stats; their mean is kept.
    const std::vector<double> m = to_doubles(std::get<1>(out)), r = to_doubles(std::get<2>(out));
    std::vector<double> bm(static_cast<size_t>(d.c), 0.0), bv(static_cast<size_t>(d.c), 0.0);
    const double unbias = static_cast<double>(d.s) / static_cast<double>(d.s - 1);
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t c = 0; c < d.c; ++c) {
        const size_t i = static_cast<size_t>(n * d.c + c);
        bm[static_cast<size_t>(c)] += m[i] / static_cast<double>(d.n);
        bv[static_cast<size_t>(c)] += (1.0 / (r[i] * r[i]) - eps) * unbias / static_cast<double>(d.n);
      }
    update_running(running_mean, running_var, bm, bv, momentum);
  }
  return out;
}

NormGrads instance_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                 const Tensor& rstd, bool use_input_stats, NormMask mask) {
  const char* op = "instance_norm_backward";
  check_input(x, op, "input");
  const Ncs d = split_ncs(x, op);
  if (!use_input_stats) {
    try {
      return batch_norm_backward(grad, x, weight, mean, rstd, false, mask);
    } catch (const Error& e) {  // re-raised under this op's name
      fail(e.kind(), op, std::string(e.what()).substr(std::string("batch_norm_backward: ").size()));
    }
  }
  return group_norm_backward(grad, x, d.c, mean, rstd, weight, mask, op);
}

double stream_triad_gbs(int64_t n, int64_t reps) {
  const char* op = "stream_triad";
  DL_CHECK(n > 0 && reps > 0, Value, op, "expected n > 0 and reps > 0, got ", n, " and ", reps);
  Tensor a = Tensor::zeros({n}, DType::Float32, cpu_device(), op), b = Tensor::zeros({n}, DType::Float32, cpu_device(), op);
  Tensor c = Tensor::zeros({n}, DType::Float32, cpu_device(), op);
  const auto fn = DL_OP(TriadFn, "norm_triad").get(cpu_device());
  const TriadArgs args{a.data<float>(), b.data<float>(), c.data<float>(), 3.0f, n};
  fn(args);  // first touch
  double best = 1e300;
  for (int64_t r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn(args);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 12.0 * static_cast<double>(n) / best / 1e9;
}

}  // namespace dl

// Entries of the pool family (validation, geometry, dispatch): max / average / adaptive pooling,
// max unpooling and upsampling.  Kernels: pool_cpu.cpp (window and adaptive pools, unpooling) and
// pool_upsample_cpu.cpp.  Checks and messages follow PyTorch's (pool2d_shape_check and friends).
#include <cmath>
#include <limits>
#include <string>

#include "core/kernel_log.h"
#include "dispatch/registry.h"
#include "ops/pool.h"

namespace dl {
namespace {

void check_float(const Tensor& t, const char* op, const char* what) {
  check_cpu(t, op);
  DL_CHECK(is_floating(t.dtype()), Type, op, "expected ", what, " of dtype float32 or float64, got ",
           dtype_name(t.dtype()));
}

void check_indices(const Tensor& t, const Shape& shape, const char* op) {
  check_cpu(t, op);
  DL_CHECK(t.dtype() == DType::Int64, Type, op, "expected indices of dtype int64, got ", dtype_name(t.dtype()));
  DL_CHECK(t.shape() == shape, Value, op, "expected indices of shape ", shape_str(shape), ", got ",
           shape_str(t.shape()));
}

// The input seen as planes of (H, W): (C, [H,] W) unbatched or (N, C, [H,] W); every size but
// the batch must be positive (PyTorch: "non-zero sizes except the batch").
struct Planes {
  int64_t planes = 0, H = 1, W = 1;
  Shape lead;  // (C,) or (N, C)
};

Planes planes_of(const Shape& s, int spatial, const char* op, const char* what = "input") {
  const int64_t nd = static_cast<int64_t>(s.size());
  DL_CHECK(nd == spatial + 1 || nd == spatial + 2, Value, op, "expected ", what, " of ", spatial + 1, " (unbatched) or ",
           spatial + 2, " dimensions, got shape ", shape_str(s));
  Planes p;
  p.planes = 1;
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t n = s[static_cast<size_t>(d)];
    const bool batch = nd == spatial + 2 && d == 0;
    DL_CHECK(batch || n > 0, Value, op, "expected ", what, " with non-zero sizes except the batch, got shape ",
             shape_str(s));
    if (d < nd - spatial) {
      p.planes *= n;
      p.lead.push_back(n);
    }
  }
  p.W = s[static_cast<size_t>(nd - 1)];
  p.H = spatial == 2 ? s[static_cast<size_t>(nd - 2)] : 1;
  return p;
}

Shape out_shape(const Planes& p, int spatial, int64_t oh, int64_t ow) {
  Shape s = p.lead;
  if (spatial == 2) s.push_back(oh);
  s.push_back(ow);
  return s;
}

void check_window(const PoolWindow& w, const char* op) {
  DL_CHECK(w.kh > 0 && w.kw > 0, Value, op, "kernel size should be greater than zero, got (", w.kh, ", ", w.kw, ")");
  DL_CHECK(w.sh > 0 && w.sw > 0, Value, op, "stride should be greater than zero, got (", w.sh, ", ", w.sw, ")");
  DL_CHECK(w.dh > 0 && w.dw > 0, Value, op, "dilation should be greater than zero, got (", w.dh, ", ", w.dw, ")");
  DL_CHECK(w.ph >= 0 && w.pw >= 0, Value, op, "padding should be non-negative, got (", w.ph, ", ", w.pw, ")");
  DL_CHECK(w.ph <= w.kh / 2 && w.pw <= w.kw / 2, Value, op,
           "pad should be at most half of the kernel size, got padding (", w.ph, ", ", w.pw, ") for kernel size (",
           w.kh, ", ", w.kw, ")");
}

struct Geometry {
  Planes p;
  int64_t oh = 1, ow = 1;
};

Geometry window_geometry(const Shape& xs, const PoolWindow& w, int spatial, const char* op) {
  check_window(w, op);
  Geometry g;
  g.p = planes_of(xs, spatial, op);
  g.oh = pool_out_size(g.p.H, w.kh, w.sh, w.ph, w.dh, w.ceil_mode, op);
  g.ow = pool_out_size(g.p.W, w.kw, w.sw, w.pw, w.dw, w.ceil_mode, op);
  return g;
}

void check_grad(const Tensor& g, const Tensor& x, const Shape& want, const char* op) {
  check_float(g, op, "grad_output");
  DL_CHECK(g.dtype() == x.dtype(), Type, op, "expected grad_output of dtype ", dtype_name(x.dtype()), ", got ",
           dtype_name(g.dtype()));
  DL_CHECK(g.shape() == want, Value, op, "expected grad_output of shape ", shape_str(want), ", got ",
           shape_str(g.shape()));
}

// Kernels that read indices return the first plane holding one outside [0, limit) (or -1); the
// message names the first such index of that plane, whatever the thread count.
void check_bad_plane(int64_t bad_plane, const Tensor& idx, int64_t per_plane, int64_t limit, const char* op) {
  if (bad_plane < 0) return;
  const int64_t* v = idx.data<int64_t>() + bad_plane * per_plane;
  int64_t i = 0;
  while (i + 1 < per_plane && v[i] >= 0 && v[i] < limit) ++i;
  fail(ErrorKind::Index, op, "index ", v[i], " is out of range for a plane of ", limit, " elements");
}

// The one place the window pools choose how taps read a row: by the stride along W, unless a
// `with dlcore.force_algorithm(op, ...)` asks for another (ValueError if it cannot run).
PoolTaps choose_taps(const PoolWindow& w, const Device& device, const char* op) {
  static const char* const kNames[] = {"direct", "split", "strided"};
  PoolTaps t = w.sw == 1 ? PoolTaps::Direct : w.sw == 2 ? PoolTaps::Split : PoolTaps::Strided;
  if (const char* forced = forced_algorithm(op)) {
    const std::string f(forced);
    if (f == "strided") {
      t = PoolTaps::Strided;
    } else if (f == "direct" || f == "split") {
      const int64_t need = f == "direct" ? 1 : 2;
      DL_CHECK(w.sw == need, Value, op, "algorithm '", f, "' does not apply: it needs stride ", need,
               " along the width, got ", w.sw);
      t = f == "direct" ? PoolTaps::Direct : PoolTaps::Split;
    } else {
      fail(ErrorKind::Value, op, "algorithm '", f, "' does not apply: expected 'direct', 'split' or 'strided'");
    }
  }
  log_kernel(op, device.type, kNames[static_cast<int>(t)]);
  return t;
}

}  // namespace

int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode, const char* op) {
  DL_CHECK(k < (int64_t{1} << 31) && s < (int64_t{1} << 31) && d < (int64_t{1} << 31) && p < (int64_t{1} << 31),
           Value, op, "window parameters must be below 2^31");
  const int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  DL_CHECK(out >= 1, Value, op, "output size is too small: input size ", in, " with kernel ", k, ", stride ", s,
           ", padding ", p, ", dilation ", d, " gives ", out);
  return out;
}

std::pair<Tensor, Tensor> max_pool(const Tensor& x, const PoolWindow& w, int spatial, bool want_indices,
                                   const char* op) {
  check_float(x, op, "input");
  const Geometry g = window_geometry(x.shape(), w, spatial, op);
  const Shape os = out_shape(g.p, spatial, g.oh, g.ow);
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(os, x.dtype(), x.device(), op);
  Tensor idx = want_indices ? Tensor::empty(os, DType::Int64, x.device(), op) : Tensor();
  if (g.p.planes == 0) return {out, idx};
  const PoolTaps taps = choose_taps(w, x.device(), op);
  DL_OP(PoolFn, "max_pool").get(x.device())(PoolArgs{xc.raw_data(), out.raw_data(),
      want_indices ? idx.data<int64_t>() : nullptr, x.dtype(), g.p.planes, g.p.H, g.p.W, g.oh, g.ow, w, false, 0,
      taps});
  return {out, idx};
}

Tensor max_pool_backward(const Tensor& grad, const Tensor& x, const Tensor& indices, const PoolWindow& w, int spatial,
                         const char* op) {
  check_float(x, op, "input");
  const Geometry g = window_geometry(x.shape(), w, spatial, op);
  const Shape os = out_shape(g.p, spatial, g.oh, g.ow);
  check_grad(grad, x, os, op);
  check_indices(indices, os, op);
  Tensor gx = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (g.p.planes == 0) return gx;
  const Tensor gc = grad.contiguous(), ic = indices.contiguous();
  const int64_t bad = DL_OP(PoolBackwardFn, "max_pool_backward").get(x.device())(PoolBackwardArgs{
      gc.raw_data(), ic.data<int64_t>(), gx.raw_data(), x.dtype(), g.p.planes, g.p.H, g.p.W, g.oh, g.ow, w, false, 0,
      PoolTaps::Strided});
  check_bad_plane(bad, ic, g.oh * g.ow, g.p.H * g.p.W, op);
  return gx;
}

Tensor avg_pool(const Tensor& x, const PoolWindow& w, int spatial, bool count_include_pad, int64_t divisor_override,
                const char* op) {
  check_float(x, op, "input");
  const Geometry g = window_geometry(x.shape(), w, spatial, op);
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(out_shape(g.p, spatial, g.oh, g.ow), x.dtype(), x.device(), op);
  if (g.p.planes == 0) return out;
  const PoolTaps taps = choose_taps(w, x.device(), op);
  DL_OP(PoolFn, "avg_pool").get(x.device())(PoolArgs{xc.raw_data(), out.raw_data(), nullptr, x.dtype(), g.p.planes,
      g.p.H, g.p.W, g.oh, g.ow, w, count_include_pad, divisor_override, taps});
  return out;
}

Tensor avg_pool_backward(const Tensor& grad, const Tensor& x, const PoolWindow& w, int spatial, bool count_include_pad,
                         int64_t divisor_override, const char* op) {
  check_float(x, op, "input");
  const Geometry g = window_geometry(x.shape(), w, spatial, op);
  check_grad(grad, x, out_shape(g.p, spatial, g.oh, g.ow), op);
  Tensor gx = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (g.p.planes == 0) return gx;
  const Tensor gc = grad.contiguous();
  const PoolTaps taps = choose_taps(w, x.device(), op);
  DL_OP(PoolBackwardFn, "avg_pool_backward").get(x.device())(PoolBackwardArgs{gc.raw_data(), nullptr, gx.raw_data(),
      x.dtype(), g.p.planes, g.p.H, g.p.W, g.oh, g.ow, w, count_include_pad, divisor_override, taps});
  return gx;
}

std::pair<Tensor, Tensor> adaptive_pool(const Tensor& x, int64_t oh, int64_t ow, int spatial, bool is_max,
                                        bool want_indices, const char* op) {
  check_float(x, op, "input");
  const Planes p = planes_of(x.shape(), spatial, op);
  DL_CHECK(oh >= 1 && ow >= 1, Value, op, "expected an output size of at least 1, got (",
           spatial == 2 ? std::to_string(oh) + ", " : std::string(), ow, ")");
  const Shape os = out_shape(p, spatial, oh, ow);
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(os, x.dtype(), x.device(), op);
  Tensor idx = want_indices ? Tensor::empty(os, DType::Int64, x.device(), op) : Tensor();
  if (p.planes == 0) return {out, idx};
  PoolArgs a{xc.raw_data(), out.raw_data(), want_indices ? idx.data<int64_t>() : nullptr, x.dtype(), p.planes, p.H,
             p.W, oh, ow, PoolWindow{}, false, 0, PoolTaps::Strided};
  if (is_max)
    DL_OP(PoolFn, "adaptive_max_pool").get(x.device())(a);
  else
    DL_OP(PoolFn, "adaptive_avg_pool").get(x.device())(a);
  return {out, idx};
}

Tensor adaptive_pool_backward(const Tensor& grad, const Tensor& x, const Tensor& indices, int spatial, bool is_max,
                              const char* op) {
  check_float(x, op, "input");
  const Planes p = planes_of(x.shape(), spatial, op);
  check_float(grad, op, "grad_output");
  DL_CHECK(grad.ndim() == x.ndim(), Value, op, "expected grad_output of ", x.ndim(), " dimensions, got shape ",
           shape_str(grad.shape()));
  const int64_t oh = spatial == 2 ? grad.size(grad.ndim() - 2) : 1, ow = grad.size(grad.ndim() - 1);
  const Shape os = out_shape(p, spatial, oh, ow);
  check_grad(grad, x, os, op);
  DL_CHECK(oh >= 1 && ow >= 1, Value, op, "expected grad_output with an output size of at least 1, got shape ",
           shape_str(grad.shape()));
  if (is_max) check_indices(indices, os, op);
  Tensor gx = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (p.planes == 0) return gx;
  const Tensor gc = grad.contiguous(), ic = is_max ? indices.contiguous() : Tensor();
  PoolBackwardArgs a{gc.raw_data(), is_max ? ic.data<int64_t>() : nullptr, gx.raw_data(), x.dtype(), p.planes, p.H,
                     p.W, oh, ow, PoolWindow{}, false, 0, PoolTaps::Strided};
  // The max backward is the max pool's scatter through the indices.
  const int64_t bad = is_max ? DL_OP(PoolBackwardFn, "max_pool_backward").get(x.device())(a)
                              : DL_OP(PoolBackwardFn, "adaptive_avg_pool_backward").get(x.device())(a);
  check_bad_plane(bad, ic, oh * ow, p.H * p.W, op);
  return gx;
}

Tensor max_unpool(const Tensor& x, const Tensor& indices, int64_t oh, int64_t ow, const char* op) {
  check_float(x, op, "input");
  const Planes p = planes_of(x.shape(), 2, op);
  check_indices(indices, x.shape(), op);
  DL_CHECK(oh >= 1 && ow >= 1, Value, op, "expected an output size of at least 1, got (", oh, ", ", ow, ")");
  Tensor out = Tensor::empty(out_shape(p, 2, oh, ow), x.dtype(), x.device(), op);
  if (p.planes == 0) return out;
  const Tensor xc = x.contiguous(), ic = indices.contiguous();
  const int64_t bad = DL_OP(UnpoolFn, "max_unpool").get(x.device())(UnpoolArgs{
      xc.raw_data(), ic.data<int64_t>(), out.raw_data(), x.dtype(), p.planes, p.H * p.W, oh * ow, false});
  check_bad_plane(bad, ic, p.H * p.W, oh * ow, op);
  return out;
}

Tensor max_unpool_backward(const Tensor& grad, const Tensor& indices, const char* op) {
  check_float(grad, op, "grad_output");
  const Planes gp = planes_of(grad.shape(), 2, op, "grad_output");
  check_cpu(indices, op);
  DL_CHECK(indices.dtype() == DType::Int64, Type, op, "expected indices of dtype int64, got ",
           dtype_name(indices.dtype()));
  const Planes ip = planes_of(indices.shape(), 2, op, "indices");
  DL_CHECK(ip.lead == gp.lead, Value, op, "expected indices of shape ", shape_str(gp.lead), " + (H, W) like grad_output ",
           shape_str(grad.shape()), ", got ", shape_str(indices.shape()));
  Tensor gx = Tensor::empty(indices.shape(), grad.dtype(), grad.device(), op);
  if (gp.planes == 0) return gx;
  const Tensor gc = grad.contiguous(), ic = indices.contiguous();
  const int64_t bad = DL_OP(UnpoolFn, "max_unpool").get(grad.device())(UnpoolArgs{
      gc.raw_data(), ic.data<int64_t>(), gx.raw_data(), grad.dtype(), gp.planes, ip.H * ip.W, gp.H * gp.W, true});
  check_bad_plane(bad, ic, ip.H * ip.W, gp.H * gp.W, op);
  return gx;
}

// ---- upsampling ----------------------------------------------------------------------------------
namespace {

// PyTorch's per-axis source indices and weights (UpSample.h), computed in the precision PyTorch
// uses: float for the nearest modes whatever the dtype; the input's dtype for linear modes.
struct AxisTable {
  Tensor i0, i1, l0, l1;
};

float nearest_scale(double scale, int64_t in, int64_t out) {
  return scale > 0 ? static_cast<float>(1.0 / scale) : static_cast<float>(in) / static_cast<float>(out);
}

template <class T>
void linear_axis(int64_t in, int64_t out, double scale, bool align, int64_t* i0, int64_t* i1, T* l0, T* l1) {
  T sc;
  if (align)
    sc = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  else
    sc = scale > 0 ? static_cast<T>(1.0 / scale) : static_cast<T>(in) / static_cast<T>(out);
  for (int64_t o = 0; o < out; ++o) {
    T real = align ? sc * static_cast<T>(o) : sc * (static_cast<T>(o) + T(0.5)) - T(0.5);
    if (!align && real < 0) real = T(0);
    int64_t idx = static_cast<int64_t>(std::floor(real));
    if (idx > in - 1) idx = in - 1;
    T lam = real - static_cast<T>(idx);
    lam = lam < T(0) ? T(0) : lam > T(1) ? T(1) : lam;
    i0[o] = idx;
    i1[o] = idx + (idx < in - 1 ? 1 : 0);
    l0[o] = T(1) - lam;
    l1[o] = lam;
  }
}

AxisTable axis_table(int64_t in, int64_t out, double scale, UpsampleMode mode, bool align, DType dtype,
                     const char* op) {
  AxisTable t;
  t.i0 = Tensor::empty({out}, DType::Int64, cpu_device(), op);
  int64_t* i0 = t.i0.data<int64_t>();
  if (mode != UpsampleMode::Linear) {
    const float sc = nearest_scale(scale, in, out);
    for (int64_t o = 0; o < out; ++o) {
      int64_t src;
      if (mode == UpsampleMode::Nearest) {
        src = out == in ? o : out == 2 * in ? o >> 1 : static_cast<int64_t>(std::floor(static_cast<float>(o) * sc));
      } else {  // (o + 0.5) in double times the float scale, floored in float: PyTorch's arithmetic
        src = static_cast<int64_t>(std::floor(static_cast<float>((static_cast<double>(o) + 0.5) * sc)));
      }
      i0[o] = src < in - 1 ? src : in - 1;
    }
    return t;
  }
  t.i1 = Tensor::empty({out}, DType::Int64, cpu_device(), op);
  t.l0 = Tensor::empty({out}, dtype, cpu_device(), op);
  t.l1 = Tensor::empty({out}, dtype, cpu_device(), op);
  if (dtype == DType::Float32)
    linear_axis<float>(in, out, scale, align, i0, t.i1.data<int64_t>(), t.l0.data<float>(), t.l1.data<float>());
  else
    linear_axis<double>(in, out, scale, align, i0, t.i1.data<int64_t>(), t.l0.data<double>(), t.l1.data<double>());
  return t;
}

void run_upsample(const char* kernel, const Tensor& src, Tensor& dst, const Planes& p, int64_t oh, int64_t ow,
                  double scale_h, double scale_w, UpsampleMode mode, bool align, int spatial, const char* op) {
  AxisTable th;
  if (spatial == 2) {
    th = axis_table(p.H, oh, scale_h, mode, align, src.dtype(), op);
  } else {  // a 1-d input: one row, taken with weight 1 (h1 = h0, lh1 = 0)
    th.i0 = Tensor::zeros({1}, DType::Int64, cpu_device(), op);
    th.i1 = th.i0;
    th.l0 = Tensor::empty({1}, src.dtype(), cpu_device(), op);
    th.l1 = Tensor::zeros({1}, src.dtype(), cpu_device(), op);
    if (src.dtype() == DType::Float32) *th.l0.data<float>() = 1.f;
    else *th.l0.data<double>() = 1.0;
  }
  const AxisTable tw = axis_table(p.W, ow, scale_w, mode, align, src.dtype(), op);
  const bool lin = mode == UpsampleMode::Linear;
  UpsampleArgs a{src.raw_data(), dst.raw_data(), src.dtype(), p.planes, p.H, p.W, oh, ow, mode,
                 th.i0.data<int64_t>(), lin ? th.i1.data<int64_t>() : nullptr, tw.i0.data<int64_t>(),
                 lin ? tw.i1.data<int64_t>() : nullptr, lin ? th.l0.raw_data() : nullptr,
                 lin ? th.l1.raw_data() : nullptr, lin ? tw.l0.raw_data() : nullptr, lin ? tw.l1.raw_data() : nullptr};
  if (std::string(kernel) == "upsample")
    DL_OP(UpsampleFn, "upsample").get(src.device())(a);
  else
    DL_OP(UpsampleFn, "upsample_backward").get(src.device())(a);
}

int spatial_of(int64_t ndim, const char* op, const Shape& s) {
  DL_CHECK(ndim == 3 || ndim == 4, Value, op, "expected input of 3 (N, C, L) or 4 (N, C, H, W) dimensions, got shape ",
           shape_str(s));
  return static_cast<int>(ndim - 2);
}

}  // namespace

Tensor upsample(const Tensor& x, int64_t oh, int64_t ow, double scale_h, double scale_w, UpsampleMode mode,
                bool align_corners, const char* op) {
  check_float(x, op, "input");
  const int spatial = spatial_of(x.ndim(), op, x.shape());
  const Planes p = planes_of(x.shape(), spatial, op);
  if (spatial == 1) oh = 1;
  DL_CHECK(oh >= 1 && ow >= 1, Value, op, "expected an output size of at least 1, got (",
           spatial == 2 ? std::to_string(oh) + ", " : std::string(), ow, ")");
  Tensor out = Tensor::empty(out_shape(p, spatial, oh, ow), x.dtype(), x.device(), op);
  if (p.planes == 0) return out;
  const Tensor xc = x.contiguous();
  run_upsample("upsample", xc, out, p, oh, ow, scale_h, scale_w, mode, align_corners, spatial, op);
  return out;
}

Tensor upsample_backward(const Tensor& grad, const Shape& input_shape, double scale_h, double scale_w,
                         UpsampleMode mode, bool align_corners, const char* op) {
  check_float(grad, op, "grad_output");
  const int spatial = spatial_of(static_cast<int64_t>(input_shape.size()), op, input_shape);
  const Planes p = planes_of(input_shape, spatial, op);
  DL_CHECK(grad.ndim() == static_cast<int64_t>(input_shape.size()), Value, op, "expected grad_output of ",
           input_shape.size(), " dimensions, got shape ", shape_str(grad.shape()));
  const int64_t oh = spatial == 2 ? grad.size(2) : 1, ow = grad.size(grad.ndim() - 1);
  DL_CHECK(out_shape(p, spatial, oh, ow) == grad.shape() && oh >= 1 && ow >= 1, Value, op,
           "expected grad_output of shape ", shape_str(p.lead), " + output size, got ", shape_str(grad.shape()));
  Tensor gx = Tensor::empty(input_shape, grad.dtype(), grad.device(), op);
  if (p.planes == 0) return gx;
  const Tensor gc = grad.contiguous();
  run_upsample("upsample_backward", gc, gx, p, oh, ow, scale_h, scale_w, mode, align_corners, spatial, op);
  return gx;
}

}  // namespace dl

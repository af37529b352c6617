// Bindings of the pool family: window / adaptive pooling, max unpooling, upsampling (argument
// conversion only).  The Python layer (dlcore/ops/pool.py) normalises kernel sizes, strides and
// output sizes into plain ints and passes the public op's name, which every error message starts
// with.
#include "bindings/common.h"
#include "ops/pool.h"

namespace dl {
namespace {

// (kh, kw, sh, sw, ph, pw, dh, dw) from the Python layer.
PoolWindow window(const std::vector<int64_t>& v, bool ceil_mode, const std::string& op) {
  if (v.size() != 8) fail(ErrorKind::Value, op.c_str(), "internal: expected 8 window parameters");
  PoolWindow w;
  w.kh = v[0]; w.kw = v[1]; w.sh = v[2]; w.sw = v[3]; w.ph = v[4]; w.pw = v[5]; w.dh = v[6]; w.dw = v[7];
  w.ceil_mode = ceil_mode;
  return w;
}

py::object pair_or_one(const std::pair<Tensor, Tensor>& r, bool two) {
  if (!two) return py::cast(r.first);
  return py::make_tuple(r.first, r.second);
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def("max_pool", [](py::handle x, const std::vector<int64_t>& win, bool ceil_mode, int spatial, bool want_indices,
                       const std::string& op) {
    Tensor t = as_tensor(x, op.c_str(), "input");
    const PoolWindow w = window(win, ceil_mode, op);
    std::pair<Tensor, Tensor> r;
    {
      DL_NOGIL;
      r = max_pool(t, w, spatial, want_indices, op.c_str());
    }
    return pair_or_one(r, want_indices);
  });
  m.def("max_pool_backward", [](py::handle g, py::handle x, py::handle indices, const std::vector<int64_t>& win,
                                bool ceil_mode, int spatial, const std::string& op) {
    Tensor gt = as_tensor(g, op.c_str(), "grad_output"), xt = as_tensor(x, op.c_str(), "input");
    Tensor it = as_tensor(indices, op.c_str(), "indices");
    const PoolWindow w = window(win, ceil_mode, op);
    DL_NOGIL;
    return max_pool_backward(gt, xt, it, w, spatial, op.c_str());
  });
  m.def("avg_pool", [](py::handle x, const std::vector<int64_t>& win, bool ceil_mode, int spatial,
                       bool count_include_pad, int64_t divisor_override, const std::string& op) {
    Tensor t = as_tensor(x, op.c_str(), "input");
    const PoolWindow w = window(win, ceil_mode, op);
    DL_NOGIL;
    return avg_pool(t, w, spatial, count_include_pad, divisor_override, op.c_str());
  });
  m.def("avg_pool_backward", [](py::handle g, py::handle x, const std::vector<int64_t>& win, bool ceil_mode,
                                int spatial, bool count_include_pad, int64_t divisor_override, const std::string& op) {
    Tensor gt = as_tensor(g, op.c_str(), "grad_output"), xt = as_tensor(x, op.c_str(), "input");
    const PoolWindow w = window(win, ceil_mode, op);
    DL_NOGIL;
    return avg_pool_backward(gt, xt, w, spatial, count_include_pad, divisor_override, op.c_str());
  });
  m.def("adaptive_pool", [](py::handle x, int64_t oh, int64_t ow, int spatial, bool is_max, bool want_indices,
                            const std::string& op) {
    Tensor t = as_tensor(x, op.c_str(), "input");
    std::pair<Tensor, Tensor> r;
    {
      DL_NOGIL;
      r = adaptive_pool(t, oh, ow, spatial, is_max, want_indices, op.c_str());
    }
    return pair_or_one(r, want_indices);
  });
  m.def("adaptive_pool_backward", [](py::handle g, py::handle x, py::handle indices, int spatial, bool is_max,
                                     const std::string& op) {
    Tensor gt = as_tensor(g, op.c_str(), "grad_output"), xt = as_tensor(x, op.c_str(), "input");
    Tensor it = as_optional_tensor(indices, op.c_str(), "indices");
    DL_NOGIL;
    return adaptive_pool_backward(gt, xt, it, spatial, is_max, op.c_str());
  });
  m.def("max_unpool", [](py::handle x, py::handle indices, int64_t oh, int64_t ow, const std::string& op) {
    Tensor t = as_tensor(x, op.c_str(), "input"), it = as_tensor(indices, op.c_str(), "indices");
    DL_NOGIL;
    return max_unpool(t, it, oh, ow, op.c_str());
  });
  m.def("max_unpool_backward", [](py::handle g, py::handle indices, const std::string& op) {
    Tensor gt = as_tensor(g, op.c_str(), "grad_output"), it = as_tensor(indices, op.c_str(), "indices");
    DL_NOGIL;
    return max_unpool_backward(gt, it, op.c_str());
  });
  m.def("upsample", [](py::handle x, int64_t oh, int64_t ow, double scale_h, double scale_w, int mode,
                       bool align_corners, const std::string& op) {
    Tensor t = as_tensor(x, op.c_str(), "input");
    DL_NOGIL;
    return upsample(t, oh, ow, scale_h, scale_w, static_cast<UpsampleMode>(mode), align_corners, op.c_str());
  });
  m.def("upsample_backward", [](py::handle g, py::handle input_shape, double scale_h, double scale_w, int mode,
                                bool align_corners, const std::string& op) {
    Tensor gt = as_tensor(g, op.c_str(), "grad_output");
    Shape s = parse_shape(input_shape, op.c_str());
    DL_NOGIL;
    return upsample_backward(gt, s, scale_h, scale_w, static_cast<UpsampleMode>(mode), align_corners, op.c_str());
  });
}

}  // namespace dl

// conv family: conv2d, conv2d_backward, conv_transpose2d, conv_transpose2d_backward (conv1d and
// the unbatched forms are reshaped to these by python/dlcore/ops/conv.py), and the workspace
// probe.  Geometry arguments arrive parsed: stride (2), padding (top, bottom, left, right),
// dilation (2), output_padding (2); `op` is the public op's name for errors and the kernel log.
#include "bindings/common.h"
#include "ops/conv.h"

namespace dl {
namespace {

using Pair = std::array<int64_t, 2>;
using Quad = std::array<int64_t, 4>;

ConvParams params(Pair stride, Quad pad, Pair dilation, Pair output_padding, int64_t groups) {
  ConvParams p;
  p.stride = stride, p.pad = pad, p.dilation = dilation, p.output_padding = output_padding, p.groups = groups;
  return p;
}

py::object opt(const Tensor& t) { return t.defined() ? py::cast(t) : py::none(); }

}  // namespace

void bind_conv(py::module_& m) {
  m.def("conv2d", [](py::handle x, py::handle w, py::handle bias, Pair stride, Quad pad, Pair dilation,
                     int64_t groups, const std::string& activation, const std::string& op) {
    Tensor tx = as_tensor(x, op.c_str(), "input"), tw = as_tensor(w, op.c_str(), "weight");
    Tensor tb = as_optional_tensor(bias, op.c_str(), "bias");
    DL_NOGIL;
    return conv2d(op.c_str(), tx, tw, tb, params(stride, pad, dilation, {0, 0}, groups), activation);
  }, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
     py::arg("groups"), py::arg("activation"), py::arg("op"));
  m.def("conv2d_backward", [](py::handle g, py::handle x, py::handle w, Pair stride, Quad pad, Pair dilation,
                              int64_t groups, std::array<bool, 3> mask, const std::string& op) {
    Tensor tg = as_tensor(g, op.c_str(), "grad_out"), tx = as_tensor(x, op.c_str(), "input"),
           tw = as_tensor(w, op.c_str(), "weight");
    Tensor gx, gw, gb;
    {
      DL_NOGIL;
      std::tie(gx, gw, gb) = conv2d_backward(op.c_str(), tg, tx, tw, params(stride, pad, dilation, {0, 0}, groups), mask);
    }
    return py::make_tuple(opt(gx), opt(gw), opt(gb));
  }, py::arg("grad_out"), py::arg("x"), py::arg("weight"), py::arg("stride"), py::arg("padding"),
     py::arg("dilation"), py::arg("groups"), py::arg("output_mask"), py::arg("op"));
  m.def("conv_transpose2d", [](py::handle x, py::handle w, py::handle bias, Pair stride, Quad pad,
                               Pair output_padding, Pair dilation, int64_t groups, const std::string& op) {
    Tensor tx = as_tensor(x, op.c_str(), "input"), tw = as_tensor(w, op.c_str(), "weight");
    Tensor tb = as_optional_tensor(bias, op.c_str(), "bias");
    DL_NOGIL;
    return conv_transpose2d(op.c_str(), tx, tw, tb, params(stride, pad, dilation, output_padding, groups));
  }, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("stride"), py::arg("padding"),
     py::arg("output_padding"), py::arg("dilation"), py::arg("groups"), py::arg("op"));
  m.def("conv_transpose2d_backward", [](py::handle g, py::handle x, py::handle w, Pair stride, Quad pad,
                                        Pair output_padding, Pair dilation, int64_t groups, std::array<bool, 3> mask,
                                        const std::string& op) {
    Tensor tg = as_tensor(g, op.c_str(), "grad_out"), tx = as_tensor(x, op.c_str(), "input"),
           tw = as_tensor(w, op.c_str(), "weight");
    Tensor gx, gw, gb;
    {
      DL_NOGIL;
      std::tie(gx, gw, gb) = conv_transpose2d_backward(op.c_str(), tg, tx, tw,
                                                       params(stride, pad, dilation, output_padding, groups), mask);
    }
    return py::make_tuple(opt(gx), opt(gw), opt(gb));
  }, py::arg("grad_out"), py::arg("x"), py::arg("weight"), py::arg("stride"), py::arg("padding"),
     py::arg("output_padding"), py::arg("dilation"), py::arg("groups"), py::arg("output_mask"), py::arg("op"));
  m.def("conv_last_workspace_bytes", &conv_last_workspace_bytes,
        "Peak scratch bytes the latest conv call on this thread allocated (beyond its outputs).");
}

}  // namespace dl

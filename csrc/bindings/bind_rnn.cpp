// Bindings of the recurrent layers (argument conversion only): one layer in one direction over a
// time-major sequence, forward and backward.  The Python layer (dlcore/ops/rnn.py) builds cells,
// stacks, directions and dropout on these.
#include <string>

#include "bindings/common.h"
#include "ops/rnn.h"

namespace dl {
namespace {
py::object opt(const Tensor& t) { return t.defined() ? py::cast(t) : py::none(); }

RnnLayerWeights weights(py::handle w_ih, py::handle w_hh, py::handle b_ih, py::handle b_hh, py::handle w_hr,
                        const char* op) {
  return RnnLayerWeights{as_tensor(w_ih, op, "weight_ih"), as_tensor(w_hh, op, "weight_hh"),
                         as_optional_tensor(b_ih, op, "bias_ih"), as_optional_tensor(b_hh, op, "bias_hh"),
                         as_optional_tensor(w_hr, op, "weight_hr")};
}
}  // namespace

void bind_rnn(py::module_& m) {
  m.def("rnn_layer_forward", [](int mode, py::handle x, py::handle h0, py::handle c0, py::handle w_ih,
                                py::handle w_hh, py::handle b_ih, py::handle b_hh, py::handle w_hr,
                                py::handle lengths, bool reverse, const std::string& op) {
    const char* o = op.c_str();
    Tensor tx = as_tensor(x, o, "input"), th = as_tensor(h0, o, "h0"), tc = as_optional_tensor(c0, o, "c0");
    Tensor tl = as_optional_tensor(lengths, o, "lengths");
    RnnLayerWeights w = weights(w_ih, w_hh, b_ih, b_hh, w_hr, o);
    RnnLayerOut r;
    {
      DL_NOGIL;
      r = rnn_layer_forward(mode, tx, th, tc, w, tl, reverse, o);
    }
    return py::make_tuple(r.y, r.h_n, opt(r.c_n), r.ws);
  }, py::arg("mode"), py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("w_ih"), py::arg("w_hh"),
     py::arg("b_ih"), py::arg("b_hh"), py::arg("w_hr"), py::arg("lengths"), py::arg("reverse"), py::arg("op"),
     "One recurrent layer in one direction: (y, h_n, c_n or None, workspace).");
  m.def("rnn_layer_backward", [](int mode, py::handle dy, py::handle dh_n, py::handle dc_n, py::handle x,
                                 py::handle h0, py::handle c0, py::handle w_ih, py::handle w_hh, py::handle b_ih,
                                 py::handle b_hh, py::handle w_hr, py::handle lengths, bool reverse, py::handle ws,
                                 const std::string& op) {
    const char* o = op.c_str();
    Tensor tdy = as_optional_tensor(dy, o, "grad_output"), tdh = as_optional_tensor(dh_n, o, "grad_h_n");
    Tensor tdc = as_optional_tensor(dc_n, o, "grad_c_n");
    Tensor tx = as_tensor(x, o, "input"), th = as_tensor(h0, o, "h0"), tc = as_optional_tensor(c0, o, "c0");
    Tensor tl = as_optional_tensor(lengths, o, "lengths"), tws = as_tensor(ws, o, "workspace");
    RnnLayerWeights w = weights(w_ih, w_hh, b_ih, b_hh, w_hr, o);
    RnnLayerGrads g;
    {
      DL_NOGIL;
      g = rnn_layer_backward(mode, tdy, tdh, tdc, tx, th, tc, w, tl, reverse, tws, o);
    }
    return py::make_tuple(g.dx, g.dh0, opt(g.dc0), g.dw_ih, g.dw_hh, opt(g.db_ih), opt(g.db_hh), opt(g.dw_hr));
  }, py::arg("mode"), py::arg("dy"), py::arg("dh_n"), py::arg("dc_n"), py::arg("x"), py::arg("h0"), py::arg("c0"),
     py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"), py::arg("b_hh"), py::arg("w_hr"), py::arg("lengths"),
     py::arg("reverse"), py::arg("ws"), py::arg("op"),
     "Back-propagation through time of rnn_layer_forward: (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr).");
  // Both directions of a bidirectional layer: per-direction arguments come as pairs (sequences
  // of two: forward, reverse); results are a pair of the single-direction tuples above.
  m.def("rnn_bidir_layer_forward", [](int mode, py::handle x, py::sequence h0, py::sequence c0, py::sequence w,
                                      py::handle lengths, const std::string& op) {
    const char* o = op.c_str();
    Tensor tx = as_tensor(x, o, "input"), tl = as_optional_tensor(lengths, o, "lengths");
    RnnPair th, tc;
    std::array<RnnLayerWeights, 2> tw;
    for (int d = 0; d < 2; ++d) {
      th[d] = as_tensor(h0[d], o, "h0"), tc[d] = as_optional_tensor(c0[d], o, "c0");
      py::sequence wd = w[d];
      tw[d] = weights(wd[0], wd[1], wd[2], wd[3], wd[4], o);
    }
    std::array<RnnLayerOut, 2> r;
    {
      DL_NOGIL;
      r = rnn_bidir_layer_forward(mode, tx, th, tc, tw, tl, o);
    }
    return py::make_tuple(py::make_tuple(r[0].y, r[0].h_n, opt(r[0].c_n), r[0].ws),
                          py::make_tuple(r[1].y, r[1].h_n, opt(r[1].c_n), r[1].ws));
  }, py::arg("mode"), py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("weights"), py::arg("lengths"),
     py::arg("op"), "Both directions of a bidirectional layer (concurrently on 2-3 threads): two forward tuples.");
  m.def("rnn_bidir_layer_backward", [](int mode, py::sequence dy, py::sequence dh_n, py::sequence dc_n, py::handle x,
                                       py::sequence h0, py::sequence c0, py::sequence w, py::handle lengths,
                                       py::sequence ws, const std::string& op) {
    const char* o = op.c_str();
    Tensor tx = as_tensor(x, o, "input"), tl = as_optional_tensor(lengths, o, "lengths");
    RnnPair tdy, tdh, tdc, th, tc, tws;
    std::array<RnnLayerWeights, 2> tw;
    for (int d = 0; d < 2; ++d) {
      tdy[d] = as_optional_tensor(dy[d], o, "grad_output"), tdh[d] = as_optional_tensor(dh_n[d], o, "grad_h_n");
      tdc[d] = as_optional_tensor(dc_n[d], o, "grad_c_n");
      th[d] = as_tensor(h0[d], o, "h0"), tc[d] = as_optional_tensor(c0[d], o, "c0");
      tws[d] = as_tensor(ws[d], o, "workspace");
      py::sequence wd = w[d];
      tw[d] = weights(wd[0], wd[1], wd[2], wd[3], wd[4], o);
    }
    std::array<RnnLayerGrads, 2> g;
    {
      DL_NOGIL;
      g = rnn_bidir_layer_backward(mode, tdy, tdh, tdc, tx, th, tc, tw, tl, tws, o);
    }
    auto tup = [](const RnnLayerGrads& r) {
      return py::make_tuple(r.dx, r.dh0, opt(r.dc0), r.dw_ih, r.dw_hh, opt(r.db_ih), opt(r.db_hh), opt(r.dw_hr));
    };
    return py::make_tuple(tup(g[0]), tup(g[1]));
  }, py::arg("mode"), py::arg("dy"), py::arg("dh_n"), py::arg("dc_n"), py::arg("x"), py::arg("h0"), py::arg("c0"),
     py::arg("weights"), py::arg("lengths"), py::arg("ws"), py::arg("op"),
     "Back-propagation through time of both directions of a bidirectional layer: two gradient tuples.");
}

}  // namespace dl

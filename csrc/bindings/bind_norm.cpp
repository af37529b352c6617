// Bindings of the norm family: batch, layer, group and instance norm and their backwards
// (argument conversion only).  Forwards return (y, mean, rstd); backwards (gx, gw, gb) with None
// where the output mask says not needed.
#include "bindings/common.h"
#include "bindings/int_args.h"
#include "ops/norm.h"

namespace dl {
namespace {

py::object opt(const Tensor& t) { return t.defined() ? py::cast(t) : py::none(); }

py::tuple grads(const NormGrads& g) {
  return py::make_tuple(opt(std::get<0>(g)), opt(std::get<1>(g)), opt(std::get<2>(g)));
}

py::tuple outs(const NormOut& o) { return py::make_tuple(std::get<0>(o), std::get<1>(o), std::get<2>(o)); }

NormMask parse_mask(py::handle m, const char* op) {
  NormMask r;
  if (m.is_none()) return r;
  const std::vector<int64_t> v = int_list_arg(m, op, "output_mask");
  if (v.size() != 3) throw Error(ErrorKind::Value, std::string(op) + ": expected output_mask of 3 booleans, got " +
                                                       std::to_string(v.size()));
  r.input = v[0] != 0;
  r.weight = v[1] != 0;
  r.bias = v[2] != 0;
  return r;
}

Shape shape_arg(py::handle s, const char* op) {
  Shape r;
  for (int64_t v : int_list_arg(s, op, "normalized_shape")) r.push_back(v);
  return r;
}

}  // namespace

void bind_norm(py::module_& m) {
  m.def("batch_norm", [](py::handle x, py::handle rm, py::handle rv, py::handle w, py::handle b, bool training,
                         double momentum, double eps) {
    const char* op = "batch_norm";
    Tensor tx = as_tensor(x, op, "input"), tm = as_optional_tensor(rm, op, "running_mean");
    Tensor tv = as_optional_tensor(rv, op, "running_var");
    if (tm.defined() && training) tm = as_tensor(rm, op, "running_mean", true);
    if (tv.defined() && training) tv = as_tensor(rv, op, "running_var", true);
    Tensor tw = as_optional_tensor(w, op, "weight"), tb = as_optional_tensor(b, op, "bias");
    NormOut r;
    {
      DL_NOGIL;
      r = batch_norm(tx, tm, tv, tw, tb, training, momentum, eps);
    }
    return outs(r);
  });
  m.def("batch_norm_backward", [](py::handle g, py::handle x, py::handle w, py::handle mean, py::handle rstd,
                                  bool training, py::handle mask) {
    const char* op = "batch_norm_backward";
    Tensor tg = as_tensor(g, op, "grad"), tx = as_tensor(x, op, "input"), tw = as_optional_tensor(w, op, "weight");
    Tensor tm = as_optional_tensor(mean, op, "mean"), tr = as_optional_tensor(rstd, op, "rstd");
    const NormMask mk = parse_mask(mask, op);
    NormGrads r;
    {
      DL_NOGIL;
      r = batch_norm_backward(tg, tx, tw, tm, tr, training, mk);
    }
    return grads(r);
  });
  m.def("layer_norm", [](py::handle x, py::handle shape, py::handle w, py::handle b, double eps) {
    const char* op = "layer_norm";
    Tensor tx = as_tensor(x, op, "input");
    const Shape s = shape_arg(shape, op);
    Tensor tw = as_optional_tensor(w, op, "weight"), tb = as_optional_tensor(b, op, "bias");
    NormOut r;
    {
      DL_NOGIL;
      r = layer_norm(tx, s, tw, tb, eps);
    }
    return outs(r);
  });
  m.def("layer_norm_backward", [](py::handle g, py::handle x, py::handle shape, py::handle mean, py::handle rstd,
                                  py::handle w, py::handle mask) {
    const char* op = "layer_norm_backward";
    Tensor tg = as_tensor(g, op, "grad"), tx = as_tensor(x, op, "input");
    const Shape s = shape_arg(shape, op);
    Tensor tm = as_optional_tensor(mean, op, "mean"), tr = as_optional_tensor(rstd, op, "rstd");
    Tensor tw = as_optional_tensor(w, op, "weight");
    const NormMask mk = parse_mask(mask, op);
    NormGrads r;
    {
      DL_NOGIL;
      r = layer_norm_backward(tg, tx, s, tm, tr, tw, mk);
    }
    return grads(r);
  });
  m.def("group_norm", [](py::handle x, py::handle groups, py::handle w, py::handle b, double eps) {
    const char* op = "group_norm";
    Tensor tx = as_tensor(x, op, "input");
    const int64_t G = int_arg(groups, op, "num_groups");
    Tensor tw = as_optional_tensor(w, op, "weight"), tb = as_optional_tensor(b, op, "bias");
    NormOut r;
    {
      DL_NOGIL;
      r = group_norm(tx, G, tw, tb, eps);
    }
    return outs(r);
  });
  m.def("group_norm_backward", [](py::handle g, py::handle x, py::handle groups, py::handle mean, py::handle rstd,
                                  py::handle w, py::handle mask) {
    const char* op = "group_norm_backward";
    Tensor tg = as_tensor(g, op, "grad"), tx = as_tensor(x, op, "input");
    const int64_t G = int_arg(groups, op, "num_groups");
    Tensor tm = as_optional_tensor(mean, op, "mean"), tr = as_optional_tensor(rstd, op, "rstd");
    Tensor tw = as_optional_tensor(w, op, "weight");
    const NormMask mk = parse_mask(mask, op);
    NormGrads r;
    {
      DL_NOGIL;
      r = group_norm_backward(tg, tx, G, tm, tr, tw, mk);
    }
    return grads(r);
  });
  m.def("instance_norm", [](py::handle x, py::handle rm, py::handle rv, py::handle w, py::handle b,
                            bool use_input_stats, double momentum, double eps) {
    const char* op = "instance_norm";
    Tensor tx = as_tensor(x, op, "input"), tm = as_optional_tensor(rm, op, "running_mean");
    Tensor tv = as_optional_tensor(rv, op, "running_var");
    if (tm.defined() && use_input_stats) tm = as_tensor(rm, op, "running_mean", true);
    if (tv.defined() && use_input_stats) tv = as_tensor(rv, op, "running_var", true);
    Tensor tw = as_optional_tensor(w, op, "weight"), tb = as_optional_tensor(b, op, "bias");
    NormOut r;
    {
      DL_NOGIL;
      r = instance_norm(tx, tm, tv, tw, tb, use_input_stats, momentum, eps);
    }
    return outs(r);
  });
  m.def("instance_norm_backward", [](py::handle g, py::handle x, py::handle w, py::handle mean, py::handle rstd,
                                     bool use_input_stats, py::handle mask) {
    const char* op = "instance_norm_backward";
    Tensor tg = as_tensor(g, op, "grad"), tx = as_tensor(x, op, "input"), tw = as_optional_tensor(w, op, "weight");
    Tensor tm = as_optional_tensor(mean, op, "mean"), tr = as_optional_tensor(rstd, op, "rstd");
    const NormMask mk = parse_mask(mask, op);
    NormGrads r;
    {
      DL_NOGIL;
      r = instance_norm_backward(tg, tx, tw, tm, tr, use_input_stats, mk);
    }
    return grads(r);
  });
  m.def("stream_triad_gbs", [](int64_t n, int64_t reps) {
    DL_NOGIL;
    return stream_triad_gbs(n, reps);
  }, py::arg("n") = int64_t{1} << 25, py::arg("reps") = 5,
     "Measured STREAM-triad bandwidth (GB/s) on dlcore's threads: the norms' benchmark yardstick.");
}

}  // namespace dl

// Bindings of the reduce family: reductions, softmax, cross-entropy (argument conversion only).
#include "bindings/common.h"
#include "bindings/int_args.h"
#include "ops/reduce.h"

namespace dl {
namespace {

// axis: None (every axis), an int, or a sequence of ints (NumPy: () reduces nothing).
AxisSpec parse_axis(py::handle axis, const char* op) {
  AxisSpec s;
  if (axis.is_none()) return s;
  s.all = false;
  for (int64_t a : int_list_arg(axis, op, "axis")) s.axes.push_back(a);
  return s;
}

using ReduceEntry = Tensor (*)(const Tensor&, const AxisSpec&, bool);

void def_reduce(py::module_& m, const char* name, ReduceEntry fn, const char* doc) {
  m.def(name, [name, fn](py::handle x, py::handle axis, bool keepdims) {
    Tensor t = as_tensor(x, name, "x");
    AxisSpec s = parse_axis(axis, name);
    DL_NOGIL;
    return fn(t, s, keepdims);
  }, py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false, doc);
}

}  // namespace

void bind_reduce(py::module_& m) {
  def_reduce(m, "sum", &reduce_sum, "Sum over axes (int64 for int64/bool input).");
  def_reduce(m, "mean", &reduce_mean, "Mean over axes.");
  def_reduce(m, "max", &reduce_max, "Maximum over axes (NaN propagates).");
  def_reduce(m, "min", &reduce_min, "Minimum over axes (NaN propagates).");
  def_reduce(m, "argmax", &reduce_argmax, "Index of the first maximum (axis None: flat index).");
  def_reduce(m, "argmin", &reduce_argmin, "Index of the first minimum (axis None: flat index).");
  m.def("var", [](py::handle x, py::handle axis, double correction, bool keepdims) {
    Tensor t = as_tensor(x, "var", "x");
    AxisSpec s = parse_axis(axis, "var");
    DL_NOGIL;
    return reduce_var(t, s, correction, keepdims);
  }, py::arg("x"), py::arg("axis") = py::none(), py::arg("correction") = 1.0, py::arg("keepdims") = false);
  // Axes come in as objects and go through int_arg, so a bad one is named after the op the user
  // called (pybind11's own listing would say max_with_indices for min_with_indices).
  m.def("max_with_indices", [](py::handle x, py::handle axis_obj, bool keepdims, bool is_min) {
    const char* op = is_min ? "min_with_indices" : "max_with_indices";
    const int64_t axis = int_arg(axis_obj, op, "axis");
    Tensor t = as_tensor(x, op, "x");
    DL_NOGIL;
    auto r = reduce_max_with_indices(t, axis, keepdims, is_min);
    return std::make_pair(r.first, r.second);
  }, py::arg("x"), py::arg("axis"), py::arg("keepdims") = false, py::arg("is_min") = false);

  m.def("sum_backward", [](py::handle grad, py::handle shape, py::handle axis, bool keepdims, bool mean) {
    const char* op = mean ? "mean_backward" : "sum_backward";
    Tensor g = as_tensor(grad, op, "grad");
    Shape s = parse_shape(shape, op);
    AxisSpec a = parse_axis(axis, op);
    DL_NOGIL;
    return reduce_sum_backward(g, s, a, keepdims, mean);
  }, py::arg("grad"), py::arg("input_shape"), py::arg("axis") = py::none(), py::arg("keepdims") = false,
     py::arg("mean") = false);
  m.def("var_backward", [](py::handle grad, py::handle x, py::handle axis, double correction, bool keepdims) {
    Tensor g = as_tensor(grad, "var_backward", "grad"), t = as_tensor(x, "var_backward", "x");
    AxisSpec a = parse_axis(axis, "var_backward");
    DL_NOGIL;
    return reduce_var_backward(g, t, a, correction, keepdims);
  }, py::arg("grad"), py::arg("x"), py::arg("axis") = py::none(), py::arg("correction") = 1.0,
     py::arg("keepdims") = false);
  m.def("max_backward", [](py::handle grad, py::handle indices, py::handle shape, py::handle axis_obj, bool keepdims,
                           bool is_min) {
    const char* op = is_min ? "min_backward" : "max_backward";
    const int64_t axis = int_arg(axis_obj, op, "axis");
    Tensor g = as_tensor(grad, op, "grad"), i = as_tensor(indices, op, "indices");
    Shape s = parse_shape(shape, op);
    DL_NOGIL;
    return reduce_index_backward(g, i, s, axis, keepdims, op);
  }, py::arg("grad"), py::arg("indices"), py::arg("input_shape"), py::arg("axis"), py::arg("keepdims") = false,
     py::arg("is_min") = false);

  m.def("softmax", [](py::handle x, py::handle axis_obj, bool log) {
    const int64_t axis = int_arg(axis_obj, log ? "log_softmax" : "softmax", "axis");
    Tensor t = as_tensor(x, log ? "log_softmax" : "softmax", "x");
    DL_NOGIL;
    return softmax(t, axis, log);
  }, py::arg("x"), py::arg("axis") = -1, py::arg("log") = false);
  m.def("softmax_backward", [](py::handle grad, py::handle out, py::handle axis_obj, bool log) {
    const char* op = log ? "log_softmax_backward" : "softmax_backward";
    const int64_t axis = int_arg(axis_obj, op, "axis");
    Tensor g = as_tensor(grad, op, "grad"), y = as_tensor(out, op, "out");
    DL_NOGIL;
    return softmax_backward(g, y, axis, log);
  }, py::arg("grad"), py::arg("out"), py::arg("axis") = -1, py::arg("log") = false);

  m.def("cross_entropy", [](py::handle logits, py::handle target, py::handle weight, int64_t ignore_index,
                            const std::string& reduction, double label_smoothing) {
    const char* op = "cross_entropy";
    Tensor x = as_tensor(logits, op, "logits"), t = as_tensor(target, op, "target");
    Tensor w = as_optional_tensor(weight, op, "weight");
    LossReduction r = parse_loss_reduction(reduction, op);
    DL_NOGIL;
    return cross_entropy(x, t, w, ignore_index, r, label_smoothing);
  }, py::arg("logits"), py::arg("target"), py::arg("weight") = py::none(), py::arg("ignore_index") = -100,
     py::arg("reduction") = "mean", py::arg("label_smoothing") = 0.0);
  m.def("cross_entropy_backward", [](py::handle grad, py::handle logits, py::handle target, py::handle weight,
                                     int64_t ignore_index, const std::string& reduction, double label_smoothing) {
    const char* op = "cross_entropy_backward";
    Tensor g = as_tensor(grad, op, "grad"), x = as_tensor(logits, op, "logits"), t = as_tensor(target, op, "target");
    Tensor w = as_optional_tensor(weight, op, "weight");
    LossReduction r = parse_loss_reduction(reduction, op);
    DL_NOGIL;
    return cross_entropy_backward(g, x, t, w, ignore_index, r, label_smoothing);
  }, py::arg("grad"), py::arg("logits"), py::arg("target"), py::arg("weight") = py::none(),
     py::arg("ignore_index") = -100, py::arg("reduction") = "mean", py::arg("label_smoothing") = 0.0);
  m.def("nll_loss", [](py::handle log_probs, py::handle target, py::handle weight, int64_t ignore_index,
                       const std::string& reduction) {
    const char* op = "nll_loss";
    Tensor x = as_tensor(log_probs, op, "log_probs"), t = as_tensor(target, op, "target");
    Tensor w = as_optional_tensor(weight, op, "weight");
    LossReduction r = parse_loss_reduction(reduction, op);
    DL_NOGIL;
    return nll_loss(x, t, w, ignore_index, r);
  }, py::arg("log_probs"), py::arg("target"), py::arg("weight") = py::none(), py::arg("ignore_index") = -100,
     py::arg("reduction") = "mean");
  m.def("nll_loss_backward", [](py::handle grad, py::handle log_probs, py::handle target, py::handle weight,
                                int64_t ignore_index, const std::string& reduction) {
    const char* op = "nll_loss_backward";
    Tensor g = as_tensor(grad, op, "grad"), x = as_tensor(log_probs, op, "log_probs"),
           t = as_tensor(target, op, "target");
    Tensor w = as_optional_tensor(weight, op, "weight");
    LossReduction r = parse_loss_reduction(reduction, op);
    DL_NOGIL;
    return nll_loss_backward(g, x, t, w, ignore_index, r);
  }, py::arg("grad"), py::arg("log_probs"), py::arg("target"), py::arg("weight") = py::none(),
     py::arg("ignore_index") = -100, py::arg("reduction") = "mean");
}

}  // namespace dl

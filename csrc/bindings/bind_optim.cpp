// Bindings of the optim family: argument conversion only.  Each call takes whole lists (one
// parameter group) and runs one fused kernel with the GIL released.
#include <string>
#include <vector>

#include "bindings/common.h"
#include "ops/optim.h"

namespace dl {
namespace {

// Converts a sequence of arrays.  Buffers the kernel writes must be arrays already: a Python list
// or number would become a temporary copy and the update would be lost.
std::vector<Tensor> tensor_list(py::handle seq, const char* op, const char* name, bool written) {
  std::vector<Tensor> out;
  if (seq.is_none()) return out;
  // A single array is a sequence too (of its rows): refuse it rather than update its rows.
  const bool one_array = py::isinstance<py::array>(seq) || py::isinstance<Tensor>(seq) || py::hasattr(seq, "_impl");
  if (one_array || !py::isinstance<py::sequence>(seq) || py::isinstance<py::str>(seq))
    fail(ErrorKind::Type, op, "expected ", name, " to be a list of arrays, got ",
         std::string(py::str(py::type::of(seq))));
  const py::sequence items = py::reinterpret_borrow<py::sequence>(seq);
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const py::object item = items[i];
    const std::string arg = std::string(name) + "[" + std::to_string(i) + "]";
    if (written && (py::isinstance<py::list>(item) || py::isinstance<py::tuple>(item) ||
                    PyFloat_Check(item.ptr()) || PyLong_Check(item.ptr())))
      fail(ErrorKind::Type, op, "expected ", arg, " to be an array updated in place (numpy, dlcore), got ",
           std::string(py::str(py::type::of(item))));
    out.push_back(as_tensor(item, op, arg.c_str(), written));
  }
  return out;
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("sgd_step", [](py::handle params, py::handle grads, py::handle momentum_buffers, std::vector<bool> fresh,
                       double lr, double momentum, double dampening, double weight_decay, bool nesterov,
                       bool maximize) {
    const char* op = "sgd_step";
    auto p = tensor_list(params, op, "params", true), g = tensor_list(grads, op, "grads", false);
    auto b = tensor_list(momentum_buffers, op, "momentum_buffers", true);
    const SgdOptions opt{lr, momentum, dampening, weight_decay, nesterov, maximize};
    DL_NOGIL;
    sgd_step(p, g, b, fresh, opt);
  }, py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("fresh"), py::arg("lr"),
     py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"), py::arg("maximize"),
     "One fused SGD step over a parameter group (see dlcore.ops.sgd_step).");

  m.def("adam_step", [](py::handle params, py::handle grads, py::handle exp_avgs, py::handle exp_avg_sqs,
                        py::handle max_exp_avg_sqs, std::vector<double> steps, double lr, double beta1, double beta2,
                        double eps, double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay) {
    const char* op = "adam_step";
    auto p = tensor_list(params, op, "params", true), g = tensor_list(grads, op, "grads", false);
    auto m1 = tensor_list(exp_avgs, op, "exp_avgs", true), m2 = tensor_list(exp_avg_sqs, op, "exp_avg_sqs", true);
    auto mx = tensor_list(max_exp_avg_sqs, op, "max_exp_avg_sqs", true);
    const AdamOptions opt{lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay};
    DL_NOGIL;
    adam_step(p, g, m1, m2, mx, steps, opt);
  }, py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"), py::arg("max_exp_avg_sqs"),
     py::arg("steps"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
     py::arg("amsgrad"), py::arg("maximize"), py::arg("decoupled_weight_decay"),
     "One fused Adam/AdamW step over a parameter group (see dlcore.ops.adam_step).");

  m.def("rmsprop_step", [](py::handle params, py::handle grads, py::handle square_avgs, py::handle momentum_buffers,
                           py::handle grad_avgs, double lr, double alpha, double eps, double weight_decay,
                           double momentum, bool centered, bool maximize) {
    const char* op = "rmsprop_step";
    auto p = tensor_list(params, op, "params", true), g = tensor_list(grads, op, "grads", false);
    auto sq = tensor_list(square_avgs, op, "square_avgs", true);
    auto b = tensor_list(momentum_buffers, op, "momentum_buffers", true);
    auto ga = tensor_list(grad_avgs, op, "grad_avgs", true);
    const RmspropOptions opt{lr, alpha, eps, weight_decay, momentum, centered, maximize};
    DL_NOGIL;
    rmsprop_step(p, g, sq, b, ga, opt);
  }, py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("momentum_buffers"), py::arg("grad_avgs"),
     py::arg("lr"), py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"),
     py::arg("centered"), py::arg("maximize"),
     "One fused RMSprop step over a parameter group (see dlcore.ops.rmsprop_step).");
}

}  // namespace dl

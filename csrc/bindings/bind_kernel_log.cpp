// Bindings of the kernel log ("which kernel ran") and algorithm forcing; see core/kernel_log.h.
// The Python side (dlcore._kernel_log) wraps these in context managers.
#include <string>

#include "bindings/common.h"
#include "core/kernel_log.h"

namespace dl {

void bind_kernel_log(py::module_& m) {
  m.def("kernel_log_open", &kernel_log_open);
  m.def("kernel_log_close", [](int handle) {
    py::list out;
    for (const KernelRecord& r : kernel_log_close(handle))
      out.append(py::make_tuple(r.op, r.device, r.isa, r.algorithm));
    return out;
  });
  m.def("log_kernel", [](const std::string& op, const std::string& device, const std::string& algorithm) {
    log_kernel(op.c_str(), device, algorithm.c_str());
  }, "Record (op, device, active ISA, algorithm) in every open kernel log (for ops written in Python).");
  m.def("forced_algorithm", [](const std::string& op) -> py::object {
    const char* f = forced_algorithm(op.c_str());
    if (f == nullptr) return py::none();
    return py::str(f);
  }, "The algorithm forced for op on this thread, or None.");
  m.def("push_forced_algorithm", &push_forced_algorithm);
  m.def("pop_forced_algorithm", &pop_forced_algorithm);
}

}  // namespace dl

// The extension module dlcore._core.  Each op family binds itself in bind_<family>.cpp.
#include "bindings/common.h"

namespace dl {
void bind_tensor(py::module_& m);
void bind_elementwise(py::module_& m);
void bind_reduce(py::module_& m);
void bind_shape(py::module_& m);
void bind_random(py::module_& m);
void bind_gemm(py::module_& m);
void bind_optim(py::module_& m);
void bind_index(py::module_& m);
void bind_pool(py::module_& m);
void bind_kernel_log(py::module_& m);
}  // namespace dl

#ifndef DLCORE_VERSION
#define DLCORE_VERSION "0.0.0"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "dlcore's C++ kernels. The public API is the dlcore package; this module is its engine.";
  m.attr("__version__") = DLCORE_VERSION;
  dl::register_error_translator();
  dl::bind_tensor(m);
  dl::bind_elementwise(m);
  dl::bind_reduce(m);
  dl::bind_shape(m);
  dl::bind_random(m);
  dl::bind_gemm(m);
  dl::bind_optim(m);
  dl::bind_index(m);
  dl::bind_pool(m);
  dl::bind_kernel_log(m);
}

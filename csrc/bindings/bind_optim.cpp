#include "bindings/common.h"

namespace dl {
void bind_optim(py::module_& m) { (void)m; }
}  // namespace dl

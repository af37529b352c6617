#include "bindings/common.h"

namespace dl {
void bind_shape(py::module_& m) { (void)m; }
}  // namespace dl

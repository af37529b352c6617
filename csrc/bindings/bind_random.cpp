#include "bindings/common.h"

namespace dl {
void bind_random(py::module_& m) { (void)m; }
}  // namespace dl

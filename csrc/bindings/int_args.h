// Integer arguments given as Python objects: a shape, dims, axes, pads or split sizes.  One
// reader for all of them, because iterating a Python sequence item by item through a borrowed
// handle reads freed memory whenever the sequence makes its items on the fly (a NumPy array or a
// dlcore Tensor hands out a new scalar per item and drops it when the accessor dies).
#pragma once
#include <cstdint>
#include <vector>

#include "bindings/common.h"

namespace dl {

// One integer: a Python int or anything with __index__ (NumPy integer, 0-d integer array).
// Raises TypeError naming op and `what` for bool, float and other objects, ValueError when the
// value does not fit in int64.
int64_t int_arg(py::handle obj, const char* op, const char* what);

// An int or a sequence of ints (list, tuple, 1-d integer array, Tensor).  Every item is read while
// an owned reference keeps it alive (PySequence_Fast).  Raises TypeError naming op and `what` for
// anything else, including a 0-d array or Tensor that is not an integer scalar.
std::vector<int64_t> int_list_arg(py::handle obj, const char* op, const char* what);

}  // namespace dl

// Argument conversion shared by every bind_<family>.cpp.  Bindings convert and call; they do no
// math.  Kernels run with the GIL released (see DL_NOGIL).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/tensor.h"

namespace py = pybind11;

namespace dl {

// Converts obj into a Tensor without copying when possible: a dlcore TensorImpl, a NumPy array
// (or anything with the buffer protocol / __array__), a DLPack producer (PyTorch, JAX, CuPy), or
// a Python scalar/list (float -> float32, int -> int64, bool -> bool, like torch.tensor).
// `writable` requires memory that may be written (for out= arguments).
// Raises TypeError naming op and arg on unsupported objects or dtypes.
Tensor as_tensor(py::handle obj, const char* op, const char* arg, bool writable = false);

// Same, but leaves None as an undefined Tensor.
Tensor as_optional_tensor(py::handle obj, const char* op, const char* arg);

// DLPack import (consumes the capsule protocol) and export; defined in dlpack.cpp.
Tensor from_dlpack(py::handle obj, const char* op);
py::object to_dlpack(const Tensor& tensor, py::object max_version);

// A NumPy array viewing a CPU tensor's memory, which it keeps alive (a capsule owning the
// storage is its base).  For results of calls whose inputs were all NumPy arrays: cheaper than
// returning a TensorImpl and converting it with np.asarray (about 0.6 us of a 2.6 us call).
py::array to_numpy(const Tensor& t);
// Whether obj is exactly a NumPy ndarray (not a subclass, which the Python layer may wrap).
bool is_ndarray(py::handle obj);

DType parse_dtype(py::handle dtype, const char* op);      // "float32", np.float32, np.dtype(...)
Shape parse_shape(py::handle shape, const char* op);      // int or sequence of ints
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);  // raises on out of range

// Python exception translation for dl::Error; called once from the module init.
void register_error_translator();

}  // namespace dl

// Releases the GIL for the rest of the enclosing scope (kernels never touch Python objects).
#define DL_NOGIL py::gil_scoped_release dl_nogil_guard_

namespace dl {
// Releases the GIL for the rest of the scope only when the call does enough work for other
// Python threads to gain from it: giving it up and taking it back (a mutex and a condition
// variable) was 4% of a 1 x 1 matmul's 1.1 us.
class GilReleaseIf {
 public:
  explicit GilReleaseIf(bool release) : state_(release ? PyEval_SaveThread() : nullptr) {}
  ~GilReleaseIf() {
    if (state_ != nullptr) PyEval_RestoreThread(state_);
  }
  GilReleaseIf(const GilReleaseIf&) = delete;
  GilReleaseIf& operator=(const GilReleaseIf&) = delete;

 private:
  PyThreadState* state_;
};
// Elements (or multiply-adds) below which a call keeps the GIL: a few microseconds at most.
constexpr int64_t kKeepGilWork = int64_t{1} << 14;
}  // namespace dl
#define DL_NOGIL_IF(release) ::dl::GilReleaseIf dl_nogil_guard_(release)

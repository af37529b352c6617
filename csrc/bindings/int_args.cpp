#include "bindings/int_args.h"

#include <cstring>
#include <string>

namespace dl {
namespace {

std::string type_name(py::handle obj) {
  return py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

// obj is known to support __index__ (and not to be bool).
int64_t index_value(py::handle obj, const char* op, const char* what) {
  py::object v = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
  if (!v) {
    PyErr_Clear();
    fail(ErrorKind::Type, op, what, " must be integers, got ", type_name(obj));
  }
  int overflow = 0;
  const long long r = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (overflow != 0) fail(ErrorKind::Value, op, what, " does not fit in int64");
  if (r == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    fail(ErrorKind::Type, op, what, " must be integers, got ", type_name(obj));
  }
  return static_cast<int64_t>(r);
}

bool is_bool(py::handle obj) {
  // Python bools and NumPy bools (np.bool_ has no __index__ today, but be explicit); a C string
  // compare, as this runs for every shape entry of every call.
  const char* t = Py_TYPE(obj.ptr())->tp_name;
  return PyBool_Check(obj.ptr()) || std::strcmp(t, "numpy.bool") == 0 || std::strcmp(t, "numpy.bool_") == 0;
}

}  // namespace

int64_t int_arg(py::handle obj, const char* op, const char* what) {
  if (is_bool(obj) || !PyIndex_Check(obj.ptr()))
    fail(ErrorKind::Type, op, what, " must be integers, got ", type_name(obj));
  return index_value(obj, op, what);
}

std::vector<int64_t> int_list_arg(py::handle obj, const char* op, const char* what) {
  std::vector<int64_t> out;
  if (PyLong_Check(obj.ptr()) && !is_bool(obj)) {
    out.push_back(index_value(obj, op, what));
    return out;
  }
  // A 0-d array or Tensor is a sequence by type but has no items (a dlcore Tensor even iterates
  // as empty): it is one int when it is an integer scalar, else a TypeError below.
  const bool plain = PyList_Check(obj.ptr()) || PyTuple_Check(obj.ptr());
  const bool zero_dim = !plain && py::hasattr(obj, "ndim") && py::int_(obj.attr("ndim")).cast<int64_t>() == 0;
  if (!zero_dim && PySequence_Check(obj.ptr()) && !PyUnicode_Check(obj.ptr()) && !PyBytes_Check(obj.ptr())) {
    // A list or tuple that owns every item for as long as we read them.
    py::object seq = py::reinterpret_steal<py::object>(PySequence_Fast(obj.ptr(), "not iterable"));
    if (seq) {
      // For a list PySequence_Fast returns the list itself, which an item's __index__ could
      // shrink: re-read the size each step and hold the item while converting it.
      for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq.ptr()); ++i) {
        const py::object item = py::reinterpret_borrow<py::object>(PySequence_Fast_GET_ITEM(seq.ptr(), i));
        out.push_back(int_arg(item, op, what));
      }
      return out;
    }
    // Not iterable after all (a 0-d array or Tensor): an integer scalar of that kind is one int.
    PyErr_Clear();
  }
  if (!is_bool(obj) && PyIndex_Check(obj.ptr())) {
    out.push_back(index_value(obj, op, what));
    return out;
  }
  fail(ErrorKind::Type, op, what, " must be an int or a sequence of ints, got ", type_name(obj));
}

}  // namespace dl

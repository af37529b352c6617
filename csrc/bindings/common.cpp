#include "bindings/common.h"

#include <string>

#include "bindings/int_args.h"

namespace dl {

void register_error_translator() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyObject* type = PyExc_RuntimeError;
      switch (e.kind()) {
        case ErrorKind::Value: type = PyExc_ValueError; break;
        case ErrorKind::Type: type = PyExc_TypeError; break;
        case ErrorKind::Index: type = PyExc_IndexError; break;
        case ErrorKind::Memory: type = PyExc_MemoryError; break;
        case ErrorKind::Runtime: type = PyExc_RuntimeError; break;
      }
      PyErr_SetString(type, e.what());
    }
  });
}

namespace {

bool numpy_dtype(const py::dtype& dt, DType* out) {
  if (dt.byteorder() == '>') return false;  // big-endian data would be misread
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'f' && size == 4) *out = DType::Float32;
  else if (kind == 'f' && size == 8) *out = DType::Float64;
  else if (kind == 'f' && size == 2) *out = DType::Float16;
  else if (kind == 'i' && size == 8) *out = DType::Int64;
  else if (kind == 'i' && size == 4) *out = DType::Int32;
  else if (kind == 'i' && size == 2) *out = DType::Int16;
  else if (kind == 'i' && size == 1) *out = DType::Int8;
  else if (kind == 'u' && size == 1) *out = DType::UInt8;
  else if (kind == 'b' && size == 1) *out = DType::Bool;
  else return false;
  return true;
}

// NumPy's dtype for a dlcore dtype; bfloat16 has none (NumPy lacks the type): TypeError, as
// torch's .numpy() of a bfloat16 tensor.
py::dtype to_numpy_dtype(DType d, const char* op) {
  switch (d) {
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Bool: return py::dtype::of<bool>();
    case DType::Int32: return py::dtype::of<int32_t>();
    case DType::Int16: return py::dtype::of<int16_t>();
    case DType::Int8: return py::dtype::of<int8_t>();
    case DType::UInt8: return py::dtype::of<uint8_t>();
    case DType::Float16: return py::dtype("float16");
    case DType::BFloat16: break;
  }
  fail(ErrorKind::Type, op, "NumPy has no bfloat16 dtype; convert first with .float() (or .to(dlcore.float32)), "
       "or exchange bfloat16 through DLPack (torch.from_dlpack)");
}

constexpr const char* kSupported = "float32, float64, float16, int64, int32, int16, int8, uint8, bool";

std::string describe(py::handle obj) {
  return py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

// Wraps a NumPy array without copying.  The Storage keeps the array alive; its deleter takes the
// GIL because the last reference may be dropped by a kernel thread that released it.
Tensor wrap_numpy(const py::array& arr, const char* op, const char* arg, bool writable) {
  DType dt;
  if (!numpy_dtype(arr.dtype(), &dt))
    fail(ErrorKind::Type, op, "unsupported dtype ", py::str(arr.dtype()).cast<std::string>(), " for '", arg,
         "' (supported: ", kSupported, ")");
  if (writable && !arr.writeable()) fail(ErrorKind::Value, op, "'", arg, "' is read-only");
  const auto item = static_cast<py::ssize_t>(itemsize(dt));
  const bool aligned = (reinterpret_cast<uintptr_t>(arr.data()) % static_cast<uintptr_t>(item)) == 0;
  bool strides_ok = true;
  Shape shape(static_cast<size_t>(arr.ndim())), strides(static_cast<size_t>(arr.ndim()));
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    shape[static_cast<size_t>(i)] = arr.shape(i);
    strides_ok = strides_ok && arr.strides(i) % item == 0;
    strides[static_cast<size_t>(i)] = arr.strides(i) / item;
  }
  if (!aligned || !strides_ok) {
    if (writable) fail(ErrorKind::Value, op, "'", arg, "' is not aligned to its element size");
    // Byte strides that are not a multiple of the item size: copy once, never misread.
    // (np.array(copy=True) always returns fresh, aligned, C-ordered memory.)
    py::array copy = py::module_::import("numpy").attr("array")(arr, py::arg("copy") = true, py::arg("order") = "C");
    return wrap_numpy(copy, op, arg, false);
  }
  // The storage owns a reference to the array (released under the GIL, from whichever thread
  // drops the last Tensor); a raw reference rather than a heap py::object saves an allocation.
  // The storage spans exactly the bytes the array reaches (lowest to highest element; negative
  // strides reach below data()), so check_view_bounds can hold every later view to it.
  const ViewExtent ext = view_extent(shape, strides, op);
  char* base = static_cast<char*>(const_cast<void*>(arr.data())) + ext.lo * item;
  const size_t span = arr.size() == 0 ? 0 : static_cast<size_t>(ext.hi - ext.lo + 1) * static_cast<size_t>(item);
  PyObject* keep = arr.ptr();
  Py_INCREF(keep);
  auto storage = std::make_shared<Storage>(base, span, cpu_device(), [keep](void*) {
                                             py::gil_scoped_acquire gil;
                                             Py_DECREF(keep);
                                           });
  storage->set_read_only(!arr.writeable());
  return Tensor(std::move(storage), std::move(shape), std::move(strides), -ext.lo, dt);
}

}  // namespace

static Tensor as_tensor_any(py::handle obj, const char* op, const char* arg, bool writable);

Tensor as_tensor(py::handle obj, const char* op, const char* arg, bool writable) {
  Tensor t = as_tensor_any(obj, op, arg, writable);
  if (writable && t.storage()->read_only()) fail(ErrorKind::Value, op, "'", arg, "' is read-only");
  return t;
}

static Tensor as_tensor_any(py::handle obj, const char* op, const char* arg, bool writable) {
  // An exact ndarray first: a type compare, where isinstance<Tensor> searches pybind11's tables.
  if (is_ndarray(obj)) return wrap_numpy(py::reinterpret_borrow<py::array>(obj), op, arg, writable);
  if (py::isinstance<Tensor>(obj)) return obj.cast<Tensor>();
  if (obj.is_none()) fail(ErrorKind::Type, op, "expected an array for '", arg, "', got None");
  if (py::isinstance<py::array>(obj)) return wrap_numpy(py::reinterpret_borrow<py::array>(obj), op, arg, writable);
  // Our Python-level dlcore.Tensor keeps its TensorImpl in `_impl`.
  if (py::hasattr(obj, "_impl")) {
    py::object impl = obj.attr("_impl");
    if (py::isinstance<Tensor>(impl)) return impl.cast<Tensor>();
  }
  if (PyBool_Check(obj.ptr())) {
    Tensor t = Tensor::empty({}, DType::Bool, cpu_device(), op);
    *t.data<bool>() = obj.cast<bool>();
    return t;
  }
  if (PyLong_CheckExact(obj.ptr())) {
    Tensor t = Tensor::empty({}, DType::Int64, cpu_device(), op);
    try {
      *t.data<int64_t>() = obj.cast<int64_t>();
    } catch (const py::cast_error&) {
      fail(ErrorKind::Value, op, "integer for '", arg, "' does not fit in int64");
    }
    return t;
  }
  // Exact checks: NumPy scalars (np.float64 subclasses float) keep their dtype via __array__.
  if (PyFloat_CheckExact(obj.ptr())) {
    Tensor t = Tensor::empty({}, DType::Float32, cpu_device(), op);
    *t.data<float>() = static_cast<float>(obj.cast<double>());
    return t;
  }
  if (py::hasattr(obj, "__dlpack__")) return from_dlpack(obj, op);
  if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj) || py::hasattr(obj, "__array__") ||
      PyObject_CheckBuffer(obj.ptr())) {
    py::module_ np = py::module_::import("numpy");
    py::array arr = np.attr("asarray")(obj);
    // Python lists of floats become float32 and of ints int64, as torch.tensor does.
    if (!py::hasattr(obj, "__array__") && !PyObject_CheckBuffer(obj.ptr())) {
      const char kind = arr.dtype().kind();
      if (kind == 'f') arr = np.attr("asarray")(arr, "float32");
      else if (kind == 'i' || kind == 'u') arr = np.attr("asarray")(arr, "int64");
    }
    return wrap_numpy(arr, op, arg, writable);
  }
  fail(ErrorKind::Type, op, "expected an array (numpy, dlcore, DLPack) for '", arg, "', got ", describe(obj));
}

bool is_ndarray(py::handle obj) {
  return Py_TYPE(obj.ptr()) == reinterpret_cast<PyTypeObject*>(py::detail::npy_api::get().PyArray_Type_);
}

py::array to_numpy(const Tensor& t) {
  check_cpu(t, "numpy");
  py::dtype dt = to_numpy_dtype(t.dtype(), "numpy");
  // The array is made through NumPy's C API with the dims on the stack: py::array's constructor
  // takes them as two heap vectors, two allocations in every small op's ~0.7 us.
  constexpr int64_t kMaxDims = 64;  // NumPy's own limit
  DL_CHECK(t.ndim() <= kMaxDims, Value, "numpy", "a result of ", t.ndim(), " dims exceeds NumPy's ", kMaxDims);
  Py_intptr_t shape[kMaxDims], strides[kMaxDims];
  for (int64_t i = 0; i < t.ndim(); ++i) {
    shape[i] = static_cast<Py_intptr_t>(t.size(i));
    strides[i] = static_cast<Py_intptr_t>(t.stride(i) * static_cast<int64_t>(t.itemsize()));
  }
  auto* keep = new std::shared_ptr<Storage>(t.storage());
  py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  auto& api = py::detail::npy_api::get();
  const int flags = t.storage()->read_only() ? 0 : py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  auto arr = py::reinterpret_steal<py::array>(api.PyArray_NewFromDescr_(
      api.PyArray_Type_, dt.release().ptr(), static_cast<int>(t.ndim()), shape, strides, t.raw_data(), flags, nullptr));
  if (!arr) throw py::error_already_set();
  if (api.PyArray_SetBaseObject_(arr.ptr(), base.release().ptr()) != 0) throw py::error_already_set();
  return arr;
}

Tensor as_optional_tensor(py::handle obj, const char* op, const char* arg) {
  if (obj.is_none()) return Tensor();
  return as_tensor(obj, op, arg);
}

DType parse_dtype(py::handle dtype, const char* op) {
  std::string name;
  if (py::isinstance<py::str>(dtype)) {
    name = dtype.cast<std::string>();
  } else if (py::hasattr(dtype, "_dlcore_name")) {  // dlcore.bfloat16 (NumPy has no such dtype)
    name = py::str(dtype.attr("_dlcore_name")).cast<std::string>();
  } else {
    py::module_ np = py::module_::import("numpy");
    try {
      name = py::str(np.attr("dtype")(dtype).attr("name")).cast<std::string>();
    } catch (const py::error_already_set&) {
      fail(ErrorKind::Type, op, "cannot interpret ", describe(dtype), " as a dtype");
    }
  }
  if (name == "float32" || name == "float") return DType::Float32;
  if (name == "float64" || name == "double") return DType::Float64;
  if (name == "int64" || name == "long") return DType::Int64;
  if (name == "bool") return DType::Bool;
  if (name == "int32") return DType::Int32;
  if (name == "int16" || name == "short") return DType::Int16;
  if (name == "int8") return DType::Int8;
  if (name == "uint8") return DType::UInt8;
  if (name == "float16" || name == "half") return DType::Float16;
  if (name == "bfloat16") return DType::BFloat16;
  fail(ErrorKind::Type, op, "unsupported dtype '", name, "' (supported: ", kSupported, ", bfloat16)");
}

Shape parse_shape(py::handle shape, const char* op) {
  // int_list_arg holds each item while reading it (a NumPy array or Tensor as the shape makes
  // its items on the fly).
  const std::vector<int64_t> v = int_list_arg(shape, op, "shape entries");
  Shape out(v.begin(), v.end());
  for (int64_t d : out) DL_CHECK(d >= 0, Value, op, "shape entries must be non-negative, got ", d);
  checked_numel(out, op);
  return out;
}

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op) {
  const int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  if (axis < lo || axis > hi)
    fail(ErrorKind::Value, op, "axis ", axis, " is out of range for a tensor of ", ndim, " dimension(s)");
  return axis < 0 ? axis + (ndim == 0 ? 1 : ndim) : axis;
}

}  // namespace dl

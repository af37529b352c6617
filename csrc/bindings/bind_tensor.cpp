// TensorImpl (the C++ tensor as seen from Python), factories, threads, ISA and build info.
#include <pybind11/numpy.h>

#include "bindings/common.h"
#include "bindings/int_args.h"
#include "core/cpu_features.h"
#include "core/parallel.h"
#include "core/storage.h"
#include "dispatch/registry.h"
#include "ops/fill.h"

namespace dl {
namespace {

const char* buffer_format(DType d) {
  switch (d) {
    case DType::Float32: return "f";
    case DType::Float64: return "d";
    case DType::Int64: return "q";
    case DType::Bool: return "?";
    case DType::Int32: return "i";
    case DType::Int16: return "h";
    case DType::Int8: return "b";
    case DType::UInt8: return "B";
    case DType::Float16: return "e";
    case DType::BFloat16: break;  // no buffer-protocol format: refused by the caller
  }
  fail(ErrorKind::Type, "numpy", "bfloat16 has no NumPy/buffer equivalent; convert with .float() first");
}

py::tuple to_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = s[i];
  return t;
}

py::object item(const Tensor& t) {
  DL_CHECK(t.numel() == 1, Value, "item", "expected a tensor with one element, got shape ", shape_str(t.shape()));
  Tensor c = t.device().is_cpu() ? t : t.to(cpu_device());
  switch (c.dtype()) {
    case DType::Float32: return py::float_(*c.data<float>());
    case DType::Float64: return py::float_(*c.data<double>());
    case DType::Int64: return py::int_(*c.data<int64_t>());
    case DType::Bool: return py::bool_(*c.data<bool>());
    case DType::Int32: return py::int_(*c.data<int32_t>());
    case DType::Int16: return py::int_(*c.data<int16_t>());
    case DType::Int8: return py::int_(*c.data<int8_t>());
    case DType::UInt8: return py::int_(*c.data<uint8_t>());
    case DType::Float16: return py::float_(half_to_float(*c.data<Half>()));
    case DType::BFloat16: return py::float_(bfloat16_to_float(*c.data<BFloat16>()));
  }
  return py::none();
}

// dlcore.Tensor is a Python class holding a TensorImpl in `_impl`. Before Python 3.12 a class
// defined in Python cannot export the buffer protocol, so memoryview(t) / np.frombuffer(t) need
// a C-level base class: this one forwards every buffer request to `self._impl` (pybind11 gives
// TensorImpl the protocol, with its strides, read-only flag and contiguity checks), so the
// buffer views the tensor's memory and keeps it alive. On 3.12+ the slot also appears as
// Tensor.__buffer__ (and __release_buffer__ through the impl).
int tensor_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  PyObject* impl = PyObject_GetAttrString(self, "_impl");
  if (impl == nullptr) return -1;
  const int rc = PyObject_GetBuffer(impl, view, flags);  // view->obj is the impl: it releases
  Py_DECREF(impl);
  return rc;
}

void add_buffer_exporter(py::module_& m) {
  static PyType_Slot slots[] = {
      {Py_bf_getbuffer, reinterpret_cast<void*>(&tensor_getbuffer)},
      {Py_tp_doc, const_cast<char*>("Base class of dlcore.Tensor: exports the buffer protocol of self._impl.")},
      {0, nullptr}};
  static PyType_Spec spec = {"dlcore._core.BufferExporter", static_cast<int>(sizeof(PyObject)), 0,
                             Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, slots};
  PyObject* type = PyType_FromSpec(&spec);
  if (type == nullptr) throw py::error_already_set();
  m.add_object("BufferExporter", py::reinterpret_steal<py::object>(type));
}

}  // namespace

namespace {
// Fills t from a Python value: an integer (int, NumPy integer) goes in exactly, so an int64
// tensor gets 2**62 + 1 rather than the nearest double; anything else must convert to float.
void fill_from_python(Tensor& t, py::handle value, const char* op) {
  if (!PyBool_Check(value.ptr()) && PyIndex_Check(value.ptr())) {
    py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr()));
    if (i) {
      int overflow = 0;
      const long long v = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
      if (overflow == 0 && !(v == -1 && PyErr_Occurred())) {
        DL_NOGIL;
        fill_int_(t, static_cast<int64_t>(v), op);
        return;
      }
      PyErr_Clear();
      DL_CHECK(t.dtype() != DType::Int64, Value, op, "value ", py::str(i).cast<std::string>(),
               " cannot be converted to int64 without overflow");
    } else {
      PyErr_Clear();  // a float array scalar: not an index, read it as a float below
    }
  }
  const double d = PyFloat_AsDouble(value.ptr());
  if (d == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    fail(ErrorKind::Type, op, "expected a number as the value, got ",
         py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>());
  }
  DL_NOGIL;
  fill_(t, d, op);
}
}  // namespace

void bind_tensor(py::module_& m) {
  add_buffer_exporter(m);
  py::class_<Tensor>(m, "TensorImpl", py::buffer_protocol(),
                     "dlcore's C++ tensor: a strided view of host or CUDA memory. Use dlcore.Tensor in Python code.")
      .def_buffer([](const Tensor& t) -> py::buffer_info {
        check_cpu(t, "numpy");
        std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides(t.ndim());
        for (int64_t i = 0; i < t.ndim(); ++i) strides[i] = t.stride(i) * static_cast<int64_t>(t.itemsize());
        return py::buffer_info(t.raw_data(), static_cast<py::ssize_t>(t.itemsize()), buffer_format(t.dtype()),
                               t.ndim(), shape, strides, t.storage()->read_only());
      })
      .def_property_readonly("shape", [](const Tensor& t) { return to_tuple(t.shape()); })
      .def_property_readonly("strides", [](const Tensor& t) { return to_tuple(t.strides()); },
                             "strides in elements")
      .def_property_readonly("offset", &Tensor::offset, "offset of the first element, in elements")
      .def_property_readonly("dtype", [](const Tensor& t) { return std::string(dtype_name(t.dtype())); })
      .def_property_readonly("device", [](const Tensor& t) { return t.device().str(); })
      .def_property_readonly("ndim", &Tensor::ndim)
      .def_property_readonly("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); })
      .def("numel", &Tensor::numel)
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("contiguous", [](const Tensor& t) { DL_NOGIL; return t.contiguous(); })
      .def("clone", [](const Tensor& t) { DL_NOGIL; return t.clone(); })
      .def("to", [](const Tensor& t, const std::string& dev) {
        Device d = parse_device(dev, "to");
        DL_NOGIL;
        return t.to(d);
      })
      .def("item", &item)
      .def("__dlpack__", [](const Tensor& t, py::object stream, py::object max_version, py::object dl_device,
                            py::object copy) {
        (void)stream;  // dlcore's CUDA work is synchronous on the default stream
        if (!copy.is_none() && copy.cast<bool>()) return to_dlpack(t.clone(), max_version);
        if (!dl_device.is_none()) {
          auto dev = dl_device.cast<py::tuple>();
          const int type = dev[0].cast<int>();
          DL_CHECK(type == (t.device().is_cpu() ? 1 : 2), Runtime, "__dlpack__",
                   "export to another device is not supported");
        }
        return to_dlpack(t, max_version);
      }, py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
         py::arg("dl_device") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack_device__", [](const Tensor& t) {
        return py::make_tuple(t.device().is_cpu() ? 1 : 2, t.device().is_cpu() ? 0 : t.device().index);
      });

  m.def("as_tensor", [](py::handle obj) { return as_tensor(obj, "as_tensor", "data"); }, py::arg("obj"),
        "Wrap a NumPy array, DLPack producer, scalar or list as a TensorImpl (zero-copy when possible).");
  m.def("to_numpy", [](const Tensor& t) { return to_numpy(t); }, py::arg("t"),
        "A NumPy array viewing a CPU tensor's memory (kept alive by the array).");
  m.def("from_dlpack", [](py::handle obj) { return from_dlpack(obj, "from_dlpack"); }, py::arg("obj"));
  m.def("empty", [](py::handle shape, py::handle dtype, const std::string& device) {
    Shape s = parse_shape(shape, "empty");
    return Tensor::empty(s, parse_dtype(dtype, "empty"), parse_device(device, "empty"), "empty");
  }, py::arg("shape"), py::arg("dtype") = "float32", py::arg("device") = "cpu");
  m.def("zeros", [](py::handle shape, py::handle dtype, const std::string& device) {
    Shape s = parse_shape(shape, "zeros");
    return Tensor::zeros(s, parse_dtype(dtype, "zeros"), parse_device(device, "zeros"), "zeros");
  }, py::arg("shape"), py::arg("dtype") = "float32", py::arg("device") = "cpu");
  m.def("full", [](py::handle shape, py::handle value, py::handle dtype, const std::string& device) {
    Shape s = parse_shape(shape, "full");
    Tensor t = Tensor::empty(s, parse_dtype(dtype, "full"), parse_device(device, "full"), "full");
    fill_from_python(t, value, "full");
    return t;
  }, py::arg("shape"), py::arg("value"), py::arg("dtype") = "float32", py::arg("device") = "cpu");
  m.def("fill_", [](py::handle dst, py::handle value) {
    Tensor t = as_tensor(dst, "fill_", "dst", true);
    fill_from_python(t, value, "fill_");
  }, py::arg("dst"), py::arg("value"),
     "Set every element of dst to value.  A Python/NumPy integer is stored exactly into int64; NaN, "
     "infinities and out-of-range values raise ValueError for int64.");
  m.def("copy_", [](py::handle dst, py::handle src) {
    Tensor d = as_tensor(dst, "copy_", "dst", true), s = as_tensor(src, "copy_", "src");
    check_no_internal_overlap(d, "copy_", "dst");
    // NumPy semantics for overlapping memory (x[1:] = x[:-1], x[:] = x[::-1]): read everything
    // before writing anything, through a temporary copy of src.
    if (may_share_memory(d, s) && d.device().is_cpu() && s.device().is_cpu()) s = s.clone();
    DL_NOGIL;
    copy_into(d, s, "copy_");
  }, py::arg("dst"), py::arg("src"),
     "Copy src into dst (same shape and dtype; any strides; across devices).  Overlapping src and dst "
     "copy through a temporary (as NumPy does); a dst with a zero stride on a dim of size > 1 raises.");

  // Threads and instruction sets.
  m.def("set_num_threads", [](py::handle n) {
    const int64_t v = int_arg(n, "set_num_threads", "n");
    check_thread_count(v, "set_num_threads");  // before narrowing to int
    set_num_threads(static_cast<int>(v));
  }, py::arg("n"));
  m.def("get_num_threads", &num_threads);
  m.def("max_num_threads", &max_num_threads,
        "The largest thread count set_num_threads and fma_peak_gflops accept: 4 x the hardware threads, at most 1024.");
  m.def("host_cache_stats", [] {
    const HostCacheStats s = host_cache_stats();
    py::dict d;
    d["cached_bytes"] = s.cached_bytes;
    d["cached_blocks"] = s.cached_blocks;
    d["limit_bytes"] = s.limit_bytes;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    d["small_cached_blocks"] = s.small_blocks;
    d["small_cached_bytes"] = s.small_bytes;
    d["small_hits"] = s.small_hits;
    return d;
  });
  m.def("host_cache_empty", &host_cache_empty);
  m.def("host_cache_set_limit", &host_cache_set_limit, py::arg("nbytes"));
  m.def("openmp_enabled", &openmp_enabled);
  m.def("detected_isa", [] { return std::string(isa_name(detected_isa())); });
  m.def("active_isa", [] { return std::string(isa_name(active_isa())); });
  m.def("available_isas", [] {
    std::vector<std::string> out;
    for (int i = 0; i <= static_cast<int>(detected_isa()); ++i)
      if (isa_compiled(static_cast<Isa>(i))) out.push_back(isa_name(static_cast<Isa>(i)));
    return out;
  });
  m.def("set_isa", [](const std::string& name) {
    for (int i = 0; i < kNumIsas; ++i)
      if (name == isa_name(static_cast<Isa>(i))) return set_active_isa(static_cast<Isa>(i));
    fail(ErrorKind::Value, "set_isa", "unknown ISA '", name, "' (expected baseline, avx2 or avx512)");
  }, py::arg("name"));
  m.def("kernels", [] {
    py::dict d;
    for (const auto& k : registered_kernels()) d[py::str(k.op)] = k.variants;
    return d;
  }, "Every registered op and the variants (cpu:<isa>, cuda) it has.");

  // CUDA.
  m.def("cuda_compiled", &cuda_compiled);
  m.def("cuda_device_count", [] {
    const CudaHooks& h = cuda_hooks();
    return h.device_count ? h.device_count() : 0;
  });
  m.def("cuda_device_names", [] {
    const CudaHooks& h = cuda_hooks();
    std::vector<std::string> names;
    const int n = h.device_count ? h.device_count() : 0;
    for (int i = 0; i < n; ++i) names.emplace_back(h.device_name(i));
    return names;
  });
}

}  // namespace dl

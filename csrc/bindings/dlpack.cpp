// DLPack export (TensorImpl.__dlpack__) and import (from_dlpack), both zero-copy.
#include "bindings/dlpack.h"

#include "bindings/common.h"

namespace dl {
namespace {
using namespace dlpack;

constexpr const char* kLegacy = "dltensor";
constexpr const char* kVersioned = "dltensor_versioned";

DLDataType to_dl(DType d) {
  switch (d) {
    case DType::Float32: return {kDLFloat, 32, 1};
    case DType::Float64: return {kDLFloat, 64, 1};
    case DType::Int64: return {kDLInt, 64, 1};
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::Int32: return {kDLInt, 32, 1};
    case DType::Int16: return {kDLInt, 16, 1};
    case DType::Int8: return {kDLInt, 8, 1};
    case DType::UInt8: return {kDLUInt, 8, 1};
    case DType::Float16: return {kDLFloat, 16, 1};
    case DType::BFloat16: return {kDLBfloat, 16, 1};
  }
  fail(ErrorKind::Type, "__dlpack__", "unknown dtype");  // unreachable: the switch covers the enum
}

DType from_dl(const DLDataType& t, const char* op) {
  if (t.lanes == 1) {
    if (t.code == kDLFloat && t.bits == 32) return DType::Float32;
    if (t.code == kDLFloat && t.bits == 64) return DType::Float64;
    if (t.code == kDLInt && t.bits == 64) return DType::Int64;
    if (t.code == kDLBool && t.bits == 8) return DType::Bool;
    if (t.code == kDLFloat && t.bits == 16) return DType::Float16;
    if (t.code == kDLBfloat && t.bits == 16) return DType::BFloat16;
    if (t.code == kDLInt && t.bits == 32) return DType::Int32;
    if (t.code == kDLInt && t.bits == 16) return DType::Int16;
    if (t.code == kDLInt && t.bits == 8) return DType::Int8;
    if (t.code == kDLUInt && t.bits == 8) return DType::UInt8;
  }
  fail(ErrorKind::Type, op, "unsupported DLPack dtype (code ", int(t.code), ", bits ", int(t.bits), ", lanes ",
       t.lanes, "); supported: float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool");
}

// Owns what an exported DLTensor points at: the tensor (keeps the storage alive) and the arrays.
template <class Managed>
struct Export {
  Tensor tensor;
  Shape shape, strides;
  Managed managed{};
};

template <class Managed>
void fill(Export<Managed>* ex) {
  DLTensor& t = ex->managed.dl_tensor;
  t.data = ex->tensor.storage()->data();
  t.byte_offset = static_cast<uint64_t>(ex->tensor.offset()) * ex->tensor.itemsize();
  const Device& dev = ex->tensor.device();
  t.device = {dev.is_cpu() ? kDLCPU : kDLCUDA, dev.is_cpu() ? 0 : dev.index};
  t.ndim = static_cast<int32_t>(ex->shape.size());
  t.dtype = to_dl(ex->tensor.dtype());
  t.shape = ex->shape.empty() ? nullptr : ex->shape.data();
  t.strides = ex->strides.empty() ? nullptr : ex->strides.data();
  ex->managed.manager_ctx = ex;
  ex->managed.deleter = [](Managed* self) { delete static_cast<Export<Managed>*>(self->manager_ctx); };
}

template <class Managed>
void capsule_destructor(PyObject* capsule, const char* name) {
  // Only a capsule nobody consumed still carries its original name; then we must free it.
  if (PyCapsule_IsValid(capsule, name)) {
    auto* m = static_cast<Managed*>(PyCapsule_GetPointer(capsule, name));
    if (m && m->deleter) m->deleter(m);
  } else {
    PyErr_Clear();
  }
}

}  // namespace

py::object to_dlpack(const Tensor& tensor, py::object max_version) {
  bool versioned = false;
  if (!max_version.is_none()) {
    auto mv = max_version.cast<py::tuple>();
    versioned = mv.size() >= 1 && mv[0].cast<int>() >= 1;
  }
  if (versioned) {
    auto* ex = new Export<DLManagedTensorVersioned>{tensor, tensor.shape(), tensor.strides(), {}};
    fill(ex);
    ex->managed.version = {1, 0};
    ex->managed.flags = tensor.storage()->read_only() ? kFlagReadOnly : 0;
    return py::reinterpret_steal<py::object>(PyCapsule_New(&ex->managed, kVersioned, [](PyObject* c) {
      capsule_destructor<DLManagedTensorVersioned>(c, kVersioned);
    }));
  }
  auto* ex = new Export<DLManagedTensor>{tensor, tensor.shape(), tensor.strides(), {}};
  fill(ex);
  return py::reinterpret_steal<py::object>(
      PyCapsule_New(&ex->managed, kLegacy, [](PyObject* c) { capsule_destructor<DLManagedTensor>(c, kLegacy); }));
}

Tensor from_dlpack(py::handle obj, const char* op) {
  py::object capsule;
  if (PyCapsule_CheckExact(obj.ptr())) {
    capsule = py::reinterpret_borrow<py::object>(obj);
  } else {
    if (!py::hasattr(obj, "__dlpack__"))
      fail(ErrorKind::Type, op, "expected an object with __dlpack__, got ",
           py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>());
    try {
      capsule = obj.attr("__dlpack__")(py::arg("max_version") = py::make_tuple(1, 0));
    } catch (const py::error_already_set& e) {
      if (!e.matches(PyExc_TypeError)) throw;
      capsule = obj.attr("__dlpack__")();  // an older producer without max_version
    }
  }
  PyObject* cap = capsule.ptr();
  const DLTensor* t = nullptr;
  bool read_only = false;
  std::function<void()> release;
  if (PyCapsule_IsValid(cap, kVersioned)) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, kVersioned));
    DL_CHECK(m->version.major == 1, Type, op, "unsupported DLPack major version ", m->version.major);
    t = &m->dl_tensor;
    read_only = (m->flags & kFlagReadOnly) != 0;
    release = [m] {
      if (m->deleter) m->deleter(m);
    };
    PyCapsule_SetName(cap, "used_dltensor_versioned");
  } else if (PyCapsule_IsValid(cap, kLegacy)) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, kLegacy));
    t = &m->dl_tensor;
    release = [m] {
      if (m->deleter) m->deleter(m);
    };
    PyCapsule_SetName(cap, "used_dltensor");
  } else {
    PyErr_Clear();
    fail(ErrorKind::Type, op, "__dlpack__ did not return an unused DLPack capsule");
  }
  // From here on we own the producer's tensor: release it on every path.
  std::shared_ptr<void> guard(nullptr, [&release](void*) {
    if (release) release();
  });
  const DType dtype = from_dl(t->dtype, op);
  Device device;
  if (t->device.device_type == kDLCPU || t->device.device_type == kDLCUDAHost) {
    device = cpu_device();
  } else if (t->device.device_type == kDLCUDA) {
    device = Device{DeviceType::CUDA, t->device.device_id};
    DL_CHECK(cuda_compiled(), Runtime, op, "got a CUDA array, but dlcore was built without CUDA");
  } else {
    fail(ErrorKind::Runtime, op, "unsupported DLPack device type ", t->device.device_type);
  }
  DL_CHECK(t->ndim >= 0, Value, op, "bad DLPack ndim ", t->ndim);
  Shape shape(t->shape, t->shape + t->ndim);
  Shape strides = t->strides ? Shape(t->strides, t->strides + t->ndim) : contiguous_strides(shape);
  const size_t item = itemsize(dtype);
  DL_CHECK(t->byte_offset % item == 0, Value, op, "DLPack byte_offset ", t->byte_offset,
           " is not a multiple of the element size");
  // The storage spans exactly the bytes the tensor reaches (lowest to highest element), so
  // check_view_bounds can hold every later view to it.
  const ViewExtent ext = view_extent(shape, strides, op);
  const int64_t numel = checked_numel(shape, op);
  const int64_t first = static_cast<int64_t>(t->byte_offset / item) + ext.lo;
  const size_t span = numel == 0 ? 0 : static_cast<size_t>(ext.hi - ext.lo + 1) * item;
  auto storage = std::make_shared<Storage>(
      static_cast<char*>(t->data) + first * static_cast<int64_t>(item), span, device,
      [rel = std::move(release)](void*) {
        py::gil_scoped_acquire gil;  // producers' deleters may touch Python objects
        rel();
      });
  release = nullptr;  // the storage owns it now
  storage->set_read_only(read_only);
  return Tensor(std::move(storage), std::move(shape), std::move(strides), -ext.lo, dtype);
}

}  // namespace dl

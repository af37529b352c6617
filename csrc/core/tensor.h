// The core tensor: a view (shape, strides in elements, offset in elements, dtype) of a Storage.
// Tensors are cheap handles; copying one shares the memory.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/small_vector.h"
#include "core/storage.h"

namespace dl {

// Sizes or strides: up to 6 dims inline, without a heap allocation (see small_vector.h).
using Shape = SmallVector<int64_t, 6>;

std::string shape_str(const Shape& s);          // "(2, 3)"
Shape contiguous_strides(const Shape& shape);   // row-major, in elements
// Product of the sizes; raises ValueError naming op on negative sizes or int64 overflow.
int64_t checked_numel(const Shape& shape, const char* op);

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype)
      : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)),
        offset_(offset), dtype_(dtype) {}

  // A new, uninitialised, contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype, const Device& device = cpu_device(),
                      const char* op = "empty");
  static Tensor zeros(const Shape& shape, DType dtype, const Device& device = cpu_device(),
                      const char* op = "zeros");

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t size(int64_t dim) const { return shape_[static_cast<size_t>(dim)]; }
  int64_t stride(int64_t dim) const { return strides_[static_cast<size_t>(dim)]; }
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t offset() const { return offset_; }
  int64_t numel() const;
  DType dtype() const { return dtype_; }
  size_t itemsize() const { return dl::itemsize(dtype_); }
  const Device& device() const { return storage_->device(); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  bool is_contiguous() const;

  void* raw_data() const {
    return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(itemsize());
  }
  template <class T>
  T* data() const { return static_cast<T*>(raw_data()); }

  // Same memory, new shape/strides/offset (no checks beyond the caller's: for kernels' internal
  // views of memory they already own).
  Tensor view(Shape shape, Shape strides, int64_t offset) const {
    return Tensor(storage_, std::move(shape), std::move(strides), offset, dtype_);
  }
  // The same, for views built from user integers (narrow, index, split, expand, ...): raises
  // ValueError naming op unless every element of the view lies inside the storage (see
  // check_view_bounds).  Every view-making op goes through this one check.
  Tensor checked_view(Shape shape, Shape strides, int64_t offset, const char* op) const;
  // Self if contiguous, else a contiguous copy.
  Tensor contiguous() const;
  // A contiguous copy on `device`.
  Tensor to(const Device& device) const;
  Tensor clone() const { return to(device()); }

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::Float32;
};

// Element offsets (relative to the view's own offset) of its lowest and highest element, computed
// with checked arithmetic (ValueError naming op on overflow); {0, 0} for an empty view.
struct ViewExtent {
  int64_t lo = 0, hi = 0;
};
ViewExtent view_extent(const Shape& shape, const Shape& strides, const char* op);
// Raises ValueError naming op unless a non-empty view (shape, strides, offset) of `storage` with
// elements of `itemsize` bytes lies in [0, storage elements).
void check_view_bounds(const Storage& storage, size_t itemsize, const Shape& shape, const Shape& strides,
                       int64_t offset, const char* op);

// Copies src into dst elementwise (same shape and dtype, any strides, same device).
void copy_into(const Tensor& dst, const Tensor& src, const char* op);

// Whether x and y may refer to common memory: the same storage, or byte ranges (lowest to
// highest element) that overlap on one device.  Two wrappers of one NumPy buffer are distinct
// storages, so storage identity alone would miss them.  Conservative for interleaved views.
bool may_share_memory(const Tensor& x, const Tensor& y);

// Raises ValueError naming op when t, about to be written, has a zero stride on a dim of size > 1
// (an expanded view: several elements share one address, so the result would depend on the
// write order).  PyTorch refuses such outputs the same way.
void check_no_internal_overlap(const Tensor& t, const char* op, const char* arg);

// Raises RuntimeError naming op unless t is on the CPU.
void check_cpu(const Tensor& t, const char* op);

}  // namespace dl

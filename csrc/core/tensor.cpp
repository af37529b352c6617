#include "core/tensor.h"

#include <cstring>

#include "core/checked.h"
#include "core/parallel.h"
#include "ops/shape.h"  // transpose_copy: the blocked kernel for copies against the grain

namespace dl {

std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  if (s.size() == 1) out += ",";
  return out + ")";
}

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = acc;
    acc *= shape[i] > 0 ? shape[i] : 1;
  }
  return st;
}

int64_t checked_numel(const Shape& shape, const char* op) {
  int64_t n = 1;
  for (int64_t d : shape) {
    DL_CHECK(d >= 0, Value, op, "sizes must be non-negative, got shape ", shape_str(shape));
    if (d != 0 && n > INT64_MAX / d) fail(ErrorKind::Value, op, "shape ", shape_str(shape), " overflows int64");
    n *= d;
  }
  return n;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (shape_[i] == 0) return true;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, const Device& device, const char* op) {
  const int64_t n = checked_numel(shape, op);
  const size_t item = dl::itemsize(dtype);
  // Like NumPy, the non-zero sizes times the item size must fit in int64 even for an empty
  // tensor, so every result converts to an ndarray (and byte strides cannot overflow).
  int64_t bytes = static_cast<int64_t>(item);
  for (int64_t d : shape)
    if (d != 0 && __builtin_mul_overflow(bytes, d, &bytes))
      fail(ErrorKind::Memory, op, "tensor of shape ", shape_str(shape), " is too large (its byte size overflows int64)");
  if (n > 0 && static_cast<uint64_t>(n) > SIZE_MAX / item / 2)
    fail(ErrorKind::Memory, op, "tensor of shape ", shape_str(shape), " is too large to allocate");
  auto storage = Storage::allocate(static_cast<size_t>(n) * item, device, op);
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, const Device& device, const char* op) {
  Tensor t = empty(shape, dtype, device, op);
  if (device.is_cpu()) {
    std::memset(t.raw_data(), 0, static_cast<size_t>(t.numel()) * t.itemsize());
  } else {
    Tensor host = zeros(shape, dtype, cpu_device(), op);
    copy_into(t, host, op);
  }
  return t;
}

ViewExtent view_extent(const Shape& shape, const Shape& strides, const char* op) {
  ViewExtent e;
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] == 0) return ViewExtent{};
  for (size_t d = 0; d < shape.size(); ++d) {
    const int64_t span = checked_mul(shape[d] - 1, strides[d], op);
    if (span < 0) e.lo = checked_add(e.lo, span, op);
    else e.hi = checked_add(e.hi, span, op);
  }
  return e;
}

void check_view_bounds(const Storage& storage, size_t itemsize, const Shape& shape, const Shape& strides,
                       int64_t offset, const char* op) {
  DL_CHECK(shape.size() == strides.size(), Value, op, "shape ", shape_str(shape), " and strides ",
           shape_str(strides), " differ in length");
  for (int64_t d : shape) DL_CHECK(d >= 0, Value, op, "sizes must be non-negative, got shape ", shape_str(shape));
  checked_numel(shape, op);
  const ViewExtent e = view_extent(shape, strides, op);
  for (int64_t d : shape)
    if (d == 0) return;  // an empty view reads nothing
  const int64_t elems = static_cast<int64_t>(storage.nbytes() / itemsize);
  const int64_t lo = checked_add(offset, e.lo, op), hi = checked_add(offset, e.hi, op);
  DL_CHECK(lo >= 0 && hi < elems, Value, op, "the view (shape ", shape_str(shape), ", strides ", shape_str(strides),
           ", offset ", offset, ") reaches elements [", lo, ", ", hi, "], outside its storage of ", elems,
           " elements");
}

Tensor Tensor::checked_view(Shape shape, Shape strides, int64_t offset, const char* op) const {
  check_view_bounds(*storage_, itemsize(), shape, strides, offset, op);
  return Tensor(storage_, std::move(shape), std::move(strides), offset, dtype_);
}

bool may_share_memory(const Tensor& x, const Tensor& y) {
  if (!x.defined() || !y.defined()) return false;
  if (x.storage() == y.storage()) return true;
  if (x.numel() == 0 || y.numel() == 0 || !(x.device() == y.device())) return false;
  auto extent = [](const Tensor& t, const char** lo, const char** hi) {
    int64_t first = 0, last = 0;  // element offsets of the lowest and highest element
    for (int64_t d = 0; d < t.ndim(); ++d) {
      const int64_t span = (t.size(d) - 1) * t.stride(d);
      (span < 0 ? first : last) += span;
    }
    const char* base = static_cast<const char*>(t.raw_data());
    const int64_t item = static_cast<int64_t>(t.itemsize());
    *lo = base + first * item;
    *hi = base + (last + 1) * item;
  };
  const char *xl, *xh, *yl, *yh;
  extent(x, &xl, &xh);
  extent(y, &yl, &yh);
  return xl < yh && yl < xh;
}

void check_no_internal_overlap(const Tensor& t, const char* op, const char* arg) {
  if (t.numel() == 0) return;  // nothing is written: an empty expanded view is harmless
  for (int64_t d = 0; d < t.ndim(); ++d)
    DL_CHECK(t.size(d) <= 1 || t.stride(d) != 0, Value, op, "'", arg, "' has a zero stride on dim ", d, " of size ",
             t.size(d), " (more than one element refers to the same memory); write to a contiguous copy instead");
}

void check_cpu(const Tensor& t, const char* op) {
  if (t.device().is_cpu()) return;
  if (!cuda_compiled()) fail(ErrorKind::Runtime, op, "got a CUDA tensor, but dlcore was built without CUDA");
  fail(ErrorKind::Runtime, op, "expected a cpu tensor, got one on ", t.device().str());
}

namespace {

// Drops size-1 dims and merges dims that are contiguous in both tensors, so the copy loop runs
// over as few, as long, rows as possible.
void coalesce(Shape& shape, Shape& sa, Shape& sb) {
  Shape s2, a2, b2;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!s2.empty() && a2.back() == sa[i] * shape[i] && b2.back() == sb[i] * shape[i]) {
      s2.back() *= shape[i];
      a2.back() = sa[i];
      b2.back() = sb[i];
    } else {
      s2.push_back(shape[i]);
      a2.push_back(sa[i]);
      b2.push_back(sb[i]);
    }
  }
  shape.swap(s2);
  sa.swap(a2);
  sb.swap(b2);
}

}  // namespace

void copy_into(const Tensor& dst, const Tensor& src, const char* op) {
  DL_CHECK(dst.shape() == src.shape(), Value, op, "copy between shapes ", shape_str(dst.shape()), " and ",
           shape_str(src.shape()));
  DL_CHECK(dst.dtype() == src.dtype(), Type, op, "copy between dtypes ", dtype_name(dst.dtype()), " and ",
           dtype_name(src.dtype()));
  const size_t item = dst.itemsize();
  const int64_t n = dst.numel();
  if (n == 0) return;
  if (!dst.device().is_cpu() || !src.device().is_cpu()) {
    // Cross-device and device-device copies move contiguous blocks only.
    const CudaHooks& h = cuda_hooks();
    if (h.memcpy == nullptr) fail(ErrorKind::Runtime, op, "CUDA tensors need dlcore built with CUDA");
    Tensor s = src.device().is_cpu() ? src.contiguous() : src;
    DL_CHECK(s.is_contiguous() && dst.is_contiguous(), Runtime, op,
             "strided copies on a CUDA device are not supported; call .contiguous() on the cpu first");
    const int kind = src.device().is_cpu() ? 0 : (dst.device().is_cpu() ? 1 : 2);
    const int index = src.device().is_cpu() ? dst.device().index : src.device().index;
    h.memcpy(dst.raw_data(), s.raw_data(), static_cast<size_t>(n) * item, kind, index);
    return;
  }
  Shape shape = dst.shape(), sd = dst.strides(), ss = src.strides();
  coalesce(shape, sd, ss);
  char* d0 = static_cast<char*>(dst.raw_data());
  const char* s0 = static_cast<const char*>(src.raw_data());
  if (shape.empty()) {
    std::memcpy(d0, s0, item);
    return;
  }
  // When one side is strided along the innermost dim but contiguous along another (contiguous()
  // of a transposed/permuted view, or a write into one), a row-wise copy touches one element per
  // cache line; the shape family's cache-blocked transpose kernel handles that layout.
  if ((sd.back() != 1 || ss.back() != 1) && transpose_copy(d0, s0, item, shape, sd, ss)) return;
  const int64_t nd = static_cast<int64_t>(shape.size());
  const int64_t inner = shape.back();
  const int64_t rows = n / inner;
  const bool inner_contig = sd.back() == 1 && ss.back() == 1;
  parallel_for(rows, inner, [&](int64_t row) {
    // Locate the row from its linear index.
    int64_t rem = row, od = 0, os = 0;
    for (int64_t k = nd - 2; k >= 0; --k) {
      const int64_t i = rem % shape[k];
      rem /= shape[k];
      od += i * sd[k];
      os += i * ss[k];
    }
    char* d = d0 + od * static_cast<int64_t>(item);
    const char* s = s0 + os * static_cast<int64_t>(item);
    if (inner_contig) {
      std::memcpy(d, s, static_cast<size_t>(inner) * item);
    } else {
      const int64_t a = sd.back() * static_cast<int64_t>(item), b = ss.back() * static_cast<int64_t>(item);
      for (int64_t j = 0; j < inner; ++j) std::memcpy(d + j * a, s + j * b, item);
    }
  });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = empty(shape_, dtype_, device(), "contiguous");
  copy_into(out, *this, "contiguous");
  return out;
}

Tensor Tensor::to(const Device& device) const {
  Tensor out = empty(shape_, dtype_, device, "to");
  copy_into(out, *this, "to");
  return out;
}

}  // namespace dl

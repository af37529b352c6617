// Entries of the index_ops family: validation, layout (per-line offsets of `self`), output
// allocation and the dispatch call.  The kernels are in index_ops_cpu.cpp.
#include <algorithm>
#include <vector>

#include "dispatch/registry.h"
#include "ops/index_ops.h"
#include "ops/shape.h"

namespace dl {
namespace {

int64_t norm_dim(int64_t dim, int64_t nd, const char* op) {
  const int64_t n = nd == 0 ? 1 : nd;  // a 0-d tensor accepts dim 0 / -1, as in torch
  DL_CHECK(dim >= -n && dim < n, Index, op, "dim ", dim, " is out of range for a tensor of ", nd, " dimension(s)");
  return dim < 0 ? dim + n : dim;
}

void check_index(const Tensor& index, const char* op) {
  check_cpu(index, op);
  DL_CHECK(index.dtype() == DType::Int64, Type, op, "expected an int64 index, got ", dtype_name(index.dtype()));
}

bool is_addable(DType d) { return d == DType::Float32 || d == DType::Float64 || d == DType::Int64; }

// A 0-d tensor seen as 1-d (torch treats 0-d gather/scatter operands that way).
Tensor as_1d(const Tensor& t) { return t.ndim() == 0 ? t.view(Shape{1}, Shape{1}, t.offset()) : t; }

// Offsets (in elements, relative to self's data) of the lines an index-shaped iteration visits:
// outer[o] over index.shape[:dim], inner[j] over index.shape[dim+1:], using self's strides.
void line_offsets(const Tensor& self, const Shape& ishape, int64_t dim, std::vector<int64_t>& outer,
                  std::vector<int64_t>& inner) {
  auto fill = [&](size_t lo, size_t hi, std::vector<int64_t>& v) {
    v.assign(1, 0);
    for (size_t d = lo; d < hi; ++d) {
      std::vector<int64_t> next;
      next.reserve(v.size() * static_cast<size_t>(ishape[d]));
      for (int64_t base : v)
        for (int64_t i = 0; i < ishape[d]; ++i) next.push_back(base + i * self.stride(static_cast<int64_t>(d)));
      v.swap(next);
    }
  };
  fill(0, static_cast<size_t>(dim), outer);
  fill(static_cast<size_t>(dim) + 1, ishape.size(), inner);
}

// Checks shapes (torch's rule: index.size(d) <= self.size(d) for d != dim, and <= src.size(d) for
// every d when src is given) and values; returns the contiguous index.
Tensor check_gather_index(const Tensor& self, int64_t dim, const Tensor& index, const Tensor* src, const char* op) {
  DL_CHECK(index.ndim() == self.ndim(), Value, op, "index should have the same number of dimensions as self (",
           self.ndim(), "), got ", index.ndim());
  for (int64_t d = 0; d < self.ndim(); ++d) {
    DL_CHECK(d == dim || index.size(d) <= self.size(d), Value, op, "expected index ", shape_str(index.shape()),
             " to be no larger than self ", shape_str(self.shape()), " apart from dimension ", dim);
    if (src != nullptr)
      DL_CHECK(index.size(d) <= src->size(d), Value, op, "expected index ", shape_str(index.shape()),
               " to be no larger than src ", shape_str(src->shape()));
  }
  Tensor ic = index.contiguous();
  const int64_t len = self.ndim() ? self.size(dim) : 1, n = ic.numel();
  const int64_t* ip = ic.data<int64_t>();
  for (int64_t k = 0; k < n; ++k)
    DL_CHECK(ip[k] >= 0 && ip[k] < len, Index, op, "index ", ip[k], " is out of bounds for dimension ", dim,
             " with size ", len);
  return ic;
}

int64_t prod(const Shape& s, size_t lo, size_t hi) {
  int64_t p = 1;
  for (size_t i = lo; i < hi; ++i) p *= s[i];
  return p;
}

}  // namespace

// ---- gather / scatter --------------------------------------------------------------------------

Tensor gather(const Tensor& self_in, int64_t dim, const Tensor& index_in) {
  const char* op = "gather";
  check_cpu(self_in, op);
  check_index(index_in, op);
  dim = norm_dim(dim, self_in.ndim(), op);
  const Tensor self = as_1d(self_in), index = as_1d(index_in);
  Tensor ic = check_gather_index(self, dim, index, nullptr, op);
  Tensor out = Tensor::empty(index_in.shape(), self.dtype(), cpu_device(), op);
  if (out.numel() == 0) return out;
  DL_CHECK(self.size(dim) > 0, Index, op, "index is out of bounds for dimension ", dim, " with size 0");
  std::vector<int64_t> outer, inner;
  line_offsets(self, index.shape(), dim, outer, inner);
  const size_t d0 = static_cast<size_t>(dim);
  GatherArgs a{static_cast<char*>(out.raw_data()), static_cast<const char*>(self.raw_data()), ic.data<int64_t>(),
               outer.data(), inner.data(), prod(index.shape(), 0, d0), index.size(dim),
               prod(index.shape(), d0 + 1, index.shape().size()), self.stride(dim),
               static_cast<int64_t>(self.itemsize())};
  DL_OP(GatherFn, "gather").get(cpu_device())(a);
  return out;
}

Tensor scatter(const Tensor& self_in, int64_t dim, const Tensor& index_in, const Tensor& src_in, bool add) {
  const char* op = add ? "scatter_add" : "scatter";
  check_cpu(self_in, op);
  check_cpu(src_in, op);
  check_index(index_in, op);
  DL_CHECK(src_in.dtype() == self_in.dtype(), Type, op, "expected src of dtype ", dtype_name(self_in.dtype()),
           " (self's), got ", dtype_name(src_in.dtype()));
  DL_CHECK(!add || is_addable(self_in.dtype()), Type, op, "cannot accumulate ", dtype_name(self_in.dtype()),
           " (expected float32, float64 or int64)");
  dim = norm_dim(dim, self_in.ndim(), op);
  const Tensor self = as_1d(self_in), index = as_1d(index_in), src = as_1d(src_in);
  DL_CHECK(src.ndim() == self.ndim(), Value, op, "src should have the same number of dimensions as self (",
           self.ndim(), "), got ", src_in.ndim());
  Tensor ic = check_gather_index(self, dim, index, &src, op);
  Tensor out = Tensor::empty(self_in.shape(), self_in.dtype(), cpu_device(), op);
  if (out.numel() > 0) copy_into(out, self_in, op);
  const Tensor o1 = as_1d(out);
  if (ic.numel() == 0) return out;
  // Only the index-shaped corner of src is read; make that corner contiguous.
  Tensor s = src;
  for (int64_t d = 0; d < src.ndim(); ++d) s = narrow(s, d, 0, index.size(d));
  s = s.contiguous();
  std::vector<int64_t> outer, inner;
  line_offsets(o1, index.shape(), dim, outer, inner);
  const size_t d0 = static_cast<size_t>(dim);
  ScatterArgs a{static_cast<char*>(o1.raw_data()), static_cast<const char*>(s.raw_data()), ic.data<int64_t>(),
                outer.data(), inner.data(), prod(index.shape(), 0, d0), index.size(dim),
                prod(index.shape(), d0 + 1, index.shape().size()), o1.stride(dim),
                static_cast<int64_t>(self.itemsize()), add, self.dtype()};
  DL_OP(ScatterFn, "scatter").get(cpu_device())(a);
  return out;
}

// ---- cumsum ----------------------------------------------------------------------------------

Tensor cumsum(const Tensor& x, int64_t dim, bool reverse) {
  const char* op = reverse ? "cumsum_backward" : "cumsum";
  check_cpu(x, op);
  DL_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64 || x.dtype() == DType::Int64, Type, op,
           "expected float32, float64 or int64 input, got ", dtype_name(x.dtype()));
  dim = norm_dim(dim, x.ndim(), op);
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), cpu_device(), op);
  if (out.numel() == 0) return out;
  const Shape& s = x.shape();
  const size_t d0 = static_cast<size_t>(dim);
  const int64_t n = x.ndim() ? s[d0] : 1;
  CumsumArgs a{out.raw_data(), xc.raw_data(), x.ndim() ? prod(s, 0, d0) : 1, n,
               x.ndim() ? prod(s, d0 + 1, s.size()) : 1, reverse, x.dtype()};
  DL_OP(CumsumFn, "cumsum").get(cpu_device())(a);
  return out;
}

// ---- row select / put ------------------------------------------------------------------------

namespace {

// The row indices where mask (the leading dims of x) is true, after checking its shape.
std::vector<int64_t> mask_rows(const Tensor& x, const Tensor& mask, const char* op) {
  check_cpu(mask, op);
  DL_CHECK(mask.dtype() == DType::Bool, Type, op, "expected a bool mask, got ", dtype_name(mask.dtype()));
  DL_CHECK(mask.ndim() <= x.ndim(), Index, op, "too many indices: a mask of ", mask.ndim(),
           " dimension(s) for a tensor of ", x.ndim());
  for (int64_t d = 0; d < mask.ndim(); ++d)
    DL_CHECK(mask.size(d) == x.size(d), Index, op, "the shape of the mask ", shape_str(mask.shape()),
             " at index ", d, " does not match the shape of the indexed tensor ", shape_str(x.shape()));
  Tensor mc = mask.contiguous();
  const bool* mp = mc.data<bool>();
  std::vector<int64_t> rows;
  for (int64_t i = 0, m = mc.numel(); i < m; ++i)
    if (mp[i]) rows.push_back(i);
  return rows;
}

Shape rows_shape(const Tensor& x, int64_t lead, int64_t n) {
  Shape s{n};
  s.insert(s.end(), x.shape().begin() + lead, x.shape().end());
  return s;
}

void put_rows(const Tensor& x, int64_t lead, const std::vector<int64_t>& rows, const Tensor& values,
              bool accumulate, bool distinct, const char* op) {
  check_cpu(x, op);
  check_cpu(values, op);
  DL_CHECK(values.dtype() == x.dtype(), Type, op, "expected values of dtype ", dtype_name(x.dtype()), ", got ",
           dtype_name(values.dtype()));
  DL_CHECK(!accumulate || is_addable(x.dtype()), Type, op, "cannot accumulate ", dtype_name(x.dtype()),
           " (expected float32, float64 or int64)");
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t m = prod(x.shape(), 0, static_cast<size_t>(lead));
  const int64_t inner = prod(x.shape(), static_cast<size_t>(lead), x.shape().size());
  const Shape full = rows_shape(x, lead, n), row(x.shape().begin() + lead, x.shape().end());
  // Values that broadcast over the rows (a scalar, or one row) are read with row stride 0.
  Tensor v = values;
  while (v.ndim() > 0 && v.size(0) == 1 && v.ndim() > static_cast<int64_t>(row.size()))
    v = v.view(Shape(v.shape().begin() + 1, v.shape().end()), Shape(v.strides().begin() + 1, v.strides().end()),
               v.offset());
  const bool per_row = v.ndim() > static_cast<int64_t>(row.size());
  DL_CHECK(v.ndim() <= static_cast<int64_t>(full.size()), Value, op, "values of shape ",
           shape_str(values.shape()), " cannot be broadcast to ", shape_str(full));
  Tensor vc = expand(v, per_row ? full : row, op).contiguous();
  if (n == 0 || inner == 0) return;
  if (may_share_memory(vc, x)) vc = vc.clone();
  Tensor xc = x.contiguous();
  // Group the contributions by target row (a stable counting sort), unless they are distinct.
  std::vector<int64_t> start, order;
  if (!distinct) {
    start.assign(static_cast<size_t>(m + 1), 0);
    order.resize(static_cast<size_t>(n));
    for (int64_t r : rows) ++start[static_cast<size_t>(r + 1)];
    for (int64_t r = 0; r < m; ++r) start[r + 1] += start[r];
    std::vector<int64_t> fillp(start.begin(), start.end() - 1);
    for (int64_t k = 0; k < n; ++k) order[static_cast<size_t>(fillp[static_cast<size_t>(rows[k])]++)] = k;
  }
  PutRowsArgs a{static_cast<char*>(xc.raw_data()), static_cast<const char*>(vc.raw_data()),
                distinct ? nullptr : order.data(), distinct ? nullptr : start.data(), rows.data(), n, m, inner,
                per_row ? inner : 0, static_cast<int64_t>(x.itemsize()), accumulate, x.dtype()};
  DL_OP(PutRowsFn, "put_rows").get(cpu_device())(a);
  if (xc.storage() != x.storage()) copy_into(x, xc, op);
}

}  // namespace

Tensor masked_rows(const Tensor& x, const Tensor& mask) {
  const char* op = "masked_select";
  check_cpu(x, op);
  std::vector<int64_t> rows = mask_rows(x, mask, op);
  const int64_t lead = mask.ndim();
  Tensor out = Tensor::empty(rows_shape(x, lead, static_cast<int64_t>(rows.size())), x.dtype(), cpu_device(), op);
  if (out.numel() == 0) return out;
  Tensor xc = x.contiguous();
  GatherRowsArgs a{static_cast<char*>(out.raw_data()), static_cast<const char*>(xc.raw_data()), rows.data(), 1,
                   static_cast<int64_t>(rows.size()), prod(x.shape(), 0, static_cast<size_t>(lead)),
                   prod(x.shape(), static_cast<size_t>(lead), x.shape().size()) * static_cast<int64_t>(x.itemsize())};
  DL_OP(GatherRowsFn, "gather_rows").get(cpu_device())(a);
  return out;
}

void masked_put_(const Tensor& x, const Tensor& mask, const Tensor& values) {
  const char* op = "masked_put_";
  check_cpu(x, op);
  put_rows(x, mask.ndim(), mask_rows(x, mask, op), values, false, true, op);
}

void index_put_rows_(const Tensor& x, int64_t lead, const Tensor& rows, const Tensor& values, bool accumulate,
                     const char* op) {
  check_cpu(x, op);
  check_index(rows, op);
  DL_CHECK(lead >= 1 && lead <= x.ndim(), Index, op, "too many indices for a tensor of ", x.ndim(),
           " dimension(s) (got ", lead, ")");
  DL_CHECK(rows.ndim() == 1, Value, op, "expected 1-d row indices, got shape ", shape_str(rows.shape()));
  const int64_t m = prod(x.shape(), 0, static_cast<size_t>(lead));
  Tensor rc = rows.contiguous();
  std::vector<int64_t> r(rc.data<int64_t>(), rc.data<int64_t>() + rc.numel());
  for (int64_t& v : r) {
    DL_CHECK(v >= -m && v < m, Index, op, "index ", v, " is out of bounds for ", m, " rows");
    if (v < 0) v += m;
  }
  put_rows(x, lead, r, values, accumulate, false, op);
}

}  // namespace dl

// Views and view-like ops of the shape family: metadata only (shape, strides, offset), plus cat,
// stack, split and the transpose hook of dl::copy_into.  Gathers, pad and masked_fill live in
// shape_gather.cpp.
#include "ops/shape.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "core/checked.h"
#include "dispatch/registry.h"

namespace dl {
namespace {

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t n = ndim == 0 ? 1 : ndim;
  DL_CHECK(dim >= -n && dim < n, Value, op, "dim ", dim, " is out of range for a tensor of ", ndim,
           " dimension(s)");
  return dim < 0 ? dim + n : dim;
}

// Resolves one -1 entry against numel.
Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, neg = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      DL_CHECK(neg < 0, Value, op, "only one dimension can be -1, got ", shape_str(shape));
      neg = static_cast<int64_t>(i);
    } else {
      DL_CHECK(shape[i] >= 0, Value, op, "invalid shape entry ", shape[i], " in ", shape_str(shape));
      if (shape[i] != 0 && known > INT64_MAX / shape[i])
        fail(ErrorKind::Value, op, "shape ", shape_str(shape), " overflows int64");
      known *= shape[i];
    }
  }
  if (neg >= 0) {
    DL_CHECK(known != 0 && numel % known == 0, Value, op, "shape ", shape_str(shape),
             " is invalid for input of size ", numel);
    out[static_cast<size_t>(neg)] = numel / known;
  } else {
    DL_CHECK(known == numel, Value, op, "shape ", shape_str(shape), " is invalid for input of size ", numel);
  }
  return out;
}

// Strides for viewing (oshape, ostride) as nshape without copying, if possible (the chunk
// algorithm of torch's computeStride: every run of dims that is contiguous in memory must map
// to a run of new dims with the same element count).
bool view_strides(const Shape& oshape, const Shape& ostride, const Shape& nshape, Shape& nstride) {
  nstride.assign(nshape.size(), 0);
  int64_t numel = 1;
  for (int64_t d : oshape) numel *= d;
  if (numel == 0 || oshape.empty()) {
    nstride = contiguous_strides(nshape);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(nshape.size()) - 1;
  int64_t chunk_base = ostride.back(), tensor_numel = 1, view_numel = 1;
  for (int64_t td = static_cast<int64_t>(oshape.size()) - 1; td >= 0; --td) {
    tensor_numel *= oshape[td];
    if (td == 0 || (oshape[td - 1] != 1 && ostride[td - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || nshape[view_d] == 1)) {
        nstride[view_d] = view_numel * chunk_base;
        view_numel *= nshape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (td > 0) {
        chunk_base = ostride[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) {
  Shape ns = infer_shape(shape, x.numel(), "view");
  Shape st;
  DL_CHECK(view_strides(x.shape(), x.strides(), ns, st), Value, "view",
           "view size ", shape_str(ns), " is not compatible with input strides ", shape_str(x.strides()),
           " (at least one dimension spans across two contiguous subspaces); use reshape instead");
  return x.checked_view(ns, st, x.offset(), "view");
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape ns = infer_shape(shape, x.numel(), "reshape");
  Shape st;
  if (view_strides(x.shape(), x.strides(), ns, st)) return x.checked_view(ns, st, x.offset(), "reshape");
  Tensor c = x.contiguous();
  return c.view(ns, contiguous_strides(ns), c.offset());
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  const int64_t nd = x.ndim();
  if (nd == 0) return reshape(x, {1});
  const int64_t s = wrap_dim(start_dim, nd, "flatten"), e = wrap_dim(end_dim, nd, "flatten");
  DL_CHECK(s <= e, Value, "flatten", "start_dim ", start_dim, " must not come after end_dim ", end_dim);
  Shape ns;
  for (int64_t i = 0; i < s; ++i) ns.push_back(x.size(i));
  int64_t m = 1;
  for (int64_t i = s; i <= e; ++i) m *= x.size(i);
  ns.push_back(m);
  for (int64_t i = e + 1; i < nd; ++i) ns.push_back(x.size(i));
  return reshape(x, ns);
}

Tensor squeeze(const Tensor& x, const std::vector<int64_t>* dims) {
  const int64_t nd = x.ndim();
  std::vector<bool> drop(static_cast<size_t>(nd), false);
  if (dims == nullptr) {
    for (int64_t i = 0; i < nd; ++i) drop[i] = x.size(i) == 1;
  } else {
    for (int64_t d : *dims) {
      if (nd == 0) {
        wrap_dim(d, 0, "squeeze");
        continue;
      }
      const int64_t w = wrap_dim(d, nd, "squeeze");
      drop[w] = x.size(w) == 1;  // like torch: a dim that is not 1 is left alone
    }
  }
  Shape ns, st;
  for (int64_t i = 0; i < nd; ++i)
    if (!drop[i]) {
      ns.push_back(x.size(i));
      st.push_back(x.stride(i));
    }
  return x.checked_view(ns, st, x.offset(), "squeeze");
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  const int64_t nd = x.ndim();
  DL_CHECK(dim >= -(nd + 1) && dim <= nd, Value, "unsqueeze", "dim ", dim, " is out of range for a tensor of ",
           nd, " dimension(s)");
  const int64_t d = dim < 0 ? dim + nd + 1 : dim;
  Shape ns = x.shape(), st = x.strides();
  const int64_t s = d < nd ? checked_mul(x.stride(d), x.size(d), "unsqueeze") : 1;
  ns.insert(ns.begin() + d, 1);
  st.insert(st.begin() + d, s);
  return x.checked_view(ns, st, x.offset(), "unsqueeze");
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  const int64_t nd = x.ndim();
  if (nd == 0) {
    wrap_dim(dim0, 0, "transpose");
    wrap_dim(dim1, 0, "transpose");
    return x;
  }
  const int64_t a = wrap_dim(dim0, nd, "transpose"), b = wrap_dim(dim1, nd, "transpose");
  Shape ns = x.shape(), st = x.strides();
  std::swap(ns[a], ns[b]);
  std::swap(st[a], st[b]);
  return x.checked_view(ns, st, x.offset(), "transpose");
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  const int64_t nd = x.ndim();
  DL_CHECK(static_cast<int64_t>(dims.size()) == nd, Value, "permute", "expected ", nd, " dims, got ",
           dims.size());
  std::vector<bool> seen(static_cast<size_t>(nd), false);
  Shape ns(dims.size()), st(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], nd, "permute");
    DL_CHECK(!seen[d], Value, "permute", "dim ", dims[i], " appears more than once");
    seen[d] = true;
    ns[i] = x.size(d);
    st[i] = x.stride(d);
  }
  return x.checked_view(ns, st, x.offset(), "permute");
}

Tensor expand(const Tensor& x, const Shape& shape, const char* op) {
  const int64_t nd = x.ndim(), nn = static_cast<int64_t>(shape.size());
  DL_CHECK(nn >= nd, Value, op, "cannot expand shape ", shape_str(x.shape()), " to ", shape_str(shape),
           " (fewer dimensions)");
  Shape ns(shape.size()), st(shape.size());
  for (int64_t i = nn - 1; i >= 0; --i) {
    const int64_t j = i - (nn - nd);
    const int64_t want = shape[i];
    if (j >= 0) {
      const int64_t have = x.size(j);
      if (want == -1 || want == have) {
        ns[i] = have;
        st[i] = x.stride(j);
      } else {
        DL_CHECK(have == 1 && want >= 0, Value, op, "cannot expand shape ", shape_str(x.shape()), " to ",
                 shape_str(shape), " (dim ", i, ": ", have, " vs ", want, ")");
        ns[i] = want;
        st[i] = 0;
      }
    } else {
      DL_CHECK(want >= 0, Value, op, "cannot use -1 for the new leading dim ", i, " in ", shape_str(shape));
      ns[i] = want;
      st[i] = 0;
    }
  }
  checked_numel(ns, op);
  return x.checked_view(ns, st, x.offset(), op);
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) { return expand(x, shape, "broadcast_to"); }

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length, const char* op) {
  DL_CHECK(x.ndim() > 0, Value, op, "cannot narrow a zero-dimensional tensor");
  const int64_t d = wrap_dim(dim, x.ndim(), op);
  const int64_t size = x.size(d);
  // Like torch: start may be negative (counting from the end), start in [-size, size].
  DL_CHECK(start >= -size && start <= size, Index, op, "start ", start,
           " is out of range for dim ", d, " of size ", size);
  const int64_t s = start < 0 ? start + size : start;
  // length <= size - s rather than s + length <= size: the sum may overflow.
  DL_CHECK(length >= 0 && length <= size - s, Value, op, "length ", length, " from start ", start,
           " is out of bounds for dim ", d, " of size ", size);
  Shape ns = x.shape();
  ns[d] = length;
  return x.checked_view(ns, x.strides(), checked_add(x.offset(), checked_mul(s, x.stride(d), op), op), op);
}

Tensor contiguous(const Tensor& x) { return x.contiguous(); }

// ---- cat / stack / split -------------------------------------------------------------------------

Tensor cat(const std::vector<Tensor>& xs, int64_t axis, const char* op) {
  DL_CHECK(!xs.empty(), Value, op, "expected a non-empty list of tensors");
  // Like torch, 1-d empty tensors of shape (0,) are skipped (legacy behaviour people rely on).
  const Tensor* ref = nullptr;
  for (const Tensor& t : xs)
    if (!(t.ndim() == 1 && t.size(0) == 0)) {
      ref = &t;
      break;
    }
  if (ref == nullptr) ref = &xs[0];
  const int64_t nd = ref->ndim();
  DL_CHECK(nd > 0, Value, op, "zero-dimensional tensor (at index ", ref - xs.data(), ") cannot be concatenated");
  const int64_t ax = wrap_dim(axis, nd, op);
  Shape out_shape = ref->shape();
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& t = xs[i];
    check_cpu(t, op);
    DL_CHECK(t.dtype() == ref->dtype(), Type, op, "expected every tensor to have dtype ", dtype_name(ref->dtype()),
             ", got ", dtype_name(t.dtype()), " at index ", i);
    if (t.ndim() == 1 && t.size(0) == 0 && nd != 1) continue;
    DL_CHECK(t.ndim() == nd, Value, op, "expected ", nd, "-d tensors, got shape ", shape_str(t.shape()),
             " at index ", i);
    for (int64_t d = 0; d < nd; ++d)
      DL_CHECK(d == ax || t.size(d) == out_shape[d], Value, op, "sizes must match except in dim ", ax,
               ": expected ", shape_str(out_shape), ", got ", shape_str(t.shape()), " at index ", i);
    total += t.size(ax);
  }
  out_shape[ax] = total;
  Tensor out = Tensor::empty(out_shape, ref->dtype(), cpu_device(), op);
  int64_t pos = 0;
  for (const Tensor& t : xs) {
    if (t.ndim() != nd) continue;
    const int64_t n = t.size(ax);
    if (n > 0) copy_into(narrow(out, ax, pos, n), t, op);
    pos += n;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  DL_CHECK(!xs.empty(), Value, "stack", "expected a non-empty list of tensors");
  const int64_t nd = xs[0].ndim();
  DL_CHECK(axis >= -(nd + 1) && axis <= nd, Value, "stack", "axis ", axis, " is out of range for ", nd + 1,
           " dimension(s)");
  for (size_t i = 0; i < xs.size(); ++i)
    DL_CHECK(xs[i].shape() == xs[0].shape(), Value, "stack", "expected every tensor to have shape ",
             shape_str(xs[0].shape()), ", got ", shape_str(xs[i].shape()), " at index ", i);
  std::vector<Tensor> us;
  us.reserve(xs.size());
  for (const Tensor& t : xs) us.push_back(unsqueeze(t, axis));
  return cat(us, axis, "stack");
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis, const char* op) {
  DL_CHECK(x.ndim() > 0, Value, op, "cannot split a zero-dimensional tensor");
  const int64_t ax = wrap_dim(axis, x.ndim(), op);
  int64_t sum = 0;
  for (int64_t s : sizes) {
    DL_CHECK(s >= 0, Value, op, "section sizes must be non-negative, got ", s);
    sum = checked_add(sum, s, op);
  }
  DL_CHECK(sum == x.size(ax), Value, op, "section sizes sum to ", sum, " but dim ", ax, " has size ",
           x.size(ax));
  std::vector<Tensor> out;
  int64_t pos = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(x, ax, pos, s, op));
    pos += s;
  }
  return out;
}

std::vector<Tensor> split_n(const Tensor& x, int64_t n, int64_t axis) {
  const char* op = "tensor_split";
  DL_CHECK(x.ndim() > 0, Value, op, "cannot split a zero-dimensional tensor");
  DL_CHECK(n > 0, Value, op, "number of sections must be positive, got ", n);
  const int64_t ax = wrap_dim(axis, x.ndim(), op);
  const int64_t len = x.size(ax), base = len / n, extra = len % n;
  // More sections than elements along the axis would only add empty views: bound the list by
  // what could be allocated at all rather than let a huge n exhaust memory.
  DL_CHECK(n <= std::max<int64_t>(len, 1) * 1024 + 1024, Value, op, "number of sections ", n,
           " is too large for dim ", ax, " of size ", len);
  // n is a user integer: a list too long to hold is a MemoryError naming the op, not a bare
  // std::bad_alloc.
  try {
    std::vector<int64_t> sizes(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) sizes[static_cast<size_t>(i)] = base + (i < extra ? 1 : 0);
    return split(x, sizes, ax, op);
  } catch (const std::bad_alloc&) {
    fail(ErrorKind::Memory, op, "cannot allocate ", n, " sections (", n, " x ", sizeof(Tensor) + sizeof(int64_t),
         " bytes)");
  }
}

// ---- copy_into's transpose path --------------------------------------------------------------

bool transpose_copy(char* dst, const char* src, size_t itemsize, const Shape& shape, const Shape& sd,
                    const Shape& ss) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd < 2 || nd - 2 > kCopyMaxDims) return false;
  int64_t jd = -1, id = -1;  // dims contiguous in dst / in src
  for (int64_t k = nd - 1; k >= 0; --k) {
    if (jd < 0 && sd[k] == 1) jd = k;
    if (id < 0 && ss[k] == 1) id = k;
  }
  if (jd < 0 || id < 0 || jd == id) return false;
  TransposeCopyArgs a{};
  a.dst = dst;
  a.src = src;
  a.itemsize = static_cast<int64_t>(itemsize);
  a.rows = shape[id];
  a.cols = shape[jd];
  a.dst_ld = sd[id];
  a.src_ld = ss[jd];
  a.outer_ndim = 0;
  for (int64_t k = 0; k < nd; ++k) {
    if (k == id || k == jd) continue;
    a.outer_shape[a.outer_ndim] = shape[k];
    a.outer_dst[a.outer_ndim] = sd[k];
    a.outer_src[a.outer_ndim] = ss[k];
    ++a.outer_ndim;
  }
  DL_OP(TransposeCopyFn, "transpose_copy").get(cpu_device())(a);
  return true;
}

}  // namespace dl

// Entries of the shape family that move data: basic indexing (a view) and index_put_,
// index_select / embedding with their deterministic scatter-add backwards, pad / pad_backward
// and masked_fill.
#include <algorithm>
#include <cstring>
#include <new>

#include "core/checked.h"
#include "dispatch/registry.h"
#include "ops/shape.h"

namespace dl {
namespace {

void check_float(const Tensor& t, const char* op, const char* what) {
  DL_CHECK(is_floating(t.dtype()), Type, op, "expected a float32 or float64 ", what, ", got ", dtype_name(t.dtype()));
}

void check_index_dtype(const Tensor& t, const char* op) {
  DL_CHECK(t.dtype() == DType::Int64, Type, op, "expected int64 indices, got ", dtype_name(t.dtype()));
}

// `value` converted to one element of dtype, in buf.
void scalar_bytes(DType dt, double value, unsigned char* buf) {
  switch (dt) {
    case DType::Float32: { const float v = static_cast<float>(value); std::memcpy(buf, &v, 4); break; }
    case DType::Float64: std::memcpy(buf, &value, 8); break;
    case DType::Int64: { const int64_t v = static_cast<int64_t>(value); std::memcpy(buf, &v, 8); break; }
    case DType::Bool: buf[0] = value != 0.0 ? 1 : 0; break;
    // Narrow integers wrap through int64 like a cast; half types round to nearest even.
    case DType::Int32: { const int32_t v = static_cast<int32_t>(static_cast<int64_t>(value)); std::memcpy(buf, &v, 4); break; }
    case DType::Int16: { const int16_t v = static_cast<int16_t>(static_cast<int64_t>(value)); std::memcpy(buf, &v, 2); break; }
    case DType::Int8: buf[0] = static_cast<unsigned char>(static_cast<int64_t>(value)); break;
    case DType::UInt8: buf[0] = static_cast<unsigned char>(static_cast<int64_t>(value)); break;
    case DType::Float16: { const Half v = float_to_half(static_cast<float>(value)); std::memcpy(buf, &v, 2); break; }
    case DType::BFloat16: { const BFloat16 v = float_to_bfloat16(static_cast<float>(value)); std::memcpy(buf, &v, 2); break; }
  }
}

int64_t prod(const Shape& s, size_t lo, size_t hi) {
  int64_t p = 1;
  for (size_t i = lo; i < hi; ++i) p *= s[i];
  return p;
}

// Stable counting sort of idx (all in [0, rows)): start has rows+1 entries.
void counting_sort(const int64_t* idx, int64_t n, int64_t rows, int64_t* start, int64_t* order) {
  std::fill(start, start + rows + 1, int64_t{0});
  for (int64_t k = 0; k < n; ++k) ++start[idx[k] + 1];
  for (int64_t r = 0; r < rows; ++r) start[r + 1] += start[r];
  std::vector<int64_t> fillp(start, start + rows);
  for (int64_t k = 0; k < n; ++k) order[fillp[static_cast<size_t>(idx[k])]++] = k;
}

// Scatter-add of rows of grad (outer, n, inner) into a new (outer, rows, inner) tensor.
Tensor scatter_add_rows(const Tensor& grad, const int64_t* idx, int64_t n, int64_t outer, int64_t rows,
                        int64_t inner, int64_t skip_row, const Shape& out_shape, const char* op) {
  Tensor out = Tensor::empty(out_shape, grad.dtype(), cpu_device(), op);
  if (out.numel() == 0) return out;
  Tensor g = grad.contiguous();
  std::vector<int64_t> start(static_cast<size_t>(rows + 1)), order(static_cast<size_t>(n));
  counting_sort(idx, n, rows, start.data(), order.data());
  ScatterAddRowsArgs a{out.raw_data(), g.raw_data(), order.data(), start.data(), outer, n, rows, inner, skip_row,
                       grad.dtype()};
  DL_OP(ScatterAddRowsFn, "scatter_add_rows").get(cpu_device())(a);
  return out;
}

}  // namespace

// ---- basic indexing --------------------------------------------------------------------------

Tensor index(const Tensor& x, const std::vector<IndexItem>& key, const char* op) {
  const int64_t nd = x.ndim();
  int64_t consumed = 0, ellipses = 0;
  for (const IndexItem& it : key) {
    if (it.kind == IndexItem::Int || it.kind == IndexItem::Slice) ++consumed;
    if (it.kind == IndexItem::Ellipsis) ++ellipses;
  }
  DL_CHECK(ellipses <= 1, Index, op, "an index can only have a single ellipsis ('...')");
  DL_CHECK(consumed <= nd, Index, op, "too many indices for a tensor of dimension ", nd, " (got ", consumed,
           ")");
  Shape ns, st;
  int64_t off = x.offset(), d = 0;
  for (const IndexItem& it : key) {
    switch (it.kind) {
      case IndexItem::NewAxis:
        ns.push_back(1);
        st.push_back(d < nd ? checked_mul(x.stride(d), x.size(d), op) : 1);
        break;
      case IndexItem::Ellipsis:
        for (int64_t e = 0; e < nd - consumed; ++e, ++d) {
          ns.push_back(x.size(d));
          st.push_back(x.stride(d));
        }
        break;
      case IndexItem::Int: {
        const int64_t len = x.size(d);
        DL_CHECK(it.value >= -len && it.value < len, Index, op, "index ", it.value,
                 " is out of bounds for dimension ", d, " with size ", len);
        off = checked_add(off, checked_mul(it.value < 0 ? it.value + len : it.value, x.stride(d), op), op);
        ++d;
        break;
      }
      case IndexItem::Slice: {
        // PySlice_AdjustIndices, on the values PySlice_Unpack produced.
        const int64_t len = x.size(d), step = it.step;
        DL_CHECK(step != 0, Value, op, "slice step cannot be zero");
        int64_t start = it.start, stop = it.stop;
        auto adjust = [&](int64_t& v) {
          if (v < 0) {
            v = v < -len ? (step < 0 ? -1 : 0) : v + len;
          } else if (v >= len) {
            v = step < 0 ? len - 1 : len;
          }
        };
        adjust(start);
        adjust(stop);
        int64_t count = 0;
        if (step < 0) {
          if (stop < start) count = (start - stop - 1) / (-step) + 1;
        } else if (start < stop) {
          count = (stop - start - 1) / step + 1;
        }
        if (count > 0) off = checked_add(off, checked_mul(start, x.stride(d), op), op);
        ns.push_back(count);
        st.push_back(count > 1 ? checked_mul(x.stride(d), step, op) : x.stride(d));
        ++d;
        break;
      }
    }
  }
  for (; d < nd; ++d) {
    ns.push_back(x.size(d));
    st.push_back(x.stride(d));
  }
  return x.checked_view(ns, st, off, op);
}

void index_put_(const Tensor& x, const std::vector<IndexItem>& key, const Tensor& value) {
  check_cpu(x, "index_put_");
  Tensor v = index(x, key, "index_put_");
  check_no_internal_overlap(v, "index_put_", "x");
  DL_CHECK(value.dtype() == x.dtype(), Type, "index_put_", "expected a value of dtype ", dtype_name(x.dtype()),
           ", got ", dtype_name(value.dtype()));
  // NumPy lets a value carry extra leading size-1 dims.
  Tensor val = value;
  while (val.ndim() > v.ndim() && val.size(0) == 1)
    val = val.view(Shape(val.shape().begin() + 1, val.shape().end()),
                   Shape(val.strides().begin() + 1, val.strides().end()), val.offset());
  DL_CHECK(val.ndim() <= v.ndim(), Value, "index_put_", "value of shape ", shape_str(value.shape()),
           " cannot be broadcast to ", shape_str(v.shape()));
  Tensor e = expand(val, v.shape(), "index_put_");
  // Copy through a temporary when value aliases x, so overlapping reads see the old data.
  if (may_share_memory(e, x)) e = e.clone();
  copy_into(v, e, "index_put_");
}

// ---- index_select / embedding -----------------------------------------------------------------

Tensor index_select(const Tensor& x, int64_t axis, const Tensor& indices, const char* op) {
  check_cpu(x, op);
  check_cpu(indices, op);
  check_index_dtype(indices, op);
  DL_CHECK(indices.ndim() <= 1, Value, op, "expected 0-d or 1-d indices, got shape ", shape_str(indices.shape()));
  DL_CHECK(x.ndim() > 0, Value, op, "cannot index a zero-dimensional tensor");
  const int64_t nd = x.ndim();
  DL_CHECK(axis >= -nd && axis < nd, Value, op, "axis ", axis, " is out of range for a tensor of ", nd,
           " dimension(s)");
  const int64_t ax = axis < 0 ? axis + nd : axis;
  const int64_t len = x.size(ax), n = indices.numel();
  Tensor ic = indices.contiguous();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  const int64_t* ip = ic.data<int64_t>();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t v = ip[k];
    DL_CHECK(v >= -len && v < len, Index, op, "index ", v, " is out of bounds for axis ", ax, " with size ", len);
    idx[static_cast<size_t>(k)] = v < 0 ? v + len : v;
  }
  Shape os = x.shape();
  os[ax] = n;
  Tensor out = Tensor::empty(os, x.dtype(), cpu_device(), op);
  if (out.numel() == 0) return out;
  Tensor xc = x.contiguous();
  const size_t a0 = static_cast<size_t>(ax);
  GatherRowsArgs a{static_cast<char*>(out.raw_data()), static_cast<const char*>(xc.raw_data()), idx.data(),
                   prod(x.shape(), 0, a0), n, len,
                   prod(x.shape(), a0 + 1, x.shape().size()) * static_cast<int64_t>(x.itemsize())};
  DL_OP(GatherRowsFn, "gather_rows").get(cpu_device())(a);
  return out;
}

Tensor index_select_backward(const Tensor& grad, int64_t axis, const Tensor& indices, const Shape& input_shape) {
  const char* op = "index_select_backward";
  check_cpu(grad, op);
  check_cpu(indices, op);
  check_float(grad, op, "grad");
  check_index_dtype(indices, op);
  const int64_t nd = static_cast<int64_t>(input_shape.size());
  checked_numel(input_shape, op);
  DL_CHECK(nd > 0, Value, op, "input_shape must have at least one dim");
  DL_CHECK(axis >= -nd && axis < nd, Value, op, "axis ", axis, " is out of range for ", nd, " dimension(s)");
  DL_CHECK(indices.ndim() <= 1, Value, op, "expected 0-d or 1-d indices, got shape ", shape_str(indices.shape()));
  const int64_t ax = axis < 0 ? axis + nd : axis;
  const int64_t len = input_shape[ax], n = indices.numel();
  Shape gs = input_shape;
  gs[ax] = n;
  DL_CHECK(grad.shape() == gs, Value, op, "expected grad of shape ", shape_str(gs), ", got ", shape_str(grad.shape()));
  Tensor ic = indices.contiguous();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const int64_t v = ic.data<int64_t>()[k];
    DL_CHECK(v >= -len && v < len, Index, op, "index ", v, " is out of bounds for axis ", ax, " with size ", len);
    idx[static_cast<size_t>(k)] = v < 0 ? v + len : v;
  }
  const size_t a0 = static_cast<size_t>(ax);
  return scatter_add_rows(grad, idx.data(), n, prod(input_shape, 0, a0), len,
                          prod(input_shape, a0 + 1, input_shape.size()), -1, input_shape, op);
}

namespace {
std::vector<int64_t> embedding_indices(const Tensor& indices, int64_t num, const char* op) {
  check_cpu(indices, op);
  check_index_dtype(indices, op);
  Tensor ic = indices.contiguous();
  const int64_t n = indices.numel();
  const int64_t* ip = ic.data<int64_t>();
  for (int64_t k = 0; k < n; ++k)
    DL_CHECK(ip[k] >= 0 && ip[k] < num, Index, op, "index ", ip[k], " is out of range for ", num, " embeddings");
  return std::vector<int64_t>(ip, ip + n);
}

int64_t embedding_padding(bool has, int64_t padding_idx, int64_t num, const char* op) {
  if (!has) return -1;
  DL_CHECK(padding_idx >= -num && padding_idx < num, Value, op, "padding_idx ", padding_idx,
           " must be within num_embeddings (", num, ")");
  return padding_idx < 0 ? padding_idx + num : padding_idx;
}
}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& indices, bool has_padding_idx, int64_t padding_idx) {
  const char* op = "embedding";
  check_cpu(weight, op);
  DL_CHECK(weight.ndim() == 2, Value, op, "expected a 2-d weight (num_embeddings, embedding_dim), got shape ",
           shape_str(weight.shape()));
  const int64_t num = weight.size(0), dim = weight.size(1);
  embedding_padding(has_padding_idx, padding_idx, num, op);
  std::vector<int64_t> idx = embedding_indices(indices, num, op);
  Shape os = indices.shape();
  os.push_back(dim);
  Tensor out = Tensor::empty(os, weight.dtype(), cpu_device(), op);
  if (out.numel() == 0) return out;
  Tensor wc = weight.contiguous();
  GatherRowsArgs a{static_cast<char*>(out.raw_data()), static_cast<const char*>(wc.raw_data()), idx.data(), 1,
                   static_cast<int64_t>(idx.size()), num, dim * static_cast<int64_t>(weight.itemsize())};
  DL_OP(GatherRowsFn, "gather_rows").get(cpu_device())(a);
  return out;
}

Tensor embedding_backward(const Tensor& grad_out, const Tensor& indices, int64_t num_embeddings,
                          bool has_padding_idx, int64_t padding_idx) {
  const char* op = "embedding_backward";
  check_cpu(grad_out, op);
  check_float(grad_out, op, "grad_out");
  DL_CHECK(num_embeddings >= 0, Value, op, "num_embeddings must be non-negative, got ", num_embeddings);
  const int64_t skip = embedding_padding(has_padding_idx, padding_idx, num_embeddings, op);
  DL_CHECK(grad_out.ndim() == indices.ndim() + 1 &&
               std::equal(indices.shape().begin(), indices.shape().end(), grad_out.shape().begin()),
           Value, op, "expected grad_out of shape indices.shape + (embedding_dim,) = ", shape_str(indices.shape()),
           " + (D,), got ", shape_str(grad_out.shape()));
  std::vector<int64_t> idx = embedding_indices(indices, num_embeddings, op);
  const int64_t dim = grad_out.shape().back();
  return scatter_add_rows(grad_out, idx.data(), static_cast<int64_t>(idx.size()), 1, num_embeddings, dim, skip,
                          {num_embeddings, dim}, op);
}

// ---- pad ----------------------------------------------------------------------------------------

namespace {

enum class PadMode { Constant, Reflect, Replicate, Circular };

// Geometry shared by pad and pad_backward: batch dims folded, and per padded dim the map from
// output to input coordinates.
struct PadPlan {
  PadMode mode;
  int k = 0;
  int64_t batch = 1;
  Shape in, out, out_full;
  std::vector<std::vector<int64_t>> maps;
};

void build_pad_maps(PadPlan& p, const Shape& in_shape, const std::vector<int64_t>& pad, const std::string& mode_name,
                    const char* op);

PadPlan plan_pad(const Shape& in_shape, const std::vector<int64_t>& pad, const std::string& mode_name,
                 const char* op) {
  PadPlan p;
  if (mode_name == "constant") p.mode = PadMode::Constant;
  else if (mode_name == "reflect") p.mode = PadMode::Reflect;
  else if (mode_name == "replicate") p.mode = PadMode::Replicate;
  else if (mode_name == "circular") p.mode = PadMode::Circular;
  else fail(ErrorKind::Value, op, "mode must be 'constant', 'reflect', 'replicate' or 'circular', got '", mode_name, "'");
  const int64_t nd = static_cast<int64_t>(in_shape.size());
  DL_CHECK(pad.size() % 2 == 0, Value, op, "padding length must be divisible by 2, got ", pad.size());
  const int64_t np = static_cast<int64_t>(pad.size()) / 2;
  DL_CHECK(np <= nd, Value, op, "padding length should be at most twice the input dimension, got padding length ",
           pad.size(), " and an input of dimension ", nd);
  if (p.mode != PadMode::Constant) {
    DL_CHECK((np == 1 && (nd == 2 || nd == 3)) || (np == 2 && (nd == 3 || nd == 4)) ||
                 (np == 3 && (nd == 4 || nd == 5)),
             Value, op, mode_name, " padding of ", np, " dim(s) needs a ", np + 1, "-d or ", np + 2,
             "-d input, got ", nd, "-d");
  }
  p.out_full = in_shape;
  for (int64_t j = 0; j < np; ++j) {
    const int64_t d = nd - 1 - j, l = pad[2 * j], r = pad[2 * j + 1], len = in_shape[d];
    const int64_t o = checked_add(checked_add(len, l, op), r, op);
    DL_CHECK(o >= 0, Value, op, "padding (", l, ", ", r, ") makes dim ", d, " of size ", len, " negative");
    if (p.mode == PadMode::Reflect)
      DL_CHECK(l < len && r < len, Value, op, "padding size should be less than the corresponding input dimension, "
               "but got padding (", l, ", ", r, ") at dimension ", d, " of input ", shape_str(in_shape));
    if (p.mode == PadMode::Circular)
      DL_CHECK(l <= len && r <= len, Value, op, "padding (", l, ", ", r, ") at dimension ", d,
               " wraps around more than once (input size ", len, ")");
    if (p.mode == PadMode::Replicate)
      DL_CHECK(len > 0 || o == 0, Value, op, "cannot replicate-pad dimension ", d, " of size 0");
    p.out_full[d] = o;
  }
  // An empty result needs no maps (and a huge pad of an empty dim must not allocate them).
  if (checked_numel(p.out_full, op) == 0) return p;
  try {
    build_pad_maps(p, in_shape, pad, mode_name, op);
  } catch (const std::bad_alloc&) {
    fail(ErrorKind::Memory, op, "cannot allocate the index maps for an output of shape ", shape_str(p.out_full));
  }
  return p;
}

void build_pad_maps(PadPlan& p, const Shape& in_shape, const std::vector<int64_t>& pad, const std::string&,
                    const char* op) {
  const int64_t nd = static_cast<int64_t>(in_shape.size());
  const int64_t np = static_cast<int64_t>(pad.size()) / 2;
  // Leading padded dims without padding join the batch; everything before the padded dims too.
  int64_t first = nd - np;
  while (first < nd - 1 && pad[2 * (nd - 1 - first)] == 0 && pad[2 * (nd - 1 - first) + 1] == 0) ++first;
  if (np == 0) first = nd - 1 < 0 ? 0 : nd - 1;
  for (int64_t d = 0; d < first; ++d) p.batch *= in_shape[d];
  for (int64_t d = first; d < nd; ++d) {
    const int64_t j = nd - 1 - d;
    const int64_t l = j < np ? pad[2 * j] : 0, r = j < np ? pad[2 * j + 1] : 0, len = in_shape[d];
    const int64_t o = len + l + r;
    std::vector<int64_t> m(static_cast<size_t>(o));
    for (int64_t t = 0; t < o; ++t) {
      // t - l overflows only for a huge negative l (cropping), which puts t past the input's end.
      int64_t u;
      if (__builtin_sub_overflow(t, l, &u)) u = INT64_MAX;
      switch (p.mode) {
        case PadMode::Constant: u = (u >= 0 && u < len) ? u : -1; break;
        case PadMode::Reflect:
          if (u < 0) u = -u;
          if (u >= len) u = 2 * (len - 1) - u;
          break;
        case PadMode::Replicate: u = std::clamp<int64_t>(u, 0, len - 1); break;
        case PadMode::Circular: {
          // Negative pads crop first; positive pads then wrap around the cropped range.
          const int64_t cl = std::max<int64_t>(-l, 0), cr = std::max<int64_t>(-r, 0), n = len - cl - cr;
          DL_CHECK(n > 0, Value, op, "padding (", l, ", ", r, ") crops dimension ", d, " of size ", len, " away");
          const int64_t v = t - std::max<int64_t>(l, 0);
          u = ((v % n) + n) % n + cl;
          break;
        }
      }
      m[static_cast<size_t>(t)] = u;
    }
    p.in.push_back(len);
    p.out.push_back(o);
    p.maps.push_back(std::move(m));
  }
  p.k = static_cast<int>(p.in.size());
  DL_CHECK(p.k <= kPadMaxDims, Value, op, "at most ", kPadMaxDims, " padded dims are supported, got ", p.k);
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& padv, const std::string& mode, double value) {
  const char* op = "pad";
  check_cpu(x, op);
  if (x.ndim() == 0) {
    DL_CHECK(padv.empty(), Value, op, "cannot pad a zero-dimensional tensor");
    return x.clone();
  }
  PadPlan p = plan_pad(x.shape(), padv, mode, op);
  Tensor out = Tensor::empty(p.out_full, x.dtype(), cpu_device(), op);
  if (out.numel() == 0) return out;
  Tensor xc = x.contiguous();
  unsigned char val[8] = {0};
  scalar_bytes(x.dtype(), value, val);
  PadArgs a{};
  a.out = static_cast<char*>(out.raw_data());
  a.in = static_cast<const char*>(xc.raw_data());
  a.batch = p.batch;
  a.itemsize = static_cast<int64_t>(x.itemsize());
  a.k = p.k;
  for (int d = 0; d < p.k; ++d) {
    a.in_shape[d] = p.in[d];
    a.out_shape[d] = p.out[d];
    a.map[d] = p.maps[d].data();
  }
  // The longest run of the last dim that reads the input contiguously goes through memcpy.
  const std::vector<int64_t>& lm = p.maps.back();
  const int64_t ol = p.out.back();
  a.mid_lo = a.mid_hi = a.mid_src = 0;
  for (int64_t j = 0; j < ol;) {
    if (lm[j] < 0) { ++j; continue; }
    int64_t e = j + 1;
    while (e < ol && lm[e] == lm[e - 1] + 1) ++e;
    if (e - j > a.mid_hi - a.mid_lo) { a.mid_lo = j; a.mid_hi = e; a.mid_src = lm[j]; }
    j = e;
  }
  a.value = val;
  DL_OP(PadFn, "pad").get(cpu_device())(a);
  return out;
}

Tensor pad_backward(const Tensor& grad_out, const Shape& input_shape, const std::vector<int64_t>& padv,
                    const std::string& mode) {
  const char* op = "pad_backward";
  check_cpu(grad_out, op);
  check_float(grad_out, op, "grad_out");
  checked_numel(input_shape, op);
  DL_CHECK(!input_shape.empty(), Value, op, "cannot pad a zero-dimensional tensor");
  PadPlan p = plan_pad(input_shape, padv, mode, op);
  DL_CHECK(grad_out.shape() == p.out_full, Value, op, "expected grad_out of shape ", shape_str(p.out_full), ", got ",
           shape_str(grad_out.shape()));
  Tensor gin = Tensor::empty(input_shape, grad_out.dtype(), cpu_device(), op);
  if (gin.numel() == 0) return gin;
  if (grad_out.numel() == 0) {
    std::memset(gin.raw_data(), 0, static_cast<size_t>(gin.numel()) * gin.itemsize());
    return gin;
  }
  Tensor g = grad_out.contiguous();
  std::vector<std::vector<int64_t>> inv_start(static_cast<size_t>(p.k)), inv(static_cast<size_t>(p.k));
  PadBackwardArgs a{};
  a.grad_in = gin.raw_data();
  a.grad_out = g.raw_data();
  a.batch = p.batch;
  a.k = p.k;
  a.dtype = grad_out.dtype();
  for (int d = 0; d < p.k; ++d) {
    const std::vector<int64_t>& m = p.maps[d];
    std::vector<int64_t> valid;
    for (int64_t v : m)
      if (v >= 0) valid.push_back(v);
    inv_start[d].resize(static_cast<size_t>(p.in[d] + 1));
    inv[d].resize(valid.size());
    counting_sort(valid.data(), static_cast<int64_t>(valid.size()), p.in[d], inv_start[d].data(), inv[d].data());
    // counting_sort ranks positions among the valid entries; map them back to output coords.
    std::vector<int64_t> coord;
    for (int64_t t = 0; t < static_cast<int64_t>(m.size()); ++t)
      if (m[t] >= 0) coord.push_back(t);
    for (int64_t& v : inv[d]) v = coord[static_cast<size_t>(v)];
    a.in_shape[d] = p.in[d];
    a.out_shape[d] = p.out[d];
    a.map[d] = m.data();
    a.inv_start[d] = inv_start[d].data();
    a.inv[d] = inv[d].data();
  }
  DL_OP(PadBackwardFn, "pad_backward").get(cpu_device())(a);
  return gin;
}

// ---- masked_fill ------------------------------------------------------------------------------

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value, bool inplace) {
  const char* op = inplace ? "masked_fill_" : "masked_fill";
  check_cpu(x, op);
  check_cpu(mask, op);
  DL_CHECK(mask.dtype() == DType::Bool, Type, op, "expected a bool mask, got ", dtype_name(mask.dtype()));
  DL_CHECK(mask.ndim() <= x.ndim(), Value, op, "mask of shape ", shape_str(mask.shape()),
           " cannot be broadcast to ", shape_str(x.shape()));
  for (int64_t i = 0; i < mask.ndim(); ++i) {
    const int64_t m = mask.size(mask.ndim() - 1 - i), s = x.size(x.ndim() - 1 - i);
    DL_CHECK(m == s || m == 1, Value, op, "mask of shape ", shape_str(mask.shape()), " cannot be broadcast to ",
             shape_str(x.shape()));
  }
  if (inplace) check_no_internal_overlap(x, op, "x");
  Tensor m = expand(mask, x.shape(), op).contiguous();
  const bool direct = inplace && x.is_contiguous();
  Tensor out = direct ? x : Tensor::empty(x.shape(), x.dtype(), cpu_device(), op);
  if (x.numel() == 0) return inplace ? x : out;
  Tensor xc = direct ? x : x.contiguous();
  unsigned char val[8] = {0};
  scalar_bytes(x.dtype(), value, val);
  MaskedFillArgs a{static_cast<char*>(out.raw_data()), static_cast<const char*>(xc.raw_data()), m.data<bool>(),
                   x.numel(), static_cast<int64_t>(x.itemsize()), val};
  DL_OP(MaskedFillFn, "masked_fill").get(cpu_device())(a);
  if (inplace && !direct) {
    copy_into(x, out, op);
    return x;
  }
  return out;
}

}  // namespace dl

// shape: views (reshape, transpose, permute, expand, basic indexing, split), the copies that
// materialise them (a cache-blocked transpose used by dl::copy_into), cat/stack, gathers and
// their deterministic scatter-add backwards (index_select, embedding), pad and masked_fill.
//
// Views share memory with their input (NumPy inputs included); everything else returns a new,
// contiguous tensor.  Backward kernels never use atomics: each output row is owned by exactly one
// chunk and sums its contributions in a fixed order, so results are bitwise identical for any
// thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace dl {

// ---- kernel argument structs (POD) ----------------------------------------------------------

constexpr int kCopyMaxDims = 16;

// A batch of 2-D transposes: for every outer index o and 0 <= i < rows, 0 <= j < cols,
//   dst[o_dst + i*dst_ld + j] = src[o_src + i + j*src_ld]     (units: elements)
// i.e. j is contiguous in dst and i is contiguous in src.
struct TransposeCopyArgs {
  char* dst;
  const char* src;
  int64_t itemsize;  // 1, 2, 4 or 8
  int64_t rows, cols, dst_ld, src_ld;
  int outer_ndim;
  int64_t outer_shape[kCopyMaxDims];
  int64_t outer_dst[kCopyMaxDims];
  int64_t outer_src[kCopyMaxDims];
};
using TransposeCopyFn = void (*)(const TransposeCopyArgs&);

// out[o, k, :] = src[o, idx[k], :] for o < outer, k < n; rows of `inner` bytes (contiguous).
struct GatherRowsArgs {
  char* out;
  const char* src;
  const int64_t* idx;  // validated in range [0, src_rows)
  int64_t outer, n, src_rows, inner_bytes;
};
using GatherRowsFn = void (*)(const GatherRowsArgs&);

// out[o, r, :] = sum over k with idx[k]==r (in increasing k) of grad[o, k, :].
// `order`/`start` is a stable counting sort of idx (start has rows+1 entries) built by the caller.
struct ScatterAddRowsArgs {
  void* out;  // (outer, rows, inner) contiguous, fully written by the kernel
  const void* grad;  // (outer, n, inner) contiguous
  const int64_t* order;
  const int64_t* start;
  int64_t outer, n, rows, inner;
  int64_t skip_row;  // a row that receives zeros (padding_idx), or -1
  DType dtype;       // float32 or float64
};
using ScatterAddRowsFn = void (*)(const ScatterAddRowsArgs&);

// Pad / crop of the last `k` (1..kPadMaxDims) dims of a contiguous (batch, in_1..in_k) tensor.
// map[d][o] is the input coordinate read by output coordinate o along padded dim d, or -1 for
// the constant value.
constexpr int kPadMaxDims = 8;
struct PadArgs {
  char* out;        // (batch, out_1..out_k) contiguous
  const char* in;   // (batch, in_1..in_k) contiguous
  int64_t batch, itemsize;
  int k;
  int64_t in_shape[kPadMaxDims], out_shape[kPadMaxDims];
  const int64_t* map[kPadMaxDims];
  // Along the last dim, outputs [mid_lo, mid_hi) read inputs mid_src.. contiguously.
  int64_t mid_lo, mid_hi, mid_src;
  const void* value;  // one element of the dtype
};
using PadFn = void (*)(const PadArgs&);

// grad_in[b, i..] = sum over outputs mapping to i (fixed order) of grad_out[b, o..]; grad_in is
// fully written.  Same geometry as PadArgs (out = grad_out).
struct PadBackwardArgs {
  void* grad_in;
  const void* grad_out;
  int64_t batch;
  int k;
  int64_t in_shape[kPadMaxDims], out_shape[kPadMaxDims];
  const int64_t* map[kPadMaxDims];
  // inv_start[d] (in_d + 1 entries) / inv[d]: for each input coordinate, the output coordinates
  // along dim d that read it, ascending.
  const int64_t* inv_start[kPadMaxDims];
  const int64_t* inv[kPadMaxDims];
  DType dtype;
};
using PadBackwardFn = void (*)(const PadBackwardArgs&);

// out[i] = mask[i] ? value : x[i] over n contiguous elements (mask already broadcast).
struct MaskedFillArgs {
  char* out;
  const char* x;  // may equal out
  const bool* mask;
  int64_t n, itemsize;
  const void* value;
};
using MaskedFillFn = void (*)(const MaskedFillArgs&);

// ---- op entries -----------------------------------------------------------------------------

// One entry of a basic NumPy index key.
struct IndexItem {
  enum Kind { Int, Slice, NewAxis, Ellipsis } kind;
  int64_t value = 0;                   // Int
  int64_t start = 0, stop = 0, step = 1;  // Slice, as PySlice_Unpack gives them (sentinels:
  bool has_start = false, has_stop = false;  // has_* false = omitted)
};

Tensor reshape(const Tensor& x, const Shape& shape);  // entries may hold one -1
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim);
Tensor squeeze(const Tensor& x, const std::vector<int64_t>* dims);  // nullptr = all size-1 dims
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor expand(const Tensor& x, const Shape& shape, const char* op = "expand");  // -1 keeps a dim
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length, const char* op = "narrow");
Tensor contiguous(const Tensor& x);

Tensor cat(const std::vector<Tensor>& xs, int64_t axis, const char* op = "cat");
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);
// sizes: explicit section sizes (sum must equal the dim) or, when `n_sections` > 0, split into
// that many equal parts (torch.tensor_split-like remainder goes to the first parts).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis, const char* op = "split");
std::vector<Tensor> split_n(const Tensor& x, int64_t n_sections, int64_t axis);

Tensor index(const Tensor& x, const std::vector<IndexItem>& key, const char* op = "index");
void index_put_(const Tensor& x, const std::vector<IndexItem>& key, const Tensor& value);
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& indices, const char* op = "index_select");
Tensor index_select_backward(const Tensor& grad, int64_t axis, const Tensor& indices, const Shape& input_shape);

Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, const std::string& mode, double value);
Tensor pad_backward(const Tensor& grad_out, const Shape& input_shape, const std::vector<int64_t>& pad,
                    const std::string& mode);

Tensor embedding(const Tensor& weight, const Tensor& indices, bool has_padding_idx, int64_t padding_idx);
Tensor embedding_backward(const Tensor& grad_out, const Tensor& indices, int64_t num_embeddings,
                          bool has_padding_idx, int64_t padding_idx);

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value, bool inplace);

// Materialises src into dst with the blocked transpose kernel when the innermost dim of one
// side is strided while the other side is contiguous along some dim; returns false when the
// layout is not a transpose (the caller then copies row by row).  Shapes/strides are coalesced.
bool transpose_copy(char* dst, const char* src, size_t itemsize, const Shape& shape, const Shape& dst_strides,
                    const Shape& src_strides);

}  // namespace dl

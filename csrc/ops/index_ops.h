// index_ops: gather / scatter / scatter_add along a dim, cumsum, and boolean-mask or
// integer-row select and assignment (x[mask], x[mask] = v, x[rows] = v with accumulate).
//
// All are deterministic without atomics: every output line (or row) is written by exactly one
// chunk, which applies its contributions in increasing index order, so results are bitwise
// identical for any thread count (and equal to a serial loop's).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace dl {

// ---- kernel argument structs (POD) ----------------------------------------------------------

// Index-shaped iteration (outer, n, inner): element (o, k, j) of the contiguous index (and of
// the contiguous gather output / scatter source) is at (o*n + k)*inner + j; the element of
// `self` it addresses is at self_outer[o] + idx*dim_stride + self_inner[j] (units: elements).
struct GatherArgs {
  char* out;
  const char* self;
  const int64_t* idx;  // validated in range [0, size of self along dim)
  const int64_t* self_outer;
  const int64_t* self_inner;
  int64_t outer, n, inner, dim_stride, itemsize;
};
using GatherFn = void (*)(const GatherArgs&);

struct ScatterArgs {
  char* self;  // written in place; distinct (o, j) address distinct lines of self
  const char* src;
  const int64_t* idx;
  const int64_t* self_outer;
  const int64_t* self_inner;
  int64_t outer, n, inner, dim_stride, itemsize;
  bool add;     // false: assign (the last k wins), true: accumulate in k order
  DType dtype;  // add: float32, float64 or int64
};
using ScatterFn = void (*)(const ScatterArgs&);

// Inclusive scan along n of a contiguous (outer, n, inner) tensor; reverse scans from the end
// (out[k] = sum over m >= k), the gradient of a forward cumsum.
struct CumsumArgs {
  void* out;
  const void* in;
  int64_t outer, n, inner;
  bool reverse;
  DType dtype;  // float32, float64 or int64
};
using CumsumFn = void (*)(const CumsumArgs&);

// Row puts into a contiguous (rows, inner) tensor: contribution p (in increasing p) of target
// row r is src row order[p] for start[r] <= p < start[r+1] (a stable counting sort of the
// targets).  Assign keeps the last contribution; accumulate adds them in order.  Source rows are
// `src_row_stride` elements apart (0 broadcasts one row).  With order == nullptr the targets are
// known to be distinct (a mask's rows): contribution k simply goes to row targets[k].
struct PutRowsArgs {
  char* out;
  const char* src;
  const int64_t* order;
  const int64_t* start;
  const int64_t* targets;  // n entries, distinct; used when order == nullptr
  int64_t n, rows, inner, src_row_stride, itemsize;
  bool accumulate;
  DType dtype;
};
using PutRowsFn = void (*)(const PutRowsArgs&);

// ---- op entries -----------------------------------------------------------------------------

// torch.gather: out[i][j][k] = self[i][index[i][j][k]][k] (dim = 1); out has index's shape;
// index.ndim == self.ndim and index.size(d) <= self.size(d) for d != dim.
Tensor gather(const Tensor& self, int64_t dim, const Tensor& index);
// torch.scatter / scatter_add (out of place): a copy of self with src[i][j][k] written to (or,
// with add, added into) self[i][index[i][j][k]][k].  src may be larger than index (only the
// index-shaped corner is read).
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src, bool add);
// torch.cumsum along dim (float32/float64/int64; the caller converts bool); reverse: suffix sums.
Tensor cumsum(const Tensor& x, int64_t dim, bool reverse);
// x[mask] with mask (bool) the shape of x's leading mask.ndim dims: (nnz,) + x.shape[mask.ndim:].
Tensor masked_rows(const Tensor& x, const Tensor& mask);
// x[mask] = values in place (values broadcast to (nnz,) + x.shape[mask.ndim:]).
void masked_put_(const Tensor& x, const Tensor& mask, const Tensor& values);
// x[rows] = values (or += with accumulate) in place, x seen as (prod(x.shape[:lead]), rest...);
// rows is 1-d int64 in [-M, M); values broadcast to (len(rows),) + x.shape[lead:].
void index_put_rows_(const Tensor& x, int64_t lead, const Tensor& rows, const Tensor& values, bool accumulate,
                     const char* op = "index_put_");

}  // namespace dl

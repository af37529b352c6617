// reduce: reductions over axes (sum, mean, var, max, min, argmax, argmin), softmax and
// log_softmax, cross-entropy and nll losses, with their backward kernels.
//
// Every reduction is brought (by reduce.cpp, through strides, copying only in unusual layouts) to
// a canonical 3-D form: output element (o, i) reduces x[o*s_outer + r*s_red + i*s_inner] over r.
// The order of the floating-point operations depends only on the sizes (lane blocking and fixed
// chunks, see reduce_cpu.cpp), never on the thread count, so results are bitwise reproducible.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace dl {

enum class ReduceKind : int32_t { Sum = 0, SumSqDev = 1, Max = 2, Min = 3, ArgMax = 4, ArgMin = 5 };

struct ReduceArgs {
  const void* x;
  DType in_dtype;
  void* out;            // contiguous (outer*inner); dtype: int64 for integer/bool sums, else in_dtype
  int64_t* out_idx;     // ArgMax/ArgMin: contiguous indices (may be set with out for values too)
  const void* center;   // SumSqDev: per-output mean, contiguous, in_dtype
  int64_t outer, red, inner;
  int64_t s_outer, s_red, s_inner;  // in elements
  ReduceKind kind;
  double divisor;       // Sum/SumSqDev: the result is divided by it unless it is exactly 1
  void* work;           // partials for runs longer than kReduceRowChunk (see reduce_work_bytes)
};
// Long contiguous runs are reduced in chunks of this many elements, whose partials are combined
// pairwise in a fixed order; the entry sizes the workspace as outputs * chunks * 16 bytes.
constexpr int64_t kReduceRowChunk = 8192;
using ReduceFn = void (*)(const ReduceArgs&);

// Elementwise kernel over a (coalesced) N-d index space used by the reduction backwards:
//   out[idx] = a[idx] * scale                       (mode 0: broadcast, sum/mean backward)
//   out[idx] = a[idx] * scale * (b[idx] - c[idx])   (mode 1: var backward)
// Broadcast operands carry stride 0 on the reduced axes.  out is contiguous.
constexpr int kReduceMaxDims = 16;
struct ReduceBroadcastArgs {
  const void* a;
  const void* b;
  const void* c;
  void* out;
  DType dtype;
  int32_t ndim;
  int32_t mode;
  int64_t shape[kReduceMaxDims];
  int64_t sa[kReduceMaxDims], sb[kReduceMaxDims], sc[kReduceMaxDims];
  double scale;
};
using ReduceBroadcastFn = void (*)(const ReduceBroadcastArgs&);

// softmax / log_softmax over the middle axis of a contiguous (outer, len, inner) array.
struct SoftmaxArgs {
  const void* x;
  void* out;
  DType dtype;
  int64_t outer, len, inner;
  bool log;
};
using SoftmaxFn = void (*)(const SoftmaxArgs&);

// gx = y*(g - sum(g*y)) (softmax) or gx = g - exp(y)*sum(g) (log_softmax); all contiguous.
struct SoftmaxBackwardArgs {
  const void* g;
  const void* y;
  void* gx;
  DType dtype;
  int64_t outer, len, inner;
  bool log;
};
using SoftmaxBackwardFn = void (*)(const SoftmaxBackwardArgs&);

// Cross-entropy over rows of `classes` contiguous logits (the entry moves the class axis last).
// Per row: loss = -sum_c a_c * log_softmax(x)_c with
//   class-index targets: a_c = (1-eps) w_t [c == t] + eps/C w_c   (0 for ignored rows)
//   probability targets: a_c = w_c ((1-eps) p_c + eps/C)
// Forward writes the per-row loss; backward writes g_row * (softmax(x) * sum(a) - a).
struct CrossEntropyArgs {
  const void* logits;       // (rows, classes) contiguous
  DType dtype;
  int64_t rows, classes;
  const int64_t* target;    // (rows,) class indices, or null
  const void* probs;        // (rows, classes) probabilities, or null
  const void* weight;       // (classes,) or null
  int64_t ignore_index;
  double smoothing;
  double weight_total;      // sum of the class weights (classes when weight is null)
  void* loss;               // forward: (rows,) per-row loss
  const void* grad;         // backward: (rows,) per-row upstream gradient, or null -> grad_scale
  double grad_scale;
  void* grad_logits;        // backward: (rows, classes)
};
using CrossEntropyFn = void (*)(const CrossEntropyArgs&);

// ---- entries (reduce.cpp, reduce_softmax.cpp) ----------------------------------------------
// `axes` empty with all_axes=true means "every axis" (axis=None).
struct AxisSpec {
  bool all = true;
  std::vector<int64_t> axes;
};

Tensor reduce_sum(const Tensor& x, const AxisSpec& axis, bool keepdims);
Tensor reduce_mean(const Tensor& x, const AxisSpec& axis, bool keepdims);
Tensor reduce_var(const Tensor& x, const AxisSpec& axis, double correction, bool keepdims);
Tensor reduce_max(const Tensor& x, const AxisSpec& axis, bool keepdims);
Tensor reduce_min(const Tensor& x, const AxisSpec& axis, bool keepdims);
// axis: all (flat index) or one axis.
Tensor reduce_argmax(const Tensor& x, const AxisSpec& axis, bool keepdims);
Tensor reduce_argmin(const Tensor& x, const AxisSpec& axis, bool keepdims);
// torch.max(x, dim): (values, indices) over one axis.
std::pair<Tensor, Tensor> reduce_max_with_indices(const Tensor& x, int64_t axis, bool keepdims, bool is_min);

Tensor reduce_sum_backward(const Tensor& grad, const Shape& input_shape, const AxisSpec& axis, bool keepdims,
                           bool mean);
Tensor reduce_var_backward(const Tensor& grad, const Tensor& x, const AxisSpec& axis, double correction,
                           bool keepdims);
// Gradient of max/min_with_indices: grad placed at `indices` along `axis`, zero elsewhere.
// op names the caller in errors: "max_backward" or "min_backward".
Tensor reduce_index_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape, int64_t axis,
                             bool keepdims, const char* op = "max_backward");

Tensor softmax(const Tensor& x, int64_t axis, bool log);
Tensor softmax_backward(const Tensor& grad, const Tensor& out, int64_t axis, bool log);

enum class LossReduction { None = 0, Mean = 1, Sum = 2 };
LossReduction parse_loss_reduction(const std::string& s, const char* op);

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     LossReduction reduction, double label_smoothing);
Tensor cross_entropy_backward(const Tensor& grad, const Tensor& logits, const Tensor& target, const Tensor& weight,
                              int64_t ignore_index, LossReduction reduction, double label_smoothing);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                LossReduction reduction);
Tensor nll_loss_backward(const Tensor& grad, const Tensor& log_probs, const Tensor& target, const Tensor& weight,
                         int64_t ignore_index, LossReduction reduction);

}  // namespace dl

// Device-independent GEMM entries: shapes, broadcasting, dtypes, strides, aliasing; the kernels
// (gemm_cpu.cpp per ISA, gemm_cuda.cu) see one strided, possibly batched problem.
#include "ops/gemm.h"
#include "ops/reduce.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "dispatch/registry.h"
#include "ops/fill.h"

namespace dl {
namespace {

// A matrix operand as the kernel sees it: leading batch dims plus (rows, cols) with strides.
struct MatView {
  Tensor t;       // keeps memory alive; t.raw_data() is the base pointer
  Shape batch;    // batch shape
  Shape bstrides; // batch strides (elements)
  int64_t rows = 0, cols = 0, rs = 0, cs = 0;
};

void check_float(const Tensor& t, const char* op, const char* arg) {
  DL_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64, Type, op, "expected float32 or float64 for '",
           arg, "', got ", dtype_name(t.dtype()));
}

void check_same(const Tensor& a, const Tensor& b, const char* op, const char* an, const char* bn) {
  DL_CHECK(a.dtype() == b.dtype(), Type, op, "expected '", an, "' and '", bn, "' of the same dtype, got ",
           dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  DL_CHECK(a.device() == b.device(), Runtime, op, "expected '", an, "' and '", bn, "' on the same device, got ",
           a.device().str(), " and ", b.device().str());
}

// Last two dims of t as a matrix (transposed when `trans`), the rest as batch.
MatView as_matrix(const Tensor& t, bool trans) {
  MatView v;
  v.t = t;
  const int64_t nd = t.ndim();
  v.batch.assign(t.shape().begin(), t.shape().end() - 2);
  v.bstrides.assign(t.strides().begin(), t.strides().end() - 2);
  v.rows = t.size(nd - 2), v.cols = t.size(nd - 1);
  v.rs = t.stride(nd - 2), v.cs = t.stride(nd - 1);
  if (trans) std::swap(v.rows, v.cols), std::swap(v.rs, v.cs);
  return v;
}

Shape broadcast_batch(const Shape& x, const Shape& y, const char* op) {
  const size_t n = std::max(x.size(), y.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t a = i < n - x.size() ? 1 : x[i - (n - x.size())];
    const int64_t b = i < n - y.size() ? 1 : y[i - (n - y.size())];
    DL_CHECK(a == b || a == 1 || b == 1, Value, op, "batch dimensions ", shape_str(x), " and ", shape_str(y),
             " cannot be broadcast together");
    out[i] = a == 1 ? b : a;
  }
  return out;
}

// Element offsets of every batch item of v within the broadcast batch shape `bs`.
std::vector<int64_t> batch_offsets(const MatView& v, const Shape& bs, int64_t count) {
  std::vector<int64_t> off(static_cast<size_t>(count), 0);
  const size_t n = bs.size(), lead = n - v.batch.size();
  std::vector<int64_t> idx(n, 0);
  for (int64_t t = 0; t < count; ++t) {
    int64_t o = 0;
    for (size_t d = lead; d < n; ++d)
      if (v.batch[d - lead] != 1) o += idx[d] * v.bstrides[d - lead];
    off[static_cast<size_t>(t)] = o;
    for (size_t d = n; d-- > 0;) {
      if (++idx[d] < bs[d]) break;
      idx[d] = 0;
    }
  }
  return off;
}

// Runs C[batch] = alpha op(A) op(B) + beta C with everything already validated.
void launch(const MatView& A, const MatView& B, const Tensor& C, const Shape& bshape, double alpha, double beta,
            const Tensor& bias, int act) {
  const int64_t M = A.rows, K = A.cols, N = B.cols;
  if (M == 0 || N == 0) return;
  int64_t batch = 1;
  for (int64_t s : bshape) batch *= s;
  if (batch == 0) return;
  MatView Cv = as_matrix(C, false);
  std::vector<int64_t> ao, bo, co;  // per-item offsets: only a batch needs them
  if (batch > 1) ao = batch_offsets(A, bshape, batch), bo = batch_offsets(B, bshape, batch),
                 co = batch_offsets(Cv, bshape, batch);
  GemmArgs g{};
  g.dtype = C.dtype();
  g.batch = batch, g.M = M, g.N = N, g.K = K;
  g.a = A.t.raw_data(), g.b = B.t.raw_data(), g.c = C.raw_data();
  g.a_rs = A.rs, g.a_cs = A.cs, g.b_rs = B.rs, g.b_cs = B.cs, g.c_rs = Cv.rs, g.c_cs = Cv.cs;
  g.alpha = alpha, g.beta = beta;
  g.bias = bias.defined() ? bias.raw_data() : nullptr;
  g.bias_stride = bias.defined() ? bias.stride(0) : 0;
  g.act = act;
  // A shared (broadcast) B and A rows evenly spaced across the batch: one tall GEMM instead of
  // many short ones (x @ W with x of shape (B, T, C)).
  bool fold = batch > 1;
  for (int64_t t = 0; fold && t < batch; ++t)
    fold = bo[static_cast<size_t>(t)] == 0 && ao[static_cast<size_t>(t)] == t * M * A.rs &&
           co[static_cast<size_t>(t)] == t * M * Cv.rs;
  if (fold) {
    g.M = M * batch, g.batch = 1;
  } else if (batch > 1) {
    g.a_off = ao.data(), g.b_off = bo.data(), g.c_off = co.data();
  }
  // A column-major C is computed as C^T = op(B)^T op(A)^T so the kernel writes rows.
  if (g.c_cs != 1 && g.c_rs == 1 && !g.bias) {
    std::swap(g.a, g.b), std::swap(g.a_off, g.b_off), std::swap(g.M, g.N);
    const int64_t ars = g.a_rs, acs = g.a_cs;
    g.a_rs = g.b_cs, g.a_cs = g.b_rs, g.b_rs = acs, g.b_cs = ars;
    std::swap(g.c_rs, g.c_cs);
  }
  DL_OP(GemmFn, "gemm").get(C.device())(g);
}

// Runs the product into c, through a temporary when c shares memory with an input.
void launch_into(const MatView& A, const MatView& B, const Tensor& c, const Shape& bshape, double alpha, double beta,
                 const Tensor& bias, int act, const char* op) {
  if (may_share_memory(c, A.t) || may_share_memory(c, B.t) || may_share_memory(c, bias)) {
    Tensor tmp = c.clone();
    launch(A, B, tmp, bshape, alpha, beta, bias, act);
    copy_into(c, tmp, op);
    return;
  }
  launch(A, B, c, bshape, alpha, beta, bias, act);
}

int parse_act(const std::string& s, const char* op) {
  if (s.empty() || s == "none") return kGemmActNone;
  if (s == "relu") return kGemmActRelu;
  if (s == "gelu") return kGemmActGelu;
  fail(ErrorKind::Value, op, "expected activation None, 'relu' or 'gelu', got '", s, "'");
}

// Views a (..., n) tensor as a 2-D (rows, n) matrix without copying when its leading dims
// merge into one evenly strided dim; otherwise copies it once.  Size-1 dims are skipped when
// merging and never supply the row stride: their stride is arbitrary (x[:, None] has stride 0
// there, a transposed view anything), and is_contiguous() ignores them, so neither "contiguous"
// nor the stride of dim -2 says how far apart the rows are.
MatView rows_view(const Tensor& t) {
  const int64_t nd = t.ndim();
  MatView v;
  v.rows = 1, v.cols = t.size(nd - 1), v.cs = t.stride(nd - 1);
  for (int64_t d = 0; d + 1 < nd; ++d) v.rows *= t.size(d);
  // The leading dims of size > 1, innermost first: each must step by the extent of the one inside.
  // The row stride is the innermost such dim's.
  int64_t prev = -1, row_stride = 0;
  bool mergeable = true;
  for (int64_t d = nd - 2; d >= 0 && mergeable; --d) {
    if (t.size(d) == 1) continue;
    if (prev < 0) row_stride = t.stride(d);
    if (prev >= 0 && t.stride(d) != t.stride(prev) * t.size(prev)) mergeable = false;
    else prev = d;
  }
  if (!mergeable) {
    // Not contiguous either (contiguity implies mergeable), so this is a real copy.
    v.t = t.contiguous();
    v.rs = v.cols, v.cs = 1;
    return v;
  }
  v.t = t;
  v.rs = prev >= 0 ? row_stride : v.cols * v.cs;  // one row: any row stride is right
  return v;
}

MatView transposed(MatView v) {
  std::swap(v.rows, v.cols), std::swap(v.rs, v.cs);
  return v;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  const char* op = "matmul";
  check_float(a, op, "a");
  check_float(b, op, "b");
  check_same(a, b, op, "a", "b");
  DL_CHECK(a.ndim() >= 1 && b.ndim() >= 1, Value, op, "expected inputs with at least 1 dimension, got shapes ",
           shape_str(a.shape()), " and ", shape_str(b.shape()));
  // 1-D operands become a row (a) or a column (b) and the dim is dropped from the result.
  MatView A = a.ndim() == 1 ? as_matrix(a.view({1, a.size(0)}, {0, a.stride(0)}, a.offset()), false)
                            : as_matrix(a, false);
  MatView B = b.ndim() == 1 ? as_matrix(b.view({b.size(0), 1}, {b.stride(0), 0}, b.offset()), false)
                            : as_matrix(b, false);
  DL_CHECK(A.cols == B.rows, Value, op, "shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
           " are not aligned: ", A.cols, " (dim -1 of a) != ", B.rows, " (dim -2 of b)");
  Shape bs = broadcast_batch(A.batch, B.batch, op);
  Shape full = bs;
  full.push_back(A.rows);
  full.push_back(B.cols);
  checked_numel(full, op);
  Tensor c = Tensor::empty(full, a.dtype(), a.device(), op);
  launch(A, B, c, bs, 1.0, 0.0, Tensor(), kGemmActNone);
  Shape out = bs;
  if (a.ndim() != 1) out.push_back(A.rows);
  if (b.ndim() != 1) out.push_back(B.cols);
  if (out.size() == full.size()) return c;
  return c.view(out, contiguous_strides(out), c.offset());
}

Tensor gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta, bool trans_a, bool trans_b) {
  const char* op = "gemm";
  check_float(a, op, "a");
  check_float(b, op, "b");
  check_same(a, b, op, "a", "b");
  DL_CHECK(a.ndim() >= 2 && b.ndim() >= 2, Value, op, "expected a and b with at least 2 dimensions, got shapes ",
           shape_str(a.shape()), " and ", shape_str(b.shape()));
  MatView A = as_matrix(a, trans_a), B = as_matrix(b, trans_b);
  DL_CHECK(A.cols == B.rows, Value, op, "op(a) is ", A.rows, " x ", A.cols, " and op(b) is ", B.rows, " x ", B.cols,
           ": inner dimensions differ");
  Shape bs = broadcast_batch(A.batch, B.batch, op);
  Shape full = bs;
  full.push_back(A.rows);
  full.push_back(B.cols);
  if (!c.defined()) {
    checked_numel(full, op);
    Tensor out = Tensor::empty(full, a.dtype(), a.device(), op);
    launch(A, B, out, bs, alpha, 0.0, Tensor(), kGemmActNone);
    return out;
  }
  check_same(a, c, op, "a", "c");
  DL_CHECK(c.shape() == full, Value, op, "expected c of shape ", shape_str(full), ", got ", shape_str(c.shape()));
  check_no_internal_overlap(c, op, "c");
  launch_into(A, B, c, bs, alpha, beta, Tensor(), kGemmActNone, op);
  return c;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const std::string& activation) {
  const char* op = "linear";
  check_float(x, op, "x");
  check_float(weight, op, "weight");
  check_same(x, weight, op, "x", "weight");
  const int act = parse_act(activation, op);
  DL_CHECK(weight.ndim() == 2, Value, op, "expected a 2-D weight (out_features, in_features), got shape ",
           shape_str(weight.shape()));
  DL_CHECK(x.ndim() >= 1 && x.size(x.ndim() - 1) == weight.size(1), Value, op, "expected x of shape (..., ",
           weight.size(1), "), got ", shape_str(x.shape()));
  if (bias.defined()) {
    check_same(x, bias, op, "x", "bias");
    DL_CHECK(bias.ndim() == 1 && bias.size(0) == weight.size(0), Value, op, "expected bias of shape (",
             weight.size(0), ",), got ", shape_str(bias.shape()));
  }
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(weight.size(0));
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device(), op);
  MatView X = rows_view(x), W = as_matrix(weight, true);
  if (X.rows == 0 || W.cols == 0) return y;
  Tensor y2 = y.view({X.rows, W.cols}, {W.cols, 1}, y.offset());
  launch(X, W, y2, {}, 1.0, 0.0, bias, act);
  return y;
}

void linear_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, bool need_x, bool need_w,
                     bool need_b, Tensor* grad_x, Tensor* grad_w, Tensor* grad_b) {
  const char* op = "linear_backward";
  check_float(grad_out, op, "grad_out");
  check_float(x, op, "x");
  check_float(weight, op, "weight");
  check_same(x, weight, op, "x", "weight");
  check_same(x, grad_out, op, "x", "grad_out");
  DL_CHECK(weight.ndim() == 2, Value, op, "expected a 2-D weight (out_features, in_features), got shape ",
           shape_str(weight.shape()));
  DL_CHECK(x.ndim() >= 1 && x.size(x.ndim() - 1) == weight.size(1), Value, op, "expected x of shape (..., ",
           weight.size(1), "), got ", shape_str(x.shape()));
  Shape gshape(x.shape().begin(), x.shape().end() - 1);
  gshape.push_back(weight.size(0));
  DL_CHECK(grad_out.shape() == gshape, Value, op, "expected grad_out of shape ", shape_str(gshape), ", got ",
           shape_str(grad_out.shape()));
  MatView G = rows_view(grad_out), X = rows_view(x);
  const int64_t rows = G.rows;
  if (need_x) {
    *grad_x = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
    if (rows > 0 && X.cols > 0) {
      Tensor gx = grad_x->view({rows, X.cols}, {X.cols, 1}, grad_x->offset());
      launch(G, as_matrix(weight, false), gx, {}, 1.0, 0.0, Tensor(), kGemmActNone);
    }
  }
  if (need_w) {
    *grad_w = Tensor::empty(weight.shape(), x.dtype(), x.device(), op);
    if (weight.numel() > 0) launch(transposed(G), X, *grad_w, {}, 1.0, 0.0, Tensor(), kGemmActNone);
  }
  if (need_b && x.device().is_cpu() && grad_out.ndim() >= 2) {
    // Column sums over every leading dim: the reduce family's fixed-chunk sum (deterministic,
    // and one streaming pass, where a 1-row GEMM would pad its row to a whole micro-panel).
    AxisSpec leading{false, {}};
    for (int64_t d = 0; d + 1 < grad_out.ndim(); ++d) leading.axes.push_back(d);
    *grad_b = reduce_sum(grad_out, leading, false);
  } else if (need_b) {
    // Column sums as ones(1, rows) @ grad_out: the GEMM's fixed k order makes them deterministic.
    *grad_b = Tensor::empty({weight.size(0)}, x.dtype(), x.device(), op);
    if (weight.size(0) > 0) {
      Tensor one = Tensor::empty({1}, x.dtype(), x.device(), op);
      fill_(one, 1.0);
      MatView O;
      O.t = one, O.rows = 1, O.cols = rows, O.rs = 0, O.cs = 0;
      Tensor gb = grad_b->view({1, weight.size(0)}, {weight.size(0), 1}, grad_b->offset());
      launch(O, G, gb, {}, 1.0, 0.0, Tensor(), kGemmActNone);
    }
  }
}

double fma_peak_gflops(int threads, double seconds) {
  check_thread_count(threads, "fma_peak_gflops");
  DL_CHECK(seconds > 0 && seconds <= 10, Value, "fma_peak_gflops", "expected 0 < seconds <= 10, got ", seconds);
  double g = 0;
  DL_OP(FmaPeakFn, "gemm_fma_peak").get(cpu_device())(FmaPeakArgs{threads, seconds, &g});
  return g;
}

}  // namespace dl

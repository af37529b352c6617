// Fused softmax attention (scaled_dot_product_attention): forward and backward, O(L + S) memory.
//
// The kernels see a canonical problem: q (B, Hq, L, E), k (B, Hk, S, E), v (B, Hk, S, Ev), all
// contiguous, Hq a multiple of Hk (query head h reads key/value head h / (Hq / Hk): grouped-query
// attention; Hk == Hq is plain multi-head).  The Python layer (dlcore.ops.attention) folds the
// leading broadcast dims into B and reduces broadcast gradients back; this entry validates the
// canonical shapes, chooses the algorithm (one place), logs it and allocates the workspace.
//
// Scores of row i, column j of flat head bh = b * Hq + h:
//     s = scale * q_i . k_j + mask[mask_off[bh] + i * mask_rs + j * mask_cs]
//           + alibi[bh] * (j - i)  [+ -inf where is_causal and j > i]
// then p = softmax_j(s), out_i = sum_j dropout(p_ij) v_j.  A row whose scores are all -inf gives
// out = 0, logsumexp = -inf and zero gradients (torch gives NaN there).
// Dropout keeps (i, j) when Philox word (j % 4) of counter {j / 4, i, lo32(bh), hi32(bh)} under
// key {lo32(seed), hi32(seed)} is >= p * 2^32, and scales kept values by 1 / (1 - p): the same
// mask in forward and backward, for any thread count.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace dl {

enum AttnAlgo : int { kAttnFlash = 0, kAttnReference = 1 };

struct AttnArgs {
  DType dtype;                       // Float32 or Float64 for every array below
  int64_t B, Hq, Hk, L, S, E, Ev;
  const void* q;
  const void* k;
  const void* v;
  const void* mask;                  // additive mask or null
  const int64_t* mask_off;           // (B * Hq,) element offsets into mask
  int64_t mask_rs, mask_cs;          // element strides of the mask's rows and columns (0: broadcast)
  const void* alibi;                 // (B * Hq,) slopes or null
  bool causal;
  double scale;
  double dropout_p;
  uint64_t seed;
  int algo;                          // AttnAlgo
  void* work;                        // per-thread scratch: nthreads * work_stride bytes
  int64_t work_stride;
  int nthreads;
  // forward
  void* out;                         // (B, Hq, L, Ev)
  void* lse;                         // (B, Hq, L)
  // backward (grad_out, out and lse in; grads out)
  const void* grad_out;              // (B, Hq, L, Ev)
  const void* out_in;                // (B, Hq, L, Ev)
  const void* lse_in;                // (B, Hq, L)
  void* delta;                       // (B, Hq, L) scratch: rowsum(grad_out * out)
  void* grad_q;                      // (B, Hq, L, E)
  void* grad_k;                      // (B, Hk, S, E)
  void* grad_v;                      // (B, Hk, S, Ev)
};
using AttnFn = void (*)(const AttnArgs&);
// Scratch bytes per thread that the kernel needs (independent of L x S).
using AttnWorkFn = int64_t (*)(const AttnArgs&, bool backward);

struct AttnOptions {
  Tensor mask;                       // additive, q's dtype, or undefined
  Tensor mask_off;                   // int64 (B * Hq,)
  int64_t mask_rs = 0, mask_cs = 0;
  Tensor alibi;                      // (B * Hq,) q's dtype, or undefined
  bool causal = false;
  double scale = 0.0;                // used when has_scale; else 1 / sqrt(E) (torch's default)
  bool has_scale = false;
  double dropout_p = 0.0;
  uint64_t seed = 0;
};

// (out, logsumexp)
std::pair<Tensor, Tensor> sdpa_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttnOptions& o);
// (grad_q, grad_k, grad_v)
std::tuple<Tensor, Tensor, Tensor> sdpa_backward(const Tensor& grad_out, const Tensor& q, const Tensor& k,
                                                 const Tensor& v, const Tensor& out, const Tensor& lse,
                                                 const AttnOptions& o);
// Scratch bytes of the most recent forward / backward call on this thread (for memory tests).
int64_t sdpa_last_workspace_bytes();

}  // namespace dl

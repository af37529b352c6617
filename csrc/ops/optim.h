// optim: fused optimizer updates (SGD, Adam/AdamW, RMSprop).
//
// One call updates every tensor of a parameter group in place: the entry (optim.cpp) checks the
// lists, describes each tensor as an OptimSlot and cuts the group into fixed-size chunks
// (OptimChunk, never crossing a tensor, boundaries independent of the thread count); the per-ISA
// kernel (optim_cpu.cpp) runs the chunks in parallel.  Updates are elementwise, so every thread
// count and every ISA gives the same bits.
//
// The arithmetic follows torch.optim's single-tensor (foreach=False) code operation by operation,
// each rounded to the tensor's dtype, with hyper-parameters first converted to that dtype (as
// ATen converts a Python scalar): so float64 trajectories agree with PyTorch to a few ulps per step
// (PyTorch's vector loops may fuse a multiply-add that dlcore rounds twice: -ffp-contract=off).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace dl {

// One tensor of the group: contiguous buffers of `n` elements of `dtype`.
struct OptimSlot {
  void* param;
  const void* grad;
  void* state[3];     // per algorithm, see the *Args below; null when an option does not use it
  int64_t n;
  DType dtype;
  bool fresh;         // SGD: the momentum buffer is new (torch's None): it becomes the gradient
  double step_size;   // Adam: lr / (1 - beta1^step) for this tensor's step
  double bias2_sqrt;  // Adam: (1 - beta2^step)^0.5
};

// Elements per parallel chunk: fixed, so chunk boundaries never depend on the thread count.
constexpr int64_t kOptimChunk = 1 << 15;

// Elements [begin, end) of slot `slot` (at most kOptimChunk of them, never two tensors).
struct OptimChunk {
  int64_t slot, begin, end;
};

struct OptimWork {
  const OptimSlot* slots;
  const OptimChunk* chunks;
  int64_t n_chunks;
  int64_t n_elements;  // over all chunks: small groups stay on the calling thread
};

struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
};
struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize, decoupled_weight_decay;  // decoupled: AdamW
};
struct RmspropOptions {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
};

// state[0] = momentum buffer (momentum != 0).
struct SgdArgs {
  OptimWork work;
  SgdOptions opt;
};
// state[0] = exp_avg, state[1] = exp_avg_sq, state[2] = max_exp_avg_sq (amsgrad).
struct AdamArgs {
  OptimWork work;
  AdamOptions opt;
};
// state[0] = square_avg, state[1] = momentum buffer (momentum > 0), state[2] = grad_avg (centered).
struct RmspropArgs {
  OptimWork work;
  RmspropOptions opt;
};
using SgdFn = void (*)(const SgdArgs&);
using AdamFn = void (*)(const AdamArgs&);
using RmspropFn = void (*)(const RmspropArgs&);

// Entries.  Parameters and state are float32/float64, contiguous, CPU, written in place; each
// grads[i] and state buffer has params[i]'s shape and dtype (grads may have any strides).  State
// lists are empty when their option is off.  Raise ValueError/TypeError naming the op.
void sgd_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
              const std::vector<Tensor>& momentum_buffers, const std::vector<bool>& fresh,
              const SgdOptions& opt);
// steps[i]: the step being taken by params[i], counted from 1 (torch's state["step"] after += 1).
void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
               const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<double>& steps,
               const AdamOptions& opt);
void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& momentum_buffers,
                  const std::vector<Tensor>& grad_avgs, const RmspropOptions& opt);

}  // namespace dl

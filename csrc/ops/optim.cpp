#include "ops/optim.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "dispatch/registry.h"

namespace dl {
namespace {

const Op<SgdFn> kSgd("sgd_step");
const Op<AdamFn> kAdam("adam_step");
const Op<RmspropFn> kRmsprop("rmsprop_step");

constexpr int kMaxBuffers = 5;  // param, grad, three state buffers

// The slots and chunks of one call, plus what they point into.
class Group {
 public:
  Group(const char* op, const std::vector<Tensor>& params, const std::vector<Tensor>& grads) : op_(op) {
    DL_CHECK(grads.size() == params.size(), Value, op, "expected one gradient per parameter, got ", grads.size(),
             " grads for ", params.size(), " params");
    slots_.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor& p = params[i];
      check_buffer(p, "params", i, true);
      // Gradients are only read: a strided one is copied once rather than refused.
      Tensor g = grads[i];
      check_like(g, p, "grads", i);
      if (!g.is_contiguous()) {
        copies_.push_back(g.contiguous());
        g = copies_.back();
      }
      OptimSlot& s = slots_[i];
      s = OptimSlot{};
      s.param = p.raw_data();
      s.grad = g.raw_data();
      s.n = p.numel();
      s.dtype = p.dtype();
    }
    names_[0] = "params";
    names_[1] = "grads";
    buffers_ = 2;
  }

  // Attaches list[i] as state buffer `index` of slot i (the list must match the params).
  void add_state(int index, const std::vector<Tensor>& list, const char* name,
                 const std::vector<Tensor>& params) {
    DL_CHECK(list.size() == params.size(), Value, op_, "expected one entry of ", name, " per parameter, got ",
             list.size(), " for ", params.size(), " params");
    for (size_t i = 0; i < list.size(); ++i) {
      check_like(list[i], params[i], name, i);
      check_buffer(list[i], name, i, true);
      slots_[i].state[index] = list[i].raw_data();
    }
    names_[buffers_] = name;
    state_index_[buffers_] = index;
    ++buffers_;
  }

  OptimSlot& slot(size_t i) { return slots_[i]; }

  // Checks that no two buffers of a tensor overlap (the kernel's loops assume they do not), then
  // cuts every tensor into chunks of kOptimChunk elements.
  OptimWork finish() {
    int64_t elements = 0;
    for (size_t i = 0; i < slots_.size(); ++i) {
      const OptimSlot& s = slots_[i];
      elements += s.n;
      if (s.n == 0) continue;
      const int64_t bytes = s.n * static_cast<int64_t>(itemsize(s.dtype));
      for (int a = 0; a < buffers_; ++a)
        for (int b = a + 1; b < buffers_; ++b) {
          const char* x = static_cast<const char*>(pointer(s, a));
          const char* y = static_cast<const char*>(pointer(s, b));
          DL_CHECK(x + bytes <= y || y + bytes <= x, Value, op_, "expected ", names_[a], "[", i, "] and ",
                   names_[b], "[", i, "] to be separate memory, but they overlap");
        }
      for (int64_t begin = 0; begin < s.n; begin += kOptimChunk)
        chunks_.push_back(OptimChunk{static_cast<int64_t>(i), begin,
                                     begin + kOptimChunk < s.n ? begin + kOptimChunk : s.n});
    }
    return OptimWork{slots_.data(), chunks_.data(), static_cast<int64_t>(chunks_.size()), elements};
  }

 private:
  const void* pointer(const OptimSlot& s, int buffer) const {
    if (buffer == 0) return s.param;
    if (buffer == 1) return s.grad;
    return s.state[state_index_[buffer]];
  }

  void check_buffer(const Tensor& t, const char* name, size_t i, bool written) const {
    check_cpu(t, op_);
    DL_CHECK(is_floating(t.dtype()), Type, op_, "expected ", name, "[", i, "] to be float32 or float64, got ",
             dtype_name(t.dtype()));
    // An empty tensor has nothing to update (torch steps it as a no-op), whatever its strides.
    DL_CHECK(t.numel() == 0 || t.is_contiguous(), Value, op_, "expected ", name, "[", i,
             "] to be contiguous (it is updated in place), got strides ", shape_str(t.strides()));
    DL_CHECK(!written || !t.storage()->read_only(), Value, op_, "expected ", name, "[", i,
             "] to be writable, got read-only memory");
  }

  void check_like(const Tensor& t, const Tensor& param, const char* name, size_t i) const {
    check_cpu(t, op_);
    DL_CHECK(t.dtype() == param.dtype(), Type, op_, "expected ", name, "[", i, "] to have the dtype of params[",
             i, "] (", dtype_name(param.dtype()), "), got ", dtype_name(t.dtype()));
    DL_CHECK(t.shape() == param.shape(), Value, op_, "expected ", name, "[", i, "] to have the shape of params[",
             i, "] ", shape_str(param.shape()), ", got ", shape_str(t.shape()));
  }

  const char* op_;
  std::vector<OptimSlot> slots_;
  std::vector<OptimChunk> chunks_;
  std::vector<Tensor> copies_;  // contiguous copies of strided gradients, alive for the call
  const char* names_[kMaxBuffers] = {};
  int state_index_[kMaxBuffers] = {};
  int buffers_ = 0;
};

}  // namespace

void sgd_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
              const std::vector<Tensor>& momentum_buffers, const std::vector<bool>& fresh,
              const SgdOptions& opt) {
  Group group("sgd_step", params, grads);
  if (opt.momentum != 0.0) {
    group.add_state(0, momentum_buffers, "momentum_buffers", params);
    DL_CHECK(fresh.size() == params.size(), Value, "sgd_step", "expected one fresh flag per parameter, got ",
             fresh.size(), " for ", params.size(), " params");
    for (size_t i = 0; i < params.size(); ++i) group.slot(i).fresh = fresh[i];
  }
  const OptimWork work = group.finish();
  if (work.n_chunks > 0) kSgd.get(cpu_device())(SgdArgs{work, opt});
}

void adam_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
               const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<double>& steps,
               const AdamOptions& opt) {
  Group group("adam_step", params, grads);
  group.add_state(0, exp_avgs, "exp_avgs", params);
  group.add_state(1, exp_avg_sqs, "exp_avg_sqs", params);
  if (opt.amsgrad) group.add_state(2, max_exp_avg_sqs, "max_exp_avg_sqs", params);
  DL_CHECK(steps.size() == params.size(), Value, "adam_step", "expected one step per parameter, got ",
           steps.size(), " for ", params.size(), " params");
  for (size_t i = 0; i < params.size(); ++i) {
    const double step = steps[i];
    DL_CHECK(std::isfinite(step) && step >= 1.0, Value, "adam_step", "expected steps[", i,
             "] >= 1 (the step being taken, counted from 1), got ", step);
    // torch computes these per tensor in Python floats (C pow), as here.
    OptimSlot& s = group.slot(i);
    s.step_size = opt.lr / (1.0 - std::pow(opt.beta1, step));
    s.bias2_sqrt = std::pow(1.0 - std::pow(opt.beta2, step), 0.5);
  }
  const OptimWork work = group.finish();
  if (work.n_chunks > 0) kAdam.get(cpu_device())(AdamArgs{work, opt});
}

void rmsprop_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& momentum_buffers,
                  const std::vector<Tensor>& grad_avgs, const RmspropOptions& opt) {
  Group group("rmsprop_step", params, grads);
  group.add_state(0, square_avgs, "square_avgs", params);
  if (opt.momentum > 0.0) group.add_state(1, momentum_buffers, "momentum_buffers", params);
  if (opt.centered) group.add_state(2, grad_avgs, "grad_avgs", params);
  const OptimWork work = group.finish();
  if (work.n_chunks > 0) kRmsprop.get(cpu_device())(RmspropArgs{work, opt});
}

}  // namespace dl

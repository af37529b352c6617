#include "ops/fill.h"

#include "dispatch/registry.h"

namespace dl {

Tensor& fill_(Tensor& t, double value) {
  if (t.numel() == 0) return t;
  if (!t.is_contiguous()) {
    Tensor tmp = Tensor::empty(t.shape(), t.dtype(), t.device(), "fill");
    fill_(tmp, value);
    copy_into(t, tmp, "fill");
    return t;
  }
  DL_OP(FillFn, "fill").get(t.device())(FillArgs{t.raw_data(), t.numel(), t.dtype(), value});
  return t;
}

}  // namespace dl

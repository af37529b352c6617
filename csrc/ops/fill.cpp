#include "ops/fill.h"

#include <cmath>

#include "dispatch/registry.h"

namespace dl {
namespace {

Tensor& fill_args(Tensor& t, const FillArgs& args, const char* op) {
  if (t.numel() == 0) return t;
  if (!t.is_contiguous()) {
    Tensor tmp = Tensor::empty(t.shape(), t.dtype(), t.device(), op);
    fill_args(tmp, args, op);
    copy_into(t, tmp, op);
    return t;
  }
  FillArgs a = args;
  a.out = t.raw_data();
  a.n = t.numel();
  a.dtype = t.dtype();
  DL_OP(FillFn, "fill").get(t.device())(a);
  return t;
}

}  // namespace

Tensor& fill_(Tensor& t, double value, const char* op) {
  int64_t iv = 0;
  if (t.dtype() == DType::Int64) {
    // A double->int64 cast of NaN, inf or anything outside [-2^63, 2^63) is undefined (x86 gives
    // INT64_MIN); torch raises the same way.
    DL_CHECK(std::isfinite(value) && value >= -9223372036854775808.0 && value < 9223372036854775808.0, Value, op,
             "value ", value, " cannot be converted to int64 without overflow");
    iv = static_cast<int64_t>(value);
  }
  return fill_args(t, FillArgs{nullptr, 0, t.dtype(), value, iv}, op);
}

Tensor& fill_int_(Tensor& t, int64_t value, const char* op) {
  return fill_args(t, FillArgs{nullptr, 0, t.dtype(), static_cast<double>(value), value}, op);
}

}  // namespace dl

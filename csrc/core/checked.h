// Checked int64 arithmetic for sizes, strides, offsets and paddings.  Every view computes its
// offset and strides from user integers (narrow's start, a slice's step, pad widths); a wrapped
// product or sum silently points a view outside its memory, so these raise instead.
#pragma once
#include <cstdint>

#include "core/error.h"

namespace dl {

// a + b; raises ValueError "op: integer overflow ..." when the sum does not fit in int64.
inline int64_t checked_add(int64_t a, int64_t b, const char* op) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail(ErrorKind::Value, op, "integer overflow: ", a, " + ", b, " does not fit in int64");
  return r;
}

// a - b; raises ValueError naming op on overflow.
inline int64_t checked_sub(int64_t a, int64_t b, const char* op) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) fail(ErrorKind::Value, op, "integer overflow: ", a, " - ", b, " does not fit in int64");
  return r;
}

// a * b; raises ValueError naming op on overflow.
inline int64_t checked_mul(int64_t a, int64_t b, const char* op) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail(ErrorKind::Value, op, "integer overflow: ", a, " * ", b, " does not fit in int64");
  return r;
}

}  // namespace dl

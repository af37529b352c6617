// float16 (IEEE binary16) and bfloat16 storage types and their conversions to and from float.
//
// Both are plain 16-bit payloads: dlcore stores and exchanges them (NumPy float16, DLPack,
// torch.half / torch.bfloat16) and computes with them in float32, rounding once at the end, as
// PyTorch's CPU kernels do.  Conversions round to nearest, ties to even; NaN stays NaN (quiet),
// overflow gives +-inf, float16 subnormals are kept.
//
// The functions are `static`: every translation unit (including each per-ISA kernel file, see
// core/isa.h) gets its own copy, so no ISA-specific instance can be shared at link time.
#pragma once
#include <cstdint>
#include <cstring>

namespace dl {

struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

static inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// After F. Giesen's float_to_half_fast3_rtne: subnormal results are rounded by one float
// addition (the FPU does round-to-nearest-even), normal ones by integer rounding bias.
static inline Half float_to_half(float f) {
  uint32_t u = f32_bits(f);
  const uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint16_t o;
  if (u >= (127u + 16u) << 23) {  // |f| >= 65536 (or inf/nan): inf, or a quiet NaN
    o = u > 0x7f800000u ? 0x7e00 : 0x7c00;
  } else if (u < (113u << 23)) {  // the result is a float16 subnormal or zero
    const uint32_t magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
    o = static_cast<uint16_t>(f32_bits(f32_from_bits(u) + f32_from_bits(magic)) - magic);
  } else {
    const uint32_t mant_odd = (u >> 13) & 1u;
    u += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu + mant_odd;  // rebias, round half to even
    o = static_cast<uint16_t>(u >> 13);  // 65520 <= |f| < 65536 carries into the exponent: inf
  }
  return Half{static_cast<uint16_t>(o | (sign >> 16))};
}

// Branch-free (M. Maratyszcza's FP16 library, fp16_ieee_to_fp32_value) so conversion loops
// vectorise: normal numbers (and inf/NaN) by rebiasing the exponent with one multiply by
// 2^-112, subnormals by one subtraction of a magic float.
static inline float half_to_float(Half h) {
  const uint32_t w = static_cast<uint32_t>(h.bits) << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;
  const float normalized = f32_from_bits((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
  const float denormalized = f32_from_bits((two_w >> 17) | (126u << 23)) - 0.5f;
  const uint32_t bits = two_w < (1u << 27) ? f32_bits(denormalized) : f32_bits(normalized);
  return f32_from_bits(sign | bits);
}

static inline BFloat16 float_to_bfloat16(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return BFloat16{static_cast<uint16_t>((u >> 16) | 0x40u)};  // quiet NaN
  const uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u);  // ties to even
  return BFloat16{static_cast<uint16_t>(rounded >> 16)};
}

static inline float bfloat16_to_float(BFloat16 b) { return f32_from_bits(static_cast<uint32_t>(b.bits) << 16); }

}  // namespace dl

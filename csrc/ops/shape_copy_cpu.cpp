// The blocked transpose behind dl::copy_into when a copy reads one side against its grain
// (contiguous() of a transposed/permuted view, or writing into one).  A row-by-row copy would
// touch one element per cache line on the strided side; instead the work goes in square tiles
// that fit in L1, and within a tile 8x8 (4-byte) / 4x4 (8-byte) blocks are transposed in vector
// registers.
#include <cstring>

#include "core/isa.h"
#include "core/parallel.h"
#include "ops/shape.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace dl::DL_ISA_NS {
namespace {

constexpr int64_t kTile = 32;

// d[i*dld + j] = s[i + j*sld] for a ni x nj block.
template <class T>
inline void tile_scalar(T* __restrict d, const T* __restrict s, int64_t ni, int64_t nj, int64_t dld, int64_t sld) {
  for (int64_t i = 0; i < ni; ++i)
    for (int64_t j = 0; j < nj; ++j) d[i * dld + j] = s[i + j * sld];
}

#if defined(__AVX2__)
// 8x8 block of 4-byte elements; pure data movement, so bit patterns (NaNs, ints) survive.
inline void block8x8_f32(float* d, const float* s, int64_t dld, int64_t sld) {
  __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + sld), r2 = _mm256_loadu_ps(s + 2 * sld),
         r3 = _mm256_loadu_ps(s + 3 * sld), r4 = _mm256_loadu_ps(s + 4 * sld), r5 = _mm256_loadu_ps(s + 5 * sld),
         r6 = _mm256_loadu_ps(s + 6 * sld), r7 = _mm256_loadu_ps(s + 7 * sld);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
         t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
         t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
         u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
         u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
         u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(d + dld, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(d + 2 * dld, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(d + 3 * dld, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(d + 4 * dld, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(d + 5 * dld, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(d + 6 * dld, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(d + 7 * dld, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// 4x4 block of 8-byte elements (doubles and int64 alike: only moves, no arithmetic).
inline void block4x4_f64(double* d, const double* s, int64_t dld, int64_t sld) {
  __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + sld), r2 = _mm256_loadu_pd(s + 2 * sld),
          r3 = _mm256_loadu_pd(s + 3 * sld);
  __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1), t2 = _mm256_unpacklo_pd(r2, r3),
          t3 = _mm256_unpackhi_pd(r2, r3);
  _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
  _mm256_storeu_pd(d + dld, _mm256_permute2f128_pd(t1, t3, 0x20));
  _mm256_storeu_pd(d + 2 * dld, _mm256_permute2f128_pd(t0, t2, 0x31));
  _mm256_storeu_pd(d + 3 * dld, _mm256_permute2f128_pd(t1, t3, 0x31));
}
#endif

template <class T>
inline void tile(T* d, const T* s, int64_t ni, int64_t nj, int64_t dld, int64_t sld) {
#if defined(__AVX2__)
  constexpr int64_t B = sizeof(T) == 4 ? 8 : (sizeof(T) == 8 ? 4 : 0);
  if (B > 0 && ni == kTile && nj == kTile) {
    for (int64_t i = 0; i < kTile; i += B)
      for (int64_t j = 0; j < kTile; j += B) {
        if constexpr (sizeof(T) == 4)
          block8x8_f32(reinterpret_cast<float*>(d + i * dld + j), reinterpret_cast<const float*>(s + i + j * sld),
                       dld, sld);
        else if constexpr (sizeof(T) == 8)
          block4x4_f64(reinterpret_cast<double*>(d + i * dld + j), reinterpret_cast<const double*>(s + i + j * sld),
                       dld, sld);
      }
    return;
  }
#endif
  tile_scalar(d, s, ni, nj, dld, sld);
}

template <class T>
void run(const TransposeCopyArgs& a) {
  const int64_t iblocks = (a.rows + kTile - 1) / kTile;
  int64_t outer = 1;
  for (int k = 0; k < a.outer_ndim; ++k) outer *= a.outer_shape[k];
  T* dst = reinterpret_cast<T*>(a.dst);
  const T* src = reinterpret_cast<const T*>(a.src);
  parallel_for(outer * iblocks, kTile * a.cols, [&](int64_t c) {
    const int64_t ib = c % iblocks;
    int64_t rem = c / iblocks, od = 0, os = 0;
    for (int k = a.outer_ndim - 1; k >= 0; --k) {
      const int64_t idx = rem % a.outer_shape[k];
      rem /= a.outer_shape[k];
      od += idx * a.outer_dst[k];
      os += idx * a.outer_src[k];
    }
    const int64_t i0 = ib * kTile, ni = a.rows - i0 < kTile ? a.rows - i0 : kTile;
    for (int64_t j0 = 0; j0 < a.cols; j0 += kTile) {
      const int64_t nj = a.cols - j0 < kTile ? a.cols - j0 : kTile;
      tile<T>(dst + od + i0 * a.dst_ld + j0, src + os + i0 + j0 * a.src_ld, ni, nj, a.dst_ld, a.src_ld);
    }
  });
}

void transpose_copy_kernel(const TransposeCopyArgs& a) {
  switch (a.itemsize) {
    case 1: run<uint8_t>(a); break;
    case 2: run<uint16_t>(a); break;
    case 4: run<uint32_t>(a); break;
    case 8: run<uint64_t>(a); break;
    default: break;
  }
}

}  // namespace
DL_REGISTER_CPU_KERNEL(transpose_copy, TransposeCopyFn, transpose_copy_kernel);
}  // namespace dl::DL_ISA_NS

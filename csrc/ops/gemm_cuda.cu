// CUDA GEMM.  float32: a 128 x 128 x 8 block-tiled SGEMM, 256 threads each owning an 8 x 8
// register tile, operands staged through double-buffered shared memory (one __syncthreads per
// k step), float4 global loads when the operand is unit-stride along the loaded dim and 16-byte
// aligned, float4 shared-memory reads in the inner loop.  Any M, N, K, transposes and strides
// (the general load path), alpha/beta, bias and relu/gelu in the epilogue.  float64: a plain
// 32 x 32 shared-memory tiled kernel (correctness first).
#include <cstdint>
#include <vector>

#include "cuda/common.cuh"
#include "dispatch/registry.h"
#include "ops/gemm.h"

namespace dl {
namespace {

constexpr int BM = 128, BN = 128, BK = 8, TPB = 256;

// Load modes: 0 scalar (any strides), 1 float4 along k, 2 float4 along m (A) / n (B).
struct Mat {
  const float* p;
  long long rs, cs;
};

template <class T>
__device__ __forceinline__ T act_fn(T v, int act) {
  if (act == kGemmActRelu) return v < T(0) ? T(0) : v;
  if (act == kGemmActGelu) return T(0.5) * v * (T(1) + erf(v * T(0.70710678118654752)));
  return v;
}

// A tile (BM rows x BK k) -> 4 registers per thread, written transposed to shared as As[k][m].
template <int MODE>
__device__ __forceinline__ void load_a(const Mat& A, int M, int K, int m0, int k0, int tid, float r[4]) {
  if (MODE == 1) {  // row-major along k
    const int row = tid >> 1, kq = (tid & 1) * 4;
    const int gm = m0 + row, gk = k0 + kq;
    if (gm < M && gk < K) {
      const float4 v = *reinterpret_cast<const float4*>(A.p + gm * A.rs + gk);
      r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
    } else {
      r[0] = r[1] = r[2] = r[3] = 0.f;
    }
  } else if (MODE == 2) {  // contiguous along m (op(A) = a transposed row-major matrix)
    const int k = tid >> 5, mq = (tid & 31) * 4;
    const int gm = m0 + mq, gk = k0 + k;
    if (gm < M && gk < K) {
      const float4 v = *reinterpret_cast<const float4*>(A.p + gm + gk * A.cs);
      r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
    } else {
      r[0] = r[1] = r[2] = r[3] = 0.f;
    }
  } else {
    for (int i = 0; i < 4; ++i) {
      const int e = tid + i * TPB, row = e >> 3, k = e & 7;
      const int gm = m0 + row, gk = k0 + k;
      r[i] = (gm < M && gk < K) ? A.p[gm * A.rs + gk * A.cs] : 0.f;
    }
  }
}

template <int MODE>
__device__ __forceinline__ void store_a(float (*As)[BM], int tid, const float r[4]) {
  if (MODE == 1) {
    const int row = tid >> 1, kq = (tid & 1) * 4;
    for (int i = 0; i < 4; ++i) As[kq + i][row] = r[i];
  } else if (MODE == 2) {
    const int k = tid >> 5, mq = (tid & 31) * 4;
    *reinterpret_cast<float4*>(&As[k][mq]) = make_float4(r[0], r[1], r[2], r[3]);
  } else {
    for (int i = 0; i < 4; ++i) {
      const int e = tid + i * TPB;
      As[e & 7][e >> 3] = r[i];
    }
  }
}

// B tile (BK k x BN cols) -> Bs[k][n].  MODE 1: contiguous along k (op(B) = transposed row-major,
// e.g. a Linear weight), MODE 2: contiguous along n (row-major B).
template <int MODE>
__device__ __forceinline__ void load_b(const Mat& B, int N, int K, int n0, int k0, int tid, float r[4]) {
  if (MODE == 1) {
    const int col = tid >> 1, kq = (tid & 1) * 4;
    const int gn = n0 + col, gk = k0 + kq;
    if (gn < N && gk < K) {
      const float4 v = *reinterpret_cast<const float4*>(B.p + gk + gn * B.cs);
      r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
    } else {
      r[0] = r[1] = r[2] = r[3] = 0.f;
    }
  } else if (MODE == 2) {
    const int k = tid >> 5, nq = (tid & 31) * 4;
    const int gn = n0 + nq, gk = k0 + k;
    if (gn < N && gk < K) {
      const float4 v = *reinterpret_cast<const float4*>(B.p + gk * B.rs + gn);
      r[0] = v.x, r[1] = v.y, r[2] = v.z, r[3] = v.w;
    } else {
      r[0] = r[1] = r[2] = r[3] = 0.f;
    }
  } else {
    for (int i = 0; i < 4; ++i) {
      const int e = tid + i * TPB, k = e >> 7, col = e & 127;
      const int gn = n0 + col, gk = k0 + k;
      r[i] = (gn < N && gk < K) ? B.p[gk * B.rs + gn * B.cs] : 0.f;
    }
  }
}

template <int MODE>
__device__ __forceinline__ void store_b(float (*Bs)[BN], int tid, const float r[4]) {
  if (MODE == 1) {
    const int col = tid >> 1, kq = (tid & 1) * 4;
    for (int i = 0; i < 4; ++i) Bs[kq + i][col] = r[i];
  } else if (MODE == 2) {
    const int k = tid >> 5, nq = (tid & 31) * 4;
    *reinterpret_cast<float4*>(&Bs[k][nq]) = make_float4(r[0], r[1], r[2], r[3]);
  } else {
    for (int i = 0; i < 4; ++i) {
      const int e = tid + i * TPB;
      Bs[e >> 7][e & 127] = r[i];
    }
  }
}

template <int AMODE, int BMODE>
__global__ void __launch_bounds__(TPB) sgemm_kernel(Mat A, Mat B, float* C, long long c_rs, long long c_cs, int M,
                                                    int N, int K, float alpha, float beta, const float* bias,
                                                    long long bias_stride, int act) {
  __shared__ __align__(16) float As[2][BK][BM];
  __shared__ __align__(16) float Bs[2][BK][BN];
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  float acc[8][8] = {};
  float ra[4], rb[4];
  load_a<AMODE>(A, M, K, m0, 0, tid, ra);
  load_b<BMODE>(B, N, K, n0, 0, tid, rb);
  store_a<AMODE>(As[0], tid, ra);
  store_b<BMODE>(Bs[0], tid, rb);
  __syncthreads();
  int buf = 0;
  for (int k0 = 0; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;
    if (more) {  // next tile's global loads overlap this tile's math
      load_a<AMODE>(A, M, K, m0, k0 + BK, tid, ra);
      load_b<BMODE>(B, N, K, n0, k0 + BK, tid, rb);
    }
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      // Each thread's rows are ty*4..+3 and 64+ty*4..+3 (columns likewise): float4 reads that
      // neighbouring threads share by broadcast, without bank conflicts.
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][k][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][k][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][k][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][k][64 + tx * 4]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (more) {
      store_a<AMODE>(As[buf ^ 1], tid, ra);
      store_b<BMODE>(Bs[buf ^ 1], tid, rb);
      __syncthreads();
      buf ^= 1;
    }
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int gm = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
    if (gm >= M) continue;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int gn = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4);
      if (gn >= N) continue;
      float* c = C + gm * c_rs + gn * c_cs;
      float v = alpha * acc[i][j];
      if (beta != 0.f) v = fmaf(beta, *c, v);
      if (bias) v += bias[gn * bias_stride];
      *c = act_fn(v, act);
    }
  }
}

// float64 (and anything the float kernel does not take): 32 x 32 tiles, one element per thread.
template <class T>
__global__ void gemm_simple_kernel(const T* a, long long a_rs, long long a_cs, const T* b, long long b_rs,
                                   long long b_cs, T* C, long long c_rs, long long c_cs, int M, int N, int K,
                                   T alpha, T beta, const T* bias, long long bias_stride, int act) {
  constexpr int TS = 32;
  __shared__ T As[TS][TS + 1], Bs[TS][TS + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int m = blockIdx.y * TS + ty, n = blockIdx.x * TS + tx;
  T acc = 0;
  for (int k0 = 0; k0 < K; k0 += TS) {
    As[ty][tx] = (m < M && k0 + tx < K) ? a[m * a_rs + (k0 + tx) * a_cs] : T(0);
    Bs[ty][tx] = (n < N && k0 + ty < K) ? b[(k0 + ty) * b_rs + n * b_cs] : T(0);
    __syncthreads();
#pragma unroll 8
    for (int k = 0; k < TS; ++k) acc = fma(As[ty][k], Bs[k][tx], acc);
    __syncthreads();
  }
  if (m < M && n < N) {
    T* c = C + m * c_rs + n * c_cs;
    T v = alpha * acc;
    if (beta != T(0)) v = fma(beta, *c, v);
    if (bias) v += bias[n * bias_stride];
    *c = act_fn(v, act);
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Which float4 path an operand can take: mode 1 needs unit stride along k, mode 2 along m/n;
// both need 16-byte aligned rows (base and the other stride a multiple of 4 elements) and the
// vectorised dim a multiple of 4 so a float4 is either wholly inside the matrix or wholly out.
int a_mode(const float* p, long long rs, long long cs, int M, int K) {
  if (!aligned16(p)) return 0;
  if (cs == 1 && rs % 4 == 0 && K % 4 == 0) return 1;
  if (rs == 1 && cs % 4 == 0 && M % 4 == 0) return 2;
  return 0;
}
int b_mode(const float* p, long long rs, long long cs, int N, int K) {
  if (!aligned16(p)) return 0;
  if (rs == 1 && cs % 4 == 0 && K % 4 == 0) return 1;
  if (cs == 1 && rs % 4 == 0 && N % 4 == 0) return 2;
  return 0;
}

template <int AM, int BMo>
void launch_sgemm(const Mat& A, const Mat& B, float* C, const GemmArgs& g, const float* bias) {
  const dim3 grid((unsigned)((g.N + BN - 1) / BN), (unsigned)((g.M + BM - 1) / BM));
  sgemm_kernel<AM, BMo><<<grid, TPB>>>(A, B, C, g.c_rs, g.c_cs, (int)g.M, (int)g.N, (int)g.K, (float)g.alpha,
                                       (float)g.beta, bias, g.bias_stride, g.act);
}

void sgemm_one(const GemmArgs& g, const float* a, const float* b, float* c) {
  const Mat A{a, g.a_rs, g.a_cs}, B{b, g.b_rs, g.b_cs};
  const float* bias = static_cast<const float*>(g.bias);
  const int am = a_mode(a, g.a_rs, g.a_cs, (int)g.M, (int)g.K), bm = b_mode(b, g.b_rs, g.b_cs, (int)g.N, (int)g.K);
  using L = void (*)(const Mat&, const Mat&, float*, const GemmArgs&, const float*);
  static const L table[3][3] = {
      {launch_sgemm<0, 0>, launch_sgemm<0, 1>, launch_sgemm<0, 2>},
      {launch_sgemm<1, 0>, launch_sgemm<1, 1>, launch_sgemm<1, 2>},
      {launch_sgemm<2, 0>, launch_sgemm<2, 1>, launch_sgemm<2, 2>},
  };
  table[am][bm](A, B, c, g, bias);
}

template <class T>
void simple_one(const GemmArgs& g, const T* a, const T* b, T* c) {
  const dim3 block(32, 32), grid((unsigned)((g.N + 31) / 32), (unsigned)((g.M + 31) / 32));
  gemm_simple_kernel<T><<<grid, block>>>(a, g.a_rs, g.a_cs, b, g.b_rs, g.b_cs, c, g.c_rs, g.c_cs, (int)g.M,
                                         (int)g.N, (int)g.K, (T)g.alpha, (T)g.beta,
                                         static_cast<const T*>(g.bias), g.bias_stride, g.act);
}

void gemm_cuda(const GemmArgs& g) {
  DL_CHECK(g.M < (1LL << 31) && g.N < (1LL << 31) && g.K < (1LL << 31), Value, "gemm",
           "CUDA GEMM dimensions must be below 2^31");
  for (int64_t t = 0; t < g.batch; ++t) {
    const int64_t ao = g.a_off ? g.a_off[t] : 0, bo = g.b_off ? g.b_off[t] : 0, co = g.c_off ? g.c_off[t] : 0;
    if (g.dtype == DType::Float32)
      sgemm_one(g, static_cast<const float*>(g.a) + ao, static_cast<const float*>(g.b) + bo,
                static_cast<float*>(g.c) + co);
    else
      simple_one<double>(g, static_cast<const double*>(g.a) + ao, static_cast<const double*>(g.b) + bo,
                         static_cast<double*>(g.c) + co);
  }
  DL_CUDA_CHECK(cudaGetLastError(), "gemm");
}

}  // namespace
DL_REGISTER_CUDA_KERNEL(gemm, GemmFn, gemm_cuda);
}  // namespace dl

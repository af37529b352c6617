// random: a counter-based generator (Philox4x32-10, Salmon et al. 2011) and the ops built on it.
//
// The stream.  A generator is (seed, offset).  Block b of the stream is
//     philox4x32_10(counter = {lo32(b), hi32(b), 0, 0}, key = {lo32(seed), hi32(seed)})
// i.e. four 32-bit words; word k of the stream is word k%4 of block k/4.  `offset` counts the
// 128-bit blocks already consumed.  Every op reserves the blocks it needs (offset += blocks)
// under the generator's lock, then fills its output in parallel from a fixed mapping of element
// index -> counter, so the result does not depend on the thread count, the ISA or the device.
//
// Element -> stream mapping (relative to the op's first reserved block, "start"):
//   random_bits        int64 out[i] = word i                                 (ceil(n/4) blocks)
//   uniform  float32   word i, top 24 bits                                    (ceil(n/4) blocks)
//   uniform  float64   words lo = 2i, hi = 2i+1: ((hi >> 5) * 2^26 + (lo >> 6)) / 2^53
//                      (MT19937's genrand_res53 layout: 53 bits)             (ceil(n/2) blocks)
//   normal   float32   pair j = i/2 uses words 2j (radius) and 2j+1 (angle); out[2j] is the
//                      cos branch, out[2j+1] the sin branch                  (ceil(n/4) blocks)
//   normal   float64   pair j = i/2 uses block j: words 0,1 (radius), 2,3 (angle), 53 bits each
//                                                                            (ceil(n/2) blocks)
//   bernoulli/dropout  word i / 2^32 < p                                     (ceil(n/4) blocks)
//   randint  range <= 2^32: word i; larger: words 2i, 2i+1 as uint64  (ceil(n/4) / ceil(n/2))
//   randperm           step k of Fisher-Yates: words 2k, 2k+1 as uint64      (ceil((n-1)/2))
// randint and randperm draw unbiased values by Lemire's multiply-and-reject method; a rejected
// candidate is replaced from a side stream, counter {lo32(b), hi32(b), attempt, 0x52414E44}, which
// the main stream (counter words 2 and 3 always 0) never touches.  Rejections are rare
// (probability < range / 2^32 or range / 2^64), so the side stream costs nothing on average.
// Float transforms use IEEE +, *, sqrt only (no FMA) plus scalar libm log/cos/sin (normal), so
// every ISA variant gives the same bits on one machine; normal() may differ in the last ulp
// between machines whose libm picks a different (e.g. FMA) implementation at run time.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace dl {

// Where an op's randomness comes from: a seed (the Philox key) and its first block.
struct PhiloxStream {
  uint64_t seed;
  uint64_t start;  // first counter block
};

enum class RandomKind : int32_t { Bits = 0, Uniform = 1, Normal = 2, Bernoulli = 3, Randint = 4 };

// One kernel serves the elementwise ops; `kind` picks the transform.
struct RandomArgs {
  void* out;            // contiguous, `n` elements of `dtype`
  int64_t n;
  DType dtype;          // Bits/Randint: Int64; Uniform/Normal: float; Bernoulli: float (0 or `b`)
  RandomKind kind;
  PhiloxStream stream;
  double a, b;          // Uniform: low, high-low; Normal: mean, std; Bernoulli: p (scalar), value
  double high;          // Uniform: the (excluded) upper bound
  const void* p;        // Bernoulli: per-element probabilities (contiguous, `p_dtype`), or null
  DType p_dtype;
  int64_t low;          // Randint: low
  uint64_t range;       // Randint: high - low (>= 1)
};
using RandomFn = void (*)(const RandomArgs&);

struct RandpermArgs {
  int64_t* out;         // n elements
  int64_t* swap;        // scratch, n elements: the Fisher-Yates partner of each step
  int64_t n;
  PhiloxStream stream;
};
using RandpermFn = void (*)(const RandpermArgs&);

// ---- The global generator (thread safe) -----------------------------------------------------
// The default seed is PyTorch's (67280421310721), so a process that never seeds is still
// reproducible; call manual_seed for a seed of your own.
constexpr uint64_t kDefaultSeed = 67280421310721ULL;

void manual_seed(uint64_t seed);          // sets the seed, resets the offset to 0
uint64_t seed_nondeterministic();         // seeds from the OS entropy source; returns the seed
uint64_t initial_seed();
struct RngState { uint64_t seed, offset; };
RngState get_rng_state();
void set_rng_state(RngState s);
// Reserves `blocks` counter blocks from the global generator; returns where they start.
PhiloxStream reserve_blocks(uint64_t blocks);

// ---- Philox itself, for known-answer tests ---------------------------------------------------
void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

// ---- Ops: results are CPU tensors (callers move them to other devices) -------------------------
// Stateless: n raw 32-bit words of stream `seed` from block `offset`, as int64 in [0, 2^32).
Tensor random_bits(int64_t n, uint64_t seed, uint64_t offset);
// The rest draw from the global generator.
Tensor uniform(const Shape& shape, double low, double high, DType dtype);
Tensor normal(const Shape& shape, double mean, double std, DType dtype);
Tensor bernoulli_scalar(const Shape& shape, double p, DType dtype);
Tensor bernoulli(const Tensor& p);  // same shape and dtype as p (float32 or float64)
Tensor dropout_mask(const Shape& shape, double p, DType dtype);
Tensor randint(int64_t low, int64_t high, const Shape& shape);
Tensor randperm(int64_t n);

}  // namespace dl

#include "ops/random.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>

#include "dispatch/registry.h"

namespace dl {

// ---- Global generator ------------------------------------------------------------------------
namespace {

struct Generator {
  std::mutex mu;
  uint64_t initial_seed = kDefaultSeed;
  uint64_t offset = 0;
};

Generator& generator() {
  static Generator g;
  return g;
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

}  // namespace

void manual_seed(uint64_t seed) {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mu);
  g.initial_seed = seed;
  g.offset = 0;
}

uint64_t seed_nondeterministic() {
  std::random_device rd;
  uint64_t s = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  // random_device may be deterministic on some platforms; the clock makes repeats unlikely.
  s ^= static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count());
  // Keep it below 2^63 so it round-trips through signed 64-bit code (torch.seed() does too).
  s &= 0x7fffffffffffffffULL;
  manual_seed(s);
  return s;
}

uint64_t initial_seed() {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mu);
  return g.initial_seed;
}

RngState get_rng_state() {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mu);
  return RngState{g.initial_seed, g.offset};
}

void set_rng_state(RngState s) {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mu);
  g.initial_seed = s.seed;
  g.offset = s.offset;
}

PhiloxStream reserve_blocks(uint64_t blocks) {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mu);
  PhiloxStream s{g.initial_seed, g.offset};
  g.offset += blocks;  // wraps after 2^64 blocks (2^68 bytes): unreachable in practice
  return s;
}

// ---- Philox4x32-10 (scalar, for known-answer tests; the kernels have their own vector loop) ---
void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c0 = n0;
    c1 = static_cast<uint32_t>(p1);
    c2 = n2;
    c3 = static_cast<uint32_t>(p0);
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

// ---- Ops ---------------------------------------------------------------------------------------
namespace {

const Op<RandomFn> kRandom("random");
const Op<RandpermFn> kRandperm("randperm");

void check_float(DType dtype, const char* op) {
  DL_CHECK(dtype == DType::Float32 || dtype == DType::Float64, Type, op,
           "expected dtype float32 or float64, got ", dtype_name(dtype));
}

RandomArgs base_args(Tensor& out, RandomKind kind, PhiloxStream stream) {
  RandomArgs a{};
  a.out = out.raw_data();
  a.n = out.numel();
  a.dtype = out.dtype();
  a.kind = kind;
  a.stream = stream;
  a.p = nullptr;
  a.p_dtype = DType::Float32;
  return a;
}

// Blocks an op with `n` elements consumes at `words_per_element` 32-bit words each.
uint64_t blocks_for(int64_t n, uint64_t words_per_element) {
  return ceil_div(static_cast<uint64_t>(n) * words_per_element, 4);
}

void run(const RandomArgs& a) {
  if (a.n == 0) return;
  kRandom.get(cpu_device())(a);
}

void check_probability(double p, const char* op) {
  DL_CHECK(p >= 0.0 && p <= 1.0, Value, op, "expected a probability in [0, 1], got ", p);
}

}  // namespace

Tensor random_bits(int64_t n, uint64_t seed, uint64_t offset) {
  DL_CHECK(n >= 0, Value, "random_bits", "expected n >= 0, got ", n);
  Tensor out = Tensor::empty({n}, DType::Int64, cpu_device(), "random_bits");
  run(base_args(out, RandomKind::Bits, PhiloxStream{seed, offset}));
  return out;
}

Tensor uniform(const Shape& shape, double low, double high, DType dtype) {
  check_float(dtype, "uniform");
  DL_CHECK(std::isfinite(low) && std::isfinite(high), Value, "uniform",
           "expected finite bounds, got low=", low, ", high=", high);
  DL_CHECK(low < high, Value, "uniform", "expected low < high, got low=", low, ", high=", high);
  const double range = high - low;
  if (dtype == DType::Float32) {
    const float fl = static_cast<float>(low), fh = static_cast<float>(high);
    DL_CHECK(std::isfinite(fl) && std::isfinite(fh) && fl < fh, Value, "uniform",
             "expected float32 bounds with low < high, got low=", low, ", high=", high);
    DL_CHECK(std::isfinite(fh - fl), Value, "uniform",
             "expected high - low to fit in float32, got low=", low, ", high=", high);
  } else {
    DL_CHECK(std::isfinite(range), Value, "uniform",
             "expected high - low to fit in float64, got low=", low, ", high=", high);
  }
  Tensor out = Tensor::empty(shape, dtype, cpu_device(), "uniform");
  const uint64_t words = dtype == DType::Float32 ? 1 : 2;
  RandomArgs a = base_args(out, RandomKind::Uniform, reserve_blocks(blocks_for(out.numel(), words)));
  a.a = low;
  a.b = range;
  a.high = high;
  run(a);
  return out;
}

Tensor normal(const Shape& shape, double mean, double std, DType dtype) {
  check_float(dtype, "normal");
  DL_CHECK(std::isfinite(mean), Value, "normal", "expected a finite mean, got ", mean);
  DL_CHECK(std::isfinite(std) && std >= 0.0, Value, "normal", "expected std >= 0, got ", std);
  Tensor out = Tensor::empty(shape, dtype, cpu_device(), "normal");
  const uint64_t words = dtype == DType::Float32 ? 1 : 2;
  RandomArgs a = base_args(out, RandomKind::Normal, reserve_blocks(blocks_for(out.numel(), words)));
  a.a = mean;
  a.b = std;
  run(a);
  return out;
}

Tensor bernoulli_scalar(const Shape& shape, double p, DType dtype) {
  check_float(dtype, "bernoulli");
  check_probability(p, "bernoulli");
  Tensor out = Tensor::empty(shape, dtype, cpu_device(), "bernoulli");
  RandomArgs a = base_args(out, RandomKind::Bernoulli, reserve_blocks(blocks_for(out.numel(), 1)));
  a.a = p;
  a.b = 1.0;
  run(a);
  return out;
}

Tensor bernoulli(const Tensor& p_in) {
  check_cpu(p_in, "bernoulli");
  check_float(p_in.dtype(), "bernoulli");
  Tensor p = p_in.contiguous();
  const int64_t n = p.numel();
  // Validate every probability before drawing (NaN fails the comparison too).
  if (p.dtype() == DType::Float32) {
    const float* d = p.data<float>();
    for (int64_t i = 0; i < n; ++i)
      DL_CHECK(d[i] >= 0.0f && d[i] <= 1.0f, Value, "bernoulli",
               "expected probabilities in [0, 1], got ", d[i], " at flat index ", i);
  } else {
    const double* d = p.data<double>();
    for (int64_t i = 0; i < n; ++i)
      DL_CHECK(d[i] >= 0.0 && d[i] <= 1.0, Value, "bernoulli",
               "expected probabilities in [0, 1], got ", d[i], " at flat index ", i);
  }
  Tensor out = Tensor::empty(p.shape(), p.dtype(), cpu_device(), "bernoulli");
  RandomArgs a = base_args(out, RandomKind::Bernoulli, reserve_blocks(blocks_for(n, 1)));
  a.p = p.raw_data();
  a.p_dtype = p.dtype();
  a.b = 1.0;
  run(a);
  return out;
}

Tensor dropout_mask(const Shape& shape, double p, DType dtype) {
  check_float(dtype, "dropout_mask");
  DL_CHECK(p >= 0.0 && p <= 1.0, Value, "dropout_mask", "expected p in [0, 1], got ", p);
  Tensor out = Tensor::empty(shape, dtype, cpu_device(), "dropout_mask");
  // keep (probability 1 - p) -> 1/(1-p); p == 1 drops everything, like torch.
  RandomArgs a = base_args(out, RandomKind::Bernoulli, reserve_blocks(blocks_for(out.numel(), 1)));
  a.a = 1.0 - p;
  a.b = p < 1.0 ? 1.0 / (1.0 - p) : 0.0;
  run(a);
  return out;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape) {
  DL_CHECK(low < high, Value, "randint", "expected low < high, got low=", low, ", high=", high);
  Tensor out = Tensor::empty(shape, DType::Int64, cpu_device(), "randint");
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  const uint64_t words = range <= (uint64_t{1} << 32) ? 1 : 2;
  RandomArgs a = base_args(out, RandomKind::Randint, reserve_blocks(blocks_for(out.numel(), words)));
  a.low = low;
  a.range = range;
  run(a);
  return out;
}

Tensor randperm(int64_t n) {
  DL_CHECK(n >= 0, Value, "randperm", "expected n >= 0, got ", n);
  Tensor out = Tensor::empty({n}, DType::Int64, cpu_device(), "randperm");
  Tensor swap = Tensor::empty({n}, DType::Int64, cpu_device(), "randperm");
  const uint64_t steps = n > 1 ? static_cast<uint64_t>(n - 1) : 0;
  RandpermArgs a{out.data<int64_t>(), swap.data<int64_t>(), n, reserve_blocks(ceil_div(steps * 2, 4))};
  kRandperm.get(cpu_device())(a);
  return out;
}

}  // namespace dl

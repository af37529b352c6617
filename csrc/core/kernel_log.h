// "Which kernel ran": ops with several algorithms (conv: implicit GEMM / Winograd / depthwise /
// 1x1 GEMM; attention: flash tiles / reference; RNN: fused sequence / cell loop) report their
// choice here, and tests or users can force one.
//
//   dl::log_kernel("conv2d", device.type, "winograd");       // after choosing, before running
//   if (const char* f = dl::forced_algorithm("conv2d")) ...  // honour `with force_algorithm(...)`
//
// Logging is near-free when no Python `with dlcore.kernel_log()` is open (one relaxed atomic
// load).  A forced algorithm is per calling thread, so one test's forcing never leaks into
// another Python thread; an op must choose on the thread that called it (not inside OpenMP).
#pragma once
#include <string>
#include <vector>

#include "core/device.h"

namespace dl {

struct KernelRecord {
  std::string op, device, isa, algorithm;
};

// Record (op, device, active ISA, algorithm) in every open kernel log.
void log_kernel(const char* op, DeviceType device, const char* algorithm);
void log_kernel(const char* op, const std::string& device, const char* algorithm);

// Open / close a log; close returns what it recorded.  Logs nest: each sees the calls made while
// it was open.
int kernel_log_open();
std::vector<KernelRecord> kernel_log_close(int handle);

// The algorithm forced for `op` on this thread (nullptr if none).  The returned pointer stays
// valid until the forcing is popped.
const char* forced_algorithm(const char* op);
void push_forced_algorithm(const std::string& op, const std::string& algorithm);
void pop_forced_algorithm(const std::string& op);

}  // namespace dl

#include "core/kernel_log.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "core/cpu_features.h"
#include "core/error.h"

namespace dl {
namespace {

std::atomic<int> g_open_logs{0};
std::mutex g_mutex;
int g_next_handle = 1;
std::map<int, std::vector<KernelRecord>>& logs() {
  static auto* m = new std::map<int, std::vector<KernelRecord>>();  // never destroyed: no exit-order races
  return *m;
}

// Per thread: op -> stack of forced algorithms (a stack so nested `with` blocks restore the outer one).
thread_local std::map<std::string, std::vector<std::unique_ptr<std::string>>> t_forced;

}  // namespace

void log_kernel(const char* op, const std::string& device, const char* algorithm) {
  if (g_open_logs.load(std::memory_order_relaxed) == 0) return;
  KernelRecord r{op, device, device == "cpu" ? isa_name(active_isa()) : "", algorithm};
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& kv : logs()) kv.second.push_back(r);
}

void log_kernel(const char* op, DeviceType device, const char* algorithm) {
  if (g_open_logs.load(std::memory_order_relaxed) == 0) return;
  log_kernel(op, std::string(device == DeviceType::CUDA ? "cuda" : "cpu"), algorithm);
}

int kernel_log_open() {
  std::lock_guard<std::mutex> lock(g_mutex);
  const int h = g_next_handle++;
  logs()[h];
  g_open_logs.fetch_add(1, std::memory_order_relaxed);
  return h;
}

std::vector<KernelRecord> kernel_log_close(int handle) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = logs().find(handle);
  DL_CHECK(it != logs().end(), Value, "kernel_log", "no open log with handle ", handle);
  std::vector<KernelRecord> out = std::move(it->second);
  logs().erase(it);
  g_open_logs.fetch_sub(1, std::memory_order_relaxed);
  return out;
}

const char* forced_algorithm(const char* op) {
  if (t_forced.empty()) return nullptr;
  auto it = t_forced.find(op);
  if (it == t_forced.end() || it->second.empty()) return nullptr;
  return it->second.back()->c_str();
}

void push_forced_algorithm(const std::string& op, const std::string& algorithm) {
  t_forced[op].push_back(std::make_unique<std::string>(algorithm));
}

void pop_forced_algorithm(const std::string& op) {
  auto it = t_forced.find(op);
  DL_CHECK(it != t_forced.end() && !it->second.empty(), Value, "force_algorithm", "no algorithm forced for '", op,
           "'");
  it->second.pop_back();
  if (it->second.empty()) t_forced.erase(it);
}

}  // namespace dl

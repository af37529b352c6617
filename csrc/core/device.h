// Where a tensor's memory lives.
#pragma once
#include <cstdint>
#include <string>

namespace dl {

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };
constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && (is_cpu() || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index); }
};

inline Device cpu_device() { return Device{}; }

// Parses "cpu", "cuda", "cuda:1"; raises ValueError naming `op` on anything else.
Device parse_device(const std::string& spec, const char* op);

}  // namespace dl

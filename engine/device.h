#pragma once
// Where a tensor's storage lives. Only the CPU executes ops for now; the CUDA tag exists so
// that device checks are written once and the CUDA backend slots in behind them.
#include <string>
#include <vector>

#include <fmt/format.h>

namespace qatd {

enum class DeviceType { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return {DeviceType::cuda, index}; }
  static Device parse(const std::string& text);  // "cpu", "cuda", "cuda:1"
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool operator==(const Device&) const = default;
  std::string str() const { return type == DeviceType::cpu ? "cpu" : fmt::format("cuda:{}", index); }
};

// CPU threads used by kernels (OpenMP and Eigen). Defaults to OMP_NUM_THREADS or all cores.
int num_threads();
void set_num_threads(int threads);

// Whether this build has the CUDA backend compiled in.
bool cuda_compiled();
// One line per visible CUDA device ("cuda:0 NVIDIA H100 (sm_90, 79.6 GiB)"); empty without
// the backend, a driver or a GPU.
std::vector<std::string> cuda_device_descriptions();

}  // namespace qatd

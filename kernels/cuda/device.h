#pragma once
// The CUDA devices this process can see. Declared without CUDA types so that CPU-only code
// can include it; defined only when the build has the CUDA backend (QATD_HAVE_CUDA).
#include <cstddef>
#include <string>
#include <vector>

namespace qatd::kernels::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  size_t total_memory = 0;
};

// Empty when there is no driver or no GPU (never throws for that).
std::vector<DeviceInfo> list_devices();
// The CUDA runtime version, e.g. 13000 for 13.0.
int runtime_version();

}  // namespace qatd::kernels::cuda

#include "engine/device.h"

#include "engine/error.h"
#include "kernels/cpu/parallel.h"

#ifdef QATD_HAVE_CUDA
#include "kernels/cuda/device.h"
#endif

namespace qatd {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    try {
      size_t used = 0;
      int index = std::stoi(text.substr(5), &used);
      if (used == text.size() - 5 && index >= 0) return cuda(index);
    } catch (const std::exception&) {
    }
  }
  fail("unknown device '{}' (expected cpu, cuda or cuda:N)", text);
}

int num_threads() { return kernels::cpu::num_threads(); }

void set_num_threads(int threads) {
  QATD_CHECK(threads >= 1, "set_num_threads: need at least one thread, got {}", threads);
  kernels::cpu::set_num_threads(threads);
}

bool cuda_compiled() {
#ifdef QATD_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

std::vector<std::string> cuda_device_descriptions() {
  std::vector<std::string> lines;
#ifdef QATD_HAVE_CUDA
  for (const auto& device : kernels::cuda::list_devices()) {
    lines.push_back(fmt::format("cuda:{} {} (sm_{}{}, {:.1f} GiB)", device.index, device.name, device.compute_major,
                                device.compute_minor, static_cast<double>(device.total_memory) / (1 << 30)));
  }
#endif
  return lines;
}

}  // namespace qatd

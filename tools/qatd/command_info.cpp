// qatd info: what this build can do on this machine.
#include <cstdio>

#include <Eigen/Core>

#include "engine/device.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"

namespace qatd::cli {

int run_info(const std::vector<std::string>& words) {
  Arguments arguments("info", words, {{"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("usage: qatd info\n\nPrints the build configuration, CPU threads and CUDA devices.\n");
    return 0;
  }
  std::printf("qatd %s\n", QATD_VERSION);
  std::printf("cpu threads      %d\n", num_threads());
  std::printf("eigen            %d.%d.%d, SIMD: %s\n", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION,
              Eigen::SimdInstructionSetsInUse());
  std::printf("cuda backend     %s\n", cuda_compiled() ? "compiled" : "not compiled (-DQATD_CUDA=OFF or no nvcc)");
  std::vector<std::string> devices = cuda_device_descriptions();
  if (cuda_compiled() && devices.empty()) std::printf("cuda devices     none visible\n");
  for (const std::string& device : devices) std::printf("cuda device      %s\n", device.c_str());
  return 0;
}

}  // namespace qatd::cli

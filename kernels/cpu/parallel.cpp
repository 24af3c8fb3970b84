#include "kernels/cpu/parallel.h"

#include <Eigen/Core>

namespace qatd::kernels::cpu {

int num_threads() { return omp_get_max_threads(); }

void set_num_threads(int threads) {
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
}

}  // namespace qatd::kernels::cpu

#include "kernels/cpu/parallel.h"

namespace qatd::kernels::cpu {

int num_threads() { return omp_get_max_threads(); }

// Eigen stays single-threaded (see gemm.cpp): threads come from parallel_for only.
void set_num_threads(int threads) { omp_set_num_threads(threads); }

}  // namespace qatd::kernels::cpu

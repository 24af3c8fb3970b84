#pragma once
// Thread-level parallelism for CPU kernels (OpenMP underneath, as in PyTorch's CPU backend).
#include <algorithm>
#include <cstdint>

#include <omp.h>

namespace qatd::kernels::cpu {

int num_threads();
void set_num_threads(int threads);

// Splits [begin, end) into one contiguous range per thread and calls body(range_begin,
// range_end) on each. Runs inline when the range is at most `grain` items, when one thread
// is configured, or when already inside a parallel region (no nested parallelism).
template <typename Body>
void parallel_for(int64_t begin, int64_t end, int64_t grain, Body&& body) {
  int64_t count = end - begin;
  if (count <= 0) return;
  if (count <= grain || omp_in_parallel() || omp_get_max_threads() == 1) {
    body(begin, end);
    return;
  }
  int64_t max_chunks = std::max<int64_t>(1, count / std::max<int64_t>(grain, 1));
  int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), max_chunks));
#pragma omp parallel num_threads(threads)
  {
    int64_t team = omp_get_num_threads();
    int64_t index = omp_get_thread_num();
    int64_t chunk = (count + team - 1) / team;
    int64_t range_begin = begin + index * chunk;
    int64_t range_end = std::min(end, range_begin + chunk);
    if (range_begin < range_end) body(range_begin, range_end);
  }
}

// Items per thread below which spreading work over threads costs more than it saves.
constexpr int64_t kElementwiseGrain = 32768;

}  // namespace qatd::kernels::cpu

#pragma once
// Helpers of sam2/modeling/sam2_utils.py that are not modules (SAM 2's MLP is qatd::nn::MLP).
#include <vector>

#include "engine/tensor.h"

namespace qatd::sam2 {

// get_1d_sine_pe: for positions (...), (..., dim) as cat(sin(p / t), cos(p / t)) with
// t_i = temperature^(2 floor(i / 2) / (dim / 2)); each frequency appears twice.
Tensor get_1d_sine_pe(const Tensor& positions, int64_t dim, double temperature = 10000.0);

// select_closest_cond_frames: of the conditioning frames `cond_frames` (sorted), the ones memory
// attention uses for `frame_idx`: all of them when max_cond_frame_num is -1 or not exceeded, else
// the closest before, the closest at or after, and then the temporally closest others, in that
// order (memory is concatenated in it).
std::vector<int64_t> select_closest_cond_frames(int64_t frame_idx, const std::vector<int64_t>& cond_frames,
                                                int64_t max_cond_frame_num);

}  // namespace qatd::sam2

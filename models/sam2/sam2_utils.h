#pragma once
// Helpers of sam2/modeling/sam2_utils.py that are not modules (SAM 2's MLP is qatd::nn::MLP).
#include "engine/tensor.h"

namespace qatd::sam2 {

// get_1d_sine_pe: for positions (...), (..., dim) as cat(sin(p / t), cos(p / t)) with
// t_i = temperature^(2 floor(i / 2) / (dim / 2)); each frequency appears twice.
Tensor get_1d_sine_pe(const Tensor& positions, int64_t dim, double temperature = 10000.0);

}  // namespace qatd::sam2

#pragma once
// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_ / get_total_norm.
// Each works on the .grad of the given parameters, skipping those without one, in place (the
// gradients' version counters are bumped).
#include <limits>
#include <vector>

#include "engine/tensor.h"

namespace qatd::optim {

constexpr double kInfinityNorm = std::numeric_limits<double>::infinity();

// The norm of all gradients concatenated into one vector: ||(||g_1||_p, ..., ||g_n||_p)||_p, with
// norm_type p > 0 or kInfinityNorm (max |g|). 0 when no parameter has a gradient. Accumulated in
// double and returned rounded to the gradients' dtype (f32 when every gradient is f32), as
// PyTorch returns it in their dtype.
double total_grad_norm(const std::vector<Tensor>& params, double norm_type = 2.0);

// Scales the gradients by min(max_norm / (total + 1e-6), 1), total being total_grad_norm, and
// returns total (before clipping). With error_if_nonfinite, a NaN or infinite total throws and
// leaves the gradients alone; otherwise they are scaled by the resulting coefficient (NaN, or 0
// for an infinite total), as PyTorch does.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element into [-clip_value, clip_value] (clip_value >= 0); NaN stays NaN.
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace qatd::optim

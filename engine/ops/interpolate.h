#pragma once
// Resampling of (N, C, H, W) tensors exactly as torch.nn.functional.interpolate computes it.
#include <array>
#include <optional>
#include <string>

#include "engine/tensor.h"

namespace qatd {

enum class InterpolateMode { nearest, bilinear, bicubic };

struct InterpolateOptions {
  InterpolateMode mode = InterpolateMode::nearest;
  std::optional<std::array<int64_t, 2>> size;          // output (H, W)
  std::optional<std::array<double, 2>> scale_factor;   // used when size is not given
  bool align_corners = false;                          // bilinear and bicubic only
  bool antialias = false;                              // bilinear and bicubic, for downscaling
};

Tensor interpolate(const Tensor& x, const InterpolateOptions& options);

}  // namespace qatd

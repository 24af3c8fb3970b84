#pragma once
// Resampling of (N, C, H, W) tensors exactly as torch.nn.functional.interpolate computes it on CPU.
#include <array>
#include <optional>
#include <string>

#include "engine/tensor.h"

namespace qatd {

// 'nearest' is PyTorch's legacy nearest: source index floor(dst * in / out), not 'nearest-exact'.
enum class InterpolateMode { nearest, bilinear, bicubic };

struct InterpolateOptions {
  InterpolateMode mode = InterpolateMode::nearest;
  // Exactly one of size and scale_factor is set. With scale_factor the output is
  // floor(in * scale_factor) and the sampling step is 1 / scale_factor (PyTorch's default
  // recompute_scale_factor=None), which differs from in / out when the product is not whole.
  std::optional<std::array<int64_t, 2>> size;         // output (H, W)
  std::optional<std::array<double, 2>> scale_factor;  // (H, W)
  bool align_corners = false;                         // bilinear and bicubic only
  bool antialias = false;                             // bilinear and bicubic only; matters when downscaling
};

// Differentiable in the input; the backward spreads each output gradient over the input pixels
// with the forward's weights.
Tensor interpolate(const Tensor& x, const InterpolateOptions& options);

}  // namespace qatd

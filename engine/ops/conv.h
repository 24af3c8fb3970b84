#pragma once
// 2-D convolutions on (N, C, H, W) or unbatched (C, H, W) tensors, as torch.nn.functional defines them,
// differentiable in input, weight and bias (f32 or f64, all three of one dtype).
#include <array>

#include "engine/tensor.h"

namespace qatd {

struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

struct ConvTranspose2dOptions {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> output_padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

// weight (C_out, C_in / groups, kH, kW); bias (C_out) optional. Depthwise when groups == C_in.
// Output size per dim: (H + 2 * padding - dilation * (kH - 1) - 1) / stride + 1, at least 1.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dOptions& options = {});
// weight (C_in, C_out / groups, kH, kW), PyTorch's layout for transposed convolution; bias (C_out).
// Output size per dim: (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1, where
// output_padding must be smaller than stride or than dilation.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        const ConvTranspose2dOptions& options = {});

}  // namespace qatd

#pragma once
// 2-D pooling on (N, C, H, W) or (C, H, W) tensors, as torch.nn.functional defines it.
#include <array>

#include "engine/tensor.h"

namespace qatd {

struct Pool2dOptions {
  std::array<int64_t, 2> kernel_size{2, 2};
  std::array<int64_t, 2> stride{0, 0};  // 0: equal to kernel_size, PyTorch's default
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};  // max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only
};

// Output size per dim: (H + 2 * padding - dilation * (k - 1) - 1) / stride + 1, rounded up in ceil_mode
// unless that last window would start past the input and its left padding; padding <= kernel_size / 2.
// The gradient goes to the first maximal element of each window, or to its last NaN (PyTorch's CPU choice).
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options);
// Windows are clipped to the padded input; the divisor counts the clipped window with its padding, or
// only the input cells in it when count_include_pad is false. dilation must stay (1, 1).
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options);

}  // namespace qatd

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

// The gradient goes to the first maximal element of each window (PyTorch's choice).
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options);

}  // namespace qatd

#pragma once
// 2-D max and average pooling over contiguous planes (N * C planes of H x W), as PyTorch's CPU
// kernels define them: windows start at o * stride - pad, max pooling skips taps outside the
// input, average pooling clips windows to the padded input for its divisor.
#include <cstdint>

namespace qatd::kernels::cpu {

struct PoolShape {
  int64_t planes = 1;
  int64_t in_height = 1, in_width = 1;
  int64_t out_height = 1, out_width = 1;
  int64_t kernel_height = 1, kernel_width = 1;
  int64_t stride_height = 1, stride_width = 1;
  int64_t pad_height = 0, pad_width = 0;
  int64_t dilation_height = 1, dilation_width = 1;  // max pooling only
};

// indices[o] is the position (ih * W + iw) of each window's maximum within its plane: the first
// greatest value in scan order, except that a NaN replaces whatever came before it.
template <typename T>
void max_pool2d_forward(const PoolShape& shape, const T* input, T* output, int64_t* indices);

// grad_input (overwritten) receives each grad_output at its window's saved index.
template <typename T>
void max_pool2d_backward(const PoolShape& shape, const T* grad_output, const int64_t* indices, T* grad_input);

template <typename T>
void avg_pool2d_forward(const PoolShape& shape, bool count_include_pad, const T* input, T* output);

// grad_input (overwritten) = the adjoint of avg_pool2d_forward.
template <typename T>
void avg_pool2d_backward(const PoolShape& shape, bool count_include_pad, const T* grad_output, T* grad_input);

}  // namespace qatd::kernels::cpu

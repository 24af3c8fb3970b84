#pragma once
// 2-D convolution on contiguous (N, C, H, W) buffers, by im2col + GEMM, with a direct path for
// depthwise convolutions (one input channel per group) and no im2col at all for 1x1, stride-1,
// unpadded kernels. The three passes of a convolution are also the three passes of a transposed
// convolution: its forward is backward_input, its input gradient is forward, and its weight
// gradient is backward_weight with the roles of input and output gradient swapped.
#include <cstdint>

namespace qatd::kernels::cpu {

// One convolution, seen from its input (all groups): sizes are never re-derived here, so the
// output may be shorter than the input allows (a transposed convolution's output_padding).
struct ConvShape {
  int64_t batch = 1;
  int64_t groups = 1;
  int64_t in_channels = 1, in_height = 1, in_width = 1;
  int64_t out_channels = 1, out_height = 1, out_width = 1;
  int64_t kernel_height = 1, kernel_width = 1;
  int64_t stride_height = 1, stride_width = 1;
  int64_t pad_height = 0, pad_width = 0;
  int64_t dilation_height = 1, dilation_width = 1;
};

// output (N, C_out, OH, OW) = conv(input (N, C_in, H, W), weight (C_out, C_in / groups, kH, kW)) + bias
// (bias (C_out) may be null).
template <typename T>
void conv2d_forward(const ConvShape& shape, const T* input, const T* weight, const T* bias, T* output);

// grad_input (N, C_in, H, W) = d(conv)/d(input) applied to grad_output (N, C_out, OH, OW); overwrites.
template <typename T>
void conv2d_backward_input(const ConvShape& shape, const T* grad_output, const T* weight, T* grad_input);

// grad_weight (C_out, C_in / groups, kH, kW) = d(conv)/d(weight) applied to grad_output; overwrites.
template <typename T>
void conv2d_backward_weight(const ConvShape& shape, const T* input, const T* grad_output, T* grad_weight);

// sums[c] = sum over n and positions of data (N, C, positions): a bias gradient.
template <typename T>
void channel_sums(const T* data, int64_t batch, int64_t channels, int64_t positions, T* sums);

// data (N, C, positions) += bias[c].
template <typename T>
void add_channel_bias(T* data, int64_t batch, int64_t channels, int64_t positions, const T* bias);

}  // namespace qatd::kernels::cpu

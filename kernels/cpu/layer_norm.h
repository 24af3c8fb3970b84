#pragma once
// Layer normalization along the middle axis of a contiguous [outer, size, inner] buffer: every
// (o, :, j) column is normalized with its own mean and biased variance. inner = 1 is torch's
// layer_norm over trailing dims; inner = H * W is SAM 2's LayerNorm2d over the channels of (N, C, H, W).
// Weight and bias are indexed along the middle axis; statistics are accumulated in double.
#include <cstdint>

namespace qatd::kernels::cpu {

// y = (x - mean) * rstd * weight + bias, where rstd = 1 / sqrt(var + eps). weight and bias may be
// null (no affine part). Writes mean and rstd for each of the outer * inner columns.
template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, int64_t outer, int64_t size, int64_t inner,
                        double eps, T* y, T* mean, T* rstd);

// Gradients from grad_y and the statistics the forward saved. Any of grad_x, grad_weight and
// grad_bias may be null (not wanted); weight may be null (no affine part).
template <typename T>
void layer_norm_backward(const T* grad_y, const T* x, const T* mean, const T* rstd, const T* weight, int64_t outer,
                         int64_t size, int64_t inner, T* grad_x, T* grad_weight, T* grad_bias);

}  // namespace qatd::kernels::cpu

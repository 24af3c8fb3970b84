#pragma once
// Depthwise 2-D convolution (one input channel per group, groups == C_in), computed directly:
// kernels/cpu/conv.cpp sends such convolutions here because im2col would feed GEMMs of a single
// row. Same contracts as conv2d_forward / conv2d_backward_input / conv2d_backward_weight.
#include "kernels/cpu/conv.h"

namespace qatd::kernels::cpu {

template <typename T>
void depthwise_conv2d_forward(const ConvShape& shape, const T* input, const T* weight, const T* bias, T* output);

template <typename T>
void depthwise_conv2d_backward_input(const ConvShape& shape, const T* grad_output, const T* weight, T* grad_input);

template <typename T>
void depthwise_conv2d_backward_weight(const ConvShape& shape, const T* input, const T* grad_output, T* grad_weight);

}  // namespace qatd::kernels::cpu

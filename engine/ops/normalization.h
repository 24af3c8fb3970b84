#pragma once
// Layer normalization, over the trailing dims (torch's F.layer_norm) and over channels of a
// (N, C, H, W) tensor (SAM 2's LayerNorm2d).
#include "engine/tensor.h"

namespace qatd {

// Normalizes over the last normalized_shape.size() dims; weight and bias have normalized_shape.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
// Normalizes each (n, :, h, w) over C with the biased variance; weight and bias have shape (C).
Tensor layer_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-6);

}  // namespace qatd

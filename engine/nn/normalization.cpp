#include "engine/nn/normalization.h"

#include "engine/ops/normalization.h"

namespace qatd::nn {

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine)
    : normalized_shape(std::move(normalized_shape)), eps(eps) {
  QATD_CHECK(!this->normalized_shape.empty(), "LayerNorm: normalized_shape is empty");
  if (elementwise_affine) {
    weight = ones(this->normalized_shape);
    weight.set_requires_grad(true);
    register_parameter("weight", weight);
    bias = zeros(this->normalized_shape);
    bias.set_requires_grad(true);
    register_parameter("bias", bias);
  }
}

Tensor LayerNorm::forward(const Tensor& input) { return layer_norm(input, normalized_shape, weight, bias, eps); }

LayerNorm2d::LayerNorm2d(int64_t channels, double eps) : eps(eps) {
  QATD_CHECK(channels > 0, "LayerNorm2d: channels must be positive, got {}", channels);
  weight = ones({channels});
  weight.set_requires_grad(true);
  register_parameter("weight", weight);
  bias = zeros({channels});
  bias.set_requires_grad(true);
  register_parameter("bias", bias);
}

Tensor LayerNorm2d::forward(const Tensor& input) { return layer_norm2d(input, weight, bias, eps); }

}  // namespace qatd::nn

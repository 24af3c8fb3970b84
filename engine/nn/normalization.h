#pragma once
// nn.LayerNorm over trailing dims, and SAM 2's LayerNorm2d over the channels of (N, C, H, W).
#include "engine/nn/module.h"

namespace qatd::nn {

class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "LayerNorm"; }

  Shape normalized_shape;
  double eps;
  Tensor weight, bias;
};

class LayerNorm2d : public UnaryModule {
 public:
  explicit LayerNorm2d(int64_t channels, double eps = 1e-6);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "LayerNorm2d"; }

  double eps;
  Tensor weight, bias;
};

}  // namespace qatd::nn

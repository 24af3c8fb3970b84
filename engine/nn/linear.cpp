#include "engine/nn/linear.h"

#include "engine/nn/init.h"
#include "engine/ops/linalg.h"

namespace qatd::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias, Generator* generator)
    : in_features(in_features), out_features(out_features) {
  QATD_CHECK(in_features > 0 && out_features > 0, "Linear: feature counts must be positive, got {} -> {}",
             in_features, out_features);
  weight = empty({out_features, in_features});
  init::default_weight_(weight, generator);
  weight.set_requires_grad(true);
  register_parameter("weight", weight);
  if (has_bias) {
    bias = empty({out_features});
    init::default_bias_(bias, in_features, generator);
    bias.set_requires_grad(true);
    register_parameter("bias", bias);
  }
}

Tensor Linear::forward(const Tensor& input) { return linear(input, read_parameter(weight), bias); }

}  // namespace qatd::nn

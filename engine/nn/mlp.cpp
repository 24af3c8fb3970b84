#include "engine/nn/mlp.h"

#include "engine/ops/elementwise.h"

namespace qatd::nn {

MLP::MLP(int64_t input_dim, int64_t hidden_dim, int64_t output_dim, int64_t num_layers, Activation activation,
         bool sigmoid_output, Generator* generator)
    : activation(activation), sigmoid_output(sigmoid_output) {
  QATD_CHECK(num_layers >= 1, "MLP: num_layers must be at least 1, got {}", num_layers);
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < num_layers; ++i) {
    int64_t in = i == 0 ? input_dim : hidden_dim;
    int64_t out = i == num_layers - 1 ? output_dim : hidden_dim;
    layers->append(std::make_shared<Linear>(in, out, true, generator));
  }
}

Tensor MLP::forward(const Tensor& input) {
  Tensor x = input;
  for (size_t i = 0; i < layers->size(); ++i) {
    x = layers->at<Linear>(i)(x);
    if (i + 1 < layers->size()) x = apply_activation(activation, x);
  }
  return sigmoid_output ? sigmoid(x) : x;
}

}  // namespace qatd::nn

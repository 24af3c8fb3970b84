#pragma once
// Parameter-free layers for Sequential and MLP: activations, Identity and Dropout.
#include <string>

#include "engine/nn/module.h"
#include "engine/random.h"

namespace qatd::nn {

enum class Activation { relu, gelu, gelu_tanh, sigmoid, identity };

// Parses "relu", "gelu", "gelu_tanh", "sigmoid", "identity" (config files use these names).
Activation parse_activation(const std::string& name);
Tensor apply_activation(Activation activation, const Tensor& x);

// nn.ReLU, nn.GELU, nn.Sigmoid, nn.Identity as one module type parameterized by the function.
class ActivationLayer : public UnaryModule {
 public:
  explicit ActivationLayer(Activation activation) : activation(activation) {}
  Tensor forward(const Tensor& input) override { return apply_activation(activation, input); }
  std::string type_name() const override;

  Activation activation;
};

class Dropout : public UnaryModule {
 public:
  explicit Dropout(double p = 0.5, Generator* generator = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Dropout"; }

  double p;

 private:
  Generator* generator_;
};

}  // namespace qatd::nn

#pragma once
// SAM 2's MLP (sam2/modeling/sam2_utils.py MLP): num_layers Linear layers with the activation
// between them, optionally a sigmoid on the output. Keys: layers.0.weight, layers.0.bias, ...
#include "engine/nn/activation.h"
#include "engine/nn/containers.h"
#include "engine/nn/linear.h"

namespace qatd::nn {

class MLP : public UnaryModule {
 public:
  MLP(int64_t input_dim, int64_t hidden_dim, int64_t output_dim, int64_t num_layers,
      Activation activation = Activation::relu, bool sigmoid_output = false, Generator* generator = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "MLP"; }

  std::shared_ptr<ModuleList> layers;
  Activation activation;
  bool sigmoid_output;
};

}  // namespace qatd::nn

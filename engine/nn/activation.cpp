#include "engine/nn/activation.h"

#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"

namespace qatd::nn {

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::relu;
  if (name == "gelu") return Activation::gelu;
  if (name == "gelu_tanh") return Activation::gelu_tanh;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "identity") return Activation::identity;
  fail("unknown activation '{}' (known: relu, gelu, gelu_tanh, sigmoid, identity)", name);
}

Tensor apply_activation(Activation activation, const Tensor& x) {
  switch (activation) {
    case Activation::relu: return relu(x);
    case Activation::gelu: return gelu(x);
    case Activation::gelu_tanh: return gelu(x, "tanh");
    case Activation::sigmoid: return sigmoid(x);
    case Activation::identity: return x;
  }
  fail("unknown activation");
}

std::string ActivationLayer::type_name() const {
  switch (activation) {
    case Activation::relu: return "ReLU";
    case Activation::gelu:
    case Activation::gelu_tanh: return "GELU";
    case Activation::sigmoid: return "Sigmoid";
    case Activation::identity: return "Identity";
  }
  return "Activation";
}

Dropout::Dropout(double p, Generator* generator) : p(p), generator_(generator) {
  QATD_CHECK(p >= 0.0 && p <= 1.0, "Dropout: p must lie in [0, 1], got {}", p);
}

Tensor Dropout::forward(const Tensor& input) { return dropout(input, p, is_training(), generator_); }

}  // namespace qatd::nn

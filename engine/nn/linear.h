#pragma once
// nn.Linear: y = x W^T + b, weight (out_features, in_features).
#include "engine/nn/module.h"
#include "engine/random.h"

namespace qatd::nn {

class Linear : public UnaryModule {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator* generator = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Linear"; }

  int64_t in_features, out_features;
  Tensor weight, bias;
};

}  // namespace qatd::nn

#include "engine/nn/init.h"

#include <cmath>

#include "engine/autograd/grad_mode.h"

namespace qatd::nn::init {

std::pair<int64_t, int64_t> fans(const Tensor& weight) {
  QATD_CHECK(weight.dim() >= 2, "init: fan in/out need a weight of at least 2 dims, got {}",
             shape_str(weight.shape()));
  int64_t receptive = 1;
  for (int64_t d = 2; d < weight.dim(); ++d) receptive *= weight.shape()[d];
  return {weight.shape()[1] * receptive, weight.shape()[0] * receptive};
}

void default_weight_(Tensor& weight, Generator* generator) {
  // kaiming_uniform_ with a = sqrt(5): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in).
  double fan_in = static_cast<double>(fans(weight).first);
  double bound = fan_in > 0 ? 1.0 / std::sqrt(fan_in) : 0.0;
  NoGradGuard no_grad;
  uniform_(weight, -bound, bound, generator);
}

void default_bias_(Tensor& bias, int64_t fan_in, Generator* generator) {
  double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  NoGradGuard no_grad;
  uniform_(bias, -bound, bound, generator);
}

void xavier_uniform_(Tensor& weight, double gain, Generator* generator) {
  auto [fan_in, fan_out] = fans(weight);
  double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  NoGradGuard no_grad;
  uniform_(weight, -bound, bound, generator);
}

void kaiming_normal_(Tensor& weight, double a, Generator* generator) {
  double fan_in = static_cast<double>(fans(weight).first);
  double std = std::sqrt(2.0 / (1.0 + a * a)) / std::sqrt(fan_in);
  NoGradGuard no_grad;
  normal_(weight, 0.0, std, generator);
}

void constant_(Tensor& tensor, double value) {
  NoGradGuard no_grad;
  tensor.fill_(value);
}

}  // namespace qatd::nn::init

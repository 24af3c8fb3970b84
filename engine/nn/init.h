#pragma once
// Parameter initializers with torch.nn.init's definitions (in place, under NoGradGuard).
#include "engine/random.h"

namespace qatd::nn::init {

// fan_in and fan_out as torch.nn.init computes them: dims 1 and 0 times the receptive field.
std::pair<int64_t, int64_t> fans(const Tensor& weight);
// kaiming_uniform_(a = sqrt(5)) as nn.Linear and nn.Conv2d use by default: bound 1/sqrt(fan_in).
void default_weight_(Tensor& weight, Generator* generator = nullptr);
// uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias of a layer whose weight has that fan_in.
void default_bias_(Tensor& bias, int64_t fan_in, Generator* generator = nullptr);
void xavier_uniform_(Tensor& weight, double gain = 1.0, Generator* generator = nullptr);
void kaiming_normal_(Tensor& weight, double a = 0.0, Generator* generator = nullptr);
void constant_(Tensor& tensor, double value);

}  // namespace qatd::nn::init

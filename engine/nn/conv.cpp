#include "engine/nn/conv.h"

#include "engine/nn/init.h"

namespace qatd::nn {

namespace {

void check_channels(const char* layer, int64_t in_channels, int64_t out_channels, int64_t groups) {
  QATD_CHECK(in_channels > 0 && out_channels > 0 && groups > 0, "{}: channels and groups must be positive", layer);
  QATD_CHECK(in_channels % groups == 0 && out_channels % groups == 0,
             "{}: in_channels {} and out_channels {} must both divide by groups {}", layer, in_channels, out_channels,
             groups);
}

// PyTorch's default init: kaiming_uniform(a = sqrt(5)) weight, bias bounded by the weight's fan-in.
void make_parameters(Module& module, Tensor& weight, Tensor& bias, const Shape& weight_shape, int64_t bias_size,
                     bool has_bias, Generator* generator) {
  weight = empty(weight_shape);
  init::default_weight_(weight, generator);
  weight.set_requires_grad(true);
  module.register_parameter("weight", weight);
  if (!has_bias) return;
  bias = empty({bias_size});
  init::default_bias_(bias, init::fans(weight).first, generator);
  bias.set_requires_grad(true);
  module.register_parameter("bias", bias);
}

}  // namespace

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel_size, Conv2dOptions options,
               bool has_bias, Generator* generator)
    : in_channels(in_channels), out_channels(out_channels), options(options) {
  check_channels("Conv2d", in_channels, out_channels, options.groups);
  make_parameters(*this, weight, bias, {out_channels, in_channels / options.groups, kernel_size[0], kernel_size[1]},
                  out_channels, has_bias, generator);
}

Tensor Conv2d::forward(const Tensor& input) { return conv2d(input, read_parameter(weight), bias, options); }

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel_size,
                                 ConvTranspose2dOptions options, bool has_bias, Generator* generator)
    : in_channels(in_channels), out_channels(out_channels), options(options) {
  check_channels("ConvTranspose2d", in_channels, out_channels, options.groups);
  make_parameters(*this, weight, bias, {in_channels, out_channels / options.groups, kernel_size[0], kernel_size[1]},
                  out_channels, has_bias, generator);
}

Tensor ConvTranspose2d::forward(const Tensor& input) {
  return conv_transpose2d(input, read_parameter(weight), bias, options);
}

}  // namespace qatd::nn

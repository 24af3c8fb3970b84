#pragma once
// nn.Conv2d and nn.ConvTranspose2d, with PyTorch's parameter layouts and default init.
#include "engine/nn/module.h"
#include "engine/ops/conv.h"
#include "engine/random.h"

namespace qatd::nn {

class Conv2d : public UnaryModule {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel_size, Conv2dOptions options = {},
         bool bias = true, Generator* generator = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Conv2d"; }

  int64_t in_channels, out_channels;
  Conv2dOptions options;
  Tensor weight, bias;  // weight (out, in / groups, kH, kW)
};

class ConvTranspose2d : public UnaryModule {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel_size,
                  ConvTranspose2dOptions options = {}, bool bias = true, Generator* generator = nullptr);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "ConvTranspose2d"; }

  int64_t in_channels, out_channels;
  ConvTranspose2dOptions options;
  Tensor weight, bias;  // weight (in, out / groups, kH, kW)
};

}  // namespace qatd::nn

#pragma once
// sam2/modeling/backbones/image_encoder.py: the FPN neck and the image encoder (trunk + neck).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/nn/containers.h"
#include "engine/nn/conv.h"
#include "engine/random.h"
#include "models/sam2/backbones/hieradet.h"
#include "models/sam2/position_encoding.h"

namespace qatd::sam2 {

struct FpnNeckOptions {
  PositionEmbeddingSineOptions position_encoding;  // the official constructor takes the module itself
  int64_t d_model = 256;
  std::vector<int64_t> backbone_channel_list;  // the trunk's channels, deepest level first
  int64_t kernel_size = 1;
  int64_t stride = 1;
  int64_t padding = 0;
  std::string fpn_interp_model = "bilinear";  // nearest, bilinear or bicubic: the top-down upsampling
  std::string fuse_type = "sum";              // sum or avg of lateral and top-down features
  // Levels (0 = finest) that receive top-down features; all levels when absent.
  std::optional<std::vector<int64_t>> fpn_top_down_levels = std::nullopt;
};

// One lateral convolution, an nn.Sequential holding a single Conv2d named "conv" in the official model.
class FpnLateral : public nn::UnaryModule {
 public:
  FpnLateral(int64_t in_channels, const FpnNeckOptions& options, Generator* generator);
  Tensor forward(const Tensor& x) override { return (*conv)(x); }
  std::string type_name() const override { return "Sequential"; }

  std::shared_ptr<nn::Conv2d> conv;
};

// FpnNeck's result per level, finest first: features (B, d_model, H_i, W_i) and their sine encodings.
struct FpnOutput {
  std::vector<Tensor> features;
  std::vector<Tensor> pos;
};

// sam2.modeling.backbones.image_encoder.FpnNeck
// Lateral convolutions of every trunk level (convs[0] serves the deepest), plus, from the deepest
// level down, the previous output upsampled 2x on the levels in fpn_top_down_levels.
class FpnNeck : public nn::Module {
 public:
  explicit FpnNeck(FpnNeckOptions options, Generator* generator = nullptr);
  // xs: the trunk's levels, finest first, channels matching backbone_channel_list reversed.
  FpnOutput forward(const std::vector<Tensor>& xs);
  FpnOutput operator()(const std::vector<Tensor>& xs) { return forward(xs); }
  std::string type_name() const override { return "FpnNeck"; }

  FpnNeckOptions options;
  std::vector<int64_t> fpn_top_down_levels;
  std::shared_ptr<PositionEmbeddingSine> position_encoding;
  std::shared_ptr<nn::ModuleList> convs;
};

struct ImageEncoderOptions {
  int64_t scalp = 0;  // how many of the coarsest levels to drop from the outputs
};

// ImageEncoder's result (the official dict's keys).
struct ImageEncoderOutput {
  Tensor vision_features;              // the coarsest kept level, backbone_fpn.back()
  std::vector<Tensor> vision_pos_enc;  // per kept level, finest first
  std::vector<Tensor> backbone_fpn;    // per kept level, finest first, (B, d_model, H_i, W_i)
};

// sam2.modeling.backbones.image_encoder.ImageEncoder
class ImageEncoder : public nn::Module {
 public:
  ImageEncoder(std::shared_ptr<Hiera> trunk, std::shared_ptr<FpnNeck> neck, ImageEncoderOptions options = {});
  // sample (B, 3, H, W), normalized images.
  ImageEncoderOutput forward(const Tensor& sample);
  ImageEncoderOutput operator()(const Tensor& sample) { return forward(sample); }
  std::string type_name() const override { return "ImageEncoder"; }

  ImageEncoderOptions options;
  std::shared_ptr<Hiera> trunk;
  std::shared_ptr<FpnNeck> neck;
};

}  // namespace qatd::sam2

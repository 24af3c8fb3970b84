#include "models/sam2/backbones/image_encoder.h"

#include <algorithm>
#include <numeric>

#include "engine/engine.h"

namespace qatd::sam2 {

namespace {

InterpolateMode parse_interp_model(const std::string& name) {
  if (name == "nearest") return InterpolateMode::nearest;
  if (name == "bilinear") return InterpolateMode::bilinear;
  if (name == "bicubic") return InterpolateMode::bicubic;
  fail("FpnNeck: fpn_interp_model must be nearest, bilinear or bicubic, got '{}'", name);
}

}  // namespace

FpnLateral::FpnLateral(int64_t in_channels, const FpnNeckOptions& options, Generator* generator) {
  Conv2dOptions conv_options;
  conv_options.stride = {options.stride, options.stride};
  conv_options.padding = {options.padding, options.padding};
  conv = register_module("conv",
                         std::make_shared<nn::Conv2d>(in_channels, options.d_model,
                                                      std::array<int64_t, 2>{options.kernel_size, options.kernel_size},
                                                      conv_options, true, generator));
}

FpnNeck::FpnNeck(FpnNeckOptions options, Generator* generator) : options(options) {
  const auto levels = static_cast<int64_t>(options.backbone_channel_list.size());
  QATD_CHECK(levels > 0, "FpnNeck: backbone_channel_list is empty");
  QATD_CHECK(options.d_model > 0, "FpnNeck: d_model must be positive, got {}", options.d_model);
  QATD_CHECK(options.fuse_type == "sum" || options.fuse_type == "avg",
             "FpnNeck: fuse_type must be sum or avg, got '{}'", options.fuse_type);
  parse_interp_model(options.fpn_interp_model);
  if (options.fpn_top_down_levels) {
    fpn_top_down_levels = *options.fpn_top_down_levels;
  } else {
    fpn_top_down_levels.resize(levels);
    std::iota(fpn_top_down_levels.begin(), fpn_top_down_levels.end(), 0);
  }
  position_encoding =
      register_module("position_encoding", std::make_shared<PositionEmbeddingSine>(options.position_encoding));
  convs = register_module("convs", std::make_shared<nn::ModuleList>());
  for (int64_t channels : options.backbone_channel_list) {
    convs->append(std::make_shared<FpnLateral>(channels, options, generator));
  }
}

FpnOutput FpnNeck::forward(const std::vector<Tensor>& xs) {
  const auto levels = static_cast<int64_t>(convs->size());
  QATD_CHECK(static_cast<int64_t>(xs.size()) == levels, "FpnNeck: expected {} trunk levels, got {}", levels, xs.size());
  const InterpolateMode mode = parse_interp_model(options.fpn_interp_model);
  FpnOutput result;
  result.features.resize(levels);
  result.pos.resize(levels);
  Tensor previous;
  // Deepest level first, so each level can take the one below it as top-down input.
  for (int64_t i = levels - 1; i >= 0; --i) {
    const Tensor& x = xs[i];
    const int64_t channels = options.backbone_channel_list[levels - 1 - i];
    QATD_CHECK(x.defined() && x.dim() == 4 && x.size(1) == channels,
               "FpnNeck: trunk level {} must be (B, {}, H, W), got {}", i, channels,
               x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
    Tensor lateral = convs->at<FpnLateral>(levels - 1 - i)(x);
    const bool top_down = previous.defined() && std::find(fpn_top_down_levels.begin(), fpn_top_down_levels.end(), i) !=
                                                    fpn_top_down_levels.end();
    if (top_down) {
      InterpolateOptions upsample;
      upsample.mode = mode;
      upsample.scale_factor = std::array<double, 2>{2.0, 2.0};
      Tensor top_down_features = interpolate(previous, upsample);
      QATD_CHECK(top_down_features.shape() == lateral.shape(),
                 "FpnNeck: level {} is {} but the level above it upsampled 2x is {}; the trunk's levels must halve "
                 "exactly (the image size must be a multiple of 32 for Hiera)",
                 i, shape_str(lateral.shape()), shape_str(top_down_features.shape()));
      previous = add(lateral, top_down_features);
      if (options.fuse_type == "avg") previous = div(previous, 2.0);
    } else {
      previous = lateral;
    }
    result.features[i] = previous;
    result.pos[i] = (*position_encoding)(previous);
  }
  return result;
}

ImageEncoder::ImageEncoder(std::shared_ptr<Hiera> trunk_module, std::shared_ptr<FpnNeck> neck_module,
                           ImageEncoderOptions options)
    : options(options) {
  QATD_CHECK(trunk_module && neck_module, "ImageEncoder: trunk and neck must be given");
  QATD_CHECK(trunk_module->channel_list == neck_module->options.backbone_channel_list,
             "ImageEncoder: channel dims of trunk and neck do not match. Trunk: {}, neck: {}",
             shape_str(trunk_module->channel_list), shape_str(neck_module->options.backbone_channel_list));
  const auto levels = static_cast<int64_t>(neck_module->options.backbone_channel_list.size());
  QATD_CHECK(options.scalp >= 0 && options.scalp < levels,
             "ImageEncoder: scalp must lie in [0, {}) to keep at least one of the {} levels, got {}", levels, levels,
             options.scalp);
  trunk = register_module("trunk", std::move(trunk_module));
  neck = register_module("neck", std::move(neck_module));
}

ImageEncoderOutput ImageEncoder::forward(const Tensor& sample) {
  FpnOutput levels = (*neck)((*trunk)(sample));
  const size_t kept = levels.features.size() - static_cast<size_t>(options.scalp);
  levels.features.resize(kept);
  levels.pos.resize(kept);
  ImageEncoderOutput output;
  output.vision_features = levels.features.back();
  output.vision_pos_enc = std::move(levels.pos);
  output.backbone_fpn = std::move(levels.features);
  return output;
}

}  // namespace qatd::sam2

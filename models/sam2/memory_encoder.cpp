#include "models/sam2/memory_encoder.h"

#include "engine/engine.h"

namespace qatd::sam2 {

namespace {

std::string describe(const Tensor& x) { return x.defined() ? shape_str(x.shape()) : std::string("undefined"); }

// Python's int(log2(total_stride) // log2(stride)): the number of stride-`stride` stages, which must reach
// total_stride exactly.
int64_t downsampling_stages(int64_t stride, int64_t total_stride) {
  QATD_CHECK(stride >= 2 && total_stride >= 1,
             "MaskDownSampler: stride {} must be at least 2 and total_stride {} positive", stride, total_stride);
  int64_t stages = 0, reached = 1;
  while (reached * stride <= total_stride) {
    reached *= stride;
    ++stages;
  }
  QATD_CHECK(reached == total_stride, "MaskDownSampler: total_stride {} is not a power of stride {}", total_stride,
             stride);
  return stages;
}

}  // namespace

MaskDownSampler::MaskDownSampler(const MaskDownSamplerOptions& options, Generator* generator) : options(options) {
  QATD_CHECK(options.embed_dim > 0 && options.kernel_size > 0 && options.padding >= 0,
             "MaskDownSampler: embed_dim {} and kernel_size {} must be positive and padding {} >= 0",
             options.embed_dim, options.kernel_size, options.padding);
  const int64_t stages = downsampling_stages(options.stride, options.total_stride);
  encoder = register_module("encoder", std::make_shared<nn::Sequential>());
  int64_t in_channels = 1, out_channels = 1;
  for (int64_t i = 0; i < stages; ++i) {
    out_channels = in_channels * options.stride * options.stride;
    encoder->append(std::make_shared<nn::Conv2d>(
        in_channels, out_channels, std::array<int64_t, 2>{options.kernel_size, options.kernel_size},
        Conv2dOptions{.stride = {options.stride, options.stride}, .padding = {options.padding, options.padding}},
        true, generator));
    encoder->append(std::make_shared<nn::LayerNorm2d>(out_channels));
    encoder->append(std::make_shared<nn::ActivationLayer>(options.activation));
    in_channels = out_channels;
  }
  encoder->append(std::make_shared<nn::Conv2d>(out_channels, options.embed_dim, std::array<int64_t, 2>{1, 1},
                                               Conv2dOptions{}, true, generator));
}

Tensor MaskDownSampler::forward(const Tensor& x) {
  QATD_CHECK(x.defined() && x.dim() == 4 && x.size(1) == 1, "MaskDownSampler: expects masks (B, 1, H, W), got {}",
             describe(x));
  return (*encoder)(x);
}

CXBlock::CXBlock(const CXBlockOptions& options, Generator* generator) : options(options) {
  const int64_t dim = options.dim;
  QATD_CHECK(dim > 0 && options.kernel_size > 0 && options.padding >= 0,
             "CXBlock: dim {} and kernel_size {} must be positive and padding {} >= 0", dim, options.kernel_size,
             options.padding);
  const Conv2dOptions depthwise{.padding = {options.padding, options.padding}, .groups = options.use_dwconv ? dim : 1};
  dwconv = register_module("dwconv", std::make_shared<nn::Conv2d>(
                                         dim, dim, std::array<int64_t, 2>{options.kernel_size, options.kernel_size},
                                         depthwise, true, generator));
  norm = register_module("norm", std::make_shared<nn::LayerNorm2d>(dim, 1e-6));
  pwconv1 = register_module("pwconv1", std::make_shared<nn::Linear>(dim, 4 * dim, true, generator));
  act = register_module("act", std::make_shared<nn::ActivationLayer>(nn::Activation::gelu));
  pwconv2 = register_module("pwconv2", std::make_shared<nn::Linear>(4 * dim, dim, true, generator));
  if (options.layer_scale_init_value > 0.0) {
    gamma = full({dim}, options.layer_scale_init_value);
    gamma.set_requires_grad(true);
    register_parameter("gamma", gamma);
  }
  drop_path = register_module("drop_path", std::make_shared<DropPath>(options.drop_path, true, generator));
}

Tensor CXBlock::forward(const Tensor& x) {
  QATD_CHECK(x.defined() && x.dim() == 4 && x.size(1) == options.dim, "CXBlock: expects (N, {}, H, W), got {}",
             options.dim, describe(x));
  Tensor y = (*norm)((*dwconv)(x)).permute({0, 2, 3, 1});
  y = (*pwconv2)((*act)((*pwconv1)(y)));
  if (gamma.defined()) y = mul(gamma, y);
  y = y.permute({0, 3, 1, 2});
  QATD_CHECK(y.shape() == x.shape(), "CXBlock: kernel_size {} with padding {} changes the size of {} to {}",
             options.kernel_size, options.padding, describe(x), describe(y));
  return add(x, (*drop_path)(y));
}

Fuser::Fuser(const FuserOptions& options, Generator* generator) {
  QATD_CHECK(options.num_layers >= 0, "Fuser: num_layers must be >= 0, got {}", options.num_layers);
  if (options.input_projection) {
    QATD_CHECK(options.dim.has_value() && *options.dim > 0, "Fuser: input_projection needs a positive dim");
    proj = register_module("proj", std::make_shared<nn::Conv2d>(*options.dim, *options.dim,
                                                                std::array<int64_t, 2>{1, 1}, Conv2dOptions{}, true,
                                                                generator));
  } else {
    proj = register_module("proj", std::make_shared<nn::ActivationLayer>(nn::Activation::identity));
  }
  layers = register_module("layers", std::make_shared<nn::ModuleList>());
  // get_clones deep-copies one initialized block, so every block starts from the same parameters.
  for (int64_t i = 0; i < options.num_layers; ++i) {
    auto layer = layers->append(std::make_shared<CXBlock>(options.layer, generator));
    if (i > 0) layer->load_state_dict(layers->at<CXBlock>(0).state_dict());
  }
}

Tensor Fuser::forward(const Tensor& x) {
  Tensor y = (*proj)(x);
  for (size_t i = 0; i < layers->size(); ++i) y = layers->at<CXBlock>(i)(y);
  return y;
}

MemoryEncoder::MemoryEncoder(const MemoryEncoderOptions& options, Generator* generator)
    : in_dim(options.in_dim), out_dim(options.out_dim) {
  QATD_CHECK(in_dim > 0 && out_dim > 0, "MemoryEncoder: in_dim {} and out_dim {} must be positive", in_dim, out_dim);
  mask_downsampler =
      register_module("mask_downsampler", std::make_shared<MaskDownSampler>(options.mask_downsampler, generator));
  pix_feat_proj = register_module(
      "pix_feat_proj",
      std::make_shared<nn::Conv2d>(in_dim, in_dim, std::array<int64_t, 2>{1, 1}, Conv2dOptions{}, true, generator));
  fuser = register_module("fuser", std::make_shared<Fuser>(options.fuser, generator));
  position_encoding =
      register_module("position_encoding", std::make_shared<PositionEmbeddingSine>(options.position_encoding));
  if (out_dim != in_dim) {
    out_proj = register_module("out_proj", std::make_shared<nn::Conv2d>(in_dim, out_dim, std::array<int64_t, 2>{1, 1},
                                                                        Conv2dOptions{}, true, generator));
  } else {
    out_proj = register_module("out_proj", std::make_shared<nn::ActivationLayer>(nn::Activation::identity));
  }
}

MemoryEncoderOutput MemoryEncoder::forward(const Tensor& pix_feat, const Tensor& masks, bool skip_mask_sigmoid) {
  QATD_CHECK(pix_feat.defined() && pix_feat.dim() == 4 && pix_feat.size(1) == in_dim,
             "MemoryEncoder: pix_feat must be (B, {}, H, W), got {}", in_dim, describe(pix_feat));
  QATD_CHECK(masks.defined() && masks.dim() == 4 && masks.size(1) == 1,
             "MemoryEncoder: masks must be (B, 1, H, W), got {}", describe(masks));
  Tensor downsampled = (*mask_downsampler)(skip_mask_sigmoid ? masks : sigmoid(masks));
  QATD_CHECK(downsampled.shape() == pix_feat.shape(),
             "MemoryEncoder: the downsampled masks {} (from masks {}) must match pix_feat {}",
             describe(downsampled), describe(masks), describe(pix_feat));
  Tensor x = add((*pix_feat_proj)(pix_feat), downsampled);
  x = (*out_proj)((*fuser)(x));
  return {x, {(*position_encoding)(x)}};
}

MemoryEncoderOptions memory_encoder_options(const MemoryEncoderConfig& config) {
  const MaskDownSamplerConfig& downsampler = config.mask_downsampler;
  const CXBlockConfig& block = config.fuser.layer;
  const PositionEmbeddingSineConfig& sine = config.position_encoding;
  return {.out_dim = config.out_dim,
          .mask_downsampler = {.embed_dim = downsampler.embed_dim,
                               .kernel_size = downsampler.kernel_size,
                               .stride = downsampler.stride,
                               .padding = downsampler.padding,
                               .total_stride = downsampler.total_stride},
          .fuser = {.layer = {.dim = block.dim,
                              .kernel_size = block.kernel_size,
                              .padding = block.padding,
                              .drop_path = block.drop_path,
                              .layer_scale_init_value = block.layer_scale_init_value,
                              .use_dwconv = block.use_dwconv},
                    .num_layers = config.fuser.num_layers,
                    .dim = config.fuser.dim,
                    .input_projection = config.fuser.input_projection},
          .position_encoding = {.num_pos_feats = sine.num_pos_feats,
                                .temperature = sine.temperature,
                                .normalize = sine.normalize,
                                .scale = sine.scale},
          .in_dim = config.in_dim};
}

}  // namespace qatd::sam2

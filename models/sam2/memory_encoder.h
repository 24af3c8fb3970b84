#pragma once
// sam2/modeling/memory_encoder.py: the encoder that turns a frame's features and predicted mask into a
// memory (features and their positional encoding) for the memory bank.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/nn/nn.h"
#include "engine/random.h"
#include "models/sam2/backbones/utils.h"
#include "models/sam2/position_encoding.h"
#include "models/sam2/sam2_config.h"

namespace qatd::sam2 {

struct MaskDownSamplerOptions {
  int64_t embed_dim = 256;
  int64_t kernel_size = 4;
  int64_t stride = 4;
  int64_t padding = 0;
  int64_t total_stride = 16;  // a power of stride
  nn::Activation activation = nn::Activation::gelu;
};

// sam2.modeling.memory_encoder.MaskDownSampler
// log_stride(total_stride) stages of Conv2d (channels x stride^2) -> LayerNorm2d (eps 1e-6) -> activation,
// then a 1x1 Conv2d to embed_dim, all in one Sequential named `encoder` (indices 0, 1, 2 / 3, 4, 5 / ... /
// 3n for the projection), so that the state_dict keys are the official ones.
class MaskDownSampler : public nn::UnaryModule {
 public:
  explicit MaskDownSampler(const MaskDownSamplerOptions& options = {}, Generator* generator = nullptr);
  // x (B, 1, H, W): (B, embed_dim, H / total_stride, W / total_stride) (the convolutions' output size).
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaskDownSampler"; }

  MaskDownSamplerOptions options;
  std::shared_ptr<nn::Sequential> encoder;
};

struct CXBlockOptions {
  int64_t dim = 256;  // required in Python
  int64_t kernel_size = 7;
  int64_t padding = 3;
  double drop_path = 0.0;
  double layer_scale_init_value = 1e-6;  // <= 0: no gamma parameter
  bool use_dwconv = true;
};

// sam2.modeling.memory_encoder.CXBlock
// ConvNeXt block: x + drop_path(gamma * pwconv2(GELU(pwconv1(LayerNorm2d(dwconv(x)))))), the Linear
// layers applied channels-last. dwconv is depthwise (groups = dim) with use_dwconv, a full convolution
// otherwise; the norm's eps is 1e-6.
class CXBlock : public nn::UnaryModule {
 public:
  explicit CXBlock(const CXBlockOptions& options, Generator* generator = nullptr);
  // x (N, dim, H, W) -> same shape (kernel_size = 2 padding + 1 keeps the size, as in every config).
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "CXBlock"; }

  CXBlockOptions options;
  std::shared_ptr<nn::Conv2d> dwconv;
  std::shared_ptr<nn::LayerNorm2d> norm;
  std::shared_ptr<nn::Linear> pwconv1;
  std::shared_ptr<nn::ActivationLayer> act;
  std::shared_ptr<nn::Linear> pwconv2;
  Tensor gamma;  // (dim), undefined without layer scale
  std::shared_ptr<DropPath> drop_path;
};

struct FuserOptions {
  CXBlockOptions layer;                       // required in Python; cloned num_layers times
  int64_t num_layers = 2;                     // required in Python
  std::optional<int64_t> dim = std::nullopt;  // needed with input_projection
  bool input_projection = false;
};

// sam2.modeling.memory_encoder.Fuser
// An optional 1x1 Conv2d input projection (`proj`, Identity otherwise), then num_layers CXBlocks.
class Fuser : public nn::UnaryModule {
 public:
  explicit Fuser(const FuserOptions& options, Generator* generator = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Fuser"; }

  std::shared_ptr<nn::UnaryModule> proj;
  std::shared_ptr<nn::ModuleList> layers;
};

struct MemoryEncoderOptions {
  // Every field but in_dim is required in Python; the defaults are the values of the official configs.
  int64_t out_dim = 64;
  MaskDownSamplerOptions mask_downsampler = {.kernel_size = 3, .stride = 2, .padding = 1};
  FuserOptions fuser;
  PositionEmbeddingSineOptions position_encoding = {.num_pos_feats = 64};
  int64_t in_dim = 256;
};

// MemoryEncoder.forward's dict: the memory features and their positional encoding (one level).
struct MemoryEncoderOutput {
  Tensor vision_features;              // (B, out_dim, H, W)
  std::vector<Tensor> vision_pos_enc;  // {(B, num_pos_feats, H, W)}, a constant
};

// sam2.modeling.memory_encoder.MemoryEncoder
// x = fuser(pix_feat_proj(pix_feat) + mask_downsampler(masks)), projected to out_dim by out_proj (a 1x1
// Conv2d, Identity when out_dim == in_dim), with its sine positional encoding.
class MemoryEncoder : public nn::Module {
 public:
  explicit MemoryEncoder(const MemoryEncoderOptions& options, Generator* generator = nullptr);

  // pix_feat (B, in_dim, H, W); masks (B, 1, H * s, W * s) logits (s = the downsampler's total stride),
  // passed through a sigmoid unless skip_mask_sigmoid. The downsampled masks must match pix_feat's shape.
  MemoryEncoderOutput forward(const Tensor& pix_feat, const Tensor& masks, bool skip_mask_sigmoid = false);
  std::string type_name() const override { return "MemoryEncoder"; }

  int64_t in_dim, out_dim;
  std::shared_ptr<MaskDownSampler> mask_downsampler;
  std::shared_ptr<nn::Conv2d> pix_feat_proj;
  std::shared_ptr<Fuser> fuser;
  std::shared_ptr<PositionEmbeddingSine> position_encoding;
  std::shared_ptr<nn::UnaryModule> out_proj;
};

// The options SAM2Base builds from its config's memory_encoder block.
MemoryEncoderOptions memory_encoder_options(const MemoryEncoderConfig& config);

}  // namespace qatd::sam2

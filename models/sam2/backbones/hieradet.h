#pragma once
// sam2/modeling/backbones/hieradet.py: the Hiera image trunk (channels-last blocks with windowed
// attention and query pooling at stage changes).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/nn/activation.h"
#include "engine/nn/containers.h"
#include "engine/nn/linear.h"
#include "engine/nn/mlp.h"
#include "engine/nn/normalization.h"
#include "engine/random.h"
#include "models/sam2/backbones/utils.h"

namespace qatd::sam2 {

// do_pool with Hiera's pool, nn.MaxPool2d(kernel_size = stride, ceil_mode = false): x (B, H, W, C) max-pooled
// over non-overlapping stride blocks to (B, H / stride_h, W / stride_w, C), rows and columns that fill no
// block dropped; x itself without a stride. (The official optional norm is never passed.)
// It stays channels-last, as the elementwise maximum of the blocks' strided elements: the same values
// as max_pool2d, which would need NCHW copies both ways. Where a block's maxima tie, the gradient is
// split among them rather than given to the first; ties arise between zero-padded tokens, and the
// gradients of parameters and inputs come out the same either way.
Tensor do_pool(const Tensor& x, const std::optional<std::array<int64_t, 2>>& stride);

struct MultiScaleAttentionOptions {
  int64_t dim = 0;
  int64_t dim_out = 0;
  int64_t num_heads = 1;
  std::optional<std::array<int64_t, 2>> q_pool = std::nullopt;  // max-pools the queries with this stride
};

// sam2.modeling.backbones.hieradet.MultiScaleAttention
// Multi-head self-attention over each (B, H, W, dim) window, queries optionally pooled: (B, H', W', dim_out).
class MultiScaleAttention : public nn::UnaryModule {
 public:
  explicit MultiScaleAttention(MultiScaleAttentionOptions options, Generator* generator = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MultiScaleAttention"; }

  MultiScaleAttentionOptions options;
  std::shared_ptr<nn::Linear> qkv, proj;
};

struct MultiScaleBlockOptions {
  int64_t dim = 0;
  int64_t dim_out = 0;
  int64_t num_heads = 1;
  double mlp_ratio = 4.0;
  double drop_path = 0.0;
  // norm_layer is always LayerNorm with eps 1e-6 (the official default, the only one SAM 2 uses).
  // Set on the first block of a stage: pools the queries and the skip path by this stride.
  std::optional<std::array<int64_t, 2>> q_stride = std::nullopt;
  nn::Activation act_layer = nn::Activation::gelu;
  int64_t window_size = 0;  // 0: global attention
};

// sam2.modeling.backbones.hieradet.MultiScaleBlock
// Pre-norm transformer block on (B, H, W, dim). Attention runs inside zero-padded windows (padding after
// norm1, padded tokens attend and are attended to unmasked); on a stage change the skip path is
// maxpool(proj(norm1(x))) and the output is (B, H / 2, W / 2, dim_out). The generator initializes the
// parameters and later draws the stochastic-depth masks in training.
class MultiScaleBlock : public nn::UnaryModule {
 public:
  explicit MultiScaleBlock(MultiScaleBlockOptions options, Generator* generator = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MultiScaleBlock"; }

  MultiScaleBlockOptions options;
  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<MultiScaleAttention> attn;
  std::shared_ptr<DropPath> drop_path;
  std::shared_ptr<nn::MLP> mlp;
  std::shared_ptr<nn::Linear> proj;  // only when dim != dim_out
};

struct HieraOptions {
  int64_t embed_dim = 96;
  int64_t num_heads = 1;
  double drop_path_rate = 0.0;  // stochastic depth, rising linearly from 0 over the blocks
  int64_t q_pool = 3;           // how many stage changes pool (the first ones)
  std::array<int64_t, 2> q_stride{2, 2};
  std::vector<int64_t> stages{2, 3, 16, 3};
  double dim_mul = 2.0;
  double head_mul = 2.0;
  std::array<int64_t, 2> window_pos_embed_bkg_spatial_size{14, 14};
  std::vector<int64_t> window_spec{8, 4, 14, 7};
  std::vector<int64_t> global_att_blocks{12, 16, 20};
  bool return_interm_layers = true;
};

// sam2.modeling.backbones.hieradet.Hiera
// (B, 3, H, W) images to per-stage features (B, C_s, H_s, W_s), finest first (only the last stage
// without return_interm_layers). Outputs are NCHW views of channels-last memory. pos_embed and
// pos_embed_window start at zero, as in the official constructor; the generator initializes the
// layers and later draws the stochastic-depth masks in training.
class Hiera : public nn::Module {
 public:
  explicit Hiera(HieraOptions options = {}, Generator* generator = nullptr);
  std::vector<Tensor> forward(const Tensor& x);
  std::vector<Tensor> operator()(const Tensor& x) { return forward(x); }
  std::string type_name() const override { return "Hiera"; }

  // The absolute position embedding for an (h, w) patch grid, channels-last (1, h, w, C): the
  // background pos_embed resized bicubically plus pos_embed_window tiled.
  Tensor get_pos_embed(int64_t height, int64_t width) const;

  HieraOptions options;
  std::vector<int64_t> stage_ends;     // index of each stage's last block
  std::vector<int64_t> q_pool_blocks;  // blocks that pool (the first block of a stage)
  std::vector<int64_t> channel_list;   // output channels, deepest first (what FpnNeck expects)
  std::shared_ptr<PatchEmbed> patch_embed;
  Tensor pos_embed, pos_embed_window;
  std::shared_ptr<nn::ModuleList> blocks;
};

}  // namespace qatd::sam2

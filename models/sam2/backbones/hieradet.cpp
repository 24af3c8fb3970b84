#include "models/sam2/backbones/hieradet.h"

#include <algorithm>
#include <numeric>

#include "engine/engine.h"

namespace qatd::sam2 {

namespace {

bool contains(const std::vector<int64_t>& values, int64_t value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// The padded extent window_unpartition expects for `size` cut into windows of `window`.
int64_t padded_extent(int64_t size, int64_t window) { return size + (window - size % window) % window; }

}  // namespace

Tensor do_pool(const Tensor& x, const std::optional<std::array<int64_t, 2>>& stride) {
  if (!stride) return x;
  const auto [stride_h, stride_w] = *stride;
  QATD_CHECK(x.defined() && x.dim() == 4, "do_pool: input must be (B, H, W, C), got {}",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  QATD_CHECK(stride_h > 0 && stride_w > 0, "do_pool: stride ({}, {}) must be positive", stride_h, stride_w);
  const int64_t out_h = x.size(1) / stride_h, out_w = x.size(2) / stride_w;
  QATD_CHECK(out_h > 0 && out_w > 0, "do_pool: input {} is smaller than the pooling stride ({}, {})",
             shape_str(x.shape()), stride_h, stride_w);
  Tensor blocks = x.slice(1, 0, out_h * stride_h)
                      .slice(2, 0, out_w * stride_w)
                      .reshape({x.size(0), out_h, stride_h, out_w, stride_w, x.size(3)});
  Tensor pooled;
  for (int64_t i = 0; i < stride_h; ++i) {
    for (int64_t j = 0; j < stride_w; ++j) {
      Tensor element = blocks.select(4, j).select(2, i);
      pooled = pooled.defined() ? maximum(pooled, element) : element;
    }
  }
  return pooled;
}

MultiScaleAttention::MultiScaleAttention(MultiScaleAttentionOptions options, Generator* generator) : options(options) {
  QATD_CHECK(options.dim > 0 && options.dim_out > 0 && options.num_heads > 0,
             "MultiScaleAttention: dim ({}), dim_out ({}) and num_heads ({}) must be positive", options.dim,
             options.dim_out, options.num_heads);
  QATD_CHECK(options.dim_out % options.num_heads == 0,
             "MultiScaleAttention: dim_out {} must divide into num_heads {} heads", options.dim_out, options.num_heads);
  qkv = register_module("qkv", std::make_shared<nn::Linear>(options.dim, options.dim_out * 3, true, generator));
  proj = register_module("proj", std::make_shared<nn::Linear>(options.dim_out, options.dim_out, true, generator));
}

Tensor MultiScaleAttention::forward(const Tensor& x) {
  QATD_CHECK(x.defined(), "MultiScaleAttention: input is undefined");
  QATD_CHECK(x.dim() == 4 && x.size(3) == options.dim, "MultiScaleAttention: input must be (B, H, W, {}), got {}",
             options.dim, shape_str(x.shape()));
  const int64_t batch = x.size(0), heads = options.num_heads, head_dim = options.dim_out / heads;
  int64_t height = x.size(1), width = x.size(2);
  // The projection's channels are [q | k | v], each head-major; q, k and v stay strided views of it,
  // which the attention reads in place.
  Tensor qkv_rows = (*qkv)(x).reshape({batch, height * width, 3, heads, head_dim});
  Tensor q = qkv_rows.select(2, 0), k = qkv_rows.select(2, 1), v = qkv_rows.select(2, 2);
  if (options.q_pool) {
    q = do_pool(q.reshape({batch, height, width, options.dim_out}), options.q_pool);
    height = q.size(1);
    width = q.size(2);
    q = q.reshape({batch, height * width, heads, head_dim});
  }
  Tensor attended = scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2));
  Tensor merged = attended.transpose(1, 2).reshape({batch, height, width, options.dim_out});
  return (*proj)(merged);
}

MultiScaleBlock::MultiScaleBlock(MultiScaleBlockOptions options, Generator* generator) : options(options) {
  QATD_CHECK(options.dim > 0 && options.dim_out > 0, "MultiScaleBlock: dim ({}) and dim_out ({}) must be positive",
             options.dim, options.dim_out);
  QATD_CHECK(options.window_size >= 0, "MultiScaleBlock: window_size must be 0 (global) or positive, got {}",
             options.window_size);
  QATD_CHECK(options.mlp_ratio > 0.0, "MultiScaleBlock: mlp_ratio must be positive, got {}", options.mlp_ratio);
  if (options.q_stride) {
    const auto [stride_h, stride_w] = *options.q_stride;
    QATD_CHECK(stride_h > 0 && stride_w > 0, "MultiScaleBlock: q_stride ({}, {}) must be positive", stride_h, stride_w);
    // The official block pools the skip path only through its projection and unpartitions the
    // pooled windows with window_size // q_stride[0]; other combinations fail there at run time.
    QATD_CHECK(options.dim != options.dim_out,
               "MultiScaleBlock: a block with q_stride must change dim (got dim = dim_out = {}), since only the "
               "projected skip path is pooled",
               options.dim);
    QATD_CHECK(options.window_size / stride_h > 0,
               "MultiScaleBlock: a block with q_stride ({}, {}) needs window_size >= {} (got {}; global attention "
               "cannot pool queries)",
               stride_h, stride_w, stride_h, options.window_size);
  }
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(Shape{options.dim}, 1e-6));
  attn = register_module(
      "attn",
      std::make_shared<MultiScaleAttention>(
          MultiScaleAttentionOptions{options.dim, options.dim_out, options.num_heads, options.q_stride}, generator));
  drop_path = register_module("drop_path", std::make_shared<DropPath>(options.drop_path, true, generator));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(Shape{options.dim_out}, 1e-6));
  const auto hidden = static_cast<int64_t>(static_cast<double>(options.dim_out) * options.mlp_ratio);
  mlp = register_module("mlp", std::make_shared<nn::MLP>(options.dim_out, hidden, options.dim_out, 2, options.act_layer,
                                                         false, generator));
  if (options.dim != options.dim_out) {
    proj = register_module("proj", std::make_shared<nn::Linear>(options.dim, options.dim_out, true, generator));
  }
}

Tensor MultiScaleBlock::forward(const Tensor& x) {
  QATD_CHECK(x.defined(), "MultiScaleBlock: input is undefined");
  QATD_CHECK(x.dim() == 4 && x.size(3) == options.dim, "MultiScaleBlock: input must be (B, H, W, {}), got {}",
             options.dim, shape_str(x.shape()));
  Tensor shortcut = x;
  Tensor normed = (*norm1)(x);
  if (proj) shortcut = do_pool((*proj)(normed), options.q_stride);

  int64_t window = options.window_size;
  std::array<int64_t, 2> size{normed.size(1), normed.size(2)};
  std::array<int64_t, 2> padded{};
  Tensor h = normed;
  if (window > 0) {
    Windows windows = window_partition(normed, window);
    h = windows.windows;
    padded = windows.padded_hw;
  }
  h = (*attn)(h);
  if (options.q_stride) {
    // Each window shrank with its queries; the map now has the pooled skip path's size.
    window = options.window_size / (*options.q_stride)[0];
    size = {shortcut.size(1), shortcut.size(2)};
    padded = {padded_extent(size[0], window), padded_extent(size[1], window)};
  }
  if (options.window_size > 0) h = window_unpartition(h, window, padded, size);

  Tensor out = add(shortcut, (*drop_path)(h));
  out = add(out, (*drop_path)((*mlp)((*norm2)(out))));
  return out;
}

Hiera::Hiera(HieraOptions options, Generator* generator) : options(options) {
  const size_t stage_count = options.stages.size();
  QATD_CHECK(stage_count > 0 && options.window_spec.size() == stage_count,
             "Hiera: stages {} and window_spec {} must be non-empty and of equal length", shape_str(options.stages),
             shape_str(options.window_spec));
  QATD_CHECK(std::all_of(options.stages.begin(), options.stages.end(), [](int64_t n) { return n > 0; }),
             "Hiera: every stage needs at least one block, got stages {}", shape_str(options.stages));
  QATD_CHECK(options.embed_dim > 0 && options.num_heads > 0,
             "Hiera: embed_dim ({}) and num_heads ({}) must be positive", options.embed_dim, options.num_heads);
  QATD_CHECK(options.q_pool >= 0 && options.q_pool <= static_cast<int64_t>(stage_count) - 1,
             "Hiera: q_pool must lie in [0, {}] (one per stage change), got {}", stage_count - 1, options.q_pool);
  QATD_CHECK(options.window_spec[0] > 0, "Hiera: window_spec[0] sizes pos_embed_window and must be positive, got {}",
             options.window_spec[0]);
  const auto [bkg_h, bkg_w] = options.window_pos_embed_bkg_spatial_size;
  QATD_CHECK(bkg_h > 0 && bkg_w > 0, "Hiera: window_pos_embed_bkg_spatial_size ({}, {}) must be positive", bkg_h,
             bkg_w);
  QATD_CHECK(options.drop_path_rate >= 0.0 && options.drop_path_rate <= 1.0,
             "Hiera: drop_path_rate must lie in [0, 1], got {}", options.drop_path_rate);

  int64_t depth = 0;
  for (int64_t blocks_in_stage : options.stages) {
    depth += blocks_in_stage;
    stage_ends.push_back(depth - 1);
  }
  for (int64_t s = 0; s < options.q_pool; ++s) q_pool_blocks.push_back(stage_ends[s] + 1);

  patch_embed = register_module(
      "patch_embed", std::make_shared<PatchEmbed>(PatchEmbedOptions{.embed_dim = options.embed_dim}, generator));
  pos_embed = zeros({1, options.embed_dim, bkg_h, bkg_w});
  pos_embed.set_requires_grad(true);
  register_parameter("pos_embed", pos_embed);
  pos_embed_window = zeros({1, options.embed_dim, options.window_spec[0], options.window_spec[0]});
  pos_embed_window.set_requires_grad(true);
  register_parameter("pos_embed_window", pos_embed_window);

  // The official rule takes float32 linspace values, so the rates here are those floats.
  const std::vector<double> drop_rates = linspace(0.0, options.drop_path_rate, depth).to_vector<double>();
  blocks = register_module("blocks", std::make_shared<nn::ModuleList>());
  int64_t dim = options.embed_dim, heads = options.num_heads;
  size_t stage = 0;
  for (int64_t i = 0; i < depth; ++i) {
    int64_t dim_out = dim;
    // The window lags one block: a stage's first block still uses the previous stage's window.
    int64_t window = contains(options.global_att_blocks, i) ? 0 : options.window_spec[stage];
    if (contains(stage_ends, i - 1)) {
      dim_out = static_cast<int64_t>(static_cast<double>(dim) * options.dim_mul);
      heads = static_cast<int64_t>(static_cast<double>(heads) * options.head_mul);
      ++stage;
    }
    MultiScaleBlockOptions block;
    block.dim = dim;
    block.dim_out = dim_out;
    block.num_heads = heads;
    block.drop_path = drop_rates[i];
    if (contains(q_pool_blocks, i)) block.q_stride = options.q_stride;
    block.window_size = window;
    blocks->append(std::make_shared<MultiScaleBlock>(block, generator));
    dim = dim_out;
  }
  if (options.return_interm_layers) {
    for (auto end = stage_ends.rbegin(); end != stage_ends.rend(); ++end) {
      channel_list.push_back(blocks->at<MultiScaleBlock>(*end).options.dim_out);
    }
  } else {
    channel_list.push_back(dim);
  }
}

Tensor Hiera::get_pos_embed(int64_t height, int64_t width) const {
  const int64_t channels = pos_embed.size(1), window = pos_embed_window.size(2);
  QATD_CHECK(height > 0 && width > 0 && height % window == 0 && width % window == 0,
             "Hiera: the patch grid ({}, {}) must tile by the window position embedding ({} x {}); the image size must "
             "be a multiple of {}",
             height, width, window, window, window * patch_embed->options.stride[0]);
  InterpolateOptions resize;
  resize.mode = InterpolateMode::bicubic;
  resize.size = std::array<int64_t, 2>{height, width};
  Tensor background = interpolate(pos_embed, resize);
  // Adding the window embedding broadcast over a (rows, window, columns, window) view is the
  // official tile-then-add without materializing the tiles.
  Tensor tiled = add(background.view({1, channels, height / window, window, width / window, window}),
                     pos_embed_window.view({1, channels, 1, window, 1, window}));
  return tiled.view({1, channels, height, width}).permute({0, 2, 3, 1});
}

std::vector<Tensor> Hiera::forward(const Tensor& x) {
  QATD_CHECK(x.defined(), "Hiera: input is undefined");
  QATD_CHECK(x.dim() == 4 && x.size(1) == patch_embed->options.in_chans,
             "Hiera: input must be images (B, {}, H, W), got {}", patch_embed->options.in_chans, shape_str(x.shape()));
  Tensor h = (*patch_embed)(x);
  h = add(h, get_pos_embed(h.size(1), h.size(2)));
  std::vector<Tensor> outputs;
  const int64_t last = stage_ends.back();
  for (int64_t i = 0; i <= last; ++i) {
    h = blocks->at<MultiScaleBlock>(i)(h);
    if (i == last || (options.return_interm_layers && contains(stage_ends, i))) {
      outputs.push_back(h.permute({0, 3, 1, 2}));
    }
  }
  return outputs;
}

}  // namespace qatd::sam2

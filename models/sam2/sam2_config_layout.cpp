// Quantities the SAM 2 modules derive from their configuration, computed as the Python constructors do.
#include <algorithm>

#include "engine/error.h"
#include "models/sam2/sam2_config.h"

namespace qatd::sam2 {
namespace {

// torch.linspace(start, end, steps) in float32, read back with .item(): PyTorch's CPU kernel
// computes the step in float and fills the first half forwards from start and the second half
// backwards from end.
std::vector<double> linspace_float32(double start, double end, int64_t steps) {
  std::vector<double> values(static_cast<size_t>(steps));
  if (steps == 1) {
    values[0] = static_cast<float>(start);
    return values;
  }
  const float first = static_cast<float>(start), last = static_cast<float>(end);
  const float step = (last - first) / static_cast<float>(steps - 1);
  const int64_t halfway = steps / 2;
  for (int64_t i = 0; i < steps; ++i) {
    float value = i < halfway ? first + step * static_cast<float>(i)
                              : last - step * static_cast<float>(steps - i - 1);
    values[static_cast<size_t>(i)] = value;
  }
  return values;
}

// Output size of a convolution or pooling window along one axis (floor mode).
int64_t window_output(int64_t input, int64_t kernel, int64_t stride, int64_t padding) {
  return (input + 2 * padding - kernel) / stride + 1;
}

}  // namespace

HieraLayout hiera_layout(const HieraConfig& trunk) {
  const auto& stages = trunk.stages;
  QATD_CHECK(!stages.empty() && trunk.window_spec.size() == stages.size() && trunk.q_pool >= 0 &&
                 trunk.q_pool < static_cast<int64_t>(stages.size()),
             "hiera_layout: needs one window size per stage and 0 <= q_pool < stages, got stages {}, window_spec {}, "
             "q_pool {}",
             stages, trunk.window_spec, trunk.q_pool);
  HieraLayout layout;
  int64_t depth = 0;
  for (int64_t blocks : stages) {
    depth += blocks;
    layout.stage_ends.push_back(depth - 1);
  }
  for (int64_t k = 0; k < trunk.q_pool; ++k) layout.q_pool_blocks.push_back(layout.stage_ends[k] + 1);

  const std::vector<double> drop_path = linspace_float32(0.0, trunk.drop_path_rate, depth);
  auto contains = [](const std::vector<int64_t>& list, int64_t value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  int64_t dim = trunk.embed_dim, num_heads = trunk.num_heads;
  size_t stage = 0;
  for (int64_t i = 0; i < depth; ++i) {
    int64_t dim_out = dim;
    // The window lags one block: a stage's first block still uses the previous stage's window.
    int64_t window_size = contains(trunk.global_att_blocks, i) ? 0 : trunk.window_spec[stage];
    if (contains(layout.stage_ends, i - 1)) {
      dim_out = static_cast<int64_t>(static_cast<double>(dim) * trunk.dim_mul);
      num_heads = static_cast<int64_t>(static_cast<double>(num_heads) * trunk.head_mul);
      ++stage;
    }
    layout.blocks.push_back({.dim = dim,
                             .dim_out = dim_out,
                             .num_heads = num_heads,
                             .window_size = window_size,
                             .q_pool = contains(layout.q_pool_blocks, i),
                             .drop_path = drop_path[static_cast<size_t>(i)]});
    dim = dim_out;
  }
  if (trunk.return_interm_layers) {
    for (auto it = layout.stage_ends.rbegin(); it != layout.stage_ends.rend(); ++it) {
      layout.channel_list.push_back(layout.blocks[static_cast<size_t>(*it)].dim_out);
    }
  } else {
    layout.channel_list.push_back(layout.blocks.back().dim_out);
  }
  return layout;
}

FeatureSizes image_encoder_feature_sizes(const ImageEncoderConfig& image_encoder, int64_t image_size) {
  const HieraConfig& trunk = image_encoder.trunk;
  const FpnNeckConfig& neck = image_encoder.neck;
  HieraLayout layout = hiera_layout(trunk);
  FeatureSizes sizes;
  const int64_t patch = window_output(image_size, 7, 4, 3);
  sizes.patch_grid = {patch, patch};
  FeatureSize current = sizes.patch_grid;
  for (size_t i = 0; i < layout.blocks.size(); ++i) {
    // MaxPool2d(kernel = stride = q_stride) on the q-pool blocks.
    if (layout.blocks[i].q_pool) {
      current = {window_output(current[0], trunk.q_stride[0], trunk.q_stride[0], 0),
                 window_output(current[1], trunk.q_stride[1], trunk.q_stride[1], 0)};
    }
    bool is_stage_end = std::find(layout.stage_ends.begin(), layout.stage_ends.end(), static_cast<int64_t>(i)) !=
                        layout.stage_ends.end();
    bool returned = i + 1 == layout.blocks.size() || (is_stage_end && trunk.return_interm_layers);
    if (returned) sizes.trunk.push_back(current);
  }
  for (const FeatureSize& level : sizes.trunk) {
    sizes.neck.push_back({window_output(level[0], neck.kernel_size, neck.stride, neck.padding),
                          window_output(level[1], neck.kernel_size, neck.stride, neck.padding)});
  }
  const int64_t kept = std::max<int64_t>(0, static_cast<int64_t>(sizes.neck.size()) - image_encoder.scalp);
  sizes.backbone_fpn.assign(sizes.neck.begin(), sizes.neck.begin() + kept);
  return sizes;
}

FeatureSizes feature_sizes(const SAM2Config& config) {
  return image_encoder_feature_sizes(config.image_encoder, config.image_size);
}

int64_t hidden_dim(const SAM2Config& config) { return config.image_encoder.neck.d_model; }

// SAM2Base takes the memory width from memory_encoder.out_proj, which is an Identity when out_dim == in_dim.
int64_t mem_dim(const SAM2Config& config) {
  const MemoryEncoderConfig& encoder = config.memory_encoder;
  return encoder.out_dim != encoder.in_dim ? encoder.out_dim : hidden_dim(config);
}

int64_t num_feature_levels(const SAM2Config& config) { return config.use_high_res_features_in_sam ? 3 : 1; }

int64_t sam_image_embedding_size(const SAM2Config& config) { return config.image_size / config.backbone_stride; }

MaskDecoderExtraArgs mask_decoder_extra_args(const SAM2Config& config) {
  return config.sam_mask_decoder_extra_args.value_or(MaskDecoderExtraArgs{});
}

}  // namespace qatd::sam2

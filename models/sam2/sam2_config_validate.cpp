// Consistency checks of a SAM 2 config: what the Python constructors assert, and what would only
// fail later as a shape mismatch in a forward pass.
#include <algorithm>
#include <string>
#include <vector>

#include "engine/error.h"
#include "models/sam2/sam2_config.h"

namespace qatd::sam2 {
namespace {

class Problems {
 public:
  template <typename... Args>
  void add(fmt::format_string<Args...> format, Args&&... args) {
    list_.push_back(fmt::format(format, std::forward<Args>(args)...));
  }

  void throw_if_any() const {
    if (list_.empty()) return;
    fail("invalid SAM 2 config:\n  {}", fmt::join(list_, "\n  "));
  }

 private:
  std::vector<std::string> list_;
};

bool one_of(const std::string& value, std::initializer_list<const char*> choices) {
  return std::any_of(choices.begin(), choices.end(), [&](const char* choice) { return value == choice; });
}

void check_position_encoding(Problems& problems, const std::string& path, const PositionEmbeddingSineConfig& pe) {
  if (pe.num_pos_feats <= 0 || pe.num_pos_feats % 2 != 0) {
    problems.add("{}.num_pos_feats: {} must be positive and even (half of the channels encode each axis)", path,
                 pe.num_pos_feats);
  }
  if (pe.temperature <= 0) problems.add("{}.temperature: {} must be positive", path, pe.temperature);
  if (pe.scale && !pe.normalize) problems.add("{}.scale: normalize should be True if scale is passed", path);
}

void check_attention(Problems& problems, const std::string& path, const RoPEAttentionConfig& attention) {
  if (attention.embedding_dim <= 0 || attention.num_heads <= 0 || attention.downsample_rate <= 0) {
    problems.add("{}: embedding_dim ({}), num_heads ({}) and downsample_rate ({}) must be positive", path,
                 attention.embedding_dim, attention.num_heads, attention.downsample_rate);
    return;
  }
  const int64_t internal_dim = attention.embedding_dim / attention.downsample_rate;
  if (internal_dim <= 0 || internal_dim % attention.num_heads != 0) {
    problems.add("{}: embedding_dim // downsample_rate = {} is not divisible by num_heads = {}", path, internal_dim,
                 attention.num_heads);
  } else if ((internal_dim / attention.num_heads) % 4 != 0) {
    problems.add("{}: the head dim {} must be a multiple of 4 (axial RoPE rotates pairs of channels on 2 axes)", path,
                 internal_dim / attention.num_heads);
  }
  if (attention.kv_in_dim && *attention.kv_in_dim <= 0) {
    problems.add("{}.kv_in_dim: {} must be positive", path, *attention.kv_in_dim);
  }
  if (attention.dropout < 0 || attention.dropout > 1) {
    problems.add("{}.dropout: {} is not a probability", path, attention.dropout);
  }
  if (attention.rope_theta <= 0) problems.add("{}.rope_theta: {} must be positive", path, attention.rope_theta);
  if (attention.feat_sizes[0] <= 0 || attention.feat_sizes[1] <= 0) {
    problems.add("{}.feat_sizes: {} must be positive", path, attention.feat_sizes);
  }
}

void check_trunk(Problems& problems, const HieraConfig& trunk) {
  const std::string path = "model.image_encoder.trunk";
  if (trunk.embed_dim <= 0) problems.add("{}.embed_dim: {} must be positive", path, trunk.embed_dim);
  if (trunk.num_heads <= 0) problems.add("{}.num_heads: {} must be positive", path, trunk.num_heads);
  if (trunk.drop_path_rate < 0 || trunk.drop_path_rate >= 1) {
    problems.add("{}.drop_path_rate: {} must be in [0, 1)", path, trunk.drop_path_rate);
  }
  if (trunk.stages.empty() || std::any_of(trunk.stages.begin(), trunk.stages.end(), [](int64_t n) { return n < 1; })) {
    problems.add("{}.stages: {} must list at least one stage, each of at least one block", path, trunk.stages);
  }
  if (trunk.window_spec.size() != trunk.stages.size()) {
    problems.add("{}.window_spec: {} has {} entries but stages {} has {} (one window size per stage)", path,
                 trunk.window_spec, trunk.window_spec.size(), trunk.stages, trunk.stages.size());
  } else if (std::any_of(trunk.window_spec.begin(), trunk.window_spec.end(), [](int64_t w) { return w < 0; }) ||
             trunk.window_spec[0] <= 0) {
    problems.add("{}.window_spec: {} must hold window sizes >= 0 (0 = global), the first one positive (it sizes "
                 "pos_embed_window)",
                 path, trunk.window_spec);
  }
  if (trunk.q_pool < 0 || trunk.q_pool >= std::max<int64_t>(1, static_cast<int64_t>(trunk.stages.size()))) {
    problems.add("{}.q_pool: {} must be in [0, {}] (the number of stage transitions)", path, trunk.q_pool,
                 std::max<int64_t>(0, static_cast<int64_t>(trunk.stages.size()) - 1));
  }
  if (trunk.q_stride[0] <= 0 || trunk.q_stride[0] != trunk.q_stride[1]) {
    problems.add("{}.q_stride: {} must be positive and square (window unpartitioning divides by q_stride[0])", path,
                 trunk.q_stride);
  }
  if (trunk.dim_mul <= 0 || trunk.head_mul <= 0) {
    problems.add("{}: dim_mul ({}) and head_mul ({}) must be positive", path, trunk.dim_mul, trunk.head_mul);
  }
  const auto& background = trunk.window_pos_embed_bkg_spatial_size;
  if (background[0] <= 0 || background[1] <= 0) {
    problems.add("{}.window_pos_embed_bkg_spatial_size: {} must be positive", path, background);
  }
  int64_t depth = 0;
  for (int64_t blocks : trunk.stages) depth += blocks;
  for (int64_t block : trunk.global_att_blocks) {
    if (block < 0 || block >= depth) {
      problems.add("{}.global_att_blocks: block {} does not exist (the trunk has {} blocks: sum of stages {})", path,
                   block, depth, trunk.stages);
    }
  }
}

void check_neck(Problems& problems, const FpnNeckConfig& neck, int64_t scalp) {
  const std::string path = "model.image_encoder.neck";
  if (neck.d_model <= 0) problems.add("{}.d_model: {} must be positive", path, neck.d_model);
  if (neck.kernel_size <= 0 || neck.stride <= 0 || neck.padding < 0) {
    problems.add("{}: kernel_size ({}), stride ({}) and padding ({}) must be positive, positive and non-negative",
                 path, neck.kernel_size, neck.stride, neck.padding);
  }
  if (!one_of(neck.fpn_interp_model, {"nearest", "bilinear", "bicubic"})) {
    problems.add("{}.fpn_interp_model: '{}' is not one of nearest, bilinear, bicubic", path, neck.fpn_interp_model);
  }
  if (!one_of(neck.fuse_type, {"sum", "avg"})) {
    problems.add("{}.fuse_type: '{}' is not one of sum, avg", path, neck.fuse_type);
  }
  const auto levels = static_cast<int64_t>(neck.backbone_channel_list.size());
  if (neck.fpn_top_down_levels) {
    for (int64_t level : *neck.fpn_top_down_levels) {
      if (level < 0 || level >= levels) {
        problems.add("{}.fpn_top_down_levels: level {} does not exist (the neck has {} levels)", path, level, levels);
      }
    }
  }
  if (scalp < 0) problems.add("model.image_encoder.scalp: {} must be non-negative", scalp);
  check_position_encoding(problems, path + ".position_encoding", neck.position_encoding);
}

void check_memory_attention(Problems& problems, const MemoryAttentionConfig& attention) {
  const std::string path = "model.memory_attention";
  const MemoryAttentionLayerConfig& layer = attention.layer;
  if (attention.d_model <= 0) problems.add("{}.d_model: {} must be positive", path, attention.d_model);
  if (attention.num_layers < 0) problems.add("{}.num_layers: {} must be non-negative", path, attention.num_layers);
  if (!one_of(layer.activation, {"relu", "gelu"})) {
    problems.add("{}.layer.activation: '{}' is not one of relu, gelu", path, layer.activation);
  }
  if (layer.dim_feedforward <= 0) {
    problems.add("{}.layer.dim_feedforward: {} must be positive", path, layer.dim_feedforward);
  }
  if (layer.dropout < 0 || layer.dropout > 1) {
    problems.add("{}.layer.dropout: {} is not a probability", path, layer.dropout);
  }
  check_attention(problems, path + ".layer.self_attention", layer.self_attention);
  check_attention(problems, path + ".layer.cross_attention", layer.cross_attention);
}

void check_memory_encoder(Problems& problems, const MemoryEncoderConfig& encoder) {
  const std::string path = "model.memory_encoder";
  if (encoder.out_dim <= 0 || encoder.in_dim <= 0) {
    problems.add("{}: out_dim ({}) and in_dim ({}) must be positive", path, encoder.out_dim, encoder.in_dim);
  }
  const MaskDownSamplerConfig& downsampler = encoder.mask_downsampler;
  if (downsampler.embed_dim <= 0 || downsampler.kernel_size <= 0 || downsampler.padding < 0) {
    problems.add("{}.mask_downsampler: embed_dim ({}) and kernel_size ({}) must be positive, padding ({}) "
                 "non-negative",
                 path, downsampler.embed_dim, downsampler.kernel_size, downsampler.padding);
  }
  if (downsampler.stride < 2 || downsampler.total_stride < 1) {
    problems.add("{}.mask_downsampler: stride ({}) must be at least 2 and total_stride ({}) positive", path,
                 downsampler.stride, downsampler.total_stride);
  } else {
    int64_t reached = 1;
    while (reached * downsampler.stride <= downsampler.total_stride) reached *= downsampler.stride;
    if (reached != downsampler.total_stride) {
      problems.add("{}.mask_downsampler.total_stride: {} is not a power of stride {}", path, downsampler.total_stride,
                   downsampler.stride);
    }
  }
  const FuserConfig& fuser = encoder.fuser;
  const CXBlockConfig& block = fuser.layer;
  if (fuser.num_layers < 0) problems.add("{}.fuser.num_layers: {} must be non-negative", path, fuser.num_layers);
  if (fuser.input_projection && !fuser.dim) {
    problems.add("{}.fuser.dim: input_projection needs dim", path);
  }
  if (block.dim <= 0 || block.kernel_size <= 0 || block.padding < 0) {
    problems.add("{}.fuser.layer: dim ({}) and kernel_size ({}) must be positive, padding ({}) non-negative", path,
                 block.dim, block.kernel_size, block.padding);
  } else if (2 * block.padding != block.kernel_size - 1) {
    problems.add("{}.fuser.layer: kernel_size {} with padding {} changes the spatial size, which the residual "
                 "connection cannot add (need 2 * padding = kernel_size - 1)",
                 path, block.kernel_size, block.padding);
  }
  if (block.drop_path < 0 || block.drop_path >= 1) {
    problems.add("{}.fuser.layer.drop_path: {} must be in [0, 1)", path, block.drop_path);
  }
  check_position_encoding(problems, path + ".position_encoding", encoder.position_encoding);
}

void check_sam2_base(Problems& problems, const SAM2Config& config) {
  if (config.image_size <= 0) problems.add("model.image_size: {} must be positive", config.image_size);
  if (config.backbone_stride <= 0) problems.add("model.backbone_stride: {} must be positive", config.backbone_stride);
  if (config.num_maskmem < 0) problems.add("model.num_maskmem: {} must be non-negative", config.num_maskmem);
  if (config.max_cond_frames_in_attn != -1 && config.max_cond_frames_in_attn < 2) {
    problems.add("model.max_cond_frames_in_attn: {} must be -1 (no limit) or at least 2",
                 config.max_cond_frames_in_attn);
  }
  if (config.memory_temporal_stride_for_eval < 1) {
    problems.add("model.memory_temporal_stride_for_eval: {} must be at least 1",
                 config.memory_temporal_stride_for_eval);
  }
  if (config.max_obj_ptrs_in_encoder < 1) {
    problems.add("model.max_obj_ptrs_in_encoder: {} must be at least 1", config.max_obj_ptrs_in_encoder);
  }
  if (config.multimask_min_pt_num < 0 || config.multimask_max_pt_num < config.multimask_min_pt_num) {
    problems.add("model.multimask_min_pt_num / multimask_max_pt_num: {} / {} must satisfy 0 <= min <= max",
                 config.multimask_min_pt_num, config.multimask_max_pt_num);
  }
  if (config.proj_tpos_enc_in_obj_ptrs && !config.add_tpos_enc_to_obj_ptrs) {
    problems.add("model.proj_tpos_enc_in_obj_ptrs: needs add_tpos_enc_to_obj_ptrs");
  }
  if (config.fixed_no_obj_ptr && !(config.pred_obj_scores && config.use_obj_ptrs_in_encoder)) {
    problems.add("model.fixed_no_obj_ptr: needs pred_obj_scores and use_obj_ptrs_in_encoder");
  }
  if (config.fill_hole_area < 0) problems.add("model.fill_hole_area: {} must be non-negative", config.fill_hole_area);
  if (config.sam_mask_decoder_extra_args && config.sam_mask_decoder_extra_args->dynamic_multimask_stability_delta < 0) {
    problems.add("model.sam_mask_decoder_extra_args.dynamic_multimask_stability_delta: {} must be non-negative",
                 config.sam_mask_decoder_extra_args->dynamic_multimask_stability_delta);
  }
  if (!config.train) return;
  const SAM2TrainConfig& train = *config.train;
  for (auto [name, probability] : {std::pair{"prob_to_use_pt_input_for_train", train.prob_to_use_pt_input_for_train},
                                   {"prob_to_use_pt_input_for_eval", train.prob_to_use_pt_input_for_eval},
                                   {"prob_to_use_box_input_for_train", train.prob_to_use_box_input_for_train},
                                   {"prob_to_use_box_input_for_eval", train.prob_to_use_box_input_for_eval},
                                   {"prob_to_sample_from_gt_for_train", train.prob_to_sample_from_gt_for_train}}) {
    if (probability < 0 || probability > 1) problems.add("model.{}: {} is not a probability", name, probability);
  }
  if (train.num_init_cond_frames_for_train < 1 || train.num_init_cond_frames_for_eval < 1) {
    problems.add("model.num_init_cond_frames_for_train / _eval: {} / {} must be at least 1",
                 train.num_init_cond_frames_for_train, train.num_init_cond_frames_for_eval);
  }
  if ((train.prob_to_use_pt_input_for_train > 0 || train.prob_to_use_pt_input_for_eval > 0) &&
      (train.num_frames_to_correct_for_train < train.num_init_cond_frames_for_train ||
       train.num_frames_to_correct_for_eval < train.num_init_cond_frames_for_eval)) {
    problems.add("model.num_frames_to_correct_for_train / _eval: {} / {} must be at least "
                 "num_init_cond_frames_for_train / _eval ({} / {}) when points are used",
                 train.num_frames_to_correct_for_train, train.num_frames_to_correct_for_eval,
                 train.num_init_cond_frames_for_train, train.num_init_cond_frames_for_eval);
  }
  if (train.num_correction_pt_per_frame < 0) {
    problems.add("model.num_correction_pt_per_frame: {} must be non-negative", train.num_correction_pt_per_frame);
  }
  if (!one_of(train.pt_sampling_for_eval, {"center", "uniform"})) {
    problems.add("model.pt_sampling_for_eval: '{}' is not one of center, uniform", train.pt_sampling_for_eval);
  }
}

// Checks that need the derived trunk layout and feature sizes; run only once the fields are sound.
void check_derived(Problems& problems, const SAM2Config& config) {
  const HieraConfig& trunk = config.image_encoder.trunk;
  const FpnNeckConfig& neck = config.image_encoder.neck;
  const HieraLayout layout = hiera_layout(trunk);
  for (size_t i = 0; i < layout.blocks.size(); ++i) {
    const HieraBlockSpec& block = layout.blocks[i];
    if (block.dim_out <= 0 || block.num_heads <= 0 || block.dim_out % block.num_heads != 0) {
      problems.add("model.image_encoder.trunk: block {} has dim_out {} and {} heads; the dim must be a positive "
                   "multiple of the heads (embed_dim * dim_mul^stage, num_heads * head_mul^stage)",
                   i, block.dim_out, block.num_heads);
    }
    if (block.q_pool && block.window_size > 0 && block.window_size < trunk.q_stride[0]) {
      problems.add("model.image_encoder.trunk: q-pool block {} has window {} smaller than q_stride {}", i,
                   block.window_size, trunk.q_stride[0]);
    }
  }
  if (neck.backbone_channel_list != layout.channel_list) {
    problems.add("model.image_encoder.neck.backbone_channel_list: {} does not match the trunk's stage dims, deepest "
                 "first: {} (embed_dim * dim_mul^i, reversed)",
                 neck.backbone_channel_list, layout.channel_list);
  }
  int64_t total_stride = 4;
  for (int64_t k = 0; k < trunk.q_pool; ++k) total_stride *= trunk.q_stride[0];
  if (config.image_size % total_stride != 0) {
    problems.add("model.image_size: {} must be a positive multiple of {} (the trunk's total stride: 4 for the patch "
                 "embedding times q_stride^q_pool)",
                 config.image_size, total_stride);
    return;
  }
  const FeatureSizes sizes = feature_sizes(config);
  if (sizes.patch_grid[0] % trunk.window_spec[0] != 0) {
    problems.add("model.image_size: the patch grid {} is not a multiple of window_spec[0] = {}, which "
                 "pos_embed_window is tiled by",
                 sizes.patch_grid[0], trunk.window_spec[0]);
  }
  if (neck.backbone_channel_list.size() == sizes.neck.size()) {
    std::vector<int64_t> top_down = neck.fpn_top_down_levels.value_or(std::vector<int64_t>{});
    if (!neck.fpn_top_down_levels) {
      for (size_t level = 0; level < sizes.neck.size(); ++level) top_down.push_back(static_cast<int64_t>(level));
    }
    for (int64_t level : top_down) {
      const auto index = static_cast<size_t>(level);
      if (index + 1 >= sizes.neck.size()) continue;
      const FeatureSize& here = sizes.neck[index];
      const FeatureSize& above = sizes.neck[index + 1];
      if (here[0] != 2 * above[0] || here[1] != 2 * above[1]) {
        problems.add("model.image_encoder.neck.fpn_top_down_levels: level {} is {}x{} but the 2x upsampled level "
                     "above it is {}x{}",
                     level, here[0], here[1], 2 * above[0], 2 * above[1]);
      }
    }
  }
  const int64_t d_model = neck.d_model;
  if (d_model % 16 != 0) {
    problems.add("model.image_encoder.neck.d_model: {} must be a multiple of 16 (the mask decoder runs 8 heads on "
                 "d_model / 2 channels and upsamples to d_model / 8)",
                 d_model);
  }
  if (neck.position_encoding.num_pos_feats != d_model) {
    problems.add("model.image_encoder.neck.position_encoding.num_pos_feats: {} must equal d_model {} (memory "
                 "attention adds it to the features)",
                 neck.position_encoding.num_pos_feats, d_model);
  }
  const int64_t levels = num_feature_levels(config);
  if (static_cast<int64_t>(sizes.backbone_fpn.size()) < levels) {
    problems.add("model.image_encoder.scalp: {} leaves {} feature levels but SAM2Base uses {}",
                 config.image_encoder.scalp, sizes.backbone_fpn.size(), levels);
    return;
  }
  const int64_t embedding = sam_image_embedding_size(config);
  for (int64_t k = 0; k < levels; ++k) {
    const FeatureSize& level = sizes.backbone_fpn[sizes.backbone_fpn.size() - 1 - static_cast<size_t>(k)];
    const int64_t expected = embedding << k;
    if (config.image_size % config.backbone_stride != 0 || level[0] != expected || level[1] != expected) {
      problems.add("model.backbone_stride: feature level {} from the end is {}x{}, but image_size {} / backbone_stride "
                   "{} asks for {}x{}",
                   k, level[0], level[1], config.image_size, config.backbone_stride, expected, expected);
    }
  }

  const MemoryAttentionConfig& attention = config.memory_attention;
  const MemoryAttentionLayerConfig& layer = attention.layer;
  const int64_t memory_dim = mem_dim(config);
  if (attention.d_model != d_model || layer.d_model != d_model) {
    problems.add("model.memory_attention: d_model ({}) and layer.d_model ({}) must equal the neck's d_model {}",
                 attention.d_model, layer.d_model, d_model);
  }
  for (auto [name, part] :
       {std::pair{"self_attention", &layer.self_attention}, {"cross_attention", &layer.cross_attention}}) {
    if (part->embedding_dim != layer.d_model) {
      problems.add("model.memory_attention.layer.{}.embedding_dim: {} must equal layer.d_model {}", name,
                   part->embedding_dim, layer.d_model);
    }
  }
  if (layer.self_attention.kv_in_dim.value_or(layer.self_attention.embedding_dim) != layer.d_model) {
    problems.add("model.memory_attention.layer.self_attention.kv_in_dim: {} must be null or layer.d_model {}",
                 layer.self_attention.kv_in_dim.value_or(layer.self_attention.embedding_dim), layer.d_model);
  }
  if (layer.cross_attention.kv_in_dim.value_or(layer.cross_attention.embedding_dim) != memory_dim) {
    problems.add("model.memory_attention.layer.cross_attention.kv_in_dim: {} must equal the memory width {} "
                 "(memory_encoder.out_dim)",
                 layer.cross_attention.kv_in_dim.value_or(layer.cross_attention.embedding_dim), memory_dim);
  }

  const MemoryEncoderConfig& encoder = config.memory_encoder;
  if (encoder.in_dim != d_model) {
    problems.add("model.memory_encoder.in_dim: {} must equal the neck's d_model {}", encoder.in_dim, d_model);
  }
  if (encoder.mask_downsampler.embed_dim != encoder.in_dim) {
    problems.add("model.memory_encoder.mask_downsampler.embed_dim: {} must equal in_dim {}",
                 encoder.mask_downsampler.embed_dim, encoder.in_dim);
  }
  if (encoder.fuser.layer.dim != encoder.in_dim ||
      (encoder.fuser.input_projection && encoder.fuser.dim != encoder.in_dim)) {
    problems.add("model.memory_encoder.fuser: layer.dim ({}) (and dim, with input_projection) must equal in_dim {}",
                 encoder.fuser.layer.dim, encoder.in_dim);
  }
  if (encoder.position_encoding.num_pos_feats != memory_dim) {
    problems.add("model.memory_encoder.position_encoding.num_pos_feats: {} must equal the memory width {}",
                 encoder.position_encoding.num_pos_feats, memory_dim);
  }
  int64_t mask_size = config.image_size;
  const MaskDownSamplerConfig& downsampler = encoder.mask_downsampler;
  for (int64_t reached = 1; reached < downsampler.total_stride; reached *= downsampler.stride) {
    mask_size = (mask_size + 2 * downsampler.padding - downsampler.kernel_size) / downsampler.stride + 1;
  }
  const FeatureSize& vision = sizes.backbone_fpn.back();
  if (mask_size != vision[0] || mask_size != vision[1]) {
    problems.add("model.memory_encoder.mask_downsampler: turns a {}x{} mask into {}x{}, but the features are {}x{}",
                 config.image_size, config.image_size, mask_size, mask_size, vision[0], vision[1]);
  }
  if (config.use_obj_ptrs_in_encoder && (memory_dim > d_model || d_model % memory_dim != 0)) {
    problems.add("model.memory_encoder.out_dim: object pointers of width {} are split into tokens of the memory "
                 "width {}, which must divide it",
                 d_model, memory_dim);
  }
}

}  // namespace

void validate(const SAM2Config& config) {
  Problems problems;
  check_trunk(problems, config.image_encoder.trunk);
  check_neck(problems, config.image_encoder.neck, config.image_encoder.scalp);
  check_memory_attention(problems, config.memory_attention);
  check_memory_encoder(problems, config.memory_encoder);
  check_sam2_base(problems, config);
  problems.throw_if_any();
  check_derived(problems, config);
  problems.throw_if_any();
}

}  // namespace qatd::sam2

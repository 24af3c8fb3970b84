// The official SAM 2 / SAM 2.1 model configs (sam2/configs/sam2{,.1}/sam2{,.1}_hiera_{t,s,b+,l}.yaml) as presets,
// with the overrides of sam2/build_sam.py.
#include <algorithm>

#include "engine/error.h"
#include "models/sam2/sam2_config.h"
#include "engine/suggest.h"
#include "models/sam2/sam2_config_internal.h"

namespace qatd::sam2 {
namespace {

enum class Version { sam2, sam2_1 };
enum class Size { tiny, small, base_plus, large };

struct PresetName {
  std::string_view name;
  std::string_view checkpoint_stem;  // the official checkpoint file name, accepted as an alias
  Version version;
  Size size;
};

constexpr PresetName kPresets[] = {
    {"sam2.1_hiera_t", "sam2.1_hiera_tiny", Version::sam2_1, Size::tiny},
    {"sam2.1_hiera_s", "sam2.1_hiera_small", Version::sam2_1, Size::small},
    {"sam2.1_hiera_b+", "sam2.1_hiera_base_plus", Version::sam2_1, Size::base_plus},
    {"sam2.1_hiera_l", "sam2.1_hiera_large", Version::sam2_1, Size::large},
    {"sam2_hiera_t", "sam2_hiera_tiny", Version::sam2, Size::tiny},
    {"sam2_hiera_s", "sam2_hiera_small", Version::sam2, Size::small},
    {"sam2_hiera_b+", "sam2_hiera_base_plus", Version::sam2, Size::base_plus},
    {"sam2_hiera_l", "sam2_hiera_large", Version::sam2, Size::large},
};

const PresetName* find_preset(std::string_view name) {
  for (const PresetName& preset : kPresets) {
    if (name == preset.name || name == preset.checkpoint_stem) return &preset;
  }
  return nullptr;
}

// The trunk (and the neck channels that follow from it) is all that differs between the sizes; b+ keeps
// Hiera's class defaults for stages, global_att_blocks and the background size.
void set_trunk(SAM2Config& config, Size size) {
  HieraConfig& trunk = config.image_encoder.trunk;
  trunk = HieraConfig{};
  switch (size) {
    case Size::tiny:
      trunk.embed_dim = 96;
      trunk.num_heads = 1;
      trunk.stages = {1, 2, 7, 2};
      trunk.global_att_blocks = {5, 7, 9};
      trunk.window_pos_embed_bkg_spatial_size = {7, 7};
      break;
    case Size::small:
      trunk.embed_dim = 96;
      trunk.num_heads = 1;
      trunk.stages = {1, 2, 11, 2};
      trunk.global_att_blocks = {7, 10, 13};
      trunk.window_pos_embed_bkg_spatial_size = {7, 7};
      break;
    case Size::base_plus:
      trunk.embed_dim = 112;
      trunk.num_heads = 2;
      break;
    case Size::large:
      trunk.embed_dim = 144;
      trunk.num_heads = 2;
      trunk.stages = {2, 6, 36, 4};
      trunk.global_att_blocks = {23, 33, 43};
      trunk.window_pos_embed_bkg_spatial_size = {7, 7};
      trunk.window_spec = {8, 4, 16, 8};
      break;
  }
  const int64_t c = trunk.embed_dim;
  config.image_encoder.neck.backbone_channel_list = {8 * c, 4 * c, 2 * c, c};
}

SAM2Config official_config(Version version, Size size) {
  SAM2Config config;
  config.image_encoder.scalp = 1;
  FpnNeckConfig& neck = config.image_encoder.neck;
  neck.position_encoding = {.num_pos_feats = 256, .temperature = 10000, .normalize = true, .scale = std::nullopt};
  neck.d_model = 256;
  neck.fpn_top_down_levels = std::vector<int64_t>{2, 3};
  neck.fpn_interp_model = "nearest";
  set_trunk(config, size);

  MemoryAttentionConfig& attention = config.memory_attention;
  attention.d_model = 256;
  attention.pos_enc_at_input = true;
  attention.num_layers = 4;
  MemoryAttentionLayerConfig& layer = attention.layer;
  layer.activation = "relu";
  layer.dim_feedforward = 2048;
  layer.dropout = 0.1;
  layer.pos_enc_at_attn = false;
  layer.d_model = 256;
  layer.pos_enc_at_cross_attn_keys = true;
  layer.pos_enc_at_cross_attn_queries = false;
  layer.self_attention = {.embedding_dim = 256,
                          .num_heads = 1,
                          .downsample_rate = 1,
                          .dropout = 0.1,
                          .rope_theta = 10000.0,
                          .feat_sizes = {64, 64}};
  layer.cross_attention = layer.self_attention;
  layer.cross_attention.rope_k_repeat = true;
  layer.cross_attention.kv_in_dim = 64;

  MemoryEncoderConfig& encoder = config.memory_encoder;
  encoder.out_dim = 64;
  encoder.position_encoding = {.num_pos_feats = 64, .temperature = 10000, .normalize = true, .scale = std::nullopt};
  encoder.mask_downsampler = {.kernel_size = 3, .stride = 2, .padding = 1};
  encoder.fuser.layer = {
      .dim = 256, .kernel_size = 7, .padding = 3, .layer_scale_init_value = 1e-6, .use_dwconv = true};
  encoder.fuser.num_layers = 2;

  config.num_maskmem = 7;
  config.image_size = 1024;
  config.sigmoid_scale_for_mem_enc = 20.0;
  config.sigmoid_bias_for_mem_enc = -10.0;
  config.use_mask_input_as_output_without_sam = true;
  config.directly_add_no_mem_embed = true;
  config.use_high_res_features_in_sam = true;
  config.multimask_output_in_sam = true;
  config.iou_prediction_use_sigmoid = true;
  config.use_obj_ptrs_in_encoder = true;
  config.only_obj_ptrs_in_the_past_for_eval = true;
  config.pred_obj_scores = true;
  config.pred_obj_scores_mlp = true;
  config.fixed_no_obj_ptr = true;
  config.multimask_output_for_tracking = true;
  config.use_multimask_token_for_obj_ptr = true;
  config.multimask_min_pt_num = 0;
  config.multimask_max_pt_num = 1;
  config.use_mlp_for_obj_ptr_proj = true;
  config.compile_image_encoder = false;
  // What SAM 2.1 changed: a no-object embedding for spatial memories and a projected, signed
  // temporal encoding of the object pointers (SAM 2.0 sets add_tpos_enc_to_obj_ptrs false).
  const bool sam2_1 = version == Version::sam2_1;
  config.no_obj_embed_spatial = sam2_1;
  config.add_tpos_enc_to_obj_ptrs = sam2_1;
  config.proj_tpos_enc_in_obj_ptrs = sam2_1;
  config.use_signed_tpos_enc_to_obj_ptrs = sam2_1;
  return config;
}

}  // namespace

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const PresetName& preset : kPresets) list.emplace_back(preset.name);
    return list;
  }();
  return names;
}

bool is_preset_name(std::string_view name) { return find_preset(name) != nullptr; }

SAM2Config preset_config(std::string_view name, BuildOverrides overrides) {
  const PresetName* preset = find_preset(name);
  if (preset == nullptr) {
    fail("unknown SAM 2 preset '{}' (did you mean {}?); presets: {}", name,
         nearest_name(name, preset_names()), fmt::join(preset_names(), ", "));
  }
  SAM2Config config = official_config(preset->version, preset->size);
  apply_build_overrides(config, overrides);
  return config;
}

void apply_build_overrides(SAM2Config& config, BuildOverrides overrides) {
  if (overrides == BuildOverrides::none) return;
  // Both builders fall back to multimask output when a single mask is unstable.
  MaskDecoderExtraArgs& extra = config.sam_mask_decoder_extra_args.emplace(
      config.sam_mask_decoder_extra_args.value_or(MaskDecoderExtraArgs{}));
  extra.dynamic_multimask_via_stability = true;
  extra.dynamic_multimask_stability_delta = 0.05;
  extra.dynamic_multimask_stability_thresh = 0.98;
  if (overrides == BuildOverrides::video_predictor) {
    config.binarize_mask_from_pts_for_mem_enc = true;
    config.fill_hole_area = 8;
  }
}

}  // namespace qatd::sam2

#pragma once
// SAM 2 / SAM 2.1 model configuration: a struct tree mirroring the `model:` block of the official
// sam2/configs/sam2.1/*.yaml (and sam2/configs/sam2/*.yaml), with the official field names.
//
// Defaults. Every field defaults to the keyword default of the Python class it belongs to. Where
// Python has no default (a required argument), the field holds the value every official config uses,
// and the file readers insist that the key is present, as Hydra's instantiation would. A
// default-constructed SAM2Config is therefore not a SAM 2 model by itself (e.g. ImageEncoder.scalp
// defaults to 0 and FpnNeck.backbone_channel_list is empty): start from preset_config().
//
// Sources (all reach the same tree through one strict reader: unknown keys, missing required keys
// and wrong types are errors naming the full dotted key path):
//   - YAML (.yaml/.yml): the official layout, read from the top-level `model:` mapping, or from
//     `trainer.model` in a training config that has no top-level `model`. `_target_` keys are
//     ignored at every level. The other top-level keys may only be the official non-model sections
//     (scratch, dataset, vos, trainer, launcher, submitit, cluster). Whole-value OmegaConf
//     interpolations such as `${scratch.resolution}` are resolved; resolvers are not supported.
//   - TOML (.toml): the same tree under a [model] table (tables [model.image_encoder.trunk], ...);
//     other top-level tables are ignored (they belong to other parts of a qatd config file). TOML has
//     no null: leave a key out to get its default (None for the Optional ones).
//   - JSON (.json): the same tree under a top-level "model" key; other top-level keys are ignored
//     (checkpoint metadata and the fixtures' meta.json carry more).
//   - Preset names (see preset_names(); the official checkpoint stems such as sam2.1_hiera_tiny are aliases).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qatd::sam2 {

// sam2.modeling.position_encoding.PositionEmbeddingSine
struct PositionEmbeddingSineConfig {
  int64_t num_pos_feats = 256;  // required in Python
  double temperature = 10000.0;
  bool normalize = true;
  std::optional<double> scale = std::nullopt;  // None means 2*pi; Python rejects a scale without normalize
  // Only used by Python to warm up a CUDA cache; carried for fidelity.
  bool warmup_cache = true;
  int64_t image_size = 1024;
  std::vector<int64_t> strides = {4, 8, 16, 32};

  bool operator==(const PositionEmbeddingSineConfig&) const = default;
};

// sam2.modeling.backbones.hieradet.Hiera
struct HieraConfig {
  int64_t embed_dim = 96;
  int64_t num_heads = 1;
  double drop_path_rate = 0.0;
  int64_t q_pool = 3;
  std::array<int64_t, 2> q_stride = {2, 2};
  std::vector<int64_t> stages = {2, 3, 16, 3};
  double dim_mul = 2.0;
  double head_mul = 2.0;
  std::array<int64_t, 2> window_pos_embed_bkg_spatial_size = {14, 14};
  std::vector<int64_t> window_spec = {8, 4, 14, 7};
  std::vector<int64_t> global_att_blocks = {12, 16, 20};  // Python's None reads as an empty list
  std::optional<std::string> weights_path = std::nullopt;
  bool return_interm_layers = true;

  bool operator==(const HieraConfig&) const = default;
};

// sam2.modeling.backbones.image_encoder.FpnNeck
struct FpnNeckConfig {
  PositionEmbeddingSineConfig position_encoding;  // required in Python
  int64_t d_model = 256;                          // required in Python
  std::vector<int64_t> backbone_channel_list;     // required in Python; deepest level first
  int64_t kernel_size = 1;
  int64_t stride = 1;
  int64_t padding = 0;
  std::string fpn_interp_model = "bilinear";  // nearest | bilinear | bicubic
  std::string fuse_type = "sum";              // sum | avg
  std::optional<std::vector<int64_t>> fpn_top_down_levels = std::nullopt;  // None means every level

  bool operator==(const FpnNeckConfig&) const = default;
};

// sam2.modeling.backbones.image_encoder.ImageEncoder
struct ImageEncoderConfig {
  HieraConfig trunk;   // required in Python
  FpnNeckConfig neck;  // required in Python
  int64_t scalp = 0;

  bool operator==(const ImageEncoderConfig&) const = default;
};

// sam2.modeling.sam.transformer.RoPEAttention, including the keyword arguments of its base Attention
struct RoPEAttentionConfig {
  int64_t embedding_dim = 256;  // required in Python
  int64_t num_heads = 1;        // required in Python
  int64_t downsample_rate = 1;
  double dropout = 0.0;
  std::optional<int64_t> kv_in_dim = std::nullopt;  // None means embedding_dim
  double rope_theta = 10000.0;
  bool rope_k_repeat = false;
  std::array<int64_t, 2> feat_sizes = {64, 64};

  bool operator==(const RoPEAttentionConfig&) const = default;
};

// sam2.modeling.memory_attention.MemoryAttentionLayer (every argument is required in Python)
struct MemoryAttentionLayerConfig {
  std::string activation = "relu";  // relu | gelu
  RoPEAttentionConfig cross_attention = {.dropout = 0.1, .kv_in_dim = 64, .rope_k_repeat = true};
  int64_t d_model = 256;
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  bool pos_enc_at_attn = false;
  bool pos_enc_at_cross_attn_keys = true;
  bool pos_enc_at_cross_attn_queries = false;
  RoPEAttentionConfig self_attention = {.dropout = 0.1};

  bool operator==(const MemoryAttentionLayerConfig&) const = default;
};

// sam2.modeling.memory_attention.MemoryAttention
struct MemoryAttentionConfig {
  int64_t d_model = 256;          // required in Python
  bool pos_enc_at_input = true;   // required in Python
  MemoryAttentionLayerConfig layer;  // required in Python
  int64_t num_layers = 4;         // required in Python
  bool batch_first = true;

  bool operator==(const MemoryAttentionConfig&) const = default;
};

// sam2.modeling.memory_encoder.MaskDownSampler
struct MaskDownSamplerConfig {
  int64_t embed_dim = 256;
  int64_t kernel_size = 4;
  int64_t stride = 4;
  int64_t padding = 0;
  int64_t total_stride = 16;

  bool operator==(const MaskDownSamplerConfig&) const = default;
};

// sam2.modeling.memory_encoder.CXBlock
struct CXBlockConfig {
  int64_t dim = 256;  // required in Python
  int64_t kernel_size = 7;
  int64_t padding = 3;
  double drop_path = 0.0;
  double layer_scale_init_value = 1e-6;  // <= 0 means no gamma parameter
  bool use_dwconv = true;

  bool operator==(const CXBlockConfig&) const = default;
};

// sam2.modeling.memory_encoder.Fuser
struct FuserConfig {
  CXBlockConfig layer;      // required in Python
  int64_t num_layers = 2;   // required in Python
  std::optional<int64_t> dim = std::nullopt;
  bool input_projection = false;

  bool operator==(const FuserConfig&) const = default;
};

// sam2.modeling.memory_encoder.MemoryEncoder
struct MemoryEncoderConfig {
  int64_t out_dim = 64;                                                   // required in Python
  MaskDownSamplerConfig mask_downsampler = {.kernel_size = 3, .stride = 2, .padding = 1};  // required
  FuserConfig fuser;                                                      // required in Python
  PositionEmbeddingSineConfig position_encoding = {.num_pos_feats = 64};  // required in Python
  int64_t in_dim = 256;

  bool operator==(const MemoryEncoderConfig&) const = default;
};

// The keyword arguments SAM2Base.sam_mask_decoder_extra_args may pass on to
// sam2.modeling.sam.mask_decoder.MaskDecoder (the others are set by SAM2Base itself).
struct MaskDecoderExtraArgs {
  bool dynamic_multimask_via_stability = false;
  double dynamic_multimask_stability_delta = 0.05;
  double dynamic_multimask_stability_thresh = 0.98;

  bool operator==(const MaskDecoderExtraArgs&) const = default;
};

// The keyword arguments training.model.sam2.SAM2Train adds to SAM2Base (add_all_frames_to_correct_as_cond,
// which SAM2VideoPredictor shares, lives in SAM2Config). They sit flat in the model block, like the rest.
struct SAM2TrainConfig {
  double prob_to_use_pt_input_for_train = 0.0;
  double prob_to_use_pt_input_for_eval = 0.0;
  double prob_to_use_box_input_for_train = 0.0;
  double prob_to_use_box_input_for_eval = 0.0;
  int64_t num_frames_to_correct_for_train = 1;
  int64_t num_frames_to_correct_for_eval = 1;
  bool rand_frames_to_correct_for_train = false;
  bool rand_frames_to_correct_for_eval = false;
  int64_t num_init_cond_frames_for_train = 1;
  int64_t num_init_cond_frames_for_eval = 1;
  bool rand_init_cond_frames_for_train = true;
  bool rand_init_cond_frames_for_eval = false;
  int64_t num_correction_pt_per_frame = 7;
  std::string pt_sampling_for_eval = "center";  // center | uniform
  double prob_to_sample_from_gt_for_train = 0.0;
  bool use_act_ckpt_iterative_pt_sampling = false;
  bool forward_backbone_per_frame_for_eval = false;
  bool freeze_image_encoder = false;

  bool operator==(const SAM2TrainConfig&) const = default;
};

// sam2.modeling.sam2_base.SAM2Base, plus the keyword arguments of sam2.sam2_video_predictor.SAM2VideoPredictor
// and (when any is given) of training.model.sam2.SAM2Train.
struct SAM2Config {
  ImageEncoderConfig image_encoder;        // required in Python
  MemoryAttentionConfig memory_attention;  // required in Python
  MemoryEncoderConfig memory_encoder;      // required in Python
  int64_t num_maskmem = 7;
  int64_t image_size = 512;
  int64_t backbone_stride = 16;
  double sigmoid_scale_for_mem_enc = 1.0;
  double sigmoid_bias_for_mem_enc = 0.0;
  bool binarize_mask_from_pts_for_mem_enc = false;
  bool use_mask_input_as_output_without_sam = false;
  int64_t max_cond_frames_in_attn = -1;
  bool directly_add_no_mem_embed = false;
  bool use_high_res_features_in_sam = false;
  bool multimask_output_in_sam = false;
  int64_t multimask_min_pt_num = 1;
  int64_t multimask_max_pt_num = 1;
  bool multimask_output_for_tracking = false;
  bool use_multimask_token_for_obj_ptr = false;
  bool iou_prediction_use_sigmoid = false;
  int64_t memory_temporal_stride_for_eval = 1;
  bool non_overlap_masks_for_mem_enc = false;
  bool use_obj_ptrs_in_encoder = false;
  int64_t max_obj_ptrs_in_encoder = 16;
  bool add_tpos_enc_to_obj_ptrs = true;
  bool proj_tpos_enc_in_obj_ptrs = false;
  bool use_signed_tpos_enc_to_obj_ptrs = false;
  bool only_obj_ptrs_in_the_past_for_eval = false;
  bool pred_obj_scores = false;
  bool pred_obj_scores_mlp = false;
  bool fixed_no_obj_ptr = false;
  bool soft_no_obj_ptr = false;
  bool use_mlp_for_obj_ptr_proj = false;
  bool no_obj_embed_spatial = false;
  // None means MaskDecoder's defaults (see mask_decoder_extra_args()).
  std::optional<MaskDecoderExtraArgs> sam_mask_decoder_extra_args = std::nullopt;
  bool compile_image_encoder = false;  // torch.compile switch; read and kept, no effect here

  // SAM2VideoPredictor
  int64_t fill_hole_area = 0;
  bool non_overlap_masks = false;
  bool clear_non_cond_mem_around_input = false;
  bool add_all_frames_to_correct_as_cond = false;  // also a SAM2Train argument

  // SAM2Train: present when the source gave any of its keys.
  std::optional<SAM2TrainConfig> train = std::nullopt;

  bool operator==(const SAM2Config&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Loading and saving.

enum class ConfigFormat { yaml, toml, json };

// The build-time overrides of sam2/build_sam.py (with apply_postprocessing=True, their default).
enum class BuildOverrides {
  none,             // the YAML file as it is
  image_predictor,  // build_sam2: sam_mask_decoder_extra_args = {true, 0.05, 0.98}
  video_predictor,  // build_sam2_video_predictor: the above, binarize_mask_from_pts_for_mem_enc, fill_hole_area 8
};

// A preset name or a file path (.yaml, .yml, .toml, .json). A file is taken literally (no build
// overrides); a preset is the official YAML with build_sam2's overrides (BuildOverrides::image_predictor),
// i.e. the model SAM2ImagePredictor runs. The result is validated.
SAM2Config load_model_config(const std::string& file_or_preset);

// The same for text already in memory; `source` names it in error messages.
SAM2Config parse_model_config(std::string_view text, ConfigFormat format, const std::string& source = "<string>");

// sam2.1_hiera_{t,s,b+,l} and sam2_hiera_{t,s,b+,l}.
const std::vector<std::string>& preset_names();
bool is_preset_name(std::string_view name);
SAM2Config preset_config(std::string_view name, BuildOverrides overrides = BuildOverrides::image_predictor);

// Applies the overrides the official builder applies on top of a config (idempotent).
void apply_build_overrides(SAM2Config& config, BuildOverrides overrides);

// The model block, official field names (optional values as null; `train` keys only when present).
nlohmann::json to_json(const SAM2Config& config);
// Reads a model block (what to_json writes, or meta.json's "model") strictly, then validates it.
SAM2Config from_json(const nlohmann::json& model_block, const std::string& source = "<json>");

// Throws qatd::Error listing every inconsistency found (one per line, each naming its key path).
void validate(const SAM2Config& config);

// ---------------------------------------------------------------------------------------------
// Derived quantities, computed exactly as the Python constructors do.

// One Hiera MultiScaleBlock as Hiera.__init__ builds it.
struct HieraBlockSpec {
  int64_t dim = 0;
  int64_t dim_out = 0;
  int64_t num_heads = 0;
  int64_t window_size = 0;  // 0 means global attention
  bool q_pool = false;      // q_stride is set (first block of a pooled stage)
  double drop_path = 0.0;   // torch.linspace(0, drop_path_rate, depth) in float32

  bool operator==(const HieraBlockSpec&) const = default;
};

struct HieraLayout {
  std::vector<HieraBlockSpec> blocks;
  std::vector<int64_t> stage_ends;     // index of the last block of each stage
  std::vector<int64_t> q_pool_blocks;  // blocks that pool q (and the skip path)
  std::vector<int64_t> channel_list;   // Hiera.channel_list: returned stage dims, deepest first
};

// Requires a structurally sound HieraConfig (non-empty stages, one window per stage, q_pool in range).
HieraLayout hiera_layout(const HieraConfig& trunk);

using FeatureSize = std::array<int64_t, 2>;  // (height, width)

struct FeatureSizes {
  FeatureSize patch_grid{};                // after PatchEmbed (7x7 conv, stride 4, padding 3)
  std::vector<FeatureSize> trunk;          // Hiera outputs in stage order (highest resolution first)
  std::vector<FeatureSize> neck;           // FpnNeck outputs, same order
  std::vector<FeatureSize> backbone_fpn;   // after the scalp; back() is vision_features
};

// For a square image of image_size pixels.
FeatureSizes image_encoder_feature_sizes(const ImageEncoderConfig& image_encoder, int64_t image_size);
FeatureSizes feature_sizes(const SAM2Config& config);  // at config.image_size

int64_t hidden_dim(const SAM2Config& config);                 // image_encoder.neck.d_model
int64_t mem_dim(const SAM2Config& config);                    // memory encoder output width
int64_t num_feature_levels(const SAM2Config& config);         // 3 with high-res features, else 1
int64_t sam_image_embedding_size(const SAM2Config& config);   // image_size / backbone_stride
MaskDecoderExtraArgs mask_decoder_extra_args(const SAM2Config& config);  // with MaskDecoder's defaults

}  // namespace qatd::sam2

// SAM 2 model configs: presets, the official YAML layout, TOML, JSON (meta.json), errors and the
// derived Hiera block table. Comparisons here are exact (configs are integers, flags and decimal
// constants), so the tolerance is 0; each test prints what it compared.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "models/sam2/sam2_config.h"
#include "tests/test_support.h"

using namespace qatd;
using namespace qatd::sam2;
using Catch::Matchers::Contains;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

std::vector<int64_t> parse_ints(const std::string& list) {
  std::vector<int64_t> values;
  std::stringstream stream(list);
  for (std::string item; std::getline(stream, item, ',');) values.push_back(std::stoll(item));
  return values;
}

struct ReferenceTable {
  std::vector<int64_t> stage_ends, q_pool_blocks, channel_list, global;
  std::vector<HieraBlockSpec> blocks;  // drop_path not listed
};

// keys/hiera_block_tables.txt: a header line per model, then "i:dim->dim_out,hH,wW[,qs] | ...".
std::map<std::string, ReferenceTable> read_block_tables() {
  std::map<std::string, ReferenceTable> tables;
  std::ifstream file(testing::fixture_path("sam2_config/hiera_block_tables.txt"));
  REQUIRE(file.good());
  const std::regex header(R"((\S+) stage_ends \[([^\]]*)\] q_pool_blocks \[([^\]]*)\] channel_list \[([^\]]*)\] )"
                          R"(global [\[(]([^\])]*)[\])])");
  const std::regex row(R"((\d+):(\d+)->(\d+),h(\d+),w(\d+)(,qs)?)");
  std::string name;
  for (std::string line; std::getline(file, line);) {
    std::smatch match;
    if (std::regex_search(line, match, header) && match.position(0) == 0) {
      name = match[1];
      tables[name] = {parse_ints(match[2]), parse_ints(match[3]), parse_ints(match[4]), parse_ints(match[5]), {}};
      continue;
    }
    for (auto it = std::sregex_iterator(line.begin(), line.end(), row); it != std::sregex_iterator(); ++it) {
      const std::smatch& block = *it;
      REQUIRE(std::stoll(block[1]) == static_cast<int64_t>(tables[name].blocks.size()));
      tables[name].blocks.push_back({.dim = std::stoll(block[2]),
                                     .dim_out = std::stoll(block[3]),
                                     .num_heads = std::stoll(block[4]),
                                     .window_size = std::stoll(block[5]),
                                     .q_pool = block[6].matched});
    }
  }
  return tables;
}

// The official config layout (sam2/configs/sam2.1/*.yaml), written out here from a few per-size values.
struct TrunkLines {
  std::string lines;  // the trunk keys the official file sets besides embed_dim and num_heads
  int64_t embed_dim;
  int64_t num_heads;
};

TrunkLines trunk_lines(const std::string& size) {
  if (size == "t") return {"stages: [1, 2, 7, 2]\n      global_att_blocks: [5, 7, 9]\n"
                           "      window_pos_embed_bkg_spatial_size: [7, 7]\n", 96, 1};
  if (size == "s") return {"stages: [1, 2, 11, 2]\n      global_att_blocks: [7, 10, 13]\n"
                           "      window_pos_embed_bkg_spatial_size: [7, 7]\n", 96, 1};
  if (size == "b+") return {"", 112, 2};
  return {"stages: [2, 6, 36, 4]\n      global_att_blocks: [23, 33, 43]\n"
          "      window_pos_embed_bkg_spatial_size: [7, 7]\n      window_spec: [8, 4, 16, 8]\n", 144, 2};
}

std::string official_layout_yaml(const std::string& size, bool sam2_1) {
  TrunkLines trunk = trunk_lines(size);
  const int64_t c = trunk.embed_dim;
  std::string text = "# @package _global_\nmodel:\n  _target_: sam2.modeling.sam2_base.SAM2Base\n"
                     "  image_encoder:\n    _target_: sam2.modeling.backbones.image_encoder.ImageEncoder\n"
                     "    scalp: 1\n    trunk:\n      _target_: sam2.modeling.backbones.hieradet.Hiera\n";
  text += "      embed_dim: " + std::to_string(c) + "\n      num_heads: " + std::to_string(trunk.num_heads) + "\n";
  if (!trunk.lines.empty()) text += "      " + trunk.lines;
  text += "    neck:\n      _target_: sam2.modeling.backbones.image_encoder.FpnNeck\n"
          "      position_encoding: {_target_: sam2.modeling.position_encoding.PositionEmbeddingSine, "
          "num_pos_feats: 256, normalize: true, scale: null, temperature: 10000}\n"
          "      d_model: 256\n";
  text += fmt::format("      backbone_channel_list: [{}, {}, {}, {}]\n", 8 * c, 4 * c, 2 * c, c);
  text += "      fpn_top_down_levels: [2, 3]\n      fpn_interp_model: nearest\n"
          "  memory_attention:\n    _target_: sam2.modeling.memory_attention.MemoryAttention\n"
          "    d_model: 256\n    pos_enc_at_input: true\n    layer:\n"
          "      _target_: sam2.modeling.memory_attention.MemoryAttentionLayer\n"
          "      activation: relu\n      dim_feedforward: 2048\n      dropout: 0.1\n      pos_enc_at_attn: false\n"
          "      self_attention:\n        _target_: sam2.modeling.sam.transformer.RoPEAttention\n"
          "        rope_theta: 10000.0\n        feat_sizes: [64, 64]\n        embedding_dim: 256\n"
          "        num_heads: 1\n        downsample_rate: 1\n        dropout: 0.1\n"
          "      d_model: 256\n      pos_enc_at_cross_attn_keys: true\n      pos_enc_at_cross_attn_queries: false\n"
          "      cross_attention:\n        _target_: sam2.modeling.sam.transformer.RoPEAttention\n"
          "        rope_theta: 10000.0\n        feat_sizes: [64, 64]\n        rope_k_repeat: True\n"
          "        embedding_dim: 256\n        num_heads: 1\n        downsample_rate: 1\n        dropout: 0.1\n"
          "        kv_in_dim: 64\n    num_layers: 4\n"
          "  memory_encoder:\n      _target_: sam2.modeling.memory_encoder.MemoryEncoder\n      out_dim: 64\n"
          "      position_encoding:\n        _target_: sam2.modeling.position_encoding.PositionEmbeddingSine\n"
          "        num_pos_feats: 64\n        normalize: true\n        scale: null\n        temperature: 10000\n"
          "      mask_downsampler:\n        _target_: sam2.modeling.memory_encoder.MaskDownSampler\n"
          "        kernel_size: 3\n        stride: 2\n        padding: 1\n"
          "      fuser:\n        _target_: sam2.modeling.memory_encoder.Fuser\n        layer:\n"
          "          _target_: sam2.modeling.memory_encoder.CXBlock\n          dim: 256\n          kernel_size: 7\n"
          "          padding: 3\n          layer_scale_init_value: 1e-6\n          use_dwconv: True\n"
          "        num_layers: 2\n"
          "  num_maskmem: 7\n  image_size: 1024\n  sigmoid_scale_for_mem_enc: 20.0\n  sigmoid_bias_for_mem_enc: -10.0\n"
          "  use_mask_input_as_output_without_sam: true\n  directly_add_no_mem_embed: true\n";
  if (sam2_1) text += "  no_obj_embed_spatial: true\n";
  text += "  use_high_res_features_in_sam: true\n  multimask_output_in_sam: true\n  iou_prediction_use_sigmoid: True\n"
          "  use_obj_ptrs_in_encoder: true\n";
  text += sam2_1 ? "  add_tpos_enc_to_obj_ptrs: true\n  proj_tpos_enc_in_obj_ptrs: true\n"
                   "  use_signed_tpos_enc_to_obj_ptrs: true\n"
                 : "  add_tpos_enc_to_obj_ptrs: false\n";
  text += "  only_obj_ptrs_in_the_past_for_eval: true\n  pred_obj_scores: true\n  pred_obj_scores_mlp: true\n"
          "  fixed_no_obj_ptr: true\n  multimask_output_for_tracking: true\n  use_multimask_token_for_obj_ptr: true\n"
          "  multimask_min_pt_num: 0\n  multimask_max_pt_num: 1\n  use_mlp_for_obj_ptr_proj: true\n"
          "  compile_image_encoder: False\n";
  return text;
}

// Replaces the first occurrence of `from` (which must exist) in the text.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string tiny_yaml() { return official_layout_yaml("t", true); }

// The micro model of tests/fixtures/sam2_micro_a/meta.json, as TOML.
std::string micro_toml() {
  return R"(
[model]
num_maskmem = 3
image_size = 256
sigmoid_scale_for_mem_enc = 20.0
sigmoid_bias_for_mem_enc = -10.0
use_mask_input_as_output_without_sam = true
directly_add_no_mem_embed = true
no_obj_embed_spatial = true
use_high_res_features_in_sam = true
multimask_output_in_sam = true
iou_prediction_use_sigmoid = true
use_obj_ptrs_in_encoder = true
add_tpos_enc_to_obj_ptrs = true
proj_tpos_enc_in_obj_ptrs = true
use_signed_tpos_enc_to_obj_ptrs = true
only_obj_ptrs_in_the_past_for_eval = true
pred_obj_scores = true
pred_obj_scores_mlp = true
fixed_no_obj_ptr = true
multimask_output_for_tracking = true
use_multimask_token_for_obj_ptr = true
multimask_min_pt_num = 0
multimask_max_pt_num = 1
use_mlp_for_obj_ptr_proj = true
compile_image_encoder = false
binarize_mask_from_pts_for_mem_enc = true
fill_hole_area = 0

[model.sam_mask_decoder_extra_args]
dynamic_multimask_via_stability = true
dynamic_multimask_stability_delta = 0.05
dynamic_multimask_stability_thresh = 0.98

[model.image_encoder]
scalp = 1

[model.image_encoder.trunk]
embed_dim = 24
num_heads = 1
stages = [1, 1, 3, 1]
global_att_blocks = [3, 4]
window_pos_embed_bkg_spatial_size = [7, 7]
window_spec = [8, 4, 14, 7]

[model.image_encoder.neck]
d_model = 32
backbone_channel_list = [192, 96, 48, 24]
fpn_top_down_levels = [2, 3]
fpn_interp_model = "nearest"
position_encoding = { num_pos_feats = 32, normalize = true, temperature = 10000 }

[model.memory_attention]
d_model = 32
pos_enc_at_input = true
num_layers = 2

[model.memory_attention.layer]
activation = "relu"
dim_feedforward = 64
dropout = 0.1
pos_enc_at_attn = false
d_model = 32
pos_enc_at_cross_attn_keys = true
pos_enc_at_cross_attn_queries = false
self_attention = { rope_theta = 10000.0, feat_sizes = [16, 16], embedding_dim = 32, num_heads = 1, dropout = 0.1 }

[model.memory_attention.layer.cross_attention]
rope_theta = 10000.0
feat_sizes = [16, 16]
rope_k_repeat = true
embedding_dim = 32
num_heads = 1
downsample_rate = 1
dropout = 0.1
kv_in_dim = 16

[model.memory_encoder]
out_dim = 16
in_dim = 32
position_encoding = { num_pos_feats = 16, normalize = true, temperature = 10000 }
mask_downsampler = { embed_dim = 32, kernel_size = 3, stride = 2, padding = 1 }
fuser = { num_layers = 2, layer = { dim = 32, kernel_size = 7, padding = 3, layer_scale_init_value = 1e-6 } }

[train]
note = "other tables belong to other parts of a qatd config"
)";
}

std::string error_of(const std::function<void()>& run) {
  try {
    run();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("sam2 config: every preset validates and its Hiera block table matches the reference", "[sam2][config]") {
  const auto tables = read_block_tables();
  REQUIRE(tables.size() == 4);
  for (const std::string& name : preset_names()) {
    SAM2Config config = preset_config(name);
    REQUIRE_NOTHROW(validate(config));
    const std::string reference_name = name.rfind("sam2.1_", 0) == 0 ? name : "sam2.1_" + name.substr(5);
    const ReferenceTable& reference = tables.at(reference_name);
    HieraLayout layout = hiera_layout(config.image_encoder.trunk);
    CHECK(layout.stage_ends == reference.stage_ends);
    CHECK(layout.q_pool_blocks == reference.q_pool_blocks);
    CHECK(layout.channel_list == reference.channel_list);
    CHECK(config.image_encoder.trunk.global_att_blocks == reference.global);
    CHECK(config.image_encoder.neck.backbone_channel_list == reference.channel_list);
    REQUIRE(layout.blocks.size() == reference.blocks.size());
    size_t mismatches = 0;
    for (size_t i = 0; i < layout.blocks.size(); ++i) {
      HieraBlockSpec ours = layout.blocks[i];
      ours.drop_path = 0.0;  // the inference configs have drop_path_rate 0
      CHECK(layout.blocks[i].drop_path == 0.0);
      if (!(ours == reference.blocks[i])) ++mismatches;
      CHECK(ours == reference.blocks[i]);
    }
    std::printf("[sam2 config] %-15s %2zu blocks vs %s: %zu mismatches (exact)\n", name.c_str(), layout.blocks.size(),
                reference_name.c_str(), mismatches);
  }
}

TEST_CASE("sam2 config: preset values and flavours", "[sam2][config]") {
  SAM2Config tiny = preset_config("sam2.1_hiera_t");
  CHECK(tiny == load_model_config("sam2.1_hiera_t"));
  CHECK(tiny == preset_config("sam2.1_hiera_tiny"));  // the checkpoint name is an alias
  CHECK(tiny.image_size == 1024);
  CHECK(hidden_dim(tiny) == 256);
  CHECK(mem_dim(tiny) == 64);
  CHECK(num_feature_levels(tiny) == 3);
  CHECK(sam_image_embedding_size(tiny) == 64);
  // Image flavour: build_sam2's postprocessing overrides, and nothing of the video predictor's.
  REQUIRE(tiny.sam_mask_decoder_extra_args);
  CHECK(*tiny.sam_mask_decoder_extra_args == MaskDecoderExtraArgs{true, 0.05, 0.98});
  CHECK_FALSE(tiny.binarize_mask_from_pts_for_mem_enc);
  CHECK(tiny.fill_hole_area == 0);
  SAM2Config raw = preset_config("sam2.1_hiera_t", BuildOverrides::none);
  CHECK_FALSE(raw.sam_mask_decoder_extra_args);
  CHECK(mask_decoder_extra_args(raw) == MaskDecoderExtraArgs{});
  SAM2Config video = preset_config("sam2.1_hiera_t", BuildOverrides::video_predictor);
  CHECK(video.binarize_mask_from_pts_for_mem_enc);
  CHECK(video.fill_hole_area == 8);
  apply_build_overrides(raw, BuildOverrides::image_predictor);
  CHECK(raw == tiny);

  SAM2Config old = preset_config("sam2_hiera_t");
  CHECK_FALSE(old.no_obj_embed_spatial);
  CHECK_FALSE(old.add_tpos_enc_to_obj_ptrs);
  CHECK_FALSE(old.proj_tpos_enc_in_obj_ptrs);
  CHECK_FALSE(old.use_signed_tpos_enc_to_obj_ptrs);
  CHECK(old.image_encoder == tiny.image_encoder);

  SAM2Config base_plus = preset_config("sam2.1_hiera_b+");
  CHECK(base_plus.image_encoder.trunk.window_pos_embed_bkg_spatial_size == std::array<int64_t, 2>{14, 14});
  CHECK(base_plus.image_encoder.trunk.stages == std::vector<int64_t>{2, 3, 16, 3});

  FeatureSizes sizes = feature_sizes(tiny);
  CHECK(sizes.patch_grid == FeatureSize{256, 256});
  CHECK(sizes.trunk == std::vector<FeatureSize>{{256, 256}, {128, 128}, {64, 64}, {32, 32}});
  CHECK(sizes.neck == sizes.trunk);
  CHECK(sizes.backbone_fpn == std::vector<FeatureSize>{{256, 256}, {128, 128}, {64, 64}});
  FeatureSizes small_image = image_encoder_feature_sizes(tiny.image_encoder, 512);
  CHECK(small_image.backbone_fpn == std::vector<FeatureSize>{{128, 128}, {64, 64}, {32, 32}});
}

TEST_CASE("sam2 config: drop path rates follow torch.linspace in float32", "[sam2][config]") {
  HieraConfig trunk = preset_config("sam2.1_hiera_b+").image_encoder.trunk;
  trunk.drop_path_rate = 0.1;  // the training config's value
  HieraLayout layout = hiera_layout(trunk);
  REQUIRE(layout.blocks.size() == 24);
  // torch.linspace(0, 0.1, 24)[i].item() from PyTorch 2.15.
  const std::vector<std::pair<size_t, double>> reference = {
      {0, 0.0}, {1, 0.004347826354205608}, {5, 0.021739132702350616}, {11, 0.04782608896493912},
      {12, 0.052173912525177}, {17, 0.07391304522752762}, {23, 0.10000000149011612}};
  double worst = 0.0;
  for (auto [index, value] : reference) {
    worst = std::max(worst, std::abs(layout.blocks[index].drop_path - value));
    CHECK(layout.blocks[index].drop_path == value);
  }
  std::printf("[sam2 config] drop_path vs torch.linspace(0, 0.1, 24): max abs difference %g (tolerance 0)\n", worst);
}

TEST_CASE("sam2 config: the official YAML layout reads as the preset", "[sam2][config]") {
  for (std::string size : {"t", "s", "b+", "l"}) {
    for (bool sam2_1 : {true, false}) {
      const std::string name = std::string(sam2_1 ? "sam2.1_hiera_" : "sam2_hiera_") + size;
      SAM2Config parsed = parse_model_config(official_layout_yaml(size, sam2_1), ConfigFormat::yaml, name + ".yaml");
      CHECK(parsed == preset_config(name, BuildOverrides::none));
      apply_build_overrides(parsed, BuildOverrides::video_predictor);
      CHECK(parsed == preset_config(name, BuildOverrides::video_predictor));
      std::printf("[sam2 config] YAML layout of %s equals the preset (exact)\n", name.c_str());
    }
  }
}

TEST_CASE("sam2 config: training config with trainer.model, interpolation and SAM2Train keys", "[sam2][config]") {
  std::string model = official_layout_yaml("b+", true);
  model = replaced(model, "model:\n", "");
  model = replaced(model, "# @package _global_\n", "");
  model = replaced(model, "  image_size: 1024\n", "  image_size: ${scratch.resolution}\n");
  model = replaced(model, "      num_heads: 2\n", "      num_heads: 2\n      drop_path_rate: 0.1\n");
  std::string indented;
  std::stringstream lines(model);
  for (std::string line; std::getline(lines, line);) indented += "  " + line + "\n";
  const std::string text = "scratch:\n  resolution: 1024\n  base_lr: 5.0e-6\n"
                           "dataset: {img_folder: null, multiplier: 2}\n"
                           "trainer:\n  _target_: training.trainer.Trainer\n  max_epochs: ${times:40,1}\n  model:\n" +
                           indented +
                           "    prob_to_use_pt_input_for_train: 0.5\n    num_frames_to_correct_for_train: 2\n"
                           "    add_all_frames_to_correct_as_cond: True\n    num_init_cond_frames_for_train: 2\n"
                           "    num_correction_pt_per_frame: 7\n"
                           "launcher: {num_nodes: 1, gpus_per_node: 8}\nsubmitit: {use_cluster: false}\n";
  SAM2Config config = parse_model_config(text, ConfigFormat::yaml, "train.yaml");
  CHECK(config.image_size == 1024);
  CHECK(config.image_encoder.trunk.drop_path_rate == 0.1);
  CHECK(config.add_all_frames_to_correct_as_cond);
  REQUIRE(config.train);
  CHECK(config.train->prob_to_use_pt_input_for_train == 0.5);
  CHECK(config.train->num_frames_to_correct_for_train == 2);
  CHECK(config.train->num_init_cond_frames_for_train == 2);
  CHECK(config.train->rand_init_cond_frames_for_train);  // SAM2Train's default
  CHECK(config.train->pt_sampling_for_eval == "center");
  SAM2Config round_trip = from_json(to_json(config));
  CHECK(round_trip == config);
  CHECK_FALSE(preset_config("sam2.1_hiera_b+").train);
  CHECK_FALSE(to_json(preset_config("sam2.1_hiera_b+")).contains("prob_to_use_pt_input_for_train"));
}

TEST_CASE("sam2 config: meta.json's model block, JSON round trip and TOML", "[sam2][config]") {
  const std::string meta_path = testing::fixture_path("sam2_micro_a/meta.json");
  SAM2Config micro = load_model_config(meta_path);
  CHECK(micro.image_encoder.trunk.embed_dim == 24);
  CHECK(micro.image_encoder.trunk.stages == std::vector<int64_t>{1, 1, 3, 1});
  CHECK(micro.image_encoder.neck.d_model == 32);
  CHECK(micro.memory_encoder.in_dim == 32);
  CHECK(mem_dim(micro) == 16);
  CHECK(micro.image_size == 256);
  CHECK(micro.binarize_mask_from_pts_for_mem_enc);
  CHECK(micro.fill_hole_area == 0);
  CHECK(mask_decoder_extra_args(micro) == MaskDecoderExtraArgs{true, 0.05, 0.98});
  FeatureSizes sizes = feature_sizes(micro);
  // The shapes of trunk.stage0..3 and backbone_fpn.0..2 in sam2_micro_a/image_io.safetensors.
  CHECK(sizes.trunk == std::vector<FeatureSize>{{64, 64}, {32, 32}, {16, 16}, {8, 8}});
  CHECK(sizes.backbone_fpn == std::vector<FeatureSize>{{64, 64}, {32, 32}, {16, 16}});
  HieraLayout layout = hiera_layout(micro.image_encoder.trunk);
  CHECK(layout.channel_list == std::vector<int64_t>{192, 96, 48, 24});
  CHECK(layout.q_pool_blocks == std::vector<int64_t>{1, 2, 5});

  // Every key meta.json sets comes back from to_json with the same value; the rest are defaults.
  const nlohmann::json meta = nlohmann::json::parse(read_text(meta_path))["model"];
  const nlohmann::json written = to_json(micro);
  size_t compared = 0;
  std::function<void(const nlohmann::json&, const nlohmann::json&, const std::string&)> same;
  same = [&](const nlohmann::json& expected, const nlohmann::json& got, const std::string& path) {
    if (expected.is_object()) {
      for (const auto& [key, value] : expected.items()) {
        INFO(path + "." + key);
        REQUIRE(got.contains(key));
        same(value, got[key], path + "." + key);
      }
      return;
    }
    ++compared;
    INFO(path);
    if (expected.is_number()) {
      CHECK(got.get<double>() == expected.get<double>());
    } else {
      CHECK(got == expected);
    }
  };
  same(meta, written, "model");
  std::printf("[sam2 config] meta.json model block: %zu values equal after to_json (exact)\n", compared);
  CHECK(from_json(written) == micro);
  CHECK(from_json(to_json(preset_config("sam2.1_hiera_l"))) == preset_config("sam2.1_hiera_l"));

  // The same model as TOML, under [model].
  const std::string toml = micro_toml();
  CHECK(parse_model_config(toml, ConfigFormat::toml, "micro.toml") == micro);
  std::printf("[sam2 config] TOML micro model equals meta.json's (exact)\n");
}

TEST_CASE("sam2 config: load_model_config dispatches on the extension", "[sam2][config]") {
  const auto directory = std::filesystem::temp_directory_path() / "qatd_test_sam2_config";
  std::filesystem::create_directories(directory);
  const std::string yaml_path = (directory / "tiny.YML").string();
  std::ofstream(yaml_path) << tiny_yaml();
  CHECK(load_model_config(yaml_path) == preset_config("sam2.1_hiera_t", BuildOverrides::none));
  const std::string json_path = (directory / "tiny.json").string();
  std::ofstream(json_path) << nlohmann::json{{"model", to_json(preset_config("sam2.1_hiera_t"))}}.dump(1);
  CHECK(load_model_config(json_path) == preset_config("sam2.1_hiera_t"));

  CHECK_THAT(error_of([] { load_model_config("sam2.1_hiera_tt"); }),
             Contains("neither a preset (did you mean sam2.1_hiera_t?)") &&
                 Contains("presets: sam2.1_hiera_t, sam2.1_hiera_s, sam2.1_hiera_b+, sam2.1_hiera_l, sam2_hiera_t"));
  CHECK_THAT(error_of([&] { load_model_config((directory / "missing.toml").string()); }),
             Contains("cannot open the file"));
  CHECK_THROWS_AS(preset_config("sam3_hiera_t"), Error);
  std::filesystem::remove_all(directory);
}

TEST_CASE("sam2 config: YAML scalars are typed as OmegaConf types them", "[sam2][config]") {
  std::string text = replaced(tiny_yaml(), "layer_scale_init_value: 1e-6", "layer_scale_init_value: 1.0e-6");
  text = replaced(text, "use_dwconv: True", "use_dwconv: yes");
  text = replaced(text, "num_layers: 2", "num_layers: 0x2");
  SAM2Config config = parse_model_config(text, ConfigFormat::yaml);
  CHECK(config.memory_encoder.fuser.layer.layer_scale_init_value == 1e-6);
  CHECK(config.memory_encoder.fuser.layer.use_dwconv);
  CHECK(config.memory_encoder.fuser.num_layers == 2);
  CHECK(parse_model_config(replaced(tiny_yaml(), "temperature: 10000\n", "temperature: !!float 10000\n"),
                           ConfigFormat::yaml)
            .memory_encoder.position_encoding.temperature == 10000.0);
}

TEST_CASE("sam2 config: unknown keys name their path and the closest valid key", "[sam2][config]") {
  auto yaml_error = [](const std::string& text) {
    return error_of([&] { parse_model_config(text, ConfigFormat::yaml, "test.yaml"); });
  };
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "embed_dim: 96", "embed_dims: 96")),
             Contains("test.yaml: model.image_encoder.trunk.embed_dims: unknown key (did you mean embed_dim?)"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "kv_in_dim: 64", "kv_in_dims: 64")),
             Contains("model.memory_attention.layer.cross_attention.kv_in_dims: unknown key (did you mean "
                      "kv_in_dim?)"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "  num_maskmem: 7", "  num_maskmems: 7")),
             Contains("model.num_maskmems: unknown key (did you mean num_maskmem?)"));
  CHECK_THAT(yaml_error(tiny_yaml() + "optim:\n  lr: 1\n"),
             Contains("optim: unknown top-level key") && Contains("scratch, dataset, vos, trainer, launcher"));
  CHECK_NOTHROW(parse_model_config(tiny_yaml() + "scratch: {resolution: 1024}\nlauncher: {num_nodes: 1}\n",
                                   ConfigFormat::yaml));
  CHECK_THAT(yaml_error("scratch: {resolution: 1024}\n"), Contains("no `model:` mapping"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "  num_maskmem: 7\n", "  num_maskmem: 7\n  num_maskmem: 6\n")),
             Contains("model.num_maskmem: duplicate key"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "d_model: 256\n", "d_model: [256\n")), Contains("YAML error at line"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "image_size: 1024", "image_size: ${scratch.res}")),
             Contains("model.image_size: interpolation ${scratch.res} points at a key that does not exist"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "image_size: 1024", "image_size: ${times:2,512}")),
             Contains("model.image_size: the interpolation ${times:2,512} is not supported"));

  nlohmann::json block = to_json(preset_config("sam2.1_hiera_t"));
  block["memory_encoder"]["fuser"]["layer"]["layer_scale"] = 1e-6;
  CHECK_THAT(error_of([&] { from_json(block, "meta.json"); }),
             Contains("meta.json: model.memory_encoder.fuser.layer.layer_scale: unknown key (did you mean "
                      "layer_scale_init_value?)"));
  CHECK_THAT(error_of([] { parse_model_config("[model]\nimage_sise = 1024\n", ConfigFormat::toml, "a.toml"); }),
             Contains("a.toml: model.image_sise: unknown key (did you mean image_size?)"));
  CHECK_THAT(error_of([] { parse_model_config("[modle]\nimage_size = 1024\n", ConfigFormat::toml, "a.toml"); }),
             Contains("a.toml: no [model] table"));
}

TEST_CASE("sam2 config: missing required keys and wrong types name the key and both types", "[sam2][config]") {
  auto yaml_error = [](const std::string& text) {
    return error_of([&] { parse_model_config(text, ConfigFormat::yaml, "test.yaml"); });
  };
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "embed_dim: 96", "embed_dim: \"96\"")),
             Contains("model.image_encoder.trunk.embed_dim: expected an integer, got a string (\"96\")"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "embed_dim: 96", "embed_dim: ninety-six")),
             Contains("model.image_encoder.trunk.embed_dim: expected an integer, got a string (\"ninety-six\")"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "embed_dim: 96", "embed_dim: 96.0")),
             Contains("model.image_encoder.trunk.embed_dim: expected an integer, got a number (96.0)"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "dropout: 0.1", "dropout: high")),
             Contains("model.memory_attention.layer.dropout: expected a number, got a string (\"high\")"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "pos_enc_at_input: true", "pos_enc_at_input: 1")),
             Contains("model.memory_attention.pos_enc_at_input: expected a boolean, got an integer (1)"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "stages: [1, 2, 7, 2]", "stages: [1, 2, seven, 2]")),
             Contains("model.image_encoder.trunk.stages[2]: expected an integer, got a string (\"seven\")"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "feat_sizes: [64, 64]", "feat_sizes: 64")),
             Contains("model.memory_attention.layer.self_attention.feat_sizes: expected a list of 2 integers, got an "
                      "integer (64)"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "fpn_interp_model: nearest", "fpn_interp_model: 3")),
             Contains("model.image_encoder.neck.fpn_interp_model: expected a string, got an integer (3)"));
  CHECK_THAT(yaml_error(tiny_yaml() + "  sam_mask_decoder_extra_args: true\n"),
             Contains("model.sam_mask_decoder_extra_args: expected a mapping, got a boolean (true)"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "      d_model: 256\n      backbone", "      backbone")),
             Contains("model.image_encoder.neck.d_model: missing required key"));
  CHECK_THAT(yaml_error(replaced(tiny_yaml(), "    num_layers: 4\n", "\n")),
             Contains("model.memory_attention.num_layers: missing required key"));

  nlohmann::json block = to_json(preset_config("sam2.1_hiera_t"));
  block["image_size"] = "1024";
  CHECK_THAT(error_of([&] { from_json(block); }),
             Contains("model.image_size: expected an integer, got a string (\"1024\")"));
  CHECK_THAT(error_of([] {
               const std::string text = replaced(micro_toml(), "image_size = 256", "image_size = \"big\"");
               parse_model_config(text, ConfigFormat::toml, "a.toml");
             }),
             Contains("a.toml: model.image_size: expected an integer, got a string (\"big\")"));
}

TEST_CASE("sam2 config: inconsistent values are rejected with their reason", "[sam2][config]") {
  auto invalid = [](const std::function<void(SAM2Config&)>& edit) {
    SAM2Config config = preset_config("sam2.1_hiera_t");
    edit(config);
    return error_of([&] { validate(config); });
  };
  CHECK_THAT(invalid([](SAM2Config& c) { c.image_size = 1000; }),
             Contains("model.image_size: 1000 must be a positive multiple of 32"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.image_size = -64; }), Contains("model.image_size: -64 must be positive"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.image_encoder.neck.backbone_channel_list = {768, 384, 192, 48}; }),
             Contains("model.image_encoder.neck.backbone_channel_list: [768, 384, 192, 48] does not match the "
                      "trunk's stage dims, deepest first: [768, 384, 192, 96]"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.image_encoder.trunk.window_spec = {8, 4, 14}; }),
             Contains("model.image_encoder.trunk.window_spec: [8, 4, 14] has 3 entries but stages [1, 2, 7, 2] has 4"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.image_encoder.trunk.global_att_blocks = {5, 7, 12}; }),
             Contains("model.image_encoder.trunk.global_att_blocks: block 12 does not exist (the trunk has 12 blocks"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.image_encoder.trunk.q_pool = 4; }),
             Contains("model.image_encoder.trunk.q_pool: 4 must be in [0, 3]"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.image_encoder.trunk.num_heads = 5; }),
             Contains("block 0 has dim_out 96 and 5 heads"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.memory_attention.layer.self_attention.num_heads = 3; }),
             Contains("model.memory_attention.layer.self_attention: embedding_dim // downsample_rate = 256 is not "
                      "divisible by num_heads = 3"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.memory_attention.d_model = 128; }),
             Contains("model.memory_attention: d_model (128) and layer.d_model (256) must equal the neck's d_model"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.memory_attention.layer.cross_attention.kv_in_dim = 32; }),
             Contains("cross_attention.kv_in_dim: 32 must equal the memory width 64"));
  CHECK_THAT(invalid([](SAM2Config& c) {
               c.image_encoder.neck.position_encoding.normalize = false;
               c.image_encoder.neck.position_encoding.scale = 3.0;
             }),
             Contains("model.image_encoder.neck.position_encoding.scale: normalize should be True if scale is passed"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.image_encoder.neck.fpn_interp_model = "trilinear"; }),
             Contains("fpn_interp_model: 'trilinear' is not one of nearest, bilinear, bicubic"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.image_encoder.neck.d_model = 200; }),
             Contains("model.image_encoder.neck.d_model: 200 must be a multiple of 16"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.image_encoder.scalp = 2; }),
             Contains("model.image_encoder.scalp: 2 leaves 2 feature levels but SAM2Base uses 3"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.backbone_stride = 32; }), Contains("model.backbone_stride:"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.memory_encoder.fuser.layer.padding = 2; }),
             Contains("model.memory_encoder.fuser.layer: kernel_size 7 with padding 2 changes the spatial size"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.memory_encoder.mask_downsampler.total_stride = 8; }),
             Contains("turns a 1024x1024 mask into 128x128, but the features are 64x64"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.add_tpos_enc_to_obj_ptrs = false; }),
             Contains("model.proj_tpos_enc_in_obj_ptrs: needs add_tpos_enc_to_obj_ptrs"));
  CHECK_THAT(invalid([](SAM2Config& c) { c.max_cond_frames_in_attn = 1; }),
             Contains("model.max_cond_frames_in_attn: 1 must be -1 (no limit) or at least 2"));
  // Several problems are reported together.
  std::string both = invalid([](SAM2Config& c) { c.num_maskmem = -1, c.fill_hole_area = -3; });
  CHECK_THAT(both, Contains("model.num_maskmem: -1") && Contains("model.fill_hole_area: -3"));
  // A YAML source is named in front of validation messages too.
  CHECK_THAT(error_of([] {
               parse_model_config(replaced(tiny_yaml(), "image_size: 1024", "image_size: 1000"), ConfigFormat::yaml,
                                  "odd.yaml");
             }),
             Contains("odd.yaml: invalid SAM 2 config:") && Contains("model.image_size: 1000"));
  std::printf("[sam2 config] inconsistency messages checked\n");
}

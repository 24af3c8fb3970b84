#include "models/sam2/sam2_config.h"

#include "engine/suggest.h"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "models/sam2/sam2_config_internal.h"

namespace qatd::sam2 {
namespace {

using nlohmann::json;

enum class Need { optional, required };

// The field lists, once for reading and writing, in the order of the Python signatures. A visitor has
// operator()(key, value, need) for values, nested(key, struct, need) for sub-objects and flattened()
// for the keyword arguments of a subclass that share the mapping.
template <typename V>
void visit_fields(V& v, PositionEmbeddingSineConfig& c) {
  v("num_pos_feats", c.num_pos_feats, Need::required);
  v("temperature", c.temperature);
  v("normalize", c.normalize);
  v("scale", c.scale);
  v("warmup_cache", c.warmup_cache);
  v("image_size", c.image_size);
  v("strides", c.strides);
}

template <typename V>
void visit_fields(V& v, HieraConfig& c) {
  v("embed_dim", c.embed_dim);
  v("num_heads", c.num_heads);
  v("drop_path_rate", c.drop_path_rate);
  v("q_pool", c.q_pool);
  v("q_stride", c.q_stride);
  v("stages", c.stages);
  v("dim_mul", c.dim_mul);
  v("head_mul", c.head_mul);
  v("window_pos_embed_bkg_spatial_size", c.window_pos_embed_bkg_spatial_size);
  v("window_spec", c.window_spec);
  v("global_att_blocks", c.global_att_blocks);
  v("weights_path", c.weights_path);
  v("return_interm_layers", c.return_interm_layers);
}

template <typename V>
void visit_fields(V& v, FpnNeckConfig& c) {
  v.nested("position_encoding", c.position_encoding, Need::required);
  v("d_model", c.d_model, Need::required);
  v("backbone_channel_list", c.backbone_channel_list, Need::required);
  v("kernel_size", c.kernel_size);
  v("stride", c.stride);
  v("padding", c.padding);
  v("fpn_interp_model", c.fpn_interp_model);
  v("fuse_type", c.fuse_type);
  v("fpn_top_down_levels", c.fpn_top_down_levels);
}

template <typename V>
void visit_fields(V& v, ImageEncoderConfig& c) {
  v.nested("trunk", c.trunk, Need::required);
  v.nested("neck", c.neck, Need::required);
  v("scalp", c.scalp);
}

template <typename V>
void visit_fields(V& v, RoPEAttentionConfig& c) {
  v("embedding_dim", c.embedding_dim, Need::required);
  v("num_heads", c.num_heads, Need::required);
  v("downsample_rate", c.downsample_rate);
  v("dropout", c.dropout);
  v("kv_in_dim", c.kv_in_dim);
  v("rope_theta", c.rope_theta);
  v("rope_k_repeat", c.rope_k_repeat);
  v("feat_sizes", c.feat_sizes);
}

template <typename V>
void visit_fields(V& v, MemoryAttentionLayerConfig& c) {
  v("activation", c.activation, Need::required);
  v.nested("cross_attention", c.cross_attention, Need::required);
  v("d_model", c.d_model, Need::required);
  v("dim_feedforward", c.dim_feedforward, Need::required);
  v("dropout", c.dropout, Need::required);
  v("pos_enc_at_attn", c.pos_enc_at_attn, Need::required);
  v("pos_enc_at_cross_attn_keys", c.pos_enc_at_cross_attn_keys, Need::required);
  v("pos_enc_at_cross_attn_queries", c.pos_enc_at_cross_attn_queries, Need::required);
  v.nested("self_attention", c.self_attention, Need::required);
}

template <typename V>
void visit_fields(V& v, MemoryAttentionConfig& c) {
  v("d_model", c.d_model, Need::required);
  v("pos_enc_at_input", c.pos_enc_at_input, Need::required);
  v.nested("layer", c.layer, Need::required);
  v("num_layers", c.num_layers, Need::required);
  v("batch_first", c.batch_first);
}

template <typename V>
void visit_fields(V& v, MaskDownSamplerConfig& c) {
  v("embed_dim", c.embed_dim);
  v("kernel_size", c.kernel_size);
  v("stride", c.stride);
  v("padding", c.padding);
  v("total_stride", c.total_stride);
}

template <typename V>
void visit_fields(V& v, CXBlockConfig& c) {
  v("dim", c.dim, Need::required);
  v("kernel_size", c.kernel_size);
  v("padding", c.padding);
  v("drop_path", c.drop_path);
  v("layer_scale_init_value", c.layer_scale_init_value);
  v("use_dwconv", c.use_dwconv);
}

template <typename V>
void visit_fields(V& v, FuserConfig& c) {
  v.nested("layer", c.layer, Need::required);
  v("num_layers", c.num_layers, Need::required);
  v("dim", c.dim);
  v("input_projection", c.input_projection);
}

template <typename V>
void visit_fields(V& v, MemoryEncoderConfig& c) {
  v("out_dim", c.out_dim, Need::required);
  v.nested("mask_downsampler", c.mask_downsampler, Need::required);
  v.nested("fuser", c.fuser, Need::required);
  v.nested("position_encoding", c.position_encoding, Need::required);
  v("in_dim", c.in_dim);
}

template <typename V>
void visit_fields(V& v, MaskDecoderExtraArgs& c) {
  v("dynamic_multimask_via_stability", c.dynamic_multimask_via_stability);
  v("dynamic_multimask_stability_delta", c.dynamic_multimask_stability_delta);
  v("dynamic_multimask_stability_thresh", c.dynamic_multimask_stability_thresh);
}

template <typename V>
void visit_fields(V& v, SAM2TrainConfig& c) {
  v("prob_to_use_pt_input_for_train", c.prob_to_use_pt_input_for_train);
  v("prob_to_use_pt_input_for_eval", c.prob_to_use_pt_input_for_eval);
  v("prob_to_use_box_input_for_train", c.prob_to_use_box_input_for_train);
  v("prob_to_use_box_input_for_eval", c.prob_to_use_box_input_for_eval);
  v("num_frames_to_correct_for_train", c.num_frames_to_correct_for_train);
  v("num_frames_to_correct_for_eval", c.num_frames_to_correct_for_eval);
  v("rand_frames_to_correct_for_train", c.rand_frames_to_correct_for_train);
  v("rand_frames_to_correct_for_eval", c.rand_frames_to_correct_for_eval);
  v("num_init_cond_frames_for_train", c.num_init_cond_frames_for_train);
  v("num_init_cond_frames_for_eval", c.num_init_cond_frames_for_eval);
  v("rand_init_cond_frames_for_train", c.rand_init_cond_frames_for_train);
  v("rand_init_cond_frames_for_eval", c.rand_init_cond_frames_for_eval);
  v("num_correction_pt_per_frame", c.num_correction_pt_per_frame);
  v("pt_sampling_for_eval", c.pt_sampling_for_eval);
  v("prob_to_sample_from_gt_for_train", c.prob_to_sample_from_gt_for_train);
  v("use_act_ckpt_iterative_pt_sampling", c.use_act_ckpt_iterative_pt_sampling);
  v("forward_backbone_per_frame_for_eval", c.forward_backbone_per_frame_for_eval);
  v("freeze_image_encoder", c.freeze_image_encoder);
}

template <typename V>
void visit_fields(V& v, SAM2Config& c) {
  v.nested("image_encoder", c.image_encoder, Need::required);
  v.nested("memory_attention", c.memory_attention, Need::required);
  v.nested("memory_encoder", c.memory_encoder, Need::required);
  v("num_maskmem", c.num_maskmem);
  v("image_size", c.image_size);
  v("backbone_stride", c.backbone_stride);
  v("sigmoid_scale_for_mem_enc", c.sigmoid_scale_for_mem_enc);
  v("sigmoid_bias_for_mem_enc", c.sigmoid_bias_for_mem_enc);
  v("binarize_mask_from_pts_for_mem_enc", c.binarize_mask_from_pts_for_mem_enc);
  v("use_mask_input_as_output_without_sam", c.use_mask_input_as_output_without_sam);
  v("max_cond_frames_in_attn", c.max_cond_frames_in_attn);
  v("directly_add_no_mem_embed", c.directly_add_no_mem_embed);
  v("use_high_res_features_in_sam", c.use_high_res_features_in_sam);
  v("multimask_output_in_sam", c.multimask_output_in_sam);
  v("multimask_min_pt_num", c.multimask_min_pt_num);
  v("multimask_max_pt_num", c.multimask_max_pt_num);
  v("multimask_output_for_tracking", c.multimask_output_for_tracking);
  v("use_multimask_token_for_obj_ptr", c.use_multimask_token_for_obj_ptr);
  v("iou_prediction_use_sigmoid", c.iou_prediction_use_sigmoid);
  v("memory_temporal_stride_for_eval", c.memory_temporal_stride_for_eval);
  v("non_overlap_masks_for_mem_enc", c.non_overlap_masks_for_mem_enc);
  v("use_obj_ptrs_in_encoder", c.use_obj_ptrs_in_encoder);
  v("max_obj_ptrs_in_encoder", c.max_obj_ptrs_in_encoder);
  v("add_tpos_enc_to_obj_ptrs", c.add_tpos_enc_to_obj_ptrs);
  v("proj_tpos_enc_in_obj_ptrs", c.proj_tpos_enc_in_obj_ptrs);
  v("use_signed_tpos_enc_to_obj_ptrs", c.use_signed_tpos_enc_to_obj_ptrs);
  v("only_obj_ptrs_in_the_past_for_eval", c.only_obj_ptrs_in_the_past_for_eval);
  v("pred_obj_scores", c.pred_obj_scores);
  v("pred_obj_scores_mlp", c.pred_obj_scores_mlp);
  v("fixed_no_obj_ptr", c.fixed_no_obj_ptr);
  v("soft_no_obj_ptr", c.soft_no_obj_ptr);
  v("use_mlp_for_obj_ptr_proj", c.use_mlp_for_obj_ptr_proj);
  v("no_obj_embed_spatial", c.no_obj_embed_spatial);
  v.nested("sam_mask_decoder_extra_args", c.sam_mask_decoder_extra_args);
  v("compile_image_encoder", c.compile_image_encoder);
  v("fill_hole_area", c.fill_hole_area);
  v("non_overlap_masks", c.non_overlap_masks);
  v("clear_non_cond_mem_around_input", c.clear_non_cond_mem_around_input);
  v("add_all_frames_to_correct_as_cond", c.add_all_frames_to_correct_as_cond);
  v.flattened(c.train);
}

std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return fmt::format("a boolean ({})", value.get<bool>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return fmt::format("an integer ({})", value.dump());
    case json::value_t::number_float: return fmt::format("a number ({})", value.dump());
    case json::value_t::string: return fmt::format("a string ({})", value.dump());
    case json::value_t::array: return "a list";
    case json::value_t::object: return "a mapping";
    default: return "an unsupported value";
  }
}

// Lists the keys a mapping may hold.
class KeyLister {
 public:
  template <typename T>
  void operator()(std::string_view key, T&, Need = Need::optional) {
    keys.emplace_back(key);
  }
  template <typename T>
  void nested(std::string_view key, T&, Need = Need::optional) {
    keys.emplace_back(key);
  }
  template <typename T>
  void nested(std::string_view key, std::optional<T>&) {
    keys.emplace_back(key);
  }
  template <typename T>
  void flattened(std::optional<T>&) {
    T probe{};
    visit_fields(*this, probe);
  }

  std::vector<std::string> keys;
};

// Reads one mapping of the model tree. Unknown keys are rejected first, so that a misspelt required
// key reads as the typo it is rather than as a missing key.
class Reader {
 public:
  Reader(const json& object, std::string path, const std::string& source)
      : object_(object), path_(std::move(path)), source_(source) {}

  template <typename T>
  void operator()(std::string_view key, T& value, Need need = Need::optional) {
    const json* entry = find(key);
    if (entry == nullptr) {
      if (need == Need::required) missing(key);
      return;
    }
    found_any_ = true;
    read(*entry, child(key), value);
  }

  template <typename T>
  void nested(std::string_view key, T& value, Need need = Need::optional) {
    const json* entry = find(key);
    if (entry == nullptr) {
      if (need == Need::required) missing(key);
      return;
    }
    found_any_ = true;
    read_struct(*entry, child(key), value);
  }

  template <typename T>
  void nested(std::string_view key, std::optional<T>& value) {
    const json* entry = find(key);
    if (entry == nullptr) return;
    found_any_ = true;
    if (entry->is_null()) {
      value.reset();
      return;
    }
    value.emplace();
    read_struct(*entry, child(key), *value);
  }

  // Fields of another Python class that sit in this same mapping (SAM2Train's).
  template <typename T>
  void flattened(std::optional<T>& value) {
    T candidate{};
    Reader inner(object_, path_, source_);
    visit_fields(inner, candidate);
    if (inner.found_any_) value = candidate;
  }

  // Checks the keys of the mapping against those of T, then reads them.
  template <typename T>
  void read_all(T& value) {
    KeyLister lister;
    T probe{};
    visit_fields(lister, probe);
    for (const auto& [key, unused] : object_.items()) {
      if (key == "_target_" || std::find(lister.keys.begin(), lister.keys.end(), key) != lister.keys.end()) continue;
      fail("{}: {}: unknown key (did you mean {}?)", source_, child(key), nearest_name(key, lister.keys));
    }
    visit_fields(*this, value);
  }

 private:
  const json* find(std::string_view key) const {
    auto it = object_.find(std::string(key));
    return it == object_.end() ? nullptr : &*it;
  }

  std::string child(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  [[noreturn]] void missing(std::string_view key) const {
    fail("{}: {}: missing required key (the Python class has no default for it)", source_, child(key));
  }

  [[noreturn]] void wrong_type(const std::string& path, std::string_view expected, const json& got) const {
    fail("{}: {}: expected {}, got {}", source_, path, expected, describe(got));
  }

  template <typename T>
  void read_struct(const json& entry, const std::string& path, T& value) const {
    if (!entry.is_object()) wrong_type(path, "a mapping", entry);
    Reader inner(entry, path, source_);
    inner.read_all(value);
  }

  void read(const json& entry, const std::string& path, int64_t& value) const {
    if (entry.is_number_integer() && !(entry.is_number_unsigned() &&
                                       entry.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))) {
      value = entry.get<int64_t>();
      return;
    }
    wrong_type(path, "an integer", entry);
  }

  void read(const json& entry, const std::string& path, double& value) const {
    if (!entry.is_number()) wrong_type(path, "a number", entry);
    value = entry.get<double>();
  }

  void read(const json& entry, const std::string& path, bool& value) const {
    if (!entry.is_boolean()) wrong_type(path, "a boolean", entry);
    value = entry.get<bool>();
  }

  void read(const json& entry, const std::string& path, std::string& value) const {
    if (!entry.is_string()) wrong_type(path, "a string", entry);
    value = entry.get<std::string>();
  }

  // A list of integers; null stands for Python's None where the field treats None as "no entries".
  void read(const json& entry, const std::string& path, std::vector<int64_t>& value) const {
    if (entry.is_null()) {
      value.clear();
      return;
    }
    if (!entry.is_array()) wrong_type(path, "a list of integers", entry);
    value.assign(entry.size(), 0);
    for (size_t i = 0; i < entry.size(); ++i) read(entry[i], fmt::format("{}[{}]", path, i), value[i]);
  }

  void read(const json& entry, const std::string& path, std::array<int64_t, 2>& value) const {
    if (!entry.is_array() || entry.size() != 2) wrong_type(path, "a list of 2 integers", entry);
    for (size_t i = 0; i < 2; ++i) read(entry[i], fmt::format("{}[{}]", path, i), value[i]);
  }

  template <typename T>
  void read(const json& entry, const std::string& path, std::optional<T>& value) const {
    if (entry.is_null()) {
      value.reset();
      return;
    }
    value.emplace();
    read(entry, path, *value);
  }

  const json& object_;
  std::string path_;
  const std::string& source_;
  bool found_any_ = false;
};

class Writer {
 public:
  template <typename T>
  void operator()(std::string_view key, T& value, Need = Need::optional) {
    object_[std::string(key)] = write(value);
  }

  template <typename T>
  void nested(std::string_view key, T& value, Need = Need::optional) {
    Writer inner;
    visit_fields(inner, value);
    object_[std::string(key)] = std::move(inner.object_);
  }

  template <typename T>
  void nested(std::string_view key, std::optional<T>& value) {
    if (!value) {
      object_[std::string(key)] = nullptr;
      return;
    }
    nested(key, *value);
  }

  template <typename T>
  void flattened(std::optional<T>& value) {
    if (value) visit_fields(*this, *value);
  }

  json object_ = json::object();

 private:
  template <typename T>
  static json write(const T& value) {
    return json(value);
  }

  template <typename T>
  static json write(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
  }
};

}  // namespace

namespace detail {

SAM2Config read_model_block(const nlohmann::json& model_block, const std::string& path, const std::string& source) {
  if (!model_block.is_object()) fail("{}: {}: expected a mapping, got {}", source, path, describe(model_block));
  SAM2Config config;
  Reader reader(model_block, path, source);
  reader.read_all(config);
  return config;
}

}  // namespace detail

nlohmann::json to_json(const SAM2Config& config) {
  SAM2Config copy = config;  // the field visitor takes mutable references
  Writer writer;
  visit_fields(writer, copy);
  return std::move(writer.object_);
}

SAM2Config from_json(const nlohmann::json& model_block, const std::string& source) {
  SAM2Config config = detail::read_model_block(model_block, "model", source);
  try {
    validate(config);
  } catch (const Error& error) {
    fail("{}: {}", source, error.what());
  }
  return config;
}

}  // namespace qatd::sam2

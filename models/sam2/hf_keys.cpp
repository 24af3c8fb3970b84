#include "models/sam2/hf_keys.h"

#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "engine/error.h"

namespace qatd::sam2 {

namespace {

constexpr std::string_view kPromptMatrix = "prompt_encoder.shared_embedding.positional_embedding";
constexpr std::string_view kImageMatrix = "shared_image_embedding.positional_embedding";
constexpr std::string_view kPointEmbed = "prompt_encoder.point_embed.weight";

// Key segments that only one naming uses, whatever their position.
// clang-format off
const std::set<std::string_view> kOfficialOnly = {
    "image_encoder", "trunk", "sam_prompt_encoder", "sam_mask_decoder", "obj_ptr_proj", "obj_ptr_tpos_proj",
    "maskmem_tpos_enc", "no_mem_embed", "no_mem_pos_enc", "no_obj_ptr", "no_obj_embed_spatial", "out_proj", "norm",
    "norm1", "norm2", "norm3", "norm4", "norm_final_attn", "fuser", "pix_feat_proj", "point_embeddings", "pe_layer",
};
const std::set<std::string_view> kHuggingFaceOnly = {
    "vision_encoder", "prompt_encoder", "mask_decoder", "shared_image_embedding", "object_pointer_proj",
    "temporal_positional_encoding_projection_layer", "memory_temporal_positional_encoding", "no_memory_embedding",
    "no_memory_positional_encoding", "no_object_pointer", "occlusion_spatial_embedding_parameter", "o_proj",
    "layer_norm", "layer_norm1", "layer_norm2", "layer_norm3", "layer_norm4", "layer_norm_final_attn", "memory_fuser",
    "feature_projection", "proj_in", "proj_out", "point_embed", "shared_embedding",
};
// clang-format on

// Top-level parameters and modules; a key under any other top-level name is not SAM 2's.
const std::map<std::string_view, std::string_view> kTopLevel = {
    {"no_memory_embedding", "no_mem_embed"},
    {"no_memory_positional_encoding", "no_mem_pos_enc"},
    {"no_object_pointer", "no_obj_ptr"},
    {"memory_temporal_positional_encoding", "maskmem_tpos_enc"},
    {"occlusion_spatial_embedding_parameter", "no_obj_embed_spatial"},
    {"prompt_encoder", "sam_prompt_encoder"},
    {"mask_decoder", "sam_mask_decoder"},
    {"memory_attention", "memory_attention"},
    {"memory_encoder", "memory_encoder"},
    {"mask_downsample", "mask_downsample"},
    {"object_pointer_proj", "obj_ptr_proj"},
    {"temporal_positional_encoding_projection_layer", "obj_ptr_tpos_proj"},
};

// Renames that hold wherever the segment appears.
const std::map<std::string_view, std::string_view> kSegments = {
    {"layer_norm", "norm"},
    {"layer_norm1", "norm1"},
    {"layer_norm2", "norm2"},
    {"layer_norm3", "norm3"},
    {"layer_norm4", "norm4"},
    {"layer_norm_final_attn", "norm_final_attn"},
    {"o_proj", "out_proj"},
    {"memory_fuser", "fuser"},
    {"depthwise_conv", "dwconv"},
    {"pointwise_conv1", "pwconv1"},
    {"pointwise_conv2", "pwconv2"},
    {"scale", "gamma"},
    {"feature_projection", "pix_feat_proj"},
};

const std::map<std::string_view, std::string_view> kMaskEmbed = {
    {"conv1", "0"}, {"layer_norm1", "1"}, {"conv2", "3"}, {"layer_norm2", "4"}, {"conv3", "6"}};
const std::map<std::string_view, std::string_view> kUpscaling = {
    {"upscale_conv1", "0"}, {"upscale_layer_norm", "1"}, {"upscale_conv2", "3"}};

std::vector<std::string> split(const std::string& key) {
  std::vector<std::string> segments;
  size_t start = 0;
  for (;;) {
    size_t dot = key.find('.', start);
    segments.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return segments;
    start = dot + 1;
  }
}

std::string join(const std::vector<std::string>& segments, size_t count) {
  std::string key;
  for (size_t i = 0; i < count && i < segments.size(); ++i) key += (i ? "." : "") + segments[i];
  return key;
}

bool parse_index(const std::string& text, int64_t* value) {
  if (text.empty() || text.size() > 9) return false;
  *value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    *value = *value * 10 + (c - '0');
  }
  return true;
}

// What the inverse needs from the whole state: how many layers each MLP and the mask
// downsampler have, since HF names only the first and last layer of an MLP by role.
struct Layout {
  std::map<std::string, std::set<int64_t>> mlp_hidden;  // MLP path (HF) -> indices of its layers.i
  std::set<int64_t> downsampler_layers;
};

Layout survey(const io::NamedTensors& state) {
  Layout layout;
  for (const auto& [key, tensor] : state) {
    std::vector<std::string> segments = split(key);
    for (size_t i = 0; i < segments.size(); ++i) {
      if (segments[i] == "proj_in" || segments[i] == "proj_out") layout.mlp_hidden[join(segments, i)];
    }
  }
  for (const auto& [key, tensor] : state) {
    std::vector<std::string> segments = split(key);
    int64_t index = 0;
    for (size_t i = 0; i + 1 < segments.size(); ++i) {
      if (segments[i] != "layers" || !parse_index(segments[i + 1], &index)) continue;
      if (auto mlp = layout.mlp_hidden.find(join(segments, i)); mlp != layout.mlp_hidden.end()) {
        mlp->second.insert(index);
      }
      if (i > 0 && segments[i - 1] == "mask_downsampler") layout.downsampler_layers.insert(index);
    }
  }
  return layout;
}

std::string official_key(const std::string& key, const Layout& layout, const std::string& source) {
  std::vector<std::string> in = split(key);
  std::vector<std::string> out;
  auto unknown = [&] { fail("sam2 checkpoint {}: HF key '{}' has no official SAM 2 name", source, key); };
  size_t i = 1;
  if (in[0] == "vision_encoder" && in.size() > 2 && (in[1] == "backbone" || in[1] == "neck")) {
    out = {"image_encoder", in[1] == "backbone" ? "trunk" : "neck"};
    i = 2;
  } else if (auto top = kTopLevel.find(in[0]); top != kTopLevel.end()) {
    out = {std::string(top->second)};
  } else {
    unknown();
  }
  while (i < in.size()) {
    const std::string& segment = in[i];
    const std::string previous = out.back();
    int64_t index = 0;
    if (auto mlp = layout.mlp_hidden.find(join(in, i)); mlp != layout.mlp_hidden.end()) {
      // An MLP's layers: proj_in, layers.0 .. layers.(L-3), proj_out in HF.
      int64_t layers = static_cast<int64_t>(mlp->second.size()) + 2;
      if (segment == "proj_in") {
        out.insert(out.end(), {"layers", "0"});
      } else if (segment == "proj_out") {
        out.insert(out.end(), {"layers", std::to_string(layers - 1)});
      } else if (segment == "layers" && i + 1 < in.size() && parse_index(in[i + 1], &index)) {
        out.insert(out.end(), {"layers", std::to_string(index + 1)});
        ++i;
      } else {
        unknown();
      }
    } else if (segment == "projection" && previous == "patch_embed") {
      out.push_back("proj");
    } else if (segment == "projection" && out.size() == 1 && previous == "memory_encoder") {
      out.push_back("out_proj");
    } else if (segment == "shared_embedding" && i + 1 < in.size() && in[i + 1] == "positional_embedding") {
      out.insert(out.end(), {"pe_layer", "positional_encoding_gaussian_matrix"});
      ++i;
    } else if (segment == "mask_embed" && i + 1 < in.size() && kMaskEmbed.count(in[i + 1])) {
      out.insert(out.end(), {"mask_downscaling", std::string(kMaskEmbed.at(in[i + 1]))});
      ++i;
    } else if (auto upscaling = kUpscaling.find(segment); upscaling != kUpscaling.end()) {
      out.insert(out.end(), {"output_upscaling", std::string(upscaling->second)});
    } else if (segment == "mask_downsampler" && i + 1 < in.size() && in[i + 1] == "final_conv") {
      int64_t layers = static_cast<int64_t>(layout.downsampler_layers.size());
      out.insert(out.end(), {"mask_downsampler", "encoder", std::to_string(3 * layers)});
      ++i;
    } else if (segment == "mask_downsampler" && i + 3 < in.size() && in[i + 1] == "layers" &&
               parse_index(in[i + 2], &index) && (in[i + 3] == "conv" || in[i + 3] == "layer_norm")) {
      // Each downsampling layer is conv, norm, activation: three places in the Sequential.
      out.insert(out.end(), {"mask_downsampler", "encoder", std::to_string(3 * index + (in[i + 3] == "conv" ? 0 : 1))});
      i += 3;
    } else if (auto renamed = kSegments.find(segment); renamed != kSegments.end()) {
      out.push_back(std::string(renamed->second));
    } else {
      out.push_back(segment);
    }
    ++i;
  }
  // The neck's lateral convs are wrapped in a Sequential named conv in the official module.
  if (out.size() == 5 && out[0] == "image_encoder" && out[1] == "neck" && out[2] == "convs") {
    out.insert(out.begin() + 4, "conv");
  }
  return join(out, out.size());
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  Tensor dense_a = a.contiguous(), dense_b = b.contiguous();
  return std::memcmp(dense_a.raw_data(), dense_b.raw_data(), static_cast<size_t>(a.numel()) * dtype_size(a.dtype())) ==
         0;
}

}  // namespace

KeyNaming detect_key_naming(const io::NamedTensors& state, const std::string& source) {
  const std::string* official = nullptr;
  const std::string* huggingface = nullptr;
  for (const auto& [key, tensor] : state) {
    for (const std::string& segment : split(key)) {
      if (!official && kOfficialOnly.count(segment)) official = &key;
      if (!huggingface && kHuggingFaceOnly.count(segment)) huggingface = &key;
    }
  }
  QATD_CHECK(!(official && huggingface),
             "sam2 checkpoint {}: mixes official key names ('{}') with HuggingFace transformers names ('{}')", source,
             *official, *huggingface);
  return huggingface ? KeyNaming::huggingface : KeyNaming::official;
}

io::NamedTensors official_state_from_hf(const io::NamedTensors& hf_state, const std::string& source) {
  Layout layout = survey(hf_state);
  io::NamedTensors official;
  const Tensor* prompt_matrix = nullptr;
  const Tensor* image_matrix = nullptr;
  std::set<std::string> seen;
  auto add = [&](std::string name, const Tensor& tensor, const std::string& from) {
    QATD_CHECK(seen.insert(name).second, "sam2 checkpoint {}: HF key '{}' maps to '{}', which another key took", source,
               from, name);
    official.emplace_back(std::move(name), tensor);
  };
  for (const auto& [key, tensor] : hf_state) {
    if (key == kImageMatrix) {
      image_matrix = &tensor;
      continue;
    }
    if (key == kPromptMatrix) prompt_matrix = &tensor;
    if (key == kPointEmbed) {
      // HF keeps the four point-label embeddings (1, C) each as the rows of one Embedding.
      QATD_CHECK(tensor.dim() == 2, "sam2 checkpoint {}: HF key '{}' has shape {}, expected (labels, channels)", source,
                 key, shape_str(tensor.shape()));
      for (int64_t row = 0; row < tensor.size(0); ++row) {
        add(fmt::format("sam_prompt_encoder.point_embeddings.{}.weight", row), tensor.narrow(0, row, 1), key);
      }
      continue;
    }
    add(official_key(key, layout, source), tensor, key);
  }
  if (image_matrix && prompt_matrix) {
    QATD_CHECK(same_bytes(*image_matrix, *prompt_matrix),
               "sam2 checkpoint {}: HF keys '{}' and '{}' differ; the official model has one matrix for both", source,
               kImageMatrix, kPromptMatrix);
  } else if (image_matrix) {
    add("sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", *image_matrix, std::string(kImageMatrix));
  }
  return official;
}

}  // namespace qatd::sam2

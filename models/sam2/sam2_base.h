#pragma once
// sam2/modeling/sam2_base.py: the SAM 2 model. This is the image path (image encoder, SAM
// prompt encoder and mask decoder, and the top-level parameters); memory attention, the memory
// encoder and tracking come with the video path.
#include <memory>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/nn/nn.h"
#include "models/sam2/backbones/image_encoder.h"
#include "models/sam2/sam/mask_decoder.h"
#include "models/sam2/sam/prompt_encoder.h"
#include "models/sam2/sam2_config.h"

namespace qatd::sam2 {

// SAM2Base.forward_image's result, plus the trunk's per-stage outputs (finest first), which
// parity checks and layerwise distillation look at.
struct BackboneOutput {
  Tensor vision_features;
  std::vector<Tensor> vision_pos_enc;  // finest first
  std::vector<Tensor> backbone_fpn;    // finest first; levels 0 and 1 through conv_s0 / conv_s1
  std::vector<Tensor> trunk_features;
};

// What SAM2ImagePredictor.set_image keeps: the lowest-resolution features with no_mem_embed
// added (B, C, h, w), and the high-resolution ones for the mask decoder, finest first.
struct ImageFeatures {
  Tensor image_embed;
  std::vector<Tensor> high_res_feats;
};

// sam2.modeling.sam2_base.SAM2Base
class SAM2Base : public nn::Module {
 public:
  explicit SAM2Base(SAM2Config config, Generator* generator = nullptr);
  std::string type_name() const override { return "SAM2Base"; }

  // image (B, 3, S, S), normalized, S = config.image_size.
  BackboneOutput forward_image(const Tensor& image);
  // _prepare_backbone_features on the last num_feature_levels levels, with no_mem_embed added to
  // the lowest resolution when directly_add_no_mem_embed (the single-image "no memory" case).
  ImageFeatures image_features(const BackboneOutput& backbone) const;
  // sam_prompt_encoder.get_dense_pe(): the decoder's image positional encoding (1, C, h, w).
  Tensor dense_pe() const;

  // Loads an official state dict (strict). memory_attention.* and memory_encoder.* entries are
  // accepted and kept aside (video_state) until the video path builds those modules; everything
  // else must match this model exactly, and mismatches are listed by name.
  void load_official_state(const io::NamedTensors& state);
  // The state dict with official names, including the kept video entries.
  io::NamedTensors official_state() const;

  const SAM2Config config;
  int64_t hidden_dim, mem_dim, image_size, num_feature_levels;

  std::shared_ptr<ImageEncoder> image_encoder;
  std::shared_ptr<PromptEncoder> sam_prompt_encoder;
  std::shared_ptr<MaskDecoder> sam_mask_decoder;
  Tensor maskmem_tpos_enc, no_mem_embed, no_mem_pos_enc, no_obj_ptr, no_obj_embed_spatial;
  std::shared_ptr<nn::Module> obj_ptr_proj;         // MLP or Linear, when use_obj_ptrs_in_encoder
  std::shared_ptr<nn::Linear> obj_ptr_tpos_proj;    // when proj_tpos_enc_in_obj_ptrs
  std::shared_ptr<nn::Conv2d> mask_downsample;      // when use_obj_ptrs_in_encoder

  // Official entries of modules this build does not have yet (memory_attention.*, memory_encoder.*).
  io::NamedTensors video_state;
};

}  // namespace qatd::sam2

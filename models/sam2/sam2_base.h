#pragma once
// sam2/modeling/sam2_base.py: the SAM 2 model, its image path (sam2_base.cpp) and its memory
// and tracking step (sam2_base_tracking.cpp).
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/nn/nn.h"
#include "models/sam2/backbones/image_encoder.h"
#include "models/sam2/memory_attention.h"
#include "models/sam2/memory_encoder.h"
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

// Clicks and box corners in model-input pixels: coords (B, P, 2) float32, labels (B, P) int32
// (1 positive, 0 negative, 2 and 3 box corners, -1 padding).
struct PointInputs {
  Tensor point_coords;
  Tensor point_labels;
};

// What _forward_sam_heads and _use_mask_as_output return.
struct SamOutputs {
  Tensor low_res_multimasks;   // (B, M, h, w)
  Tensor high_res_multimasks;  // (B, M, S, S)
  Tensor ious;                 // (B, M)
  Tensor low_res_masks;        // (B, 1, h, w), the best of the M
  Tensor high_res_masks;       // (B, 1, S, S)
  Tensor obj_ptr;              // (B, hidden_dim)
  Tensor object_score_logits;  // (B, 1)
};

// One frame's tracking result for one batch of objects (track_step's dict).
struct FrameOutput {
  std::optional<PointInputs> point_inputs;
  Tensor mask_inputs;
  Tensor pred_masks;           // low-resolution logits (B, 1, h, w)
  Tensor pred_masks_high_res;  // (B, 1, S, S)
  Tensor obj_ptr;
  Tensor object_score_logits;
  Tensor maskmem_features;              // undefined until the memory encoder ran
  std::vector<Tensor> maskmem_pos_enc;
};

// Frame index to output, for conditioning frames (prompted) and the others.
struct OutputDict {
  std::map<int64_t, FrameOutput> cond_frame_outputs;
  std::map<int64_t, FrameOutput> non_cond_frame_outputs;
};

// NO_OBJ_SCORE: the mask logit of a frame where the object is predicted absent.
inline constexpr double kNoObjectScore = -1024.0;

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

  // Loads an official state dict strictly; mismatches are listed by name.
  void load_official_state(const io::NamedTensors& state);
  // The state dict with official names.
  io::NamedTensors official_state() const;

  // The memory and tracking step (sam2_base_tracking.cpp). `features` is forward_image's output
  // for the frame (batched like the objects); the trailing levels feed memory and the SAM heads.
  // _forward_sam_heads: without points, a single padding point is used; a mask prompt of another
  // size is resized (bilinear, antialiased) to the prompt encoder's mask size.
  SamOutputs forward_sam_heads(const Tensor& backbone_features, const std::optional<PointInputs>& point_inputs,
                               const Tensor& mask_inputs, const std::vector<Tensor>& high_res_features,
                               bool multimask_output);
  // _use_mask_as_output: a binary mask prompt turned into logits (+-10) without the decoder.
  SamOutputs use_mask_as_output(const Tensor& backbone_features, const std::vector<Tensor>& high_res_features,
                                const Tensor& mask_inputs);
  // _prepare_memory_conditioned_features: the lowest-resolution features fused with the memory of
  // earlier frames and the object pointers (or no_mem_embed on an initial conditioning frame).
  Tensor prepare_memory_conditioned_features(int64_t frame_idx, bool is_init_cond_frame, const BackboneOutput& features,
                                             const OutputDict& output_dict, int64_t num_frames,
                                             bool track_in_reverse) const;
  // _encode_new_memory: (maskmem_features, maskmem_pos_enc).
  std::pair<Tensor, std::vector<Tensor>> encode_new_memory(const BackboneOutput& features,
                                                           const Tensor& pred_masks_high_res,
                                                           const Tensor& object_score_logits, bool is_mask_from_pts);
  FrameOutput track_step(int64_t frame_idx, bool is_init_cond_frame, const BackboneOutput& features,
                         const std::optional<PointInputs>& point_inputs, const Tensor& mask_inputs,
                         const OutputDict& output_dict, int64_t num_frames, bool track_in_reverse = false,
                         bool run_mem_encoder = true, const Tensor& prev_sam_mask_logits = Tensor());
  bool use_multimask(bool is_init_cond_frame, const std::optional<PointInputs>& point_inputs) const;
  // Keeps, at each pixel, only the highest-scoring object's logit (others clamped to <= -10).
  Tensor apply_non_overlapping_constraints(const Tensor& pred_masks) const;

  const SAM2Config config;
  int64_t hidden_dim, mem_dim, image_size, num_feature_levels;

  std::shared_ptr<ImageEncoder> image_encoder;
  std::shared_ptr<MemoryAttention> memory_attention;
  std::shared_ptr<MemoryEncoder> memory_encoder;
  std::shared_ptr<PromptEncoder> sam_prompt_encoder;
  std::shared_ptr<MaskDecoder> sam_mask_decoder;
  Tensor maskmem_tpos_enc, no_mem_embed, no_mem_pos_enc, no_obj_ptr, no_obj_embed_spatial;
  std::shared_ptr<nn::UnaryModule> obj_ptr_proj;       // MLP or Linear; Identity without use_obj_ptrs_in_encoder
  std::shared_ptr<nn::UnaryModule> obj_ptr_tpos_proj;  // Linear with proj_tpos_enc_in_obj_ptrs, else Identity
  std::shared_ptr<nn::Conv2d> mask_downsample;      // when use_obj_ptrs_in_encoder
};

}  // namespace qatd::sam2

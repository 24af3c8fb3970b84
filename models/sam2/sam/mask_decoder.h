#pragma once
// sam2/modeling/sam/mask_decoder.py: masks, IoU predictions, object scores and object-pointer
// tokens from the image embedding and the prompt embeddings.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/nn/nn.h"
#include "engine/random.h"
#include "models/sam2/sam/transformer.h"

namespace qatd::sam2 {

// The official keyword arguments with their defaults (transformer is a constructor argument).
struct MaskDecoderOptions {
  int64_t transformer_dim = 0;
  int64_t num_multimask_outputs = 3;
  nn::Activation activation = nn::Activation::gelu;
  int64_t iou_head_depth = 3;
  int64_t iou_head_hidden_dim = 256;
  bool use_high_res_features = false;
  bool iou_prediction_use_sigmoid = false;
  bool dynamic_multimask_via_stability = false;
  double dynamic_multimask_stability_delta = 0.05;
  double dynamic_multimask_stability_thresh = 0.98;
  bool pred_obj_scores = false;
  bool pred_obj_scores_mlp = false;
  bool use_multimask_token_for_obj_ptr = false;
};

// predict_masks: every mask token's output, before selection.
struct MaskPrediction {
  Tensor masks;                // (B, num_mask_tokens, 4H, 4W)
  Tensor iou_pred;             // (B, num_mask_tokens)
  Tensor mask_tokens_out;      // (B, num_mask_tokens, transformer_dim)
  Tensor object_score_logits;  // (B, 1)
};

// forward: the selected masks (3 with multimask_output, else 1) and their IoU predictions, the
// object-pointer tokens and the object score logits.
struct MaskDecoderOutput {
  Tensor masks;                // (B, 3 or 1, 4H, 4W)
  Tensor iou_pred;             // (B, 3 or 1)
  Tensor sam_tokens_out;       // (B, 3 or 1, transformer_dim)
  Tensor object_score_logits;  // (B, 1)
};

// sam2.modeling.sam.mask_decoder.MaskDecoder
class MaskDecoder : public nn::Module {
 public:
  MaskDecoder(const MaskDecoderOptions& options, std::shared_ptr<TwoWayTransformer> transformer,
              Generator* generator = nullptr);

  // image_embeddings (B, C, H, W), or (1, C, H, W) with repeat_image; image_pe (1, C, H, W);
  // sparse_prompt_embeddings (B, N, C); dense_prompt_embeddings (B or 1, C, H, W).
  // high_res_features {feat_s0 (B or 1, C/8, 4H, 4W), feat_s1 (B or 1, C/4, 2H, 2W)}, already
  // projected by conv_s0 / conv_s1 (SAM2Base.forward_image applies them); required with
  // use_high_res_features and ignored without, as in the official code.
  MaskDecoderOutput forward(const Tensor& image_embeddings, const Tensor& image_pe,
                            const Tensor& sparse_prompt_embeddings, const Tensor& dense_prompt_embeddings,
                            bool multimask_output, bool repeat_image,
                            const std::vector<Tensor>& high_res_features = {});
  MaskPrediction predict_masks(const Tensor& image_embeddings, const Tensor& image_pe,
                               const Tensor& sparse_prompt_embeddings, const Tensor& dense_prompt_embeddings,
                               bool repeat_image, const std::vector<Tensor>& high_res_features = {});
  std::string type_name() const override { return "MaskDecoder"; }

  // #(logit > delta) / #(logit > -delta) over the last two dims (1 where the denominator is 0).
  Tensor get_stability_scores(const Tensor& mask_logits) const;
  // all_mask_logits (B, num_mask_tokens, h, w), all_iou_scores (B, num_mask_tokens): token 0's mask
  // and IoU where its stability reaches the threshold, otherwise those of the multimask token
  // (1..) with the highest predicted IoU. Returns ((B, 1, h, w), (B, 1)).
  std::pair<Tensor, Tensor> dynamic_multimask_via_stability(const Tensor& all_mask_logits,
                                                            const Tensor& all_iou_scores) const;

  int64_t transformer_dim, num_multimask_outputs, num_mask_tokens;
  bool pred_obj_scores, use_multimask_token_for_obj_ptr, use_high_res_features;
  bool dynamic_multimask_via_stability_enabled;
  double dynamic_multimask_stability_delta, dynamic_multimask_stability_thresh;

  std::shared_ptr<TwoWayTransformer> transformer;
  std::shared_ptr<nn::Embedding> iou_token;
  std::shared_ptr<nn::Embedding> mask_tokens;
  std::shared_ptr<nn::Embedding> obj_score_token;  // with pred_obj_scores
  std::shared_ptr<nn::Sequential> output_upscaling;
  std::shared_ptr<nn::Conv2d> conv_s0, conv_s1;  // with use_high_res_features
  std::shared_ptr<nn::ModuleList> output_hypernetworks_mlps;
  std::shared_ptr<nn::MLP> iou_prediction_head;
  std::shared_ptr<nn::UnaryModule> pred_obj_score_head;  // Linear, or MLP with pred_obj_scores_mlp

 private:
  void check_inputs(const Tensor& image_embeddings, const Tensor& image_pe, const Tensor& sparse_prompt_embeddings,
                    const Tensor& dense_prompt_embeddings, bool repeat_image,
                    const std::vector<Tensor>& high_res_features) const;
};

}  // namespace qatd::sam2

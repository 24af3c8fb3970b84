#pragma once
// sam2/sam2_image_predictor.py: set an image once, then predict masks for any number of prompts.
#include <optional>

#include "models/sam2/sam2_base.h"
#include "models/sam2/transforms.h"

namespace qatd::sam2 {

// One prediction for one image, as SAM2ImagePredictor.predict returns it.
struct ImagePrediction {
  Tensor masks;    // (C, H, W) at the original size: logits with return_logits, else bool
  Tensor iou;      // (C)
  Tensor low_res;  // (C, h, w) logits clamped to [-32, 32], reusable as mask_input
};

// The differentiable decoder outputs behind a prediction (what training and parity look at).
struct DecoderPass {
  Tensor sparse_embeddings, dense_embeddings;
  MaskDecoderOutput decoder;  // low-resolution masks, IoU, SAM tokens, object score logits
};

// sam2.sam2_image_predictor.SAM2ImagePredictor
class SAM2ImagePredictor {
 public:
  explicit SAM2ImagePredictor(SAM2Base& model, double mask_threshold = 0.0);

  // image (H, W, 3) uint8 RGB. Runs the image encoder once (without recording gradients).
  void set_image(const Tensor& image);
  // Features of an already transformed image (1, 3, S, S) for an original size; gradients are
  // recorded when grad mode is on and the image or the model requires them.
  void set_image_tensor(const Tensor& input, const ImageHW& original_size);

  // Prompts in original-image pixels (normalize_coords) or in [0, 1]: points (N, 2) with labels
  // (N), a box (4), a previous low_res (1, h, w) as mask_input; undefined tensors mean none.
  ImagePrediction predict(const Tensor& point_coords, const Tensor& point_labels, const Tensor& box = Tensor(),
                          const Tensor& mask_input = Tensor(), bool multimask_output = true,
                          bool return_logits = false, bool normalize_coords = true);
  // The prompt encoder and mask decoder on prompts already in model input space ((1, M, 2) and
  // (1, M) as prepare_prompts gives them), recording gradients when grad mode is on.
  DecoderPass decode(const Tensor& point_coords, const Tensor& point_labels, const Tensor& mask_input,
                     bool multimask_output);

  const SAM2Transforms& transforms() const { return transforms_; }
  const ImageFeatures& features() const;
  const BackboneOutput& backbone() const;
  const ImageHW& original_size() const;

 private:
  SAM2Base& model_;
  SAM2Transforms transforms_;
  double mask_threshold_;
  std::optional<BackboneOutput> backbone_;
  std::optional<ImageFeatures> features_;
  ImageHW original_size_{0, 0};
};

}  // namespace qatd::sam2

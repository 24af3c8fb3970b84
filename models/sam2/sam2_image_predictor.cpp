#include "models/sam2/sam2_image_predictor.h"

#include "engine/engine.h"

namespace qatd::sam2 {

SAM2ImagePredictor::SAM2ImagePredictor(SAM2Base& model, double mask_threshold)
    : model_(model),
      transforms_(SAM2TransformsOptions{.resolution = model.image_size, .mask_threshold = mask_threshold}),
      mask_threshold_(mask_threshold) {}

void SAM2ImagePredictor::set_image(const Tensor& image) {
  QATD_CHECK(image.defined() && image.dim() == 3 && image.shape()[2] == 3 && image.dtype() == DType::u8,
             "SAM2ImagePredictor.set_image: expects an (H, W, 3) uint8 RGB image, got {}",
             image.defined() ? fmt::format("{} {}", shape_str(image.shape()), image.dtype()) : "nothing");
  NoGradGuard no_grad;
  set_image_tensor(transforms_.transform_image(image), {image.shape()[0], image.shape()[1]});
}

void SAM2ImagePredictor::set_image_tensor(const Tensor& input, const ImageHW& original_size) {
  QATD_CHECK(original_size[0] > 0 && original_size[1] > 0, "SAM2ImagePredictor: invalid original size {}x{}",
             original_size[1], original_size[0]);
  backbone_ = model_.forward_image(input);
  features_ = model_.image_features(*backbone_);
  original_size_ = original_size;
}

const ImageFeatures& SAM2ImagePredictor::features() const {
  QATD_CHECK(features_.has_value(), "SAM2ImagePredictor: set an image before predicting");
  return *features_;
}

const BackboneOutput& SAM2ImagePredictor::backbone() const {
  QATD_CHECK(backbone_.has_value(), "SAM2ImagePredictor: set an image before predicting");
  return *backbone_;
}

const ImageHW& SAM2ImagePredictor::original_size() const {
  features();
  return original_size_;
}

DecoderPass SAM2ImagePredictor::decode(const Tensor& point_coords, const Tensor& point_labels, const Tensor& mask_input,
                                       bool multimask_output) {
  const ImageFeatures& image = features();
  QATD_CHECK(image.image_embed.shape()[0] == 1, "SAM2ImagePredictor: one image at a time, the features hold {}",
             image.image_embed.shape()[0]);
  DecoderPass pass;
  PromptEmbeddings prompts = (*model_.sam_prompt_encoder).forward(point_coords, point_labels, Tensor(), mask_input);
  pass.sparse_embeddings = prompts.sparse_embeddings;
  pass.dense_embeddings = prompts.dense_embeddings;
  bool batched = point_coords.defined() && point_coords.shape()[0] > 1;
  pass.decoder = model_.sam_mask_decoder->forward(image.image_embed, model_.dense_pe(), prompts.sparse_embeddings,
                                                  prompts.dense_embeddings, multimask_output, batched,
                                                  image.high_res_feats);
  return pass;
}

ImagePrediction SAM2ImagePredictor::predict(const Tensor& point_coords, const Tensor& point_labels, const Tensor& box,
                                            const Tensor& mask_input, bool multimask_output, bool return_logits,
                                            bool normalize_coords) {
  const ImageHW& size = original_size();
  NoGradGuard no_grad;
  Tensor coords, labels;
  if (point_coords.defined() || box.defined()) {
    PreparedPrompts prepared =
        prepare_prompts(transforms_, point_coords, point_labels, box, size, normalize_coords);
    coords = prepared.point_coords;
    labels = prepared.point_labels;
  }
  Tensor mask = mask_input;
  if (mask.defined()) {
    mask = mask.to(DType::f32);
    if (mask.dim() == 3) mask = mask.unsqueeze(0);
  }
  DecoderPass pass = decode(coords, labels, mask, multimask_output);
  ImagePrediction prediction;
  Tensor masks = transforms_.postprocess_masks(pass.decoder.masks, size);
  prediction.low_res = clamp(pass.decoder.masks, -32.0, 32.0).squeeze(0);
  prediction.iou = pass.decoder.iou_pred.squeeze(0);
  prediction.masks = (return_logits ? masks : gt(masks, mask_threshold_)).squeeze(0);
  return prediction;
}

}  // namespace qatd::sam2

#include "train/prompted_prediction.h"

#include <algorithm>

#include "engine/autograd/grad_mode.h"
#include "engine/ops/shape_ops.h"

namespace qatd::train {

namespace {

Tensor repeated(const Tensor& single, int64_t count) {
  Shape shape = single.shape();
  shape[0] = count;
  return single.expand(shape).contiguous();
}

Tensor concatenated(const std::vector<Tensor>& parts) { return parts.size() == 1 ? parts[0] : cat(parts, 0); }

}  // namespace

ImageEmbedding embed_image(sam2::SAM2Base& model, const Tensor& image) {
  NoGradGuard no_grad;
  sam2::ImageFeatures features = model.image_features(model.forward_image(image));
  return {features.image_embed, features.high_res_feats};
}

sam2::SamOutputs predict_prompts(sam2::SAM2Base& model, const ImageEmbedding& embedding, const Tensor& coords,
                                 const Tensor& labels, const Tensor& mask_inputs, int64_t chunk) {
  NoGradGuard no_grad;
  const int64_t count = coords.size(0);
  const bool multimask = coords.size(1) <= 1;
  std::vector<Tensor> low, high, ious, lows_best, highs_best, scores;
  for (int64_t start = 0; start < count; start += chunk) {
    const int64_t length = std::min(chunk, count - start);
    std::vector<Tensor> high_res;
    for (const Tensor& level : embedding.high_res_feats) high_res.push_back(repeated(level, length));
    sam2::SamOutputs part = model.forward_sam_heads(
        repeated(embedding.image_embed, length),
        sam2::PointInputs{coords.narrow(0, start, length), labels.narrow(0, start, length)},
        mask_inputs.defined() ? mask_inputs.narrow(0, start, length) : Tensor(), high_res, multimask);
    low.push_back(part.low_res_multimasks);
    high.push_back(part.high_res_multimasks);
    ious.push_back(part.ious);
    lows_best.push_back(part.low_res_masks);
    highs_best.push_back(part.high_res_masks);
    scores.push_back(part.object_score_logits);
  }
  sam2::SamOutputs outputs;
  outputs.low_res_multimasks = concatenated(low);
  outputs.high_res_multimasks = concatenated(high);
  outputs.ious = concatenated(ious);
  outputs.low_res_masks = concatenated(lows_best);
  outputs.high_res_masks = concatenated(highs_best);
  outputs.object_score_logits = concatenated(scores);
  return outputs;
}

}  // namespace qatd::train

#include "models/sam2/sam/mask_decoder.h"

#include "engine/engine.h"

namespace qatd::sam2 {

MaskDecoder::MaskDecoder(const MaskDecoderOptions& options, std::shared_ptr<TwoWayTransformer> transformer_module,
                         Generator* generator)
    : transformer_dim(options.transformer_dim),
      num_multimask_outputs(options.num_multimask_outputs),
      num_mask_tokens(options.num_multimask_outputs + 1),
      pred_obj_scores(options.pred_obj_scores),
      use_multimask_token_for_obj_ptr(options.use_multimask_token_for_obj_ptr),
      use_high_res_features(options.use_high_res_features),
      dynamic_multimask_via_stability_enabled(options.dynamic_multimask_via_stability),
      dynamic_multimask_stability_delta(options.dynamic_multimask_stability_delta),
      dynamic_multimask_stability_thresh(options.dynamic_multimask_stability_thresh) {
  const int64_t dim = transformer_dim;
  QATD_CHECK(dim > 0 && dim % 8 == 0, "MaskDecoder: transformer_dim must be a positive multiple of 8, got {}", dim);
  QATD_CHECK(num_multimask_outputs >= 0, "MaskDecoder: num_multimask_outputs must be non-negative, got {}",
             num_multimask_outputs);
  QATD_CHECK(transformer_module != nullptr, "MaskDecoder: the transformer is missing");
  QATD_CHECK(transformer_module->embedding_dim == dim,
             "MaskDecoder: the transformer's embedding_dim {} differs from transformer_dim {}",
             transformer_module->embedding_dim, dim);
  transformer = register_module("transformer", std::move(transformer_module));
  iou_token = register_module("iou_token", std::make_shared<nn::Embedding>(1, dim, std::nullopt, generator));
  mask_tokens =
      register_module("mask_tokens", std::make_shared<nn::Embedding>(num_mask_tokens, dim, std::nullopt, generator));
  if (pred_obj_scores) {
    obj_score_token =
        register_module("obj_score_token", std::make_shared<nn::Embedding>(1, dim, std::nullopt, generator));
  }

  const ConvTranspose2dOptions stride2{.stride = {2, 2}};
  output_upscaling = register_module("output_upscaling", std::make_shared<nn::Sequential>());
  output_upscaling->append(
      std::make_shared<nn::ConvTranspose2d>(dim, dim / 4, std::array<int64_t, 2>{2, 2}, stride2, true, generator));
  output_upscaling->append(std::make_shared<nn::LayerNorm2d>(dim / 4));
  output_upscaling->append(std::make_shared<nn::ActivationLayer>(options.activation));
  output_upscaling->append(
      std::make_shared<nn::ConvTranspose2d>(dim / 4, dim / 8, std::array<int64_t, 2>{2, 2}, stride2, true, generator));
  output_upscaling->append(std::make_shared<nn::ActivationLayer>(options.activation));
  if (use_high_res_features) {
    const std::array<int64_t, 2> pointwise{1, 1};
    conv_s0 = register_module("conv_s0",
                              std::make_shared<nn::Conv2d>(dim, dim / 8, pointwise, Conv2dOptions{}, true, generator));
    conv_s1 = register_module("conv_s1",
                              std::make_shared<nn::Conv2d>(dim, dim / 4, pointwise, Conv2dOptions{}, true, generator));
  }

  output_hypernetworks_mlps = register_module("output_hypernetworks_mlps", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < num_mask_tokens; ++i) {
    output_hypernetworks_mlps->append(
        std::make_shared<nn::MLP>(dim, dim, dim / 8, 3, nn::Activation::relu, false, generator));
  }
  iou_prediction_head = register_module(
      "iou_prediction_head",
      std::make_shared<nn::MLP>(dim, options.iou_head_hidden_dim, num_mask_tokens, options.iou_head_depth,
                                nn::Activation::relu, options.iou_prediction_use_sigmoid, generator));
  if (pred_obj_scores) {
    std::shared_ptr<nn::UnaryModule> head;
    if (options.pred_obj_scores_mlp) {
      head = std::make_shared<nn::MLP>(dim, dim, 1, 3, nn::Activation::relu, false, generator);
    } else {
      head = std::make_shared<nn::Linear>(dim, 1, true, generator);
    }
    pred_obj_score_head = register_module("pred_obj_score_head", head);
  }
}

void MaskDecoder::check_inputs(const Tensor& image_embeddings, const Tensor& image_pe, const Tensor& sparse,
                               const Tensor& dense, bool repeat_image,
                               const std::vector<Tensor>& high_res_features) const {
  const int64_t dim = transformer_dim;
  QATD_CHECK(image_embeddings.defined() && image_pe.defined() && sparse.defined() && dense.defined(),
             "MaskDecoder: image_embeddings, image_pe and the sparse and dense prompt embeddings must be defined");
  QATD_CHECK(sparse.dim() == 3 && sparse.size(2) == dim,
             "MaskDecoder: sparse_prompt_embeddings must be (B, N, {}), got {}", dim, shape_str(sparse.shape()));
  const int64_t batch = sparse.size(0);
  QATD_CHECK(image_embeddings.dim() == 4 && image_embeddings.size(1) == dim,
             "MaskDecoder: image_embeddings must be (B, {}, H, W), got {}", dim, shape_str(image_embeddings.shape()));
  const int64_t height = image_embeddings.size(2), width = image_embeddings.size(3);
  if (repeat_image) {
    QATD_CHECK(image_embeddings.size(0) == 1,
               "MaskDecoder: with repeat_image, image_embeddings {} must hold one image to repeat for the {} prompts",
               shape_str(image_embeddings.shape()), batch);
  } else {
    QATD_CHECK(image_embeddings.size(0) == batch,
               "MaskDecoder: image_embeddings {} and sparse_prompt_embeddings {} differ in batch size "
               "(set repeat_image to share one image)",
               shape_str(image_embeddings.shape()), shape_str(sparse.shape()));
  }
  QATD_CHECK(image_pe.dim() == 4 && image_pe.size(0) == 1 && image_pe.size(1) == dim && image_pe.size(2) == height &&
                 image_pe.size(3) == width,
             "MaskDecoder: image_pe must be (1, {}, {}, {}) (from get_dense_pe()), got {}", dim, height, width,
             shape_str(image_pe.shape()));
  QATD_CHECK(dense.dim() == 4 && (dense.size(0) == batch || dense.size(0) == 1) && dense.size(1) == dim &&
                 dense.size(2) == height && dense.size(3) == width,
             "MaskDecoder: dense_prompt_embeddings must be ({} or 1, {}, {}, {}), got {}", batch, dim, height, width,
             shape_str(dense.shape()));
  if (!use_high_res_features) return;
  QATD_CHECK(high_res_features.size() == 2,
             "MaskDecoder: use_high_res_features needs 2 high-res feature maps (feat_s0, feat_s1), got {}",
             high_res_features.size());
  const Tensor& s0 = high_res_features[0];
  const Tensor& s1 = high_res_features[1];
  auto fits = [&](const Tensor& t, int64_t channels, int64_t factor) {
    return t.defined() && t.dim() == 4 && (t.size(0) == batch || t.size(0) == 1) && t.size(1) == channels &&
           t.size(2) == factor * height && t.size(3) == factor * width;
  };
  QATD_CHECK(fits(s0, dim / 8, 4), "MaskDecoder: high_res_features[0] must be ({} or 1, {}, {}, {}), got {}", batch,
             dim / 8, 4 * height, 4 * width, s0.defined() ? shape_str(s0.shape()) : std::string("undefined"));
  QATD_CHECK(fits(s1, dim / 4, 2), "MaskDecoder: high_res_features[1] must be ({} or 1, {}, {}, {}), got {}", batch,
             dim / 4, 2 * height, 2 * width, s1.defined() ? shape_str(s1.shape()) : std::string("undefined"));
}

MaskPrediction MaskDecoder::predict_masks(const Tensor& image_embeddings, const Tensor& image_pe,
                                          const Tensor& sparse_prompt_embeddings, const Tensor& dense_prompt_embeddings,
                                          bool repeat_image, const std::vector<Tensor>& high_res_features) {
  check_inputs(image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings, repeat_image,
               high_res_features);
  const int64_t batch = sparse_prompt_embeddings.size(0);
  // Output tokens: [object score token,] IoU token, mask tokens; then the prompt tokens.
  std::vector<Tensor> output_token_weights;
  if (pred_obj_scores) output_token_weights.push_back(obj_score_token->weight);
  output_token_weights.push_back(iou_token->weight);
  output_token_weights.push_back(mask_tokens->weight);
  const int64_t first = pred_obj_scores ? 1 : 0;
  Tensor output_tokens = cat(output_token_weights, 0);
  output_tokens = output_tokens.unsqueeze(0).expand({batch, output_tokens.size(0), transformer_dim});
  Tensor tokens = cat({output_tokens, sparse_prompt_embeddings}, 1);

  Tensor src = repeat_image ? repeat_interleave(image_embeddings, batch, 0) : image_embeddings;
  src = add(src, dense_prompt_embeddings);
  const int64_t height = src.size(2), width = src.size(3);

  // image_pe keeps batch 1: the transformer broadcasts it, which adds the same values as the
  // official repeat_interleave over the batch.
  auto [hs, keys] = transformer->forward(src, image_pe, tokens);
  Tensor iou_token_out = hs.select(1, first);
  Tensor mask_tokens_out = hs.slice(1, first + 1, first + 1 + num_mask_tokens);

  src = keys.transpose(1, 2).reshape({batch, transformer_dim, height, width});
  Tensor upscaled;
  if (!use_high_res_features) {
    upscaled = (*output_upscaling)(src);
  } else {
    auto& dc1 = (*output_upscaling)[0];
    auto& ln1 = (*output_upscaling)[1];
    auto& act1 = (*output_upscaling)[2];
    auto& dc2 = (*output_upscaling)[3];
    auto& act2 = (*output_upscaling)[4];
    upscaled = act1(ln1(add(dc1(src), high_res_features[1])));
    upscaled = act2(add(dc2(upscaled), high_res_features[0]));
  }

  std::vector<Tensor> hyper_in_list;
  for (int64_t i = 0; i < num_mask_tokens; ++i) {
    hyper_in_list.push_back(output_hypernetworks_mlps->at<nn::MLP>(i)(mask_tokens_out.select(1, i)));
  }
  Tensor hyper_in = stack(hyper_in_list, 1);
  const int64_t channels = upscaled.size(1), up_height = upscaled.size(2), up_width = upscaled.size(3);
  MaskPrediction out;
  out.masks = matmul(hyper_in, upscaled.reshape({batch, channels, up_height * up_width}))
                  .reshape({batch, -1, up_height, up_width});
  out.iou_pred = (*iou_prediction_head)(iou_token_out);
  out.mask_tokens_out = mask_tokens_out;
  if (pred_obj_scores) {
    out.object_score_logits = (*pred_obj_score_head)(hs.select(1, 0));
  } else {
    // Without an object-score head the object is assumed present: logit 10, sigmoid(10) ~ 1.
    out.object_score_logits = full({batch, 1}, 10.0, out.iou_pred.dtype());
  }
  return out;
}

MaskDecoderOutput MaskDecoder::forward(const Tensor& image_embeddings, const Tensor& image_pe,
                                       const Tensor& sparse_prompt_embeddings, const Tensor& dense_prompt_embeddings,
                                       bool multimask_output, bool repeat_image,
                                       const std::vector<Tensor>& high_res_features) {
  QATD_CHECK(!multimask_output || num_multimask_outputs > 0,
             "MaskDecoder: multimask_output needs num_multimask_outputs > 0");
  MaskPrediction prediction = predict_masks(image_embeddings, image_pe, sparse_prompt_embeddings,
                                            dense_prompt_embeddings, repeat_image, high_res_features);
  MaskDecoderOutput out;
  if (multimask_output) {
    out.masks = prediction.masks.slice(1, 1, num_mask_tokens);
    out.iou_pred = prediction.iou_pred.slice(1, 1, num_mask_tokens);
  } else if (dynamic_multimask_via_stability_enabled && !is_training()) {
    std::tie(out.masks, out.iou_pred) = dynamic_multimask_via_stability(prediction.masks, prediction.iou_pred);
  } else {
    out.masks = prediction.masks.slice(1, 0, 1);
    out.iou_pred = prediction.iou_pred.slice(1, 0, 1);
  }
  // The single-mask token is the object pointer unless multimask tokens are asked for both.
  out.sam_tokens_out = multimask_output && use_multimask_token_for_obj_ptr
                           ? prediction.mask_tokens_out.slice(1, 1, num_mask_tokens)
                           : prediction.mask_tokens_out.slice(1, 0, 1);
  out.object_score_logits = prediction.object_score_logits;
  return out;
}

Tensor MaskDecoder::get_stability_scores(const Tensor& mask_logits) const {
  QATD_CHECK(mask_logits.defined() && mask_logits.dim() >= 2,
             "MaskDecoder: stability scores need mask logits (..., h, w), got {}",
             mask_logits.defined() ? shape_str(mask_logits.shape()) : std::string("undefined"));
  Tensor flat = mask_logits.flatten(-2);
  const double delta = dynamic_multimask_stability_delta;
  Tensor area_intersection = sum(gt(flat, delta).to(mask_logits.dtype()), {-1});
  Tensor area_union = sum(gt(flat, -delta).to(mask_logits.dtype()), {-1});
  return where(gt(area_union, 0.0), div(area_intersection, area_union), 1.0);
}

std::pair<Tensor, Tensor> MaskDecoder::dynamic_multimask_via_stability(const Tensor& all_mask_logits,
                                                                       const Tensor& all_iou_scores) const {
  QATD_CHECK(all_mask_logits.defined() && all_iou_scores.defined() && all_mask_logits.dim() == 4 &&
                 all_iou_scores.dim() == 2 && all_mask_logits.size(1) >= 2 &&
                 all_iou_scores.size(0) == all_mask_logits.size(0) && all_iou_scores.size(1) == all_mask_logits.size(1),
             "MaskDecoder: dynamic multimask selection needs logits (B, T, h, w) and IoU scores (B, T) with T >= 2, "
             "got {} and {}",
             all_mask_logits.defined() ? shape_str(all_mask_logits.shape()) : std::string("undefined"),
             all_iou_scores.defined() ? shape_str(all_iou_scores.shape()) : std::string("undefined"));
  const int64_t batch = all_mask_logits.size(0), tokens = all_mask_logits.size(1);
  const int64_t height = all_mask_logits.size(2), width = all_mask_logits.size(3);
  Tensor multimask_logits = all_mask_logits.slice(1, 1, tokens);
  Tensor multimask_iou_scores = all_iou_scores.slice(1, 1, tokens);
  Tensor best = argmax(multimask_iou_scores, -1).unsqueeze(1);  // (B, 1)
  Tensor best_multimask_logits =
      gather(multimask_logits, 1, best.reshape({batch, 1, 1, 1}).expand({batch, 1, height, width}));
  Tensor best_multimask_iou_scores = gather(multimask_iou_scores, 1, best);

  Tensor singlemask_logits = all_mask_logits.slice(1, 0, 1);
  Tensor singlemask_iou_scores = all_iou_scores.slice(1, 0, 1);
  Tensor is_stable = ge(get_stability_scores(singlemask_logits), dynamic_multimask_stability_thresh);  // (B, 1)
  Tensor mask_logits_out = where(is_stable.unsqueeze(-1).unsqueeze(-1), singlemask_logits, best_multimask_logits);
  Tensor iou_scores_out = where(is_stable, singlemask_iou_scores, best_multimask_iou_scores);
  return {mask_logits_out, iou_scores_out};
}

}  // namespace qatd::sam2

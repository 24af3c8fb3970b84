// SAM2Base's memory and tracking step (sam2/modeling/sam2_base.py: _forward_sam_heads,
// _use_mask_as_output, _prepare_memory_conditioned_features, _encode_new_memory, track_step).
// Tensors keep the engine's (B, C, H, W) layout; the official (H*W, B, C) sequences are formed
// where memory attention needs them.
#include <algorithm>

#include "engine/engine.h"
#include "models/sam2/sam2_base.h"
#include "models/sam2/sam2_utils.h"

namespace qatd::sam2 {

namespace {

// Python's // on integers (rounds toward negative infinity).
int64_t floor_div(int64_t a, int64_t b) {
  int64_t quotient = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? quotient - 1 : quotient;
}

// (B, C, H, W) -> (H*W, B, C), the official flattened layout.
Tensor to_sequence(const Tensor& map) { return map.flatten(2).permute({2, 0, 1}); }

// Entry `index` (B) of dim 1 of `x` (B, M, ...), kept as a dim of size 1.
Tensor pick_along_dim1(const Tensor& x, const Tensor& index) {
  Shape shape = x.shape();
  shape[1] = 1;
  Shape view(shape.size(), 1);
  view[0] = x.shape()[0];
  return gather(x, 1, index.reshape(view).expand(shape));
}

// The levels the SAM heads see: all but the last of the kept levels.
std::vector<Tensor> high_res_levels(const BackboneOutput& features, int64_t num_feature_levels) {
  const auto& levels = features.backbone_fpn;
  size_t first = levels.size() - static_cast<size_t>(num_feature_levels);
  return {levels.begin() + static_cast<std::ptrdiff_t>(first), levels.end() - 1};
}

}  // namespace

bool SAM2Base::use_multimask(bool is_init_cond_frame, const std::optional<PointInputs>& point_inputs) const {
  int64_t num_points = point_inputs ? point_inputs->point_labels.shape()[1] : 0;
  return config.multimask_output_in_sam && (is_init_cond_frame || config.multimask_output_for_tracking) &&
         config.multimask_min_pt_num <= num_points && num_points <= config.multimask_max_pt_num;
}

SamOutputs SAM2Base::forward_sam_heads(const Tensor& backbone_features, const std::optional<PointInputs>& point_inputs,
                                       const Tensor& mask_inputs, const std::vector<Tensor>& high_res_features,
                                       bool multimask_output) {
  const int64_t embedding_size = sam_image_embedding_size(config);
  QATD_CHECK(backbone_features.dim() == 4 && backbone_features.shape()[1] == hidden_dim &&
                 backbone_features.shape()[2] == embedding_size && backbone_features.shape()[3] == embedding_size,
             "SAM2Base: the SAM heads take ({}, {}, {}) features, got {}", hidden_dim, embedding_size, embedding_size,
             shape_str(backbone_features.shape()));
  const int64_t batch = backbone_features.shape()[0];
  Tensor coords, labels;
  if (point_inputs) {
    coords = point_inputs->point_coords;
    labels = point_inputs->point_labels;
    QATD_CHECK(coords.shape()[0] == batch && labels.shape()[0] == batch,
               "SAM2Base: {} point prompts for a batch of {}", coords.shape()[0], batch);
  } else {
    coords = zeros({batch, 1, 2});
    labels = full({batch, 1}, -1.0, DType::i32);
  }
  Tensor mask_prompt;
  if (mask_inputs.defined()) {
    QATD_CHECK(mask_inputs.dim() == 4 && mask_inputs.shape()[0] == batch && mask_inputs.shape()[1] == 1,
               "SAM2Base: mask prompts must be ({}, 1, H, W), got {}", batch, shape_str(mask_inputs.shape()));
    const auto& size = sam_prompt_encoder->mask_input_size;
    mask_prompt = mask_inputs.to(backbone_features.dtype());
    if (mask_inputs.shape()[2] != size[0] || mask_inputs.shape()[3] != size[1]) {
      mask_prompt = interpolate(mask_prompt, {.mode = InterpolateMode::bilinear, .size = size, .antialias = true});
    }
  }
  PromptEmbeddings prompts = sam_prompt_encoder->forward(coords, labels, Tensor(), mask_prompt);
  MaskDecoderOutput decoded =
      sam_mask_decoder->forward(backbone_features, dense_pe(), prompts.sparse_embeddings, prompts.dense_embeddings,
                                multimask_output, /*repeat_image=*/false, high_res_features);
  SamOutputs out;
  out.ious = decoded.iou_pred;
  out.object_score_logits = decoded.object_score_logits;
  Tensor object_appears;
  out.low_res_multimasks = decoded.masks;
  if (config.pred_obj_scores) {
    object_appears = gt(decoded.object_score_logits, 0.0);
    out.low_res_multimasks = where(object_appears.reshape({batch, 1, 1, 1}), decoded.masks, kNoObjectScore);
  }
  out.high_res_multimasks = interpolate(
      out.low_res_multimasks,
      {.mode = InterpolateMode::bilinear, .size = std::array<int64_t, 2>{image_size, image_size}});
  Tensor token = decoded.sam_tokens_out.select(1, 0);
  if (multimask_output) {
    Tensor best = argmax(decoded.iou_pred, -1);
    out.low_res_masks = pick_along_dim1(out.low_res_multimasks, best);
    out.high_res_masks = pick_along_dim1(out.high_res_multimasks, best);
    if (decoded.sam_tokens_out.shape()[1] > 1) token = pick_along_dim1(decoded.sam_tokens_out, best).squeeze(1);
  } else {
    out.low_res_masks = out.low_res_multimasks;
    out.high_res_masks = out.high_res_multimasks;
  }
  out.obj_ptr = (*obj_ptr_proj)(token);
  if (config.pred_obj_scores) {
    Tensor appears = config.soft_no_obj_ptr ? sigmoid(decoded.object_score_logits)
                                            : object_appears.to(decoded.object_score_logits.dtype());
    if (config.fixed_no_obj_ptr) out.obj_ptr = mul(appears, out.obj_ptr);
    out.obj_ptr = add(out.obj_ptr, mul(1.0 - appears, no_obj_ptr));
  }
  return out;
}

SamOutputs SAM2Base::use_mask_as_output(const Tensor& backbone_features, const std::vector<Tensor>& high_res_features,
                                        const Tensor& mask_inputs) {
  constexpr double kScale = 20.0, kBias = -10.0;
  const int64_t batch = mask_inputs.shape()[0];
  const DType dtype = backbone_features.dtype();
  Tensor mask = mask_inputs.to(dtype);
  SamOutputs out;
  out.high_res_masks = add(mul(mask, kScale), kBias);
  out.low_res_masks = interpolate(out.high_res_masks,
                                  {.mode = InterpolateMode::bilinear,
                                   .size = std::array<int64_t, 2>{mask.shape()[2] / 4, mask.shape()[3] / 4},
                                   .antialias = true});
  out.ious = ones({batch, 1}, dtype);
  if (!config.use_obj_ptrs_in_encoder) {
    out.obj_ptr = zeros({batch, hidden_dim}, dtype);
  } else {
    out.obj_ptr = forward_sam_heads(backbone_features, std::nullopt, (*mask_downsample)(mask), high_res_features, false)
                      .obj_ptr;
  }
  Tensor appears = gt(amax(mask.flatten(1), {1}, true), 0.0).to(dtype);
  out.object_score_logits = add(mul(appears, kScale), kBias);
  if (config.pred_obj_scores) {
    if (config.fixed_no_obj_ptr) out.obj_ptr = mul(appears, out.obj_ptr);
    out.obj_ptr = add(out.obj_ptr, mul(1.0 - appears, no_obj_ptr));
  }
  out.low_res_multimasks = out.low_res_masks;
  out.high_res_multimasks = out.high_res_masks;
  return out;
}

Tensor SAM2Base::prepare_memory_conditioned_features(int64_t frame_idx, bool is_init_cond_frame,
                                                     const BackboneOutput& features, const OutputDict& output_dict,
                                                     int64_t num_frames, bool track_in_reverse) const {
  const Tensor& current = features.backbone_fpn.back();  // (B, C, H, W)
  const int64_t batch = current.shape()[0], height = current.shape()[2], width = current.shape()[3];
  if (config.num_maskmem == 0) return current;
  if (is_init_cond_frame) {
    if (config.directly_add_no_mem_embed) return add(current, no_mem_embed.reshape({1, hidden_dim, 1, 1}));
  }

  std::vector<Tensor> memory, memory_pos;
  int64_t num_obj_ptr_tokens = 0;
  if (!is_init_cond_frame) {
    QATD_CHECK(!output_dict.cond_frame_outputs.empty(), "SAM2Base: tracking frame {} with no conditioning frame",
               frame_idx);
    std::vector<int64_t> cond_frames;
    for (const auto& [t, out] : output_dict.cond_frame_outputs) cond_frames.push_back(t);
    std::vector<int64_t> selected = select_closest_cond_frames(frame_idx, cond_frames, config.max_cond_frames_in_attn);
    auto is_selected = [&](int64_t t) { return std::find(selected.begin(), selected.end(), t) != selected.end(); };
    // Non-conditioning memory, falling back on conditioning frames that were not selected.
    auto earlier_output = [&](int64_t t) -> const FrameOutput* {
      if (auto found = output_dict.non_cond_frame_outputs.find(t); found != output_dict.non_cond_frame_outputs.end()) {
        return &found->second;
      }
      if (auto found = output_dict.cond_frame_outputs.find(t);
          found != output_dict.cond_frame_outputs.end() && !is_selected(t)) {
        return &found->second;
      }
      return nullptr;
    };

    // Spatial memories: the selected conditioning frames at temporal position 0, then the
    // previous num_maskmem - 1 frames (t_pos = 1 the oldest, num_maskmem - 1 the latest).
    std::vector<std::pair<int64_t, const FrameOutput*>> t_pos_and_prevs;
    for (int64_t t : selected) t_pos_and_prevs.emplace_back(0, &output_dict.cond_frame_outputs.at(t));
    const int64_t stride = is_training() ? 1 : config.memory_temporal_stride_for_eval;
    for (int64_t t_pos = 1; t_pos < config.num_maskmem; ++t_pos) {
      int64_t t_rel = config.num_maskmem - t_pos;
      int64_t previous;
      if (t_rel == 1) {
        previous = track_in_reverse ? frame_idx + t_rel : frame_idx - t_rel;
      } else if (!track_in_reverse) {
        previous = floor_div(frame_idx - 2, stride) * stride - (t_rel - 2) * stride;
      } else {
        previous = -floor_div(-(frame_idx + 2), stride) * stride + (t_rel - 2) * stride;
      }
      t_pos_and_prevs.emplace_back(t_pos, earlier_output(previous));
    }
    for (const auto& [t_pos, previous] : t_pos_and_prevs) {
      if (!previous) continue;
      memory.push_back(to_sequence(previous->maskmem_features));
      Tensor encoding = to_sequence(previous->maskmem_pos_enc.back());
      memory_pos.push_back(add(encoding, maskmem_tpos_enc.select(0, config.num_maskmem - t_pos - 1)));
    }

    if (config.use_obj_ptrs_in_encoder) {
      const int64_t max_pointers = std::min(num_frames, config.max_obj_ptrs_in_encoder);
      const int64_t sign = track_in_reverse ? -1 : 1;
      std::vector<std::pair<int64_t, Tensor>> pos_and_ptrs;
      for (int64_t t : selected) {
        bool in_past = track_in_reverse ? t >= frame_idx : t <= frame_idx;
        if (!is_training() && config.only_obj_ptrs_in_the_past_for_eval && !in_past) continue;
        int64_t position =
            config.use_signed_tpos_enc_to_obj_ptrs ? (frame_idx - t) * sign : std::llabs(frame_idx - t);
        pos_and_ptrs.emplace_back(position, output_dict.cond_frame_outputs.at(t).obj_ptr);
      }
      for (int64_t t_diff = 1; t_diff < max_pointers; ++t_diff) {
        int64_t t = track_in_reverse ? frame_idx + t_diff : frame_idx - t_diff;
        if (t < 0 || t >= num_frames) break;
        if (const FrameOutput* previous = earlier_output(t)) pos_and_ptrs.emplace_back(t_diff, previous->obj_ptr);
      }
      if (!pos_and_ptrs.empty()) {
        std::vector<Tensor> pointers;
        std::vector<float> positions;
        for (const auto& [position, pointer] : pos_and_ptrs) {
          pointers.push_back(pointer);
          positions.push_back(static_cast<float>(position));
        }
        Tensor obj_ptrs = stack(pointers, 0);  // (P, B, C)
        const int64_t count = obj_ptrs.shape()[0];
        Tensor obj_pos;
        if (config.add_tpos_enc_to_obj_ptrs) {
          const double t_diff_max = static_cast<double>(max_pointers - 1);
          const int64_t tpos_dim = config.proj_tpos_enc_in_obj_ptrs ? hidden_dim : mem_dim;
          Tensor normalized = div(from_vector(positions, {count}).to(current.dtype()), t_diff_max);
          obj_pos = (*obj_ptr_tpos_proj)(get_1d_sine_pe(normalized, tpos_dim)).unsqueeze(1).expand({-1, batch, mem_dim});
        } else {
          obj_pos = zeros({count, batch, mem_dim}, current.dtype());
        }
        if (mem_dim < hidden_dim) {
          // Each pointer becomes hidden_dim / mem_dim tokens of mem_dim channels.
          obj_ptrs = obj_ptrs.reshape({-1, batch, hidden_dim / mem_dim, mem_dim}).permute({0, 2, 1, 3}).flatten(0, 1);
          obj_pos = repeat_interleave(obj_pos, hidden_dim / mem_dim, 0);
        }
        memory.push_back(obj_ptrs);
        memory_pos.push_back(obj_pos);
        num_obj_ptr_tokens = obj_ptrs.shape()[0];
      }
    }
  } else {
    memory.push_back(no_mem_embed.expand({1, batch, mem_dim}));
    memory_pos.push_back(no_mem_pos_enc.expand({1, batch, mem_dim}));
  }
  Tensor fused = memory_attention->forward(to_sequence(current), cat(memory, 0), to_sequence(features.vision_pos_enc.back()),
                                           cat(memory_pos, 0), num_obj_ptr_tokens);
  return fused.permute({1, 2, 0}).reshape({batch, hidden_dim, height, width});
}

std::pair<Tensor, std::vector<Tensor>> SAM2Base::encode_new_memory(const BackboneOutput& features,
                                                                   const Tensor& pred_masks_high_res,
                                                                   const Tensor& object_score_logits,
                                                                   bool is_mask_from_pts) {
  Tensor masks = pred_masks_high_res;
  if (config.non_overlap_masks_for_mem_enc && !is_training()) masks = apply_non_overlapping_constraints(masks);
  bool binarize = config.binarize_mask_from_pts_for_mem_enc && is_mask_from_pts;
  Tensor mask_for_mem = binarize && !is_training() ? gt(masks, 0.0).to(masks.dtype()) : sigmoid(masks);
  if (config.sigmoid_scale_for_mem_enc != 1.0) mask_for_mem = mul(mask_for_mem, config.sigmoid_scale_for_mem_enc);
  if (config.sigmoid_bias_for_mem_enc != 0.0) mask_for_mem = add(mask_for_mem, config.sigmoid_bias_for_mem_enc);
  MemoryEncoderOutput encoded = memory_encoder->forward(features.backbone_fpn.back(), mask_for_mem, true);
  Tensor maskmem_features = encoded.vision_features;
  if (no_obj_embed_spatial.defined()) {
    const int64_t batch = maskmem_features.shape()[0];
    Tensor absent = (1.0 - gt(object_score_logits, 0.0).to(object_score_logits.dtype())).reshape({batch, 1, 1, 1});
    maskmem_features = add(maskmem_features, mul(absent, no_obj_embed_spatial.reshape({1, mem_dim, 1, 1})));
  }
  return {maskmem_features, encoded.vision_pos_enc};
}

FrameOutput SAM2Base::track_step(int64_t frame_idx, bool is_init_cond_frame, const BackboneOutput& features,
                                 const std::optional<PointInputs>& point_inputs, const Tensor& mask_inputs,
                                 const OutputDict& output_dict, int64_t num_frames, bool track_in_reverse,
                                 bool run_mem_encoder, const Tensor& prev_sam_mask_logits) {
  FrameOutput out;
  out.point_inputs = point_inputs;
  out.mask_inputs = mask_inputs;
  std::vector<Tensor> high_res_features = high_res_levels(features, num_feature_levels);
  SamOutputs sam;
  if (mask_inputs.defined() && config.use_mask_input_as_output_without_sam) {
    sam = use_mask_as_output(features.backbone_fpn.back(), high_res_features, mask_inputs);
  } else {
    Tensor pix_feat = prepare_memory_conditioned_features(frame_idx, is_init_cond_frame, features, output_dict,
                                                          num_frames, track_in_reverse);
    Tensor mask = mask_inputs;
    if (prev_sam_mask_logits.defined()) {
      QATD_CHECK(point_inputs && !mask_inputs.defined(),
                 "SAM2Base.track_step: previous mask logits refine point prompts only");
      mask = prev_sam_mask_logits;
    }
    sam = forward_sam_heads(pix_feat, point_inputs, mask, high_res_features,
                            use_multimask(is_init_cond_frame, point_inputs));
  }
  out.pred_masks = sam.low_res_masks;
  out.pred_masks_high_res = sam.high_res_masks;
  out.obj_ptr = sam.obj_ptr;
  out.object_score_logits = sam.object_score_logits;
  if (run_mem_encoder && config.num_maskmem > 0) {
    std::tie(out.maskmem_features, out.maskmem_pos_enc) =
        encode_new_memory(features, sam.high_res_masks, sam.object_score_logits, point_inputs.has_value());
  }
  return out;
}

Tensor SAM2Base::apply_non_overlapping_constraints(const Tensor& pred_masks) const {
  const int64_t batch = pred_masks.shape()[0];
  if (batch == 1) return pred_masks;
  Tensor winner = argmax(pred_masks, 0, true);
  Tensor keep = eq(winner, arange(batch).reshape({batch, 1, 1, 1}));
  return where(keep, pred_masks, clamp(pred_masks, std::nullopt, -10.0));
}

}  // namespace qatd::sam2

#include "models/sam2/sam2_video_predictor.h"

#include <algorithm>
#include <set>

#include "engine/engine.h"
#include "models/sam2/connected_components.h"
#include "models/sam2/video_frames.h"

namespace qatd::sam2 {

namespace {

const FrameOutput* find_output(const OutputDict& dict, int64_t frame_idx, bool cond) {
  const auto& outputs = cond ? dict.cond_frame_outputs : dict.non_cond_frame_outputs;
  auto found = outputs.find(frame_idx);
  return found == outputs.end() ? nullptr : &found->second;
}

}  // namespace

SAM2VideoPredictor::SAM2VideoPredictor(SAM2Base& model, VideoPredictorOptions options)
    : model_(model), options_(options) {}

Tensor SAM2VideoPredictor::stored_memory(const Tensor& features) const {
  // Read back in float32, the rounded values are what the official predictor attends to.
  return options_.bfloat16_memory ? features.to(DType::bf16).to(DType::f32) : features;
}

InferenceState SAM2VideoPredictor::init_state(const std::string& video_path) {
  VideoFrames frames = load_video_frames(video_path, model_.image_size);
  return init_state_from_images(frames.images, frames.video_height, frames.video_width);
}

InferenceState SAM2VideoPredictor::init_state_from_images(const Tensor& images, int64_t video_height,
                                                          int64_t video_width) {
  QATD_CHECK(images.defined() && images.dim() == 4 && images.shape()[0] > 0 && images.shape()[1] == 3 &&
                 images.shape()[2] == model_.image_size && images.shape()[3] == model_.image_size,
             "SAM2VideoPredictor: frames must be (T, 3, {}, {}), got {}", model_.image_size, model_.image_size,
             images.defined() ? shape_str(images.shape()) : "nothing");
  QATD_CHECK(video_height > 0 && video_width > 0, "SAM2VideoPredictor: invalid video size {}x{}", video_width,
             video_height);
  InferenceState state;
  state.images = images;
  state.num_frames = images.shape()[0];
  state.video_height = video_height;
  state.video_width = video_width;
  image_feature(state, 0);  // warm up on the first frame, as the official init_state does
  return state;
}

size_t SAM2VideoPredictor::obj_id_to_idx(InferenceState& state, int64_t obj_id) const {
  auto found = std::find(state.obj_ids.begin(), state.obj_ids.end(), obj_id);
  if (found != state.obj_ids.end()) return static_cast<size_t>(found - state.obj_ids.begin());
  state.obj_ids.push_back(obj_id);
  state.point_inputs_per_obj.emplace_back();
  state.mask_inputs_per_obj.emplace_back();
  state.output_dict_per_obj.emplace_back();
  state.temp_output_dict_per_obj.emplace_back();
  state.frames_tracked_per_obj.emplace_back();
  return state.obj_ids.size() - 1;
}

const BackboneOutput& SAM2VideoPredictor::image_feature(InferenceState& state, int64_t frame_idx) const {
  QATD_CHECK(frame_idx >= 0 && frame_idx < state.num_frames, "SAM2VideoPredictor: frame {} is outside the {} frames",
             frame_idx, state.num_frames);
  if (!state.cached_features || state.cached_features->first != frame_idx) {
    NoGradGuard no_grad;
    state.cached_features.emplace(frame_idx, model_.forward_image(state.images.narrow(0, frame_idx, 1)));
  }
  return state.cached_features->second;
}

std::pair<FrameOutput, Tensor> SAM2VideoPredictor::run_single_frame_inference(
    InferenceState& state, const OutputDict& output_dict, int64_t frame_idx, bool is_init_cond_frame,
    const std::optional<PointInputs>& point_inputs, const Tensor& mask_inputs, bool reverse, bool run_mem_encoder,
    const Tensor& prev_sam_mask_logits) const {
  NoGradGuard no_grad;
  const BackboneOutput& features = image_feature(state, frame_idx);
  FrameOutput current = model_.track_step(frame_idx, is_init_cond_frame, features, point_inputs, mask_inputs,
                                          output_dict, state.num_frames, reverse, run_mem_encoder,
                                          prev_sam_mask_logits);
  Tensor pred_masks = current.pred_masks;
  if (model_.config.fill_hole_area > 0) {
    pred_masks = fill_holes_in_mask_scores(pred_masks, static_cast<double>(model_.config.fill_hole_area));
  }
  FrameOutput stored;
  if (current.maskmem_features.defined()) {
    stored.maskmem_features = stored_memory(current.maskmem_features);
    if (state.maskmem_pos_enc.empty()) state.maskmem_pos_enc = current.maskmem_pos_enc;
    stored.maskmem_pos_enc = state.maskmem_pos_enc;
  }
  stored.pred_masks = pred_masks;
  stored.obj_ptr = current.obj_ptr;
  stored.object_score_logits = current.object_score_logits;
  return {stored, pred_masks};
}

std::pair<Tensor, std::vector<Tensor>> SAM2VideoPredictor::run_memory_encoder(InferenceState& state, int64_t frame_idx,
                                                                              const Tensor& high_res_masks,
                                                                              const Tensor& object_score_logits,
                                                                              bool is_mask_from_pts) const {
  NoGradGuard no_grad;
  const BackboneOutput& features = image_feature(state, frame_idx);
  auto [maskmem_features, maskmem_pos_enc] =
      model_.encode_new_memory(features, high_res_masks, object_score_logits, is_mask_from_pts);
  if (state.maskmem_pos_enc.empty()) state.maskmem_pos_enc = maskmem_pos_enc;
  return {stored_memory(maskmem_features), state.maskmem_pos_enc};
}

Tensor SAM2VideoPredictor::to_video_res(const InferenceState& state, const Tensor& masks) const {
  Tensor video_res = masks;
  if (masks.shape()[2] != state.video_height || masks.shape()[3] != state.video_width) {
    video_res = interpolate(masks, {.mode = InterpolateMode::bilinear,
                                    .size = std::array<int64_t, 2>{state.video_height, state.video_width}});
  }
  if (model_.config.non_overlap_masks) video_res = model_.apply_non_overlapping_constraints(video_res);
  return video_res;
}

Tensor SAM2VideoPredictor::consolidate_at_video_res(const InferenceState& state, int64_t frame_idx,
                                                    bool is_cond) const {
  NoGradGuard no_grad;
  const int64_t objects = static_cast<int64_t>(state.obj_ids.size());
  Tensor consolidated = full({objects, 1, state.video_height, state.video_width}, kNoObjectScore);
  for (int64_t obj_idx = 0; obj_idx < objects; ++obj_idx) {
    const FrameOutput* out = find_output(state.temp_output_dict_per_obj[obj_idx], frame_idx, is_cond);
    if (!out) out = find_output(state.output_dict_per_obj[obj_idx], frame_idx, true);
    if (!out) out = find_output(state.output_dict_per_obj[obj_idx], frame_idx, false);
    if (!out) continue;
    Tensor mask = out->pred_masks;
    if (mask.shape()[2] != state.video_height || mask.shape()[3] != state.video_width) {
      mask = interpolate(mask, {.mode = InterpolateMode::bilinear,
                                .size = std::array<int64_t, 2>{state.video_height, state.video_width}});
    }
    consolidated.narrow(0, obj_idx, 1).copy_(mask);
  }
  return consolidated;
}

FrameMasks SAM2VideoPredictor::frame_masks(const InferenceState& state, int64_t frame_idx, bool is_cond) const {
  NoGradGuard no_grad;
  return {frame_idx, state.obj_ids, to_video_res(state, consolidate_at_video_res(state, frame_idx, is_cond))};
}

FrameMasks SAM2VideoPredictor::prompt_frame(InferenceState& state, size_t obj_idx, int64_t frame_idx,
                                            const std::optional<PointInputs>& point_inputs,
                                            const Tensor& mask_inputs, const Tensor& prev_sam_mask_logits) {
  const auto& tracked = state.frames_tracked_per_obj[obj_idx];
  bool is_init_cond_frame = !tracked.count(frame_idx);
  bool reverse = is_init_cond_frame ? false : tracked.at(frame_idx);
  bool is_cond = is_init_cond_frame || model_.config.add_all_frames_to_correct_as_cond;
  auto [current, pred_masks] =
      run_single_frame_inference(state, state.output_dict_per_obj[obj_idx], frame_idx, is_init_cond_frame,
                                 point_inputs, mask_inputs, reverse, /*run_mem_encoder=*/false, prev_sam_mask_logits);
  OutputDict& temp = state.temp_output_dict_per_obj[obj_idx];
  (is_cond ? temp.cond_frame_outputs : temp.non_cond_frame_outputs)[frame_idx] = current;
  return frame_masks(state, frame_idx, is_cond);
}

FrameMasks SAM2VideoPredictor::add_new_points_or_box(InferenceState& state, int64_t frame_idx, int64_t obj_id,
                                                     const Tensor& points, const Tensor& labels, const Tensor& box,
                                                     bool clear_old_points, bool normalize_coords) {
  QATD_CHECK(points.defined() == labels.defined(), "add_new_points_or_box: points and labels must come together");
  QATD_CHECK(points.defined() || box.defined(), "add_new_points_or_box: give points, a box or both");
  QATD_CHECK(frame_idx >= 0 && frame_idx < state.num_frames, "add_new_points_or_box: frame {} is outside the {} frames",
             frame_idx, state.num_frames);
  NoGradGuard no_grad;
  Tensor coords = points.defined() ? points.to(DType::f32).reshape({1, -1, 2}) : zeros({1, 0, 2});
  Tensor point_labels = labels.defined() ? labels.to(DType::i32).reshape({1, -1}) : zeros({1, 0}, DType::i32);
  QATD_CHECK(coords.shape()[1] == point_labels.shape()[1], "add_new_points_or_box: {} points but {} labels",
             coords.shape()[1], point_labels.shape()[1]);
  if (box.defined()) {
    QATD_CHECK(clear_old_points,
               "add_new_points_or_box: a box must come before any point prompt, so it needs clear_old_points");
    QATD_CHECK(box.numel() == 4, "add_new_points_or_box: a box is (x0, y0, x1, y1), got shape {}",
               shape_str(box.shape()));
    coords = cat({box.to(DType::f32).reshape({1, 2, 2}), coords}, 1);
    point_labels = cat({from_vector(std::vector<int32_t>{2, 3}, {1, 2}), point_labels}, 1);
  }
  if (normalize_coords) {
    Tensor size = from_vector(std::vector<float>{static_cast<float>(state.video_width),
                                                 static_cast<float>(state.video_height)}, {2});
    coords = div(coords, size);
  }
  coords = mul(coords, static_cast<double>(model_.image_size));

  size_t obj_idx = obj_id_to_idx(state, obj_id);
  auto& points_per_frame = state.point_inputs_per_obj[obj_idx];
  PointInputs inputs{coords, point_labels};
  if (!clear_old_points) {
    if (auto old = points_per_frame.find(frame_idx); old != points_per_frame.end()) {
      inputs = {cat({old->second.point_coords, coords}, 1), cat({old->second.point_labels, point_labels}, 1)};
    }
  }
  points_per_frame[frame_idx] = inputs;
  state.mask_inputs_per_obj[obj_idx].erase(frame_idx);

  // The previous low-resolution logits on this frame refine the new prediction.
  const auto& tracked = state.frames_tracked_per_obj[obj_idx];
  bool is_cond = !tracked.count(frame_idx) || model_.config.add_all_frames_to_correct_as_cond;
  const FrameOutput* previous = find_output(state.temp_output_dict_per_obj[obj_idx], frame_idx, is_cond);
  if (!previous) previous = find_output(state.output_dict_per_obj[obj_idx], frame_idx, true);
  if (!previous) previous = find_output(state.output_dict_per_obj[obj_idx], frame_idx, false);
  Tensor prev_sam_mask_logits;
  if (previous && previous->pred_masks.defined()) prev_sam_mask_logits = clamp(previous->pred_masks, -32.0, 32.0);
  return prompt_frame(state, obj_idx, frame_idx, inputs, Tensor(), prev_sam_mask_logits);
}

FrameMasks SAM2VideoPredictor::add_new_mask(InferenceState& state, int64_t frame_idx, int64_t obj_id,
                                            const Tensor& mask) {
  QATD_CHECK(mask.defined() && mask.dim() == 2, "add_new_mask: the mask must be (H, W), got {}",
             mask.defined() ? shape_str(mask.shape()) : "nothing");
  QATD_CHECK(frame_idx >= 0 && frame_idx < state.num_frames, "add_new_mask: frame {} is outside the {} frames",
             frame_idx, state.num_frames);
  NoGradGuard no_grad;
  Tensor mask_inputs = mask.to(DType::boolean).to(DType::f32).unsqueeze(0).unsqueeze(0);
  if (mask.shape()[0] != model_.image_size || mask.shape()[1] != model_.image_size) {
    Tensor resized = interpolate(mask_inputs, {.mode = InterpolateMode::bilinear,
                                               .size = std::array<int64_t, 2>{model_.image_size, model_.image_size},
                                               .antialias = true});
    mask_inputs = ge(resized, 0.5).to(DType::f32);
  }
  size_t obj_idx = obj_id_to_idx(state, obj_id);
  state.mask_inputs_per_obj[obj_idx][frame_idx] = mask_inputs;
  state.point_inputs_per_obj[obj_idx].erase(frame_idx);
  return prompt_frame(state, obj_idx, frame_idx, std::nullopt, mask_inputs, Tensor());
}

void SAM2VideoPredictor::propagate_in_video_preflight(InferenceState& state) {
  QATD_CHECK(!state.obj_ids.empty(), "propagate_in_video: no object has points or a mask yet; add prompts first");
  NoGradGuard no_grad;
  for (size_t obj_idx = 0; obj_idx < state.obj_ids.size(); ++obj_idx) {
    OutputDict& outputs = state.output_dict_per_obj[obj_idx];
    OutputDict& temp = state.temp_output_dict_per_obj[obj_idx];
    for (bool is_cond : {false, true}) {
      auto& temp_frames = is_cond ? temp.cond_frame_outputs : temp.non_cond_frame_outputs;
      for (auto& [frame_idx, out] : temp_frames) {
        if (!out.maskmem_features.defined()) {
          // Memory for a prompted frame comes from its (binarized) upsampled prediction.
          Tensor high_res = interpolate(
              out.pred_masks,
              {.mode = InterpolateMode::bilinear, .size = std::array<int64_t, 2>{model_.image_size, model_.image_size}});
          std::tie(out.maskmem_features, out.maskmem_pos_enc) =
              run_memory_encoder(state, frame_idx, high_res, out.object_score_logits, /*is_mask_from_pts=*/true);
        }
        (is_cond ? outputs.cond_frame_outputs : outputs.non_cond_frame_outputs)[frame_idx] = out;
        if (model_.config.clear_non_cond_mem_around_input) clear_non_cond_mem_around_input(state, frame_idx);
      }
      temp_frames.clear();
    }
    QATD_CHECK(!outputs.cond_frame_outputs.empty(),
               "propagate_in_video: object {} has no points or mask on any frame; add prompts first",
               state.obj_ids[obj_idx]);
    for (const auto& [frame_idx, out] : outputs.cond_frame_outputs) outputs.non_cond_frame_outputs.erase(frame_idx);
  }
}

void SAM2VideoPredictor::propagate_in_video(InferenceState& state,
                                            const std::function<void(const FrameMasks&)>& on_frame,
                                            const PropagateOptions& options) {
  propagate_in_video_preflight(state);
  int64_t start = options.start_frame_idx.value_or(std::numeric_limits<int64_t>::max());
  if (!options.start_frame_idx) {
    for (const OutputDict& outputs : state.output_dict_per_obj) {
      for (const auto& [frame_idx, out] : outputs.cond_frame_outputs) start = std::min(start, frame_idx);
    }
  }
  QATD_CHECK(start >= 0 && start < state.num_frames, "propagate_in_video: start frame {} is outside the {} frames",
             start, state.num_frames);
  int64_t max_frames = options.max_frame_num_to_track.value_or(state.num_frames);
  std::vector<int64_t> order;
  if (options.reverse) {
    int64_t end = std::max<int64_t>(start - max_frames, 0);
    // As the official predictor, reverse tracking from frame 0 yields nothing.
    if (start > 0) {
      for (int64_t t = start; t >= end; --t) order.push_back(t);
    }
  } else {
    int64_t end = std::min(start + max_frames, state.num_frames - 1);
    for (int64_t t = start; t <= end; ++t) order.push_back(t);
  }

  NoGradGuard no_grad;
  for (int64_t frame_idx : order) {
    std::vector<Tensor> masks;
    for (size_t obj_idx = 0; obj_idx < state.obj_ids.size(); ++obj_idx) {
      OutputDict& outputs = state.output_dict_per_obj[obj_idx];
      Tensor pred_masks;
      if (auto found = outputs.cond_frame_outputs.find(frame_idx); found != outputs.cond_frame_outputs.end()) {
        pred_masks = found->second.pred_masks;
        if (model_.config.clear_non_cond_mem_around_input) clear_non_cond_mem_around_input(state, frame_idx);
      } else {
        auto [current, predicted] = run_single_frame_inference(state, outputs, frame_idx, false, std::nullopt,
                                                               Tensor(), options.reverse, /*run_mem_encoder=*/true);
        outputs.non_cond_frame_outputs[frame_idx] = current;
        pred_masks = predicted;
      }
      state.frames_tracked_per_obj[obj_idx][frame_idx] = options.reverse;
      masks.push_back(pred_masks);
    }
    on_frame({frame_idx, state.obj_ids, to_video_res(state, cat(masks, 0))});
  }
}

void SAM2VideoPredictor::clear_non_cond_mem_around_input(InferenceState& state, int64_t frame_idx) const {
  // The official call sites name a per-object helper the file does not define; this clears the
  // non-conditioning memory of every object around the prompted frame, as the defined one does.
  const int64_t radius = model_.config.memory_temporal_stride_for_eval * model_.config.num_maskmem;
  for (OutputDict& outputs : state.output_dict_per_obj) {
    for (int64_t t = frame_idx - radius; t <= frame_idx + radius; ++t) outputs.non_cond_frame_outputs.erase(t);
  }
}

FrameMasks SAM2VideoPredictor::clear_all_prompts_in_frame(InferenceState& state, int64_t frame_idx, int64_t obj_id) {
  size_t obj_idx = obj_id_to_idx(state, obj_id);
  state.point_inputs_per_obj[obj_idx].erase(frame_idx);
  state.mask_inputs_per_obj[obj_idx].erase(frame_idx);
  state.temp_output_dict_per_obj[obj_idx].cond_frame_outputs.erase(frame_idx);
  state.temp_output_dict_per_obj[obj_idx].non_cond_frame_outputs.erase(frame_idx);
  OutputDict& outputs = state.output_dict_per_obj[obj_idx];
  if (auto found = outputs.cond_frame_outputs.find(frame_idx); found != outputs.cond_frame_outputs.end()) {
    // The frame's result stays as an ordinary tracked frame; it is no longer a prompt.
    outputs.non_cond_frame_outputs[frame_idx] = found->second;
    outputs.cond_frame_outputs.erase(found);
    state.frames_tracked_per_obj[obj_idx].erase(frame_idx);
  }
  bool is_cond = std::any_of(state.temp_output_dict_per_obj.begin(), state.temp_output_dict_per_obj.end(),
                             [&](const OutputDict& temp) { return temp.cond_frame_outputs.count(frame_idx) > 0; });
  return frame_masks(state, frame_idx, is_cond);
}

void SAM2VideoPredictor::reset_state(InferenceState& state) {
  state.obj_ids.clear();
  state.point_inputs_per_obj.clear();
  state.mask_inputs_per_obj.clear();
  state.output_dict_per_obj.clear();
  state.temp_output_dict_per_obj.clear();
  state.frames_tracked_per_obj.clear();
}

std::pair<std::vector<int64_t>, std::vector<FrameMasks>> SAM2VideoPredictor::remove_object(InferenceState& state,
                                                                                         int64_t obj_id, bool strict) {
  auto found = std::find(state.obj_ids.begin(), state.obj_ids.end(), obj_id);
  if (found == state.obj_ids.end()) {
    QATD_CHECK(!strict, "remove_object: object id {} does not exist (ids: {})", obj_id, fmt::join(state.obj_ids, ", "));
    return {state.obj_ids, {}};
  }
  if (state.obj_ids.size() == 1) {
    reset_state(state);
    return {state.obj_ids, {}};
  }
  size_t obj_idx = static_cast<size_t>(found - state.obj_ids.begin());
  std::set<int64_t> prompted_frames;
  for (const auto& [frame_idx, inputs] : state.point_inputs_per_obj[obj_idx]) prompted_frames.insert(frame_idx);
  for (const auto& [frame_idx, inputs] : state.mask_inputs_per_obj[obj_idx]) prompted_frames.insert(frame_idx);
  for (int64_t frame_idx : prompted_frames) clear_all_prompts_in_frame(state, frame_idx, obj_id);
  auto erase_at = [obj_idx](auto& per_object) { per_object.erase(per_object.begin() + static_cast<std::ptrdiff_t>(obj_idx)); };
  erase_at(state.obj_ids);
  erase_at(state.point_inputs_per_obj);
  erase_at(state.mask_inputs_per_obj);
  erase_at(state.output_dict_per_obj);
  erase_at(state.temp_output_dict_per_obj);
  erase_at(state.frames_tracked_per_obj);
  std::vector<FrameMasks> updated;
  for (int64_t frame_idx : prompted_frames) {
    bool is_cond = std::any_of(state.temp_output_dict_per_obj.begin(), state.temp_output_dict_per_obj.end(),
                               [&](const OutputDict& temp) { return temp.cond_frame_outputs.count(frame_idx) > 0; });
    updated.push_back(frame_masks(state, frame_idx, is_cond));
  }
  return {state.obj_ids, updated};
}

}  // namespace qatd::sam2

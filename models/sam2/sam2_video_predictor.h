#pragma once
// sam2/sam2_video_predictor.py: interactive multi-object tracking in a video. Objects are prompted
// with points, boxes or masks on any frame (refinements included) and tracked independently
// (one tracking step per object and frame, as the official predictor does); results come at the
// video's resolution.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/sam2/sam2_base.h"

namespace qatd::sam2 {

// inference_state: the video and everything the session has prompted and tracked.
struct InferenceState {
  Tensor images;  // (T, 3, S, S), normalized
  int64_t num_frames = 0;
  int64_t video_height = 0;
  int64_t video_width = 0;
  std::vector<int64_t> obj_ids;  // client ids, in the order objects appeared (index = model-side idx)
  std::vector<std::map<int64_t, PointInputs>> point_inputs_per_obj;
  std::vector<std::map<int64_t, Tensor>> mask_inputs_per_obj;
  std::vector<OutputDict> output_dict_per_obj;
  std::vector<OutputDict> temp_output_dict_per_obj;  // prompts not yet consolidated by propagation
  std::vector<std::map<int64_t, bool>> frames_tracked_per_obj;  // frame -> tracked in reverse
  std::optional<std::pair<int64_t, BackboneOutput>> cached_features;  // the last frame's backbone
  std::vector<Tensor> maskmem_pos_enc;  // the same for every frame and object: kept once
};

// A frame's masks for every object: (objects, 1, H, W) logits at the video's resolution, objects
// in obj_ids order.
struct FrameMasks {
  int64_t frame_idx = 0;
  std::vector<int64_t> obj_ids;
  Tensor video_res_masks;
};

struct VideoPredictorOptions {
  // Memory features are kept rounded to bfloat16, as the official predictor stores them; false
  // keeps them in float32.
  bool bfloat16_memory = true;
};

struct PropagateOptions {
  std::optional<int64_t> start_frame_idx;         // default: the earliest prompted frame
  std::optional<int64_t> max_frame_num_to_track;  // default: the whole video
  bool reverse = false;
};

// sam2.sam2_video_predictor.SAM2VideoPredictor (the model is held, not inherited from).
// Everything runs without recording gradients, as the official methods run in inference mode.
class SAM2VideoPredictor {
 public:
  // The options that only the video predictor has (fill_hole_area, non_overlap_masks,
  // clear_non_cond_mem_around_input, add_all_frames_to_correct_as_cond) come from model.config.
  explicit SAM2VideoPredictor(SAM2Base& model, VideoPredictorOptions options = {});

  // A folder of JPEG or PNG frames named by number (see load_video_frames).
  InferenceState init_state(const std::string& video_path);
  // Frames already preprocessed: (T, 3, S, S) and the video's size.
  InferenceState init_state_from_images(const Tensor& images, int64_t video_height, int64_t video_width);

  // Points (N, 2) in video pixels (or [0, 1] without normalize_coords) with labels (N), and/or a
  // box (4); undefined tensors mean none. A box comes before the points, and needs clear_old_points.
  FrameMasks add_new_points_or_box(InferenceState& state, int64_t frame_idx, int64_t obj_id, const Tensor& points,
                                   const Tensor& labels, const Tensor& box = Tensor(), bool clear_old_points = true,
                                   bool normalize_coords = true);
  // mask (H, W) bool or 0/1 at any size (resized to the model's size when different).
  FrameMasks add_new_mask(InferenceState& state, int64_t frame_idx, int64_t obj_id, const Tensor& mask);

  // Tracks every object through the video, calling `on_frame` for each frame in processing order.
  void propagate_in_video(InferenceState& state, const std::function<void(const FrameMasks&)>& on_frame,
                          const PropagateOptions& options = {});
  void propagate_in_video_preflight(InferenceState& state);

  FrameMasks clear_all_prompts_in_frame(InferenceState& state, int64_t frame_idx, int64_t obj_id);
  // Forgets every object and result (the video stays loaded).
  void reset_state(InferenceState& state);
  // Removes one object; returns the remaining ids and the updated masks of its prompted frames.
  std::pair<std::vector<int64_t>, std::vector<FrameMasks>> remove_object(InferenceState& state, int64_t obj_id,
                                                                         bool strict = false);

 private:
  size_t obj_id_to_idx(InferenceState& state, int64_t obj_id) const;
  const BackboneOutput& image_feature(InferenceState& state, int64_t frame_idx) const;
  // _run_single_frame_inference: the stored (compact) output and the low-resolution masks.
  std::pair<FrameOutput, Tensor> run_single_frame_inference(InferenceState& state, const OutputDict& output_dict,
                                                            int64_t frame_idx, bool is_init_cond_frame,
                                                            const std::optional<PointInputs>& point_inputs,
                                                            const Tensor& mask_inputs, bool reverse,
                                                            bool run_mem_encoder,
                                                            const Tensor& prev_sam_mask_logits = Tensor()) const;
  std::pair<Tensor, std::vector<Tensor>> run_memory_encoder(InferenceState& state, int64_t frame_idx,
                                                            const Tensor& high_res_masks,
                                                            const Tensor& object_score_logits,
                                                            bool is_mask_from_pts) const;
  // The consolidated masks of every object on a frame, at the video's resolution.
  Tensor consolidate_at_video_res(const InferenceState& state, int64_t frame_idx, bool is_cond) const;
  Tensor to_video_res(const InferenceState& state, const Tensor& masks) const;
  FrameMasks frame_masks(const InferenceState& state, int64_t frame_idx, bool is_cond) const;
  // After a prompt: run the frame for one object and keep it among the temporary outputs.
  FrameMasks prompt_frame(InferenceState& state, size_t obj_idx, int64_t frame_idx,
                          const std::optional<PointInputs>& point_inputs, const Tensor& mask_inputs,
                          const Tensor& prev_sam_mask_logits);
  void clear_non_cond_mem_around_input(InferenceState& state, int64_t frame_idx) const;

  // Memory features as they are kept between frames (see VideoPredictorOptions).
  Tensor stored_memory(const Tensor& features) const;

  SAM2Base& model_;
  VideoPredictorOptions options_;
};

}  // namespace qatd::sam2

#include "train/correction_clicks.h"

#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/shape_ops.h"
#include "train/data/prompt_sampling.h"

namespace qatd::train {

CorrectionRun correction_steps(sam2::SAM2Base& model, const sam2::ImageFeatures& features,
                               const sam2::PointInputs& prompt, const sam2::SamOutputs& first, const Tensor& targets,
                               const CorrectionOptions& options, Generator& generator) {
  QATD_CHECK(options.clicks >= 0, "correction clicks: the count must be >= 0, got {}", options.clicks);
  QATD_CHECK(options.from_target >= 0.0 && options.from_target <= 1.0,
             "correction clicks: the chance of a click from the target must be "
             "in [0, 1], got {}",
             options.from_target);
  const int64_t objects = prompt.point_coords.size(0);
  QATD_CHECK(targets.dim() == 3 && targets.size(0) == objects && first.high_res_masks.defined() &&
                 first.high_res_masks.size(2) == targets.size(1) && first.high_res_masks.size(3) == targets.size(2),
             "correction clicks: targets {} must be (B, S, S) for {} prompts "
             "and masks of shape {}",
             shape_str(targets.shape()), objects,
             first.high_res_masks.defined() ? shape_str(first.high_res_masks.shape()) : std::string("undefined"));
  CorrectionRun run{{}, prompt};
  std::vector<sam2::SamOutputs>& steps = run.steps;
  sam2::PointInputs& points = run.points;
  steps.reserve(static_cast<size_t>(options.clicks));
  // The objects' masks, the same for every step.
  const Tensor inside = gt(targets.detach(), 0.0);
  std::vector<Tensor> object_targets;
  for (int64_t n = 0; n < objects; ++n) object_targets.push_back(inside.select(0, n).contiguous());
  const sam2::SamOutputs* previous = &first;
  for (int64_t step = 0; step < options.clicks; ++step) {
    // One draw per step decides for the whole batch, as the official trainer does.
    const bool from_target = generator.uniform() < options.from_target;
    std::vector<float> coords;
    std::vector<int32_t> labels;
    const Tensor predicted = gt(previous->high_res_masks.detach().squeeze(1), 0.0);
    for (int64_t n = 0; n < objects; ++n) {
      data::Click click = data::correction_click(predicted.select(0, n).contiguous(),
                                                 object_targets[static_cast<size_t>(n)], from_target ? 1.0 : 0.0,
                                                 generator);
      coords.insert(coords.end(), {click.x, click.y});
      labels.push_back(click.label);
    }
    points = sam2::PointInputs{cat({points.point_coords, from_vector(coords, {objects, 1, 2})}, 1),
                               cat({points.point_labels, from_vector(labels, {objects, 1})}, 1)};
    const bool multimask = points.point_labels.size(1) <= 1;
    steps.push_back(model.forward_sam_heads(features.image_embed, points, previous->low_res_masks,
                                            features.high_res_feats, multimask));
    previous = &steps.back();
  }
  return run;
}

}  // namespace qatd::train

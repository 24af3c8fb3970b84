#include "train/mask_losses.h"

#include <cmath>
#include <optional>
#include <string>

#include "engine/autograd/grad_mode.h"
#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/indexing.h"
#include "engine/ops/loss.h"
#include "engine/ops/reduce.h"

namespace qatd::train {

namespace {

constexpr const char* kOp = "sam2_mask_loss";

void check_options(const MaskLossOptions& options) {
  const std::pair<const char*, double> weights[] = {{"weight_mask", options.weight_mask},
                                                    {"weight_dice", options.weight_dice},
                                                    {"weight_iou", options.weight_iou},
                                                    {"weight_class", options.weight_class}};
  for (const auto& [name, value] : weights) {
    QATD_CHECK(std::isfinite(value) && value >= 0.0, "{}: {} must be finite and non-negative, got {}", kOp, name,
               value);
  }
  QATD_CHECK(std::isfinite(options.focal_alpha) && std::isfinite(options.focal_gamma) && options.focal_gamma >= 0.0,
             "{}: focal_alpha must be finite and focal_gamma finite and non-negative, got {} and {}", kOp,
             options.focal_alpha, options.focal_gamma);
  QATD_CHECK(std::isfinite(options.focal_alpha_obj_score) && std::isfinite(options.focal_gamma_obj_score) &&
                 options.focal_gamma_obj_score >= 0.0,
             "{}: focal_alpha_obj_score must be finite and focal_gamma_obj_score finite and non-negative, got {} and {}",
             kOp, options.focal_alpha_obj_score, options.focal_gamma_obj_score);
}

// The official sigmoid_focal_loss before its reduction. With gamma = 0 the modulating factor is
// (1 - p_t)^0 = 1 with a zero gradient (torch's pow backward for a 0 exponent), so plain BCE is the same
// function and avoids 0^-1 in the power's derivative for a saturated logit.
Tensor focal_elements(const Tensor& logits, const Tensor& target, double alpha, double gamma) {
  if (gamma == 0.0 && alpha < 0.0) {
    return binary_cross_entropy_with_logits(logits, target, Tensor(), Tensor(), Reduction::none);
  }
  return sigmoid_focal_loss(logits, target, alpha, gamma, Reduction::none);
}

void check_step(const MaskPrediction& step, const Tensor& target, const MaskLossOptions& options,
                const std::string& where) {
  QATD_CHECK(step.masks.defined(), "{}: {}: the mask logits are undefined", kOp, where);
  QATD_CHECK(is_floating(step.masks.dtype()), "{}: {}: the mask logits must be floating, got {}", kOp, where,
             step.masks.dtype());
  const Shape& shape = step.masks.shape();
  QATD_CHECK(step.masks.dim() == 4 && shape[2] == target.shape()[1] && shape[3] == target.shape()[2] &&
                 shape[0] == target.shape()[0] && shape[1] >= 1,
             "{}: {}: the mask logits must be [N, M, H, W] matching the target [N, H, W] = {}, got shape {}", kOp,
             where, shape_str(target.shape()), shape_str(shape));
  QATD_CHECK(step.ious.defined(), "{}: {}: the IoU predictions are undefined", kOp, where);
  QATD_CHECK(step.ious.dtype() == step.masks.dtype(), "{}: {}: the IoU predictions are {} but the mask logits are {}",
             kOp, where, step.ious.dtype(), step.masks.dtype());
  QATD_CHECK(step.ious.shape() == (Shape{shape[0], shape[1]}),
             "{}: {}: the IoU predictions must be [N, M] = [{}, {}] for mask logits of shape {}, got shape {}", kOp,
             where, shape[0], shape[1], shape_str(shape), shape_str(step.ious.shape()));
  if (!options.pred_obj_scores) return;
  QATD_CHECK(step.object_scores.defined(), "{}: {}: the object-score logits are undefined but pred_obj_scores is set",
             kOp, where);
  QATD_CHECK(step.object_scores.dtype() == step.masks.dtype(),
             "{}: {}: the object-score logits are {} but the mask logits are {}", kOp, where,
             step.object_scores.dtype(), step.masks.dtype());
  QATD_CHECK(step.object_scores.shape() == (Shape{shape[0], 1}),
             "{}: {}: the object-score logits must be [N, 1] = [{}, 1], got shape {}", kOp, where, shape[0],
             shape_str(step.object_scores.shape()));
}

struct StepLosses {
  Tensor mask, dice, iou, object;
};

// One prediction step (_update_losses). `target` is [N, H, W] in the logits' dtype.
StepLosses step_losses(const MaskPrediction& step, const Tensor& target, double num_objects,
                       const MaskLossOptions& options) {
  const Tensor& masks = step.masks;
  int64_t objects = masks.shape()[0];
  int64_t mask_count = masks.shape()[1];
  Tensor expanded_target = target.unsqueeze(1).expand(masks.shape());

  bool plain_bce = options.mask_term == MaskTerm::bce;
  Tensor focal = focal_elements(masks, expanded_target, plain_bce ? -1.0 : options.focal_alpha,
                                plain_bce ? 0.0 : options.focal_gamma)
                     .flatten(2)
                     .mean({-1}) /
                 num_objects;
  Tensor dice = dice_loss(masks.flatten(0, 1), expanded_target.flatten(0, 1), 1.0, Reduction::none)
                    .view({objects, mask_count}) /
                num_objects;

  // Targets of the IoU head and of the object score, and the best-mask choice: constants, as the official
  // thresholds and argmin are.
  Tensor actual_iou, target_object, best;
  {
    NoGradGuard no_grad;
    Tensor predicted_foreground = gt(masks, 0.0).flatten(2);
    Tensor true_foreground = gt(expanded_target, 0.0).flatten(2);
    Tensor intersection = sum(logical_and(predicted_foreground, true_foreground).to(masks.dtype()), {-1});
    Tensor union_area = sum(logical_or(predicted_foreground, true_foreground).to(masks.dtype()), {-1});
    actual_iou = intersection / clamp(union_area, 1.0, std::nullopt);
    if (options.pred_obj_scores) {
      target_object = gt(sum(gt(target, 0.0).flatten(1).to(masks.dtype()), {-1}, true), 0.0).to(masks.dtype());
    } else {
      target_object = ones({objects, 1}, masks.dtype());
    }
    if (mask_count > 1) {
      best = argmin(focal * options.weight_mask + dice * options.weight_dice, 1, true);
    }
  }
  Tensor iou = (options.iou_use_l1_loss ? l1_loss(step.ious, actual_iou, Reduction::none)
                                        : mse_loss(step.ious, actual_iou, Reduction::none)) /
               num_objects;
  if (mask_count > 1) {
    focal = gather(focal, 1, best);
    dice = gather(dice, 1, best);
    iou = options.supervise_all_iou ? iou.mean({-1}, true) : gather(iou, 1, best);
  }
  StepLosses losses;
  losses.mask = (focal * target_object).sum();
  losses.dice = (dice * target_object).sum();
  losses.iou = (iou * target_object).sum();
  if (options.pred_obj_scores) {
    losses.object = focal_elements(step.object_scores, target_object, options.focal_alpha_obj_score,
                                   options.focal_gamma_obj_score)
                        .mean({1})
                        .sum() /
                    num_objects;
  } else {
    losses.object = zeros({}, masks.dtype());
  }
  return losses;
}

}  // namespace

MaskLoss sam2_mask_loss(const std::vector<FrameMaskPredictions>& frames, const MaskLossOptions& options) {
  check_options(options);
  QATD_CHECK(!frames.empty(), "{}: no frames", kOp);
  int64_t objects = -1;
  DType dtype = DType::f32;
  MaskLoss total;
  for (size_t f = 0; f < frames.size(); ++f) {
    const FrameMaskPredictions& frame = frames[f];
    std::string frame_name = fmt::format("frame {}", f);
    QATD_CHECK(frame.target.defined(), "{}: {}: the target is undefined", kOp, frame_name);
    QATD_CHECK(frame.target.dim() == 3, "{}: {}: the target must be [N, H, W], got shape {}", kOp, frame_name,
               shape_str(frame.target.shape()));
    QATD_CHECK(frame.target.shape()[0] >= 1, "{}: {}: the target has no objects (shape {})", kOp, frame_name,
               shape_str(frame.target.shape()));
    QATD_CHECK(objects < 0 || frame.target.shape()[0] == objects,
               "{}: {}: every frame must have the same object count, got {} here and {} in frame 0", kOp, frame_name,
               frame.target.shape()[0], objects);
    QATD_CHECK(!frame.steps.empty(), "{}: {}: no prediction steps", kOp, frame_name);
    objects = frame.target.shape()[0];
    for (size_t s = 0; s < frame.steps.size(); ++s) {
      const MaskPrediction& step = frame.steps[s];
      std::string where = fmt::format("{}, step {}", frame_name, s);
      check_step(step, frame.target, options, where);
      if (f == 0 && s == 0) dtype = step.masks.dtype();
      QATD_CHECK(step.masks.dtype() == dtype, "{}: {}: the mask logits are {} but those of frame 0, step 0 are {}", kOp,
                 where, step.masks.dtype(), dtype);
      // The official num_objects: the batch's object count (targets_batch.shape[1]), at least 1.
      StepLosses losses = step_losses(step, frame.target.detach().to(dtype), static_cast<double>(objects), options);
      bool first = f == 0 && s == 0;
      total.mask = first ? losses.mask : total.mask + losses.mask;
      total.dice = first ? losses.dice : total.dice + losses.dice;
      total.iou = first ? losses.iou : total.iou + losses.iou;
      total.object = first ? losses.object : total.object + losses.object;
    }
  }
  // reduce_loss: a zero weight drops its term, so a NaN there cannot poison the total.
  const std::pair<const Tensor*, double> terms[] = {{&total.mask, options.weight_mask},
                                                    {&total.dice, options.weight_dice},
                                                    {&total.iou, options.weight_iou},
                                                    {&total.object, options.weight_class}};
  for (const auto& [term, weight] : terms) {
    if (weight == 0.0) continue;
    total.total = total.total.defined() ? total.total + *term * weight : *term * weight;
  }
  if (!total.total.defined()) total.total = zeros({}, dtype);
  return total;
}

MaskLoss sam2_mask_loss(const MaskPrediction& prediction, const Tensor& target, const MaskLossOptions& options) {
  return sam2_mask_loss(std::vector<FrameMaskPredictions>{{{prediction}, target}}, options);
}

}  // namespace qatd::train

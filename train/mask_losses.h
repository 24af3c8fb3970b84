#pragma once
// SAM 2's supervised loss, as the official training computes it (facebookresearch/sam2,
// training/loss_fns.py, MultiStepMultiMasksAndIous; ../shared/reference/sam2_inventory.md §7).
// For every frame f (target y [N, H, W], N objects) and every prediction step of that frame (mask logits
// x [N, M, H, W], IoU predictions [N, M], object-score logits [N, 1]), with K = max(N, 1) (num_objects:
// the object count of the batch; one process, so the official all-reduce / world size is the identity):
//   focal[n, m] = mean_hw alpha_t ce (1 - p_t)^gamma / K,   ce = BCEWithLogits(x, y), p = sigmoid(x),
//                 p_t = p y + (1 - p)(1 - y), alpha_t = alpha y + (1 - alpha)(1 - y) (no alpha_t if alpha < 0)
//   dice[n, m]  = (1 - (2 sum_hw p y + 1) / (sum_hw p + sum_hw y + 1)) / K
//   iou[n, m]   = |iou_pred[n, m] - IoU(x > 0, y > 0)| / K   (squared instead with iou_use_l1_loss false); the
//                 actual IoU = |x>0 and y>0| / max(|x>0 or y>0|, 1) is a constant target (no gradient)
//   object[n]   = the same focal form on the object-score logit against any_hw(y > 0), with alpha_obj, gamma_obj
//                 (the shipped -1, 0: plain BCE); loss_class = sum_n object[n] / K
//   if M > 1: m*[n] = argmin_m (weight_mask focal + weight_dice dice) (a constant choice: no gradient through
//             it, the first index on ties as torch.argmin); focal and dice keep m* only; iou keeps the mean over
//             m (supervise_all_iou) or m* only
//   with pred_obj_scores, focal, dice and iou are multiplied by any_hw(y[n] > 0): no mask supervision for
//   an absent object; without it every object counts as present and loss_class is 0.
//   loss_mask = sum over frames, steps and n of focal (likewise loss_dice, loss_iou; loss_class per step)
//   core_loss = weight_mask loss_mask + weight_dice loss_dice + weight_iou loss_iou + weight_class loss_class,
//               a zero weight dropping its term entirely (as reduce_loss does).
// Supported options: the four weights, focal alpha/gamma, supervise_all_iou, iou_use_l1_loss,
// pred_obj_scores, alpha/gamma of the object score; the defaults are the shipped config
// (sam2.1_hiera_b+_MOSE_finetune.yaml), which sets supervise_all_iou and iou_use_l1_loss true (the
// class's own defaults are false). mask_term = bce replaces the focal form of the mask term by plain
// BCE-with-logits (alpha -1, gamma 0: mean_hw ce / K), which official training reaches with
// focal_alpha = -1, focal_gamma = 0; it is still weighted by weight_mask.
#include <vector>

#include "engine/tensor.h"

namespace qatd::train {

enum class MaskTerm { focal, bce };

struct MaskLossOptions {
  double weight_mask = 20.0;
  double weight_dice = 1.0;
  double weight_iou = 1.0;
  double weight_class = 1.0;
  MaskTerm mask_term = MaskTerm::focal;
  double focal_alpha = 0.25;  // < 0: no class weighting
  double focal_gamma = 2.0;
  bool supervise_all_iou = true;
  bool iou_use_l1_loss = true;
  bool pred_obj_scores = true;
  double focal_alpha_obj_score = -1.0;
  double focal_gamma_obj_score = 0.0;
};

// One prediction step of one frame: the initial prediction or one correction click.
struct MaskPrediction {
  Tensor masks;          // [N, M, H, W] logits at the target's resolution
  Tensor ious;           // [N, M] predicted IoUs
  Tensor object_scores;  // [N, 1] logits; may be undefined when pred_obj_scores is false
};

struct FrameMaskPredictions {
  std::vector<MaskPrediction> steps;  // at least one
  Tensor target;                      // [N, H, W] ground truth (bool or floating; > 0 is foreground)
};

struct MaskLoss {
  Tensor total;   // core_loss, the weighted sum
  Tensor mask;    // loss_mask (focal or BCE), unweighted, like every component below
  Tensor dice;    // loss_dice
  Tensor iou;     // loss_iou
  Tensor object;  // loss_class
};

// Every frame must have the same object count N (the official batch layout [T, N, H, W]). Throws,
// naming the frame and step, on undefined or non-floating predictions, mixed dtypes, shapes that do
// not match the target, an empty frame list or step list, and non-finite or negative weights.
MaskLoss sam2_mask_loss(const std::vector<FrameMaskPredictions>& frames, const MaskLossOptions& options = {});

// One frame, one step.
MaskLoss sam2_mask_loss(const MaskPrediction& prediction, const Tensor& target, const MaskLossOptions& options = {});

}  // namespace qatd::train

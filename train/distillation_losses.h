#pragma once
// Distillation losses between a frozen teacher and the quantized student, built from engine ops so
// that they are part of the student's graph. Teacher tensors are always detached here: they are
// constants, and no gradient ever reaches the teacher whatever its requires_grad says.
//
// Layerwise KD, one scalar per site i (s = student activation, t = teacher activation, same shape):
//   mse:            L_i = w_i * mean((s - t)^2)
//   mse, normalized: L_i = w_i * mean((s - t)^2) / (mean(t^2) + eps)
//                   (= ||s - t||^2 / ||t||^2 up to eps: a relative error, comparable across sites whose
//                   activations have very different scales; eps keeps an all-zero teacher finite)
//   kl:             L_i = w_i * T^2 * sum_k q_k (log q_k - log p_k) / R,   q = softmax(t / T, dim),
//                   p = softmax(s / T, dim), summed over every element, R = numel / size(dim) (the number of
//                   softmax rows: the mean KL per row, "batchmean" over rows). T^2 is Hinton et al.'s
//                   scaling: the gradient of the softened KL shrinks as 1/T^2, so T^2 keeps its magnitude
//                   comparable to a hard-label loss when T changes.
// The per-site losses, stacked in the order the sites are configured, form the [S] tensor that the bit
// penalty (quant/bit_penalty.h, L_bit_i = L_kd_i + lambda b_i / importance_i) takes as its first
// argument, so the sites must be configured in the bit controller's site order. The weight w_i is
// inside L_kd_i, hence inside L_bit_i too.
//
// Output KD, between the mask decoder's outputs (mask logits [..., H, W] and IoU predictions):
//   mask, bce: L_mask = T^2 * mean(BCEWithLogits(s / T, sigmoid(t / T)))   (a soft-target BCE; its
//              minimum over s is the teacher's entropy, not 0, but its gradient T (sigmoid(s/T) -
//              sigmoid(t/T)) / numel is that of the Bernoulli KL; T^2 as in the KL above)
//   mask, mse: L_mask = mean((s - t)^2) on the raw logits (logit matching; T is not used)
//   iou,  mse: L_iou = mean((s_iou - t_iou)^2);   iou, l1: L_iou = mean(|s_iou - t_iou|)
//   L_kd_output = mask_weight * L_mask + iou_weight * L_iou
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace qatd::train {

// Activations captured at the KD sites, by site name (the same names on teacher and student).
using NamedActivations = std::vector<std::pair<std::string, Tensor>>;

enum class SiteDivergence { mse, kl };

struct SiteKdOptions {
  SiteDivergence divergence = SiteDivergence::mse;
  double weight = 1.0;                     // w_i >= 0
  bool normalize_by_teacher = false;       // mse only: divide by mean(t^2) + normalization_epsilon
  double normalization_epsilon = 1e-8;
  double temperature = 1.0;                // kl only, > 0
  int64_t softmax_dim = -1;                // kl only: the dim the logits are a distribution over
};

struct KdSite {
  std::string name;
  SiteKdOptions options;
};

struct LayerwiseKd {
  Tensor per_site;                  // [S], L_kd_i in the order of `sites` (weighted; part of the graph)
  Tensor total;                     // scalar: sum_i L_kd_i
  std::vector<std::string> names;   // the site names, in the same order
};

// One site's weighted loss (a scalar tensor). `site` names the site in error messages. Throws on an
// undefined or non-floating tensor, a dtype or shape mismatch, or options out of range.
Tensor site_kd_loss(const Tensor& student, const Tensor& teacher, const SiteKdOptions& options,
                    const std::string& site = "site");

// Every configured site. Throws, naming the site, when a configured site is missing on either side,
// when an activation is captured on one side only (the hooks disagree), on duplicate names, and on
// any error of site_kd_loss. An empty `sites` list is an error (there is no [0] loss to penalize).
LayerwiseKd layerwise_kd_loss(const NamedActivations& student, const NamedActivations& teacher,
                              const std::vector<KdSite>& sites);

enum class MaskKdLoss { bce, mse };
enum class IouKdLoss { mse, l1 };

struct OutputKdOptions {
  MaskKdLoss mask_loss = MaskKdLoss::bce;
  double temperature = 1.0;  // bce only, > 0
  IouKdLoss iou_loss = IouKdLoss::mse;
  double mask_weight = 1.0;  // >= 0
  double iou_weight = 1.0;   // >= 0; with 0 the IoU tensors may be undefined
};

struct OutputKd {
  Tensor total;  // scalar: mask_weight * mask + iou_weight * iou
  Tensor mask;   // scalar, unweighted
  Tensor iou;    // scalar, unweighted (0 when iou_weight is 0 and no IoUs are given)
};

// Mask logits of any shape (equal on both sides, e.g. [N, M, H, W]); IoU predictions likewise ([N, M]).
OutputKd output_kd_loss(const Tensor& student_masks, const Tensor& teacher_masks, const Tensor& student_ious,
                        const Tensor& teacher_ious, const OutputKdOptions& options = {});

}  // namespace qatd::train

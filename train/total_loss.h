#pragma once
// The distillation objective, assembled from its parts so that every component can be logged:
//   L_total = (1 - lambda_output) L_task + lambda_output L_kd_output + sum_i L_bit_i
//   L_bit_i = L_kd_i + lambda b_i / importance_i                         (quant::bit_penalty)
// so the layerwise KD term sum_i L_kd_i (each L_kd_i already carrying its site weight) enters once,
// through the bit penalty, which is where the trainer computes it once per step. The logged parts:
//   loss_task = L_task, loss_kd_output = L_kd_output, loss_kd_layer = sum_i L_kd_i,
//   loss_bit = sum_i (L_bit_i - L_kd_i) = lambda sum_i b_i / importance_i,
// hence loss_total = (1 - lambda_output) loss_task + lambda_output loss_kd_output + loss_kd_layer + loss_bit.
// Without quantized sites (bits undefined) the bit term is 0 and L_kd_i stand alone.
#include "engine/tensor.h"
#include "quant/bit_penalty.h"

namespace qatd::train {

struct TotalLossOptions {
  double output_kd_mix = 0.5;  // lambda_output in [0, 1]: 0 is the supervised loss alone, 1 output KD alone
  quant::BitPenaltyOptions bit_penalty = {};  // lambda and the importance normalization
};

struct TotalLossInputs {
  Tensor task;         // scalar: the supervised loss (sam2_mask_loss(...).total); may be undefined when its
                       // weight 1 - lambda_output is 0 (no ground truth)
  Tensor kd_output;    // scalar: output_kd_loss(...).total; may be undefined when lambda_output is 0
  Tensor kd_per_site;  // [S]: layerwise_kd_loss(...).per_site
  Tensor bits;         // [S] b_i (e.g. BitController::stacked()), or undefined: no bit penalty
  Tensor importance;   // [S] importance_i (needed with bits)
};

struct LossComponents {
  Tensor loss_total;      // scalar, what backward starts from
  Tensor loss_task;       // scalar (0 when not given)
  Tensor loss_kd_output;  // scalar (0 when not given)
  Tensor loss_kd_layer;   // scalar: sum_i L_kd_i
  Tensor loss_bit;        // scalar: lambda sum_i b_i / importance_i
  Tensor kd_per_site;     // [S] L_kd_i
  Tensor bit_per_site;    // [S] L_bit_i (equal to L_kd_i without bits)
};

// Throws on lambda_output outside [0, 1], on a term with a non-zero weight left undefined, on non-scalar
// task or output-KD losses, on a kd_per_site that is not 1-D, on mixed dtypes, on bits without importance
// (or the reverse), and on every error of quant::bit_penalty (shapes, lambda, importances).
LossComponents total_loss(const TotalLossInputs& inputs, const TotalLossOptions& options);

}  // namespace qatd::train

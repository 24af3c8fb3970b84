#pragma once
// The bit penalty, built from differentiable engine ops so that it is part of the graph:
//   L_bit_i = L_kd_i + lambda * b_i / importance_i,    L_total = sum_i L_bit_i
// L_kd_i is the distillation loss at site i (an input here; the trainer computes it). The three
// tensors broadcast against each other (a scalar L_kd, or one importance for all sites, is fine);
// the per-site terms have the broadcast shape. Gradients: dL/dL_kd_i = 1, dL/db_i =
// lambda / importance_i, and importance, when it requires grad, gets -lambda b_i / importance_i^2.
// With normalization = mean the importances are first divided by their mean (importance.h), so
// lambda is the penalty per bit of an average site whatever the importance estimate's scale.
#include "engine/tensor.h"
#include "quant/importance.h"

namespace qatd::quant {

class BitController;

struct BitPenaltyOptions {
  double lambda = 0.0;  // >= 0 (the trainer may scale it by BitController::penalty_scale())
  ImportanceNormalization normalization = ImportanceNormalization::none;
};

struct BitPenalty {
  Tensor total;     // scalar: sum of the per-site terms
  Tensor per_site;  // L_bit_i, for logging (part of the graph; detach to keep)
};

// Throws naming the op when a tensor is undefined, not floating, of another dtype than `bits`,
// when the shapes do not broadcast, lambda is negative or not finite, or an importance (after
// normalization) is not positive and finite.
BitPenalty bit_penalty(const Tensor& kd_per_site, const Tensor& bits, const Tensor& importance,
                       const BitPenaltyOptions& options);
// The controller's bits (stacked, in site order) with `importance` matched to its sites by name
// (validate_importance: missing or unknown sites are errors).
BitPenalty bit_penalty(const Tensor& kd_per_site, const BitController& controller, const Importance& importance,
                       const BitPenaltyOptions& options);

}  // namespace qatd::quant

#pragma once
// Loss functions with PyTorch's definitions and reductions.
#include <optional>

#include "engine/tensor.h"

namespace qatd {

enum class Reduction { none, mean, sum, batchmean };  // batchmean: kl_div only

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
                      double beta = 1.0);
// Numerically stable for any logit; weight broadcasts over the loss, pos_weight over classes.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight = Tensor(),
                                        const Tensor& pos_weight = Tensor(), Reduction reduction = Reduction::mean);
// logits (N, C, ...) with class-index targets (N, ...) of i64, or probability targets shaped like logits.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight = Tensor(),
                     int64_t ignore_index = -100, Reduction reduction = Reduction::mean, double label_smoothing = 0.0);
// torch.nn.functional.kl_div: input holds log-probabilities; target probabilities or, with
// log_target, log-probabilities.
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
              bool log_target = false);
// torchvision.ops.sigmoid_focal_loss (alpha < 0 disables the class weighting).
Tensor sigmoid_focal_loss(const Tensor& logits, const Tensor& target, double alpha = 0.25, double gamma = 2.0,
                          Reduction reduction = Reduction::none);
// 1 - (2 |p t| + smooth) / (|p| + |t| + smooth) per sample, p = sigmoid(logits), summed over
// all but the first dim (the dice loss SAM 2 trains with, before its division by the object count).
Tensor dice_loss(const Tensor& logits, const Tensor& target, double smooth = 1.0,
                 Reduction reduction = Reduction::none);

}  // namespace qatd

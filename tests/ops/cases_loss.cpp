// Op cases: loss functions, every reduction and option.
#include "tests/ops/op_case.h"

namespace qatd::testing {
namespace {

using Inputs = std::vector<Tensor>;
using S = InputSpec;
using R = Reduction;

RegisterOpCases cases({
    // Regression losses; the target is differentiable too, as in PyTorch.
    {"mse_loss_mean", {S::normal({3, 4}), S::normal({3, 4})}, [](const Inputs& x) { return mse_loss(x[0], x[1]); }},
    {"mse_loss_sum", {S::normal({2, 3, 2}), S::normal({2, 3, 2})},
     [](const Inputs& x) { return mse_loss(x[0], x[1], R::sum); }},
    {"mse_loss_none_transposed", {S::normal({4, 3}), S::normal({3, 4})},
     [](const Inputs& x) { return mse_loss(x[0].t(), x[1], R::none); }},
    {"l1_loss_mean", {S::normal({3, 4}), S::normal({3, 4})}, [](const Inputs& x) { return l1_loss(x[0], x[1]); }},
    {"l1_loss_sum", {S::normal({5}), S::normal({5})}, [](const Inputs& x) { return l1_loss(x[0], x[1], R::sum); }},
    {"l1_loss_none", {S::normal({2, 3}), S::normal({2, 3})},
     [](const Inputs& x) { return l1_loss(x[0], x[1], R::none); }},
    {"smooth_l1_loss_mean", {S::normal({3, 4}), S::normal({3, 4})},
     [](const Inputs& x) { return smooth_l1_loss(x[0], x[1]); }},
    {"smooth_l1_loss_beta_half_none", {S::normal({3, 4}), S::normal({3, 4})},
     [](const Inputs& x) { return smooth_l1_loss(x[0], x[1], R::none, 0.5); }},
    {"smooth_l1_loss_beta_zero_sum", {S::normal({3, 4}), S::normal({3, 4})},
     [](const Inputs& x) { return smooth_l1_loss(x[0], x[1], R::sum, 0.0); }},
    // binary_cross_entropy_with_logits; weight and pos_weight are never differentiated.
    {"bce_logits_mean", {S::normal({3, 4}), S::uniform({3, 4}, 0, 1)},
     [](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], x[1]); }},
    {"bce_logits_weight_none", {S::normal({3, 4}), S::uniform({3, 4}, 0, 1), S::uniform({4}, 0.5, 2).constant()},
     [](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], x[1], x[2], Tensor(), R::none); }},
    {"bce_logits_pos_weight_sum",
     {S::normal({2, 3, 4}), S::uniform({2, 3, 4}, 0, 1), S::uniform({3, 1}, 0.5, 2).constant(),
      S::uniform({4}, 0.5, 3).constant()},
     [](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], x[1], x[2], x[3], R::sum); }},
    {"bce_logits_large_logits", {S::away({3, 4}, 20, 60), S::uniform({3, 4}, 0, 1), S::uniform({4}, 0.5, 3).constant()},
     [](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], x[1], Tensor(), x[2], R::none); }},
    // cross_entropy with class indices: (N, C), (N, C, d...), unbatched, weight, ignore_index, label_smoothing.
    {"cross_entropy_mean", {S::normal({4, 5}), S::index({4}, 0, 5)},
     [](const Inputs& x) { return cross_entropy(x[0], x[1]); }},
    {"cross_entropy_weight_mean", {S::normal({6, 5}), S::index({6}, 0, 5), S::uniform({5}, 0.5, 2).constant()},
     [](const Inputs& x) { return cross_entropy(x[0], x[1], x[2]); }},
    {"cross_entropy_spatial_none", {S::normal({2, 4, 3, 2}), S::index({2, 3, 2}, 0, 4)},
     [](const Inputs& x) { return cross_entropy(x[0], x[1], Tensor(), -100, R::none); }},
    {"cross_entropy_ignore_index_mean", {S::normal({3, 5, 4}), S::index({3, 4}, -1, 5)},
     [](const Inputs& x) { return cross_entropy(x[0], x[1], Tensor(), -1); }},
    {"cross_entropy_weight_ignore_sum",
     {S::normal({3, 5, 5}), S::index({3, 5}, -1, 5), S::uniform({5}, 0.5, 2).constant()},
     [](const Inputs& x) { return cross_entropy(x[0], x[1], x[2], -1, R::sum); }},
    {"cross_entropy_smoothing_mean", {S::normal({4, 5}), S::index({4}, 0, 5)},
     [](const Inputs& x) { return cross_entropy(x[0], x[1], Tensor(), -100, R::mean, 0.1); }},
    {"cross_entropy_smoothing_weight_ignore_mean",
     {S::normal({3, 5, 4}), S::index({3, 4}, -1, 5), S::uniform({5}, 0.5, 2).constant()},
     [](const Inputs& x) { return cross_entropy(x[0], x[1], x[2], -1, R::mean, 0.2); }},
    {"cross_entropy_smoothing_weight_ignore_none",
     {S::normal({3, 5, 4}), S::index({3, 4}, -1, 5), S::uniform({5}, 0.5, 2).constant()},
     [](const Inputs& x) { return cross_entropy(x[0], x[1], x[2], -1, R::none, 0.3); }},
    {"cross_entropy_unbatched", {S::normal({5}), S::index({}, 0, 5)},
     [](const Inputs& x) { return cross_entropy(x[0], x[1]); }},
    // cross_entropy with probability targets (differentiable).
    {"cross_entropy_probabilities_mean", {S::normal({3, 5}), S::uniform({3, 5}, 0, 1)},
     [](const Inputs& x) { return cross_entropy(x[0], x[1]); }},
    {"cross_entropy_probabilities_weight_smoothing_none",
     {S::normal({2, 3, 4}), S::uniform({2, 3, 4}, 0, 1), S::uniform({3}, 0.5, 2).constant()},
     [](const Inputs& x) { return cross_entropy(x[0], x[1], x[2], -100, R::none, 0.2); }},
    {"cross_entropy_probabilities_weight_sum",
     {S::normal({2, 3, 4}), S::uniform({2, 3, 4}, 0, 1), S::uniform({3}, 0.5, 2).constant()},
     [](const Inputs& x) { return cross_entropy(x[0], x[1], x[2], -100, R::sum); }},
    // kl_div: every reduction, probability and log-probability targets.
    {"kl_div_mean", {S::normal({3, 4}), S::uniform({3, 4}, 0, 1)}, [](const Inputs& x) { return kl_div(x[0], x[1]); }},
    {"kl_div_sum", {S::normal({3, 4}), S::uniform({3, 4}, 0, 1)},
     [](const Inputs& x) { return kl_div(x[0], x[1], R::sum); }},
    {"kl_div_none", {S::normal({3, 4}), S::uniform({3, 4}, 0, 1)},
     [](const Inputs& x) { return kl_div(x[0], x[1], R::none); }},
    {"kl_div_batchmean", {S::normal({3, 2, 4}), S::uniform({3, 2, 4}, 0, 1)},
     [](const Inputs& x) { return kl_div(x[0], x[1], R::batchmean); }},
    {"kl_div_log_target_batchmean", {S::normal({3, 4}), S::normal({3, 4})},
     [](const Inputs& x) { return kl_div(x[0], x[1], R::batchmean, true); }},
    {"kl_div_log_target_none", {S::normal({3, 4}), S::normal({3, 4})},
     [](const Inputs& x) { return kl_div(x[0], x[1], R::none, true); }},
    // sigmoid_focal_loss (torchvision) and dice_loss (SAM 2).
    {"sigmoid_focal_loss_default", {S::normal({3, 4}), S::uniform({3, 4}, 0, 1)},
     [](const Inputs& x) { return sigmoid_focal_loss(x[0], x[1]); }},
    {"sigmoid_focal_loss_no_alpha_gamma0_mean", {S::normal({3, 4}), S::uniform({3, 4}, 0, 1)},
     [](const Inputs& x) { return sigmoid_focal_loss(x[0], x[1], -1.0, 0.0, R::mean); }},
    {"sigmoid_focal_loss_alpha_gamma_sum", {S::normal({2, 3, 2}), S::uniform({2, 3, 2}, 0, 1)},
     [](const Inputs& x) { return sigmoid_focal_loss(x[0], x[1], 0.6, 1.5, R::sum); }},
    {"dice_loss_none", {S::normal({3, 2, 4}), S::uniform({3, 2, 4}, 0, 1)},
     [](const Inputs& x) { return dice_loss(x[0], x[1]); }},
    {"dice_loss_mean", {S::normal({2, 5}), S::uniform({2, 5}, 0, 1)},
     [](const Inputs& x) { return dice_loss(x[0], x[1], 1.0, R::mean); }},
    {"dice_loss_smooth_sum", {S::normal({3, 2, 2, 2}), S::uniform({3, 2, 2, 2}, 0, 1)},
     [](const Inputs& x) { return dice_loss(x[0], x[1], 0.5, R::sum); }},
});

}  // namespace
}  // namespace qatd::testing

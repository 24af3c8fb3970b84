"""Op cases: loss functions; the C++ side is tests/ops/cases_loss.cpp."""
import torch
import torch.nn.functional as F

from op_fixtures import away, case, constant, index, normal, uniform


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss, verbatim (torchvision is not installed here)."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


def dice_loss(inputs, targets, smooth=1.0, reduction="none"):
    """SAM 2's training/loss_fns.py dice_loss per object, before its division by num_objects."""
    inputs = inputs.sigmoid().flatten(1)
    targets = targets.flatten(1)
    numerator = 2 * (inputs * targets).sum(-1)
    denominator = inputs.sum(-1) + targets.sum(-1)
    loss = 1 - (numerator + smooth) / (denominator + smooth)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# Regression losses.
case("mse_loss_mean", [normal(3, 4), normal(3, 4)], F.mse_loss)
case("mse_loss_sum", [normal(2, 3, 2), normal(2, 3, 2)], lambda a, b: F.mse_loss(a, b, reduction="sum"))
case("mse_loss_none_transposed", [normal(4, 3), normal(3, 4)], lambda a, b: F.mse_loss(a.t(), b, reduction="none"))
case("l1_loss_mean", [normal(3, 4), normal(3, 4)], F.l1_loss)
case("l1_loss_sum", [normal(5), normal(5)], lambda a, b: F.l1_loss(a, b, reduction="sum"))
case("l1_loss_none", [normal(2, 3), normal(2, 3)], lambda a, b: F.l1_loss(a, b, reduction="none"))
case("smooth_l1_loss_mean", [normal(3, 4), normal(3, 4)], F.smooth_l1_loss)
case("smooth_l1_loss_beta_half_none", [normal(3, 4), normal(3, 4)],
     lambda a, b: F.smooth_l1_loss(a, b, reduction="none", beta=0.5))
case("smooth_l1_loss_beta_zero_sum", [normal(3, 4), normal(3, 4)],
     lambda a, b: F.smooth_l1_loss(a, b, reduction="sum", beta=0.0))
# binary_cross_entropy_with_logits.
case("bce_logits_mean", [normal(3, 4), uniform((3, 4), 0, 1)], F.binary_cross_entropy_with_logits)
case("bce_logits_weight_none", [normal(3, 4), uniform((3, 4), 0, 1), constant(uniform((4,), 0.5, 2))],
     lambda x, t, w: F.binary_cross_entropy_with_logits(x, t, w, reduction="none"))
case("bce_logits_pos_weight_sum",
     [normal(2, 3, 4), uniform((2, 3, 4), 0, 1), constant(uniform((3, 1), 0.5, 2)), constant(uniform((4,), 0.5, 3))],
     lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, reduction="sum", pos_weight=pw))
case("bce_logits_large_logits", [away((3, 4), 20, 60), uniform((3, 4), 0, 1), constant(uniform((4,), 0.5, 3))],
     lambda x, t, pw: F.binary_cross_entropy_with_logits(x, t, reduction="none", pos_weight=pw))
# cross_entropy with class indices.
case("cross_entropy_mean", [normal(4, 5), index((4,), 0, 5)], F.cross_entropy)
case("cross_entropy_weight_mean", [normal(6, 5), index((6,), 0, 5), constant(uniform((5,), 0.5, 2))],
     lambda x, t, w: F.cross_entropy(x, t, w))
case("cross_entropy_spatial_none", [normal(2, 4, 3, 2), index((2, 3, 2), 0, 4)],
     lambda x, t: F.cross_entropy(x, t, reduction="none"))
case("cross_entropy_ignore_index_mean", [normal(3, 5, 4), index((3, 4), -1, 5)],
     lambda x, t: F.cross_entropy(x, t, ignore_index=-1))
case("cross_entropy_weight_ignore_sum", [normal(3, 5, 5), index((3, 5), -1, 5), constant(uniform((5,), 0.5, 2))],
     lambda x, t, w: F.cross_entropy(x, t, w, ignore_index=-1, reduction="sum"))
case("cross_entropy_smoothing_mean", [normal(4, 5), index((4,), 0, 5)],
     lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1))
case("cross_entropy_smoothing_weight_ignore_mean",
     [normal(3, 5, 4), index((3, 4), -1, 5), constant(uniform((5,), 0.5, 2))],
     lambda x, t, w: F.cross_entropy(x, t, w, ignore_index=-1, label_smoothing=0.2))
case("cross_entropy_smoothing_weight_ignore_none",
     [normal(3, 5, 4), index((3, 4), -1, 5), constant(uniform((5,), 0.5, 2))],
     lambda x, t, w: F.cross_entropy(x, t, w, ignore_index=-1, reduction="none", label_smoothing=0.3))
case("cross_entropy_unbatched", [normal(5), index((), 0, 5)], F.cross_entropy)
# cross_entropy with probability targets.
case("cross_entropy_probabilities_mean", [normal(3, 5), uniform((3, 5), 0, 1)], F.cross_entropy)
case("cross_entropy_probabilities_weight_smoothing_none",
     [normal(2, 3, 4), uniform((2, 3, 4), 0, 1), constant(uniform((3,), 0.5, 2))],
     lambda x, t, w: F.cross_entropy(x, t, w, reduction="none", label_smoothing=0.2))
case("cross_entropy_probabilities_weight_sum",
     [normal(2, 3, 4), uniform((2, 3, 4), 0, 1), constant(uniform((3,), 0.5, 2))],
     lambda x, t, w: F.cross_entropy(x, t, w, reduction="sum"))
# kl_div.
case("kl_div_mean", [normal(3, 4), uniform((3, 4), 0, 1)], lambda x, t: F.kl_div(x, t, reduction="mean"))
case("kl_div_sum", [normal(3, 4), uniform((3, 4), 0, 1)], lambda x, t: F.kl_div(x, t, reduction="sum"))
case("kl_div_none", [normal(3, 4), uniform((3, 4), 0, 1)], lambda x, t: F.kl_div(x, t, reduction="none"))
case("kl_div_batchmean", [normal(3, 2, 4), uniform((3, 2, 4), 0, 1)],
     lambda x, t: F.kl_div(x, t, reduction="batchmean"))
case("kl_div_log_target_batchmean", [normal(3, 4), normal(3, 4)],
     lambda x, t: F.kl_div(x, t, reduction="batchmean", log_target=True))
case("kl_div_log_target_none", [normal(3, 4), normal(3, 4)],
     lambda x, t: F.kl_div(x, t, reduction="none", log_target=True))
# sigmoid_focal_loss and dice_loss.
case("sigmoid_focal_loss_default", [normal(3, 4), uniform((3, 4), 0, 1)], sigmoid_focal_loss)
case("sigmoid_focal_loss_no_alpha_gamma0_mean", [normal(3, 4), uniform((3, 4), 0, 1)],
     lambda x, t: sigmoid_focal_loss(x, t, alpha=-1.0, gamma=0.0, reduction="mean"))
case("sigmoid_focal_loss_alpha_gamma_sum", [normal(2, 3, 2), uniform((2, 3, 2), 0, 1)],
     lambda x, t: sigmoid_focal_loss(x, t, alpha=0.6, gamma=1.5, reduction="sum"))
case("dice_loss_none", [normal(3, 2, 4), uniform((3, 2, 4), 0, 1)], dice_loss)
case("dice_loss_mean", [normal(2, 5), uniform((2, 5), 0, 1)], lambda x, t: dice_loss(x, t, 1.0, "mean"))
case("dice_loss_smooth_sum", [normal(3, 2, 2, 2), uniform((3, 2, 2, 2), 0, 1)],
     lambda x, t: dice_loss(x, t, 0.5, "sum"))

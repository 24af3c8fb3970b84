// Losses composed from differentiable engine ops, so their gradients come from those ops'
// backward passes (gradients flow to the input and, as in PyTorch, to floating targets; class
// weights and pos_weight get none, PyTorch refuses to differentiate them).
#include "engine/ops/loss.h"

#include <string_view>

#include "engine/autograd/grad_mode.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/indexing.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"

namespace qatd {

namespace {

void check_reduction(std::string_view loss, Reduction reduction) {
  QATD_CHECK(reduction != Reduction::batchmean, "{}: reduction batchmean is only defined for kl_div", loss);
}

Tensor one_minus(const Tensor& x) { return add(neg(x), 1.0); }

Tensor reduce_loss(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::mean: return mean(loss);
    case Reduction::sum: return sum(loss);
    default: return loss;
  }
}

// An input and a target of the same floating dtype and the same shape.
void check_input_target(std::string_view loss, const Tensor& input, const Tensor& target, std::string_view input_name) {
  ops_detail::check_defined(loss, input, input_name);
  ops_detail::check_defined(loss, target, "target");
  ops_detail::check_floating(loss, input);
  QATD_CHECK(target.dtype() == input.dtype(), "{}: target is {} but {} is {}; convert with .to()", loss,
             target.dtype(), input_name, input.dtype());
  QATD_CHECK(target.shape() == input.shape(), "{}: target of shape {} must match {} of shape {}", loss,
             shape_str(target.shape()), input_name, shape_str(input.shape()));
}

// A weight without history that broadcasts to the input (PyTorch does not differentiate loss weights).
Tensor checked_weight(std::string_view loss, const Tensor& weight, std::string_view what, const Tensor& input) {
  QATD_CHECK(weight.dtype() == input.dtype(), "{}: {} is {} but the input is {}; convert with .to()", loss, what,
             weight.dtype(), input.dtype());
  QATD_CHECK(is_broadcastable_to(weight.shape(), input.shape()),
             "{}: {} of shape {} does not broadcast to the input {}", loss, what, shape_str(weight.shape()),
             shape_str(input.shape()));
  return weight.detach();
}

// Cross-entropy per position with class-index targets; `logits` is (N, C, ...) and `classes` (N, ...).
Tensor cross_entropy_classes(const Tensor& logits, const Tensor& classes, const Tensor& weight, int64_t ignore_index,
                             Reduction reduction, double label_smoothing) {
  int64_t class_count = logits.shape()[1];
  Shape expected = logits.shape();
  expected.erase(expected.begin() + 1);
  QATD_CHECK(classes.shape() == expected,
             "cross_entropy: class-index target of shape {} does not fit logits of shape {} (expected {})",
             shape_str(classes.shape()), shape_str(logits.shape()), shape_str(expected));

  // Ignored positions read class 0 and are masked out afterwards.
  Tensor safe = classes.to(DType::i64).contiguous().clone();
  Tensor valid = empty(expected, DType::boolean);
  int64_t* values = safe.data<int64_t>();
  bool* is_valid = valid.data<bool>();
  for (int64_t i = 0; i < safe.numel(); ++i) {
    int64_t v = values[i];
    is_valid[i] = v != ignore_index;
    QATD_CHECK(!is_valid[i] || (v >= 0 && v < class_count),
               "cross_entropy: target class {} is out of range for {} classes (logits {}, ignore_index {})", v,
               class_count, shape_str(logits.shape()), ignore_index);
    if (!is_valid[i]) values[i] = 0;
  }
  Tensor target_weight;  // each position's class weight, 0 where ignored
  {
    NoGradGuard no_grad;
    target_weight = valid.to(logits.dtype());
    if (weight.defined()) {
      target_weight = mul(index_select(weight, 0, safe.reshape({-1})).view(expected), target_weight);
    }
  }

  Tensor log_probabilities = log_softmax(logits, 1);
  Tensor picked = gather(log_probabilities, 1, safe.unsqueeze(1)).squeeze(1);
  Tensor nll = where(valid, neg(mul(picked, target_weight)), 0.0);
  Tensor weight_total;  // the mean's divisor: the summed weights of the counted targets
  if (reduction == Reduction::mean) weight_total = sum(target_weight);
  Tensor loss = reduction == Reduction::none ? nll : sum(nll);
  if (reduction == Reduction::mean) loss = div(loss, weight_total);
  if (label_smoothing == 0.0) return loss;

  // Label smoothing adds the (weighted) mean over classes of -log p, as PyTorch's
  // cross_entropy_loss_label_smoothing does, normalized like the main term.
  Tensor weighted = log_probabilities;
  if (weight.defined()) {
    Shape broadcast(logits.dim(), 1);
    broadcast[1] = class_count;
    weighted = mul(log_probabilities, weight.view(broadcast));
  }
  Tensor smooth = where(valid, neg(sum(weighted, {1})), 0.0);
  Tensor smooth_loss = reduction == Reduction::none ? smooth : sum(smooth);
  if (reduction == Reduction::mean) smooth_loss = div(smooth_loss, weight_total);
  return add(mul(loss, 1.0 - label_smoothing), mul(smooth_loss, label_smoothing / static_cast<double>(class_count)));
}

// Cross-entropy with a probability distribution over classes at every position.
Tensor cross_entropy_probabilities(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                   Reduction reduction, double label_smoothing) {
  QATD_CHECK(target.shape() == logits.shape() && target.dtype() == logits.dtype(),
             "cross_entropy: probability target {} must match the logits {}", ops_detail::describe(target),
             ops_detail::describe(logits));
  int64_t class_count = logits.shape()[1];
  Tensor probabilities = target;
  if (label_smoothing > 0.0) {
    probabilities = add(mul(target, 1.0 - label_smoothing), label_smoothing / static_cast<double>(class_count));
  }
  Tensor terms = mul(log_softmax(logits, 1), probabilities);
  if (weight.defined()) {
    Shape broadcast(logits.dim(), 1);
    broadcast[1] = class_count;
    terms = mul(terms, weight.view(broadcast));
  }
  Tensor per_position = neg(sum(terms, {1}));
  if (reduction == Reduction::none) return per_position;
  Tensor total = sum(per_position);
  if (reduction == Reduction::sum) return total;
  // PyTorch divides by the number of positions, whatever the weights.
  return div(total, static_cast<double>(per_position.numel()));
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_input_target("mse_loss", input, target, "input");
  check_reduction("mse_loss", reduction);
  return reduce_loss(square(sub(input, target)), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_input_target("l1_loss", input, target, "input");
  check_reduction("l1_loss", reduction);
  return reduce_loss(abs(sub(input, target)), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  check_input_target("smooth_l1_loss", input, target, "input");
  check_reduction("smooth_l1_loss", reduction);
  QATD_CHECK(beta >= 0.0, "smooth_l1_loss: beta must be non-negative, got {}", beta);
  Tensor distance = abs(sub(input, target));
  if (beta == 0.0) return reduce_loss(distance, reduction);
  Tensor quadratic = div(mul(square(distance), 0.5), beta);
  return reduce_loss(where(lt(distance, beta), quadratic, add(distance, -0.5 * beta)), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction) {
  constexpr std::string_view name = "binary_cross_entropy_with_logits";
  check_input_target(name, logits, target, "logits");
  check_reduction(name, reduction);
  // With l = log_weight: (1 - t) x + l * softplus(-x), where softplus(-x) = -log sigmoid(x) never overflows.
  Tensor negative_log_sigmoid = softplus(neg(logits));
  if (pos_weight.defined()) {
    Tensor log_weight = add(mul(add(checked_weight(name, pos_weight, "pos_weight", logits), -1.0), target), 1.0);
    negative_log_sigmoid = mul(negative_log_sigmoid, log_weight);
  }
  Tensor loss = add(mul(one_minus(target), logits), negative_log_sigmoid);
  if (weight.defined()) loss = mul(loss, checked_weight(name, weight, "weight", logits));
  return reduce_loss(loss, reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing) {
  ops_detail::check_defined("cross_entropy", logits, "logits");
  ops_detail::check_defined("cross_entropy", target, "target");
  ops_detail::check_floating("cross_entropy", logits);
  check_reduction("cross_entropy", reduction);
  QATD_CHECK(logits.dim() >= 1, "cross_entropy: logits must be (C), (N, C) or (N, C, d1, ...), got a scalar");
  QATD_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
             "cross_entropy: label_smoothing must lie in [0, 1], got {}", label_smoothing);
  bool class_targets = target.dtype() == DType::i64 || target.dtype() == DType::i32;
  QATD_CHECK(class_targets || is_floating(target.dtype()),
             "cross_entropy: target must hold class indices (i64) or probabilities (like the logits), got {}",
             target.dtype());
  // Unbatched (C) logits are a batch of one.
  if (logits.dim() == 1) {
    QATD_CHECK(!class_targets || target.dim() == 0,
               "cross_entropy: for logits of shape {} the class-index target must be a scalar, got shape {}",
               shape_str(logits.shape()), shape_str(target.shape()));
    QATD_CHECK(class_targets || target.shape() == logits.shape(),
               "cross_entropy: probability target of shape {} must match logits of shape {}",
               shape_str(target.shape()), shape_str(logits.shape()));
    Tensor loss =
        cross_entropy(logits.unsqueeze(0), target.unsqueeze(0), weight, ignore_index, reduction, label_smoothing);
    return reduction == Reduction::none ? loss.squeeze(0) : loss;
  }
  int64_t class_count = logits.shape()[1];
  Tensor class_weight;
  if (weight.defined()) {
    QATD_CHECK(weight.dim() == 1 && weight.shape()[0] == class_count,
               "cross_entropy: weight must be 1-D with one value per class ({}), got shape {}", class_count,
               shape_str(weight.shape()));
    QATD_CHECK(weight.dtype() == logits.dtype(), "cross_entropy: weight is {} but the logits are {}",
               weight.dtype(), logits.dtype());
    class_weight = weight.detach();
  }
  if (class_targets) {
    return cross_entropy_classes(logits, target, class_weight, ignore_index, reduction, label_smoothing);
  }
  return cross_entropy_probabilities(logits, target, class_weight, reduction, label_smoothing);
}

Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target) {
  check_input_target("kl_div", input, target, "input");
  Tensor loss;
  if (log_target) {
    loss = mul(exp(target), sub(target, input));
  } else {
    // xlogy(t, t): 0 where t == 0. Reading log(1) there keeps its gradient finite as well.
    Tensor safe_target = where(eq(target, 0.0), scalar_tensor(1.0, target.dtype()), target);
    loss = sub(mul(target, log(safe_target)), mul(target, input));
  }
  if (reduction != Reduction::batchmean) return reduce_loss(loss, reduction);
  Tensor total = sum(loss);
  return input.dim() == 0 ? total : div(total, static_cast<double>(input.shape()[0]));
}

Tensor sigmoid_focal_loss(const Tensor& logits, const Tensor& target, double alpha, double gamma,
                          Reduction reduction) {
  check_input_target("sigmoid_focal_loss", logits, target, "logits");
  check_reduction("sigmoid_focal_loss", reduction);
  Tensor probability = sigmoid(logits);
  Tensor cross_entropy = binary_cross_entropy_with_logits(logits, target, Tensor(), Tensor(), Reduction::none);
  // p_t: the probability given to the true label.
  Tensor p_t = add(mul(probability, target), mul(one_minus(probability), one_minus(target)));
  Tensor loss = mul(cross_entropy, pow(one_minus(p_t), gamma));
  if (alpha >= 0.0) {
    Tensor alpha_t = add(mul(target, alpha), mul(one_minus(target), 1.0 - alpha));
    loss = mul(alpha_t, loss);
  }
  return reduce_loss(loss, reduction);
}

Tensor dice_loss(const Tensor& logits, const Tensor& target, double smooth, Reduction reduction) {
  check_input_target("dice_loss", logits, target, "logits");
  check_reduction("dice_loss", reduction);
  QATD_CHECK(logits.dim() >= 2, "dice_loss: logits must be (N, ...) with at least 2 dims, got shape {}",
             shape_str(logits.shape()));
  Tensor probability = sigmoid(logits).flatten(1);
  Tensor truth = target.flatten(1);
  Tensor numerator = mul(sum(mul(probability, truth), {-1}), 2.0);
  Tensor denominator = add(sum(probability, {-1}), sum(truth, {-1}));
  Tensor loss = one_minus(div(add(numerator, smooth), add(denominator, smooth)));
  return reduce_loss(loss, reduction);
}

}  // namespace qatd

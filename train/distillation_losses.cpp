#include "train/distillation_losses.h"

#include <cmath>
#include <map>
#include <optional>

#include "engine/autograd/grad_mode.h"
#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/loss.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/softmax.h"
#include "engine/suggest.h"

namespace qatd::train {

namespace {

// Student and teacher must be comparable element by element; checked here so that a mismatch names
// the site rather than some inner op.
void check_pair(const std::string& op, const std::string& what, const Tensor& student, const Tensor& teacher) {
  QATD_CHECK(student.defined(), "{}: the student's {} is undefined", op, what);
  QATD_CHECK(teacher.defined(), "{}: the teacher's {} is undefined", op, what);
  QATD_CHECK(is_floating(student.dtype()), "{}: the student's {} must be floating, got {}", op, what,
             student.dtype());
  QATD_CHECK(student.dtype() == teacher.dtype(), "{}: the student's {} is {} but the teacher's is {}", op, what,
             student.dtype(), teacher.dtype());
  QATD_CHECK(student.shape() == teacher.shape(), "{}: the student's {} has shape {} but the teacher's has shape {}",
             op, what, shape_str(student.shape()), shape_str(teacher.shape()));
  QATD_CHECK(student.numel() > 0, "{}: the {} is empty (shape {})", op, what, shape_str(student.shape()));
}

void check_weight(const std::string& op, const char* what, double weight) {
  QATD_CHECK(std::isfinite(weight) && weight >= 0.0, "{}: {} must be finite and non-negative, got {}", op, what,
             weight);
}

void check_temperature(const std::string& op, double temperature) {
  QATD_CHECK(std::isfinite(temperature) && temperature > 0.0, "{}: the temperature must be positive and finite, got {}",
             op, temperature);
}

Tensor kl_site(const Tensor& student, const Tensor& teacher, const SiteKdOptions& options, const std::string& op) {
  check_temperature(op, options.temperature);
  int64_t rank = student.dim();
  QATD_CHECK(rank >= 1 && options.softmax_dim >= -rank && options.softmax_dim < rank,
             "{}: softmax_dim {} is out of range for an activation of shape {}", op, options.softmax_dim,
             shape_str(student.shape()));
  int64_t dim = options.softmax_dim < 0 ? options.softmax_dim + rank : options.softmax_dim;
  double temperature = options.temperature;
  Tensor student_log_probability = log_softmax(student / temperature, dim);
  Tensor teacher_log_probability;
  {
    NoGradGuard no_grad;
    teacher_log_probability = log_softmax(teacher / temperature, dim);
  }
  // log_target keeps the teacher in log space: exp(lt) (lt - ls) never takes log(0) for a saturated softmax.
  Tensor total = kl_div(student_log_probability, teacher_log_probability, Reduction::sum, true);
  double rows = static_cast<double>(student.numel() / student.shape()[dim]);
  return total * (temperature * temperature / rows);
}

Tensor mse_site(const Tensor& student, const Tensor& teacher, const SiteKdOptions& options, const std::string& op) {
  Tensor loss = mse_loss(student, teacher, Reduction::mean);
  if (!options.normalize_by_teacher) return loss;
  QATD_CHECK(std::isfinite(options.normalization_epsilon) && options.normalization_epsilon > 0.0,
             "{}: normalization_epsilon must be positive and finite, got {}", op, options.normalization_epsilon);
  Tensor teacher_power;
  {
    NoGradGuard no_grad;
    teacher_power = mean(square(teacher)) + options.normalization_epsilon;
  }
  return loss / teacher_power;
}

std::map<std::string, Tensor> index_by_name(const NamedActivations& activations, const char* side) {
  std::map<std::string, Tensor> by_name;
  for (const auto& [name, tensor] : activations) {
    QATD_CHECK(by_name.emplace(name, tensor).second, "layerwise_kd_loss: the {} captured site '{}' twice", side, name);
  }
  return by_name;
}

std::vector<std::string> names_of(const NamedActivations& activations) {
  std::vector<std::string> names;
  for (const auto& entry : activations) names.push_back(entry.first);
  return names;
}

// A site configured but not captured on `side`: name it, and the nearest captured name if it looks like a typo.
[[noreturn]] void missing_site(const std::string& site, const char* side, const NamedActivations& captured) {
  std::vector<std::string> names = names_of(captured);
  std::optional<std::string> typo = likely_typo_of(site, names);
  fail("layerwise_kd_loss: site '{}' is missing from the {} activations{} (captured: {})", site, side,
       typo ? fmt::format(" (did you mean '{}'?)", *typo) : std::string(), names);
}

}  // namespace

Tensor site_kd_loss(const Tensor& student, const Tensor& teacher, const SiteKdOptions& options,
                    const std::string& site) {
  std::string op = fmt::format("site_kd_loss (site '{}')", site);
  check_pair(op, "activation", student, teacher);
  check_weight(op, "the site weight", options.weight);
  Tensor constant_teacher = teacher.detach();
  Tensor loss = options.divergence == SiteDivergence::kl ? kl_site(student, constant_teacher, options, op)
                                                         : mse_site(student, constant_teacher, options, op);
  return loss * options.weight;
}

LayerwiseKd layerwise_kd_loss(const NamedActivations& student, const NamedActivations& teacher,
                              const std::vector<KdSite>& sites) {
  QATD_CHECK(!sites.empty(), "layerwise_kd_loss: no KD sites are configured");
  std::map<std::string, Tensor> student_by_name = index_by_name(student, "student");
  std::map<std::string, Tensor> teacher_by_name = index_by_name(teacher, "teacher");
  // The hooks must agree: an activation on one side only means the two models were hooked differently.
  for (const auto& [name, tensor] : student_by_name) {
    QATD_CHECK(teacher_by_name.count(name), "layerwise_kd_loss: site '{}' was captured on the student but not on the "
               "teacher (teacher sites: {})", name, names_of(teacher));
  }
  for (const auto& [name, tensor] : teacher_by_name) {
    QATD_CHECK(student_by_name.count(name), "layerwise_kd_loss: site '{}' was captured on the teacher but not on the "
               "student (student sites: {})", name, names_of(student));
  }
  LayerwiseKd result;
  std::vector<Tensor> losses;
  for (const KdSite& site : sites) {
    for (const std::string& seen : result.names) {
      QATD_CHECK(seen != site.name, "layerwise_kd_loss: site '{}' is configured twice", site.name);
    }
    auto student_entry = student_by_name.find(site.name);
    if (student_entry == student_by_name.end()) missing_site(site.name, "student", student);
    auto teacher_entry = teacher_by_name.find(site.name);
    if (teacher_entry == teacher_by_name.end()) missing_site(site.name, "teacher", teacher);
    losses.push_back(site_kd_loss(student_entry->second, teacher_entry->second, site.options, site.name));
    QATD_CHECK(losses.back().dtype() == losses.front().dtype(), "layerwise_kd_loss: site '{}' is {} but site '{}' is {}",
               site.name, losses.back().dtype(), result.names.front(), losses.front().dtype());
    result.names.push_back(site.name);
  }
  result.per_site = stack(losses);
  result.total = result.per_site.sum();
  return result;
}

OutputKd output_kd_loss(const Tensor& student_masks, const Tensor& teacher_masks, const Tensor& student_ious,
                        const Tensor& teacher_ious, const OutputKdOptions& options) {
  const std::string op = "output_kd_loss";
  check_pair(op, "mask logits", student_masks, teacher_masks);
  check_weight(op, "mask_weight", options.mask_weight);
  check_weight(op, "iou_weight", options.iou_weight);
  Tensor teacher = teacher_masks.detach();
  OutputKd result;
  if (options.mask_loss == MaskKdLoss::bce) {
    check_temperature(op, options.temperature);
    double temperature = options.temperature;
    Tensor soft_target;
    {
      NoGradGuard no_grad;
      soft_target = sigmoid(teacher / temperature);
    }
    result.mask = binary_cross_entropy_with_logits(student_masks / temperature, soft_target, Tensor(), Tensor(),
                                                   Reduction::mean) *
                  (temperature * temperature);
  } else {
    result.mask = mse_loss(student_masks, teacher, Reduction::mean);
  }
  bool ious_given = student_ious.defined() || teacher_ious.defined();
  QATD_CHECK(ious_given || options.iou_weight == 0.0,
             "output_kd_loss: the IoU predictions are undefined but iou_weight is {}", options.iou_weight);
  if (ious_given) {
    check_pair(op, "IoU predictions", student_ious, teacher_ious);
    QATD_CHECK(student_ious.dtype() == student_masks.dtype(), "{}: the IoU predictions are {} but the masks are {}",
               op, student_ious.dtype(), student_masks.dtype());
    Tensor teacher_iou = teacher_ious.detach();
    result.iou = options.iou_loss == IouKdLoss::l1 ? l1_loss(student_ious, teacher_iou, Reduction::mean)
                                                   : mse_loss(student_ious, teacher_iou, Reduction::mean);
  } else {
    result.iou = zeros({}, student_masks.dtype());
  }
  result.total = result.mask * options.mask_weight + result.iou * options.iou_weight;
  return result;
}

}  // namespace qatd::train

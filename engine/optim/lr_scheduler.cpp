#include "engine/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace qatd::optim {

LRScheduler::LRScheduler(std::string name, Optimizer& optimizer, std::optional<size_t> group)
    : name_(std::move(name)), optimizer_(&optimizer) {
  if (group) {
    QATD_CHECK(*group < optimizer.num_groups(), "{}: param group {} does not exist ({} has {} groups)", name_, *group,
               optimizer.name(), optimizer.num_groups());
    groups_.push_back(*group);
  } else {
    for (size_t g = 0; g < optimizer.num_groups(); ++g) groups_.push_back(g);
  }
}

void LRScheduler::start() {
  for (size_t group : groups_) {
    if (!optimizer_->initial_lr(group)) optimizer_->set_initial_lr(group, optimizer_->lr(group));
    base_lrs_.push_back(*optimizer_->initial_lr(group));
  }
  last_step_ = 0;
  apply();
}

void LRScheduler::apply() {
  std::vector<double> lrs;
  for (size_t k = 0; k < groups_.size(); ++k) {
    lrs.push_back(lr_at(last_step_, base_lrs_[k]));
    QATD_CHECK(std::isfinite(lrs.back()) && lrs.back() >= 0.0, "{}: step {} gives an invalid lr {} for param group {}",
               name_, last_step_, lrs.back(), groups_[k]);
  }
  for (size_t k = 0; k < groups_.size(); ++k) optimizer_->set_lr(groups_[k], lrs[k]);
}

void LRScheduler::step() {
  ++last_step_;
  apply();
}

std::vector<double> LRScheduler::last_lr() const {
  std::vector<double> lrs;
  for (size_t group : groups_) lrs.push_back(optimizer_->lr(group));
  return lrs;
}

nlohmann::json LRScheduler::state_dict() const {
  return {{"scheduler", name_}, {"last_step", last_step_}, {"base_lrs", base_lrs_}, {"groups", groups_}};
}

void LRScheduler::load_state_dict(const nlohmann::json& state) {
  std::string what = name_ + ".load_state_dict";
  QATD_CHECK(state.is_object() && state.contains("scheduler") && state.contains("last_step") &&
                 state.contains("base_lrs") && state.contains("groups"),
             "{}: not a scheduler state (expected 'scheduler', 'last_step', 'base_lrs' and 'groups')", what);
  std::string saved_name = state.at("scheduler").is_string() ? state.at("scheduler").get<std::string>() : "?";
  QATD_CHECK(saved_name == name_, "{}: the state was saved by {}, not {}", what, saved_name, name_);
  int64_t step = 0;
  std::vector<double> base_lrs;
  std::vector<size_t> groups;
  try {
    step = state.at("last_step").get<int64_t>();
    base_lrs = state.at("base_lrs").get<std::vector<double>>();
    groups = state.at("groups").get<std::vector<size_t>>();
  } catch (const nlohmann::json::exception& error) {
    fail("{}: malformed state ({})", what, error.what());
  }
  QATD_CHECK(step >= 0, "{}: last_step {} is negative", what, step);
  QATD_CHECK(groups == groups_, "{}: the state drives param groups {}, this scheduler drives {}", what, groups,
             groups_);
  QATD_CHECK(base_lrs.size() == groups_.size(), "{}: the state has {} base lrs for {} groups", what, base_lrs.size(),
             groups_.size());
  for (double base_lr : base_lrs) {
    QATD_CHECK(std::isfinite(base_lr) && base_lr >= 0.0, "{}: invalid base lr {}", what, base_lr);
  }
  std::vector<double> previous_base = base_lrs_;
  int64_t previous_step = last_step_;
  base_lrs_ = base_lrs;
  last_step_ = step;
  try {
    apply();
  } catch (...) {
    base_lrs_ = previous_base;
    last_step_ = previous_step;
    throw;
  }
}

ConstantLR::ConstantLR(Optimizer& optimizer, const ConstantLRSettings& settings, std::optional<size_t> group)
    : LRScheduler("ConstantLR", optimizer, group), settings_(settings) {
  QATD_CHECK(settings.factor >= 0.0 && settings.factor <= 1.0, "ConstantLR: factor {} must be in [0, 1]",
             settings.factor);
  QATD_CHECK(settings.total_iters >= 0, "ConstantLR: total_iters {} must be >= 0", settings.total_iters);
  start();
}

double ConstantLR::lr_at(int64_t step, double base_lr) const {
  return step < settings_.total_iters ? base_lr * settings_.factor : base_lr;
}

StepLR::StepLR(Optimizer& optimizer, const StepLRSettings& settings, std::optional<size_t> group)
    : LRScheduler("StepLR", optimizer, group), settings_(settings) {
  QATD_CHECK(settings.step_size >= 1, "StepLR: step_size {} must be >= 1", settings.step_size);
  QATD_CHECK(std::isfinite(settings.gamma) && settings.gamma >= 0.0, "StepLR: gamma {} must be finite and >= 0",
             settings.gamma);
  start();
}

double StepLR::lr_at(int64_t step, double base_lr) const {
  return base_lr * std::pow(settings_.gamma, static_cast<double>(step / settings_.step_size));
}

LinearLR::LinearLR(Optimizer& optimizer, const LinearLRSettings& settings, std::optional<size_t> group)
    : LRScheduler("LinearLR", optimizer, group), settings_(settings) {
  QATD_CHECK(settings.start_factor >= 0.0 && settings.start_factor <= 1.0,
             "LinearLR: start_factor {} must be in [0, 1]", settings.start_factor);
  QATD_CHECK(settings.end_factor >= 0.0 && settings.end_factor <= 1.0, "LinearLR: end_factor {} must be in [0, 1]",
             settings.end_factor);
  QATD_CHECK(settings.total_iters >= 1, "LinearLR: total_iters {} must be >= 1", settings.total_iters);
  start();
}

double LinearLR::lr_at(int64_t step, double base_lr) const {
  double progress = static_cast<double>(std::min(settings_.total_iters, step)) /
                    static_cast<double>(settings_.total_iters);
  return base_lr * (settings_.start_factor + (settings_.end_factor - settings_.start_factor) * progress);
}

CosineWarmupLR::CosineWarmupLR(Optimizer& optimizer, const CosineWarmupSettings& settings,
                               std::optional<size_t> group)
    : LRScheduler("CosineWarmupLR", optimizer, group), settings_(settings) {
  QATD_CHECK(settings.warmup_steps >= 0, "CosineWarmupLR: warmup_steps {} must be >= 0", settings.warmup_steps);
  QATD_CHECK(settings.total_steps > settings.warmup_steps,
             "CosineWarmupLR: total_steps {} must be greater than warmup_steps {}", settings.total_steps,
             settings.warmup_steps);
  QATD_CHECK(std::isfinite(settings.min_lr) && settings.min_lr >= 0.0, "CosineWarmupLR: min_lr {} must be >= 0",
             settings.min_lr);
  QATD_CHECK(settings.warmup_start_factor >= 0.0 && settings.warmup_start_factor <= 1.0,
             "CosineWarmupLR: warmup_start_factor {} must be in [0, 1]", settings.warmup_start_factor);
  start();
}

double CosineWarmupLR::lr_at(int64_t step, double base_lr) const {
  const auto warmup = static_cast<double>(settings_.warmup_steps);
  if (step < settings_.warmup_steps) {
    double f0 = settings_.warmup_start_factor;
    return base_lr * (f0 + (1.0 - f0) * static_cast<double>(step) / warmup);
  }
  if (step >= settings_.total_steps) return settings_.min_lr;
  double progress = (static_cast<double>(step) - warmup) / (static_cast<double>(settings_.total_steps) - warmup);
  return settings_.min_lr + (base_lr - settings_.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(int64_t)> factor, std::optional<size_t> group)
    : LRScheduler("LambdaLR", optimizer, group), factor_(std::move(factor)) {
  QATD_CHECK(static_cast<bool>(factor_), "LambdaLR: the factor function is empty");
  start();
}

double LambdaLR::lr_at(int64_t step, double base_lr) const { return base_lr * factor_(step); }

}  // namespace qatd::optim

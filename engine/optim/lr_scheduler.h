#pragma once
// Learning-rate schedulers, as torch.optim.lr_scheduler. A scheduler drives the lr of one param
// group, or of every group, scaling each from the group's initial lr (its base lr: the group's lr
// when the first scheduler attached, kept as the optimizer's initial_lr). Used as in PyTorch:
//   StepLR scheduler(optimizer, {.step_size = 30, .gamma = 0.1});
//   for (...) { loss.backward(); optimizer.step(); optimizer.zero_grad(); scheduler.step(); }
// Construction sets step 0's lr; each step() moves to the next step and sets its lr, so the k-th
// optimizer step (from 0) runs with lr_at(k). Every schedule is a closed form of (step, base lr)
// (PyTorch's _get_closed_form_lr), so lrs never drift with rounding, and a restored scheduler sets
// exactly the lrs of an uninterrupted one. When two schedulers drive one group, the last to set the
// lr wins (no chaining). The optimizer must outlive its schedulers.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/optim/optimizer.h"

namespace qatd::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  const std::string& name() const { return name_; }
  // Advances one step and sets the driven groups' lrs.
  void step();
  int64_t last_step() const { return last_step_; }       // PyTorch's last_epoch: 0 after construction
  const std::vector<size_t>& groups() const { return groups_; }  // the driven groups, in order
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  std::vector<double> last_lr() const;  // the current lr of each driven group (get_last_lr)
  double lr() const { return last_lr().front(); }  // the first driven group's current lr
  // The lr of a group with initial lr `base_lr` at `step`.
  virtual double lr_at(int64_t step, double base_lr) const = 0;

  // {"scheduler", "last_step", "base_lrs", "groups"}; the schedule's settings come from the
  // constructor, so a resumed run may change them.
  nlohmann::json state_dict() const;
  // Restores the step and base lrs and sets the lrs they give. Throws (changing nothing) when the
  // state is from another scheduler type or drives other groups.
  void load_state_dict(const nlohmann::json& state);

 protected:
  // `group`: the one group to drive; none: every group the optimizer has now.
  LRScheduler(std::string name, Optimizer& optimizer, std::optional<size_t> group);
  // Derived constructors end with this: it sets step 0's lrs (lr_at is not callable from here).
  void start();

 private:
  void apply();

  std::string name_;
  Optimizer* optimizer_;
  std::vector<size_t> groups_;
  std::vector<double> base_lrs_;
  int64_t last_step_ = 0;
};

// base_lr * factor for steps before total_iters, base_lr after. The default factor 1 keeps the
// lr constant (PyTorch's ConstantLR defaults to factor 1/3 for 5 steps).
struct ConstantLRSettings {
  double factor = 1.0;      // in [0, 1]
  int64_t total_iters = 0;  // >= 0
};
class ConstantLR : public LRScheduler {
 public:
  ConstantLR(Optimizer& optimizer, const ConstantLRSettings& settings = {}, std::optional<size_t> group = {});
  double lr_at(int64_t step, double base_lr) const override;

 private:
  ConstantLRSettings settings_;
};

// base_lr * gamma^floor(step / step_size) (torch.optim.lr_scheduler.StepLR).
struct StepLRSettings {
  int64_t step_size = 0;  // required, >= 1
  double gamma = 0.1;     // >= 0
};
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, const StepLRSettings& settings, std::optional<size_t> group = {});
  double lr_at(int64_t step, double base_lr) const override;

 private:
  StepLRSettings settings_;
};

// Linear warmup (torch.optim.lr_scheduler.LinearLR): the factor goes linearly from start_factor at
// step 0 to end_factor at total_iters and stays there:
//   base_lr * (start_factor + (end_factor - start_factor) * min(step, total_iters) / total_iters)
struct LinearLRSettings {
  double start_factor = 1.0 / 3.0;  // in [0, 1] (PyTorch excludes 0; here 0 starts from lr 0)
  double end_factor = 1.0;          // in [0, 1]
  int64_t total_iters = 5;          // >= 1
};
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, const LinearLRSettings& settings = {}, std::optional<size_t> group = {});
  double lr_at(int64_t step, double base_lr) const override;

 private:
  LinearLRSettings settings_;
};

// Cosine decay after a linear warmup. With W = warmup_steps, T = total_steps, f0 = warmup_start_factor:
//   step < W:       base_lr * (f0 + (1 - f0) * step / W)
//   W <= step < T:  min_lr + (base_lr - min_lr) * (1 + cos(pi * (step - W) / (T - W))) / 2
//   step >= T:      min_lr
// It reaches base_lr at step W and min_lr at step T, continuously. With f0 = 0 (the default, as in
// Hugging Face's get_cosine_schedule_with_warmup) step 0 runs with lr 0; W = 0 is plain cosine
// annealing (torch's CosineAnnealingLR with T_max = T and eta_min = min_lr, held at min_lr after T).
struct CosineWarmupSettings {
  int64_t warmup_steps = 0;          // >= 0
  int64_t total_steps = 0;           // required, > warmup_steps
  double min_lr = 0.0;               // >= 0, the same for every driven group
  double warmup_start_factor = 0.0;  // in [0, 1]
};
class CosineWarmupLR : public LRScheduler {
 public:
  CosineWarmupLR(Optimizer& optimizer, const CosineWarmupSettings& settings, std::optional<size_t> group = {});
  double lr_at(int64_t step, double base_lr) const override;

 private:
  CosineWarmupSettings settings_;
};

// base_lr * factor(step) for any factor function (torch.optim.lr_scheduler.LambdaLR).
class LambdaLR : public LRScheduler {
 public:
  LambdaLR(Optimizer& optimizer, std::function<double(int64_t step)> factor, std::optional<size_t> group = {});
  double lr_at(int64_t step, double base_lr) const override;

 private:
  std::function<double(int64_t)> factor_;
};

}  // namespace qatd::optim

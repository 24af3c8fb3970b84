#pragma once
// torch.optim.Adam and torch.optim.AdamW (foreach=False numerics). With t the parameter's step count:
//   g = grad (negated with maximize)
//   Adam:  g += weight_decay * param          AdamW: param *= 1 - lr * weight_decay
//   m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
//   v_max = max(v_max, v) with amsgrad, and v_max replaces v below
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//   param -= lr / (1 - beta1^t) * m / denom
// State per parameter: step, exp_avg (m), exp_avg_sq (v), max_exp_avg_sq (v_max, amsgrad only).
// See optimizer.h for groups, per-group clipping (max_grad_norm) and state save/restore.
#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/optim/optimizer.h"

namespace qatd::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};  // each in [0, 1)
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
  bool maximize = false;
  bool decoupled_weight_decay = false;  // true: AdamW's decay of the parameter instead of the gradient
  // Clip this group's gradients to this L2 norm before its update (see optimizer.h).
  std::optional<double> max_grad_norm = std::nullopt;
};

// AdamW's options: Adam's with PyTorch's AdamW default weight_decay of 1e-2, always decoupled.
struct AdamWOptions {
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool maximize = false;
  std::optional<double> max_grad_norm = std::nullopt;

  AdamOptions to_adam() const;
};

void validate_options(const AdamOptions& options, std::string_view where);
nlohmann::json options_to_json(const AdamOptions& options);
void options_from_json(const nlohmann::json& document, std::string_view where, AdamOptions& parsed);

class Adam : public OptimizerWithOptions<AdamOptions> {
 public:
  // One group of `params` with `options` (which also become the defaults for add_param_group).
  Adam(std::vector<Tensor> params, const AdamOptions& options = {});

 protected:
  Adam(std::string name, std::vector<Tensor> params, const AdamOptions& options);
  void update_group(size_t group) override;
  std::vector<std::string> buffer_names() const override { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamWOptions& options = {});

  void add_param_group(std::vector<Tensor> params) { Adam::add_param_group(std::move(params)); }
  void add_param_group(std::vector<Tensor> params, const AdamWOptions& options) {
    Adam::add_param_group(std::move(params), options.to_adam());
  }
  // Hides Adam's set_options, so that a group cannot lose the decoupled decay.
  void set_options(size_t group, const AdamWOptions& options) { Adam::set_options(group, options.to_adam()); }

 protected:
  void replace_group_options(const std::vector<nlohmann::json>& documents) override;
};

}  // namespace qatd::optim

#include "engine/optim/adam.h"

#include <cmath>

#include "kernels/cpu/optimizer_step.h"

namespace qatd::optim {

AdamOptions AdamWOptions::to_adam() const {
  return AdamOptions{.lr = lr,
                     .betas = betas,
                     .eps = eps,
                     .weight_decay = weight_decay,
                     .amsgrad = amsgrad,
                     .maximize = maximize,
                     .decoupled_weight_decay = true,
                     .max_grad_norm = max_grad_norm};
}

void validate_options(const AdamOptions& options, std::string_view where) {
  check_lr(options.lr, where);
  QATD_CHECK(std::isfinite(options.eps) && options.eps >= 0.0, "{}: invalid eps {} (must be finite and >= 0)", where,
             options.eps);
  for (size_t k = 0; k < 2; ++k) {
    QATD_CHECK(options.betas[k] >= 0.0 && options.betas[k] < 1.0, "{}: invalid betas[{}] = {} (must be in [0, 1))",
               where, k, options.betas[k]);
  }
  check_weight_decay(options.weight_decay, where);
  check_max_grad_norm(options.max_grad_norm, where);
}

nlohmann::json options_to_json(const AdamOptions& options) {
  return {{"lr", options.lr},
          {"betas", options.betas},
          {"eps", options.eps},
          {"weight_decay", options.weight_decay},
          {"amsgrad", options.amsgrad},
          {"maximize", options.maximize},
          {"decoupled_weight_decay", options.decoupled_weight_decay},
          {"max_grad_norm", optional_to_json(options.max_grad_norm)}};
}

void options_from_json(const nlohmann::json& document, std::string_view where, AdamOptions& parsed) {
  parsed = AdamOptions{
      .lr = json_field<double>(document, "lr", where),
      .betas = json_field<std::array<double, 2>>(document, "betas", where),
      .eps = json_field<double>(document, "eps", where),
      .weight_decay = json_field<double>(document, "weight_decay", where),
      .amsgrad = json_field<bool>(document, "amsgrad", where),
      .maximize = json_field<bool>(document, "maximize", where),
      .decoupled_weight_decay = json_field<bool>(document, "decoupled_weight_decay", where),
      .max_grad_norm = optional_from_json(document, "max_grad_norm", where),
  };
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : Adam("Adam", std::move(params), options) {}

Adam::Adam(std::string name, std::vector<Tensor> params, const AdamOptions& options)
    : OptimizerWithOptions(std::move(name), options) {
  QATD_CHECK(!params.empty(), "{}: got an empty parameter list", this->name());
  add_param_group(std::move(params), options);
}

void Adam::update_group(size_t group) {
  const AdamOptions& options = this->options(group);
  Group& held = groups_[group];
  for (size_t i = 0; i < held.params.size(); ++i) {
    Tensor grad = gradient(group, i);
    if (!grad.defined()) continue;
    const Tensor& param = held.params[i];
    if (!held.state[i]) held.state[i] = ParamState{};
    ParamState& state = *held.state[i];
    // Buffers start at zero, created at the first update that needs them.
    auto buffer = [&](const std::string& buffer_name) {
      auto found = state.buffers.find(buffer_name);
      if (found != state.buffers.end()) return found->second;
      return state.buffers[buffer_name] = zeros(param.shape(), param.dtype());
    };
    Tensor exp_avg = buffer("exp_avg"), exp_avg_sq = buffer("exp_avg_sq");
    Tensor max_exp_avg_sq = options.amsgrad ? buffer("max_exp_avg_sq") : Tensor();
    state.step += 1;
    kernels::cpu::AdamStepSettings settings{.lr = options.lr,
                                            .beta1 = options.betas[0],
                                            .beta2 = options.betas[1],
                                            .eps = options.eps,
                                            .weight_decay = options.weight_decay,
                                            .decoupled_weight_decay = options.decoupled_weight_decay,
                                            .amsgrad = options.amsgrad,
                                            .maximize = options.maximize,
                                            .step = state.step};
    update_in_place(param, [&](const Tensor& values) {
      dispatch_floating(values.dtype(), name(), [&]<typename T>() {
        kernels::cpu::adam_step<T>(values.data<T>(), grad.data<T>(), exp_avg.data<T>(), exp_avg_sq.data<T>(),
                                   options.amsgrad ? max_exp_avg_sq.data<T>() : nullptr, values.numel(), settings);
      });
    });
  }
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : Adam("AdamW", std::move(params), options.to_adam()) {}

void AdamW::replace_group_options(const std::vector<nlohmann::json>& documents) {
  for (size_t group = 0; group < documents.size(); ++group) {
    QATD_CHECK(json_field<bool>(documents[group], "decoupled_weight_decay", where(group)),
               "{}: the saved options are not AdamW's (decoupled_weight_decay is false)", where(group));
  }
  Adam::replace_group_options(documents);
}

}  // namespace qatd::optim

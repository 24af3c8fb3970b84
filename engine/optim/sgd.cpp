#include "engine/optim/sgd.h"

#include <cmath>

#include "kernels/cpu/optimizer_step.h"

namespace qatd::optim {

void validate_options(const SgdOptions& options, std::string_view where) {
  check_lr(options.lr, where);
  QATD_CHECK(std::isfinite(options.momentum) && options.momentum >= 0.0,
             "{}: invalid momentum {} (must be finite and >= 0)", where, options.momentum);
  QATD_CHECK(std::isfinite(options.dampening), "{}: invalid dampening {} (must be finite)", where, options.dampening);
  check_weight_decay(options.weight_decay, where);
  QATD_CHECK(!options.nesterov || (options.momentum > 0.0 && options.dampening == 0.0),
             "{}: Nesterov momentum requires a momentum and zero dampening (momentum {}, dampening {})", where,
             options.momentum, options.dampening);
  check_max_grad_norm(options.max_grad_norm, where);
}

nlohmann::json options_to_json(const SgdOptions& options) {
  return {{"lr", options.lr},
          {"momentum", options.momentum},
          {"dampening", options.dampening},
          {"weight_decay", options.weight_decay},
          {"nesterov", options.nesterov},
          {"maximize", options.maximize},
          {"max_grad_norm", optional_to_json(options.max_grad_norm)}};
}

void options_from_json(const nlohmann::json& document, std::string_view where, SgdOptions& parsed) {
  parsed = SgdOptions{
      .lr = json_field<double>(document, "lr", where),
      .momentum = json_field<double>(document, "momentum", where),
      .dampening = json_field<double>(document, "dampening", where),
      .weight_decay = json_field<double>(document, "weight_decay", where),
      .nesterov = json_field<bool>(document, "nesterov", where),
      .maximize = json_field<bool>(document, "maximize", where),
      .max_grad_norm = optional_from_json(document, "max_grad_norm", where),
  };
}

SGD::SGD(std::vector<Tensor> params, const SgdOptions& options) : OptimizerWithOptions("SGD", options) {
  QATD_CHECK(!params.empty(), "SGD: got an empty parameter list");
  add_param_group(std::move(params), options);
}

void SGD::update_group(size_t group) {
  const SgdOptions& options = this->options(group);
  Group& held = groups_[group];
  for (size_t i = 0; i < held.params.size(); ++i) {
    Tensor grad = gradient(group, i);
    if (!grad.defined()) continue;
    const Tensor& param = held.params[i];
    kernels::cpu::SgdStepSettings settings{.lr = options.lr,
                                           .momentum = options.momentum,
                                           .dampening = options.dampening,
                                           .weight_decay = options.weight_decay,
                                           .nesterov = options.nesterov,
                                           .maximize = options.maximize};
    Tensor buffer;
    if (options.momentum != 0.0) {
      if (!held.state[i]) held.state[i] = ParamState{};
      auto found = held.state[i]->buffers.find("momentum_buffer");
      settings.initialize_buffer = found == held.state[i]->buffers.end();
      if (settings.initialize_buffer) {
        buffer = empty(param.shape(), param.dtype());
        held.state[i]->buffers["momentum_buffer"] = buffer;
      } else {
        buffer = found->second;
      }
    }
    update_in_place(param, [&](const Tensor& values) {
      dispatch_floating(values.dtype(), "SGD", [&]<typename T>() {
        kernels::cpu::sgd_step<T>(values.data<T>(), grad.data<T>(), buffer.defined() ? buffer.data<T>() : nullptr,
                                  values.numel(), settings);
      });
    });
  }
}

}  // namespace qatd::optim

#pragma once
// torch.optim.SGD (foreach=False numerics): stochastic gradient descent with optional momentum,
// dampening, Nesterov momentum, weight decay (added to the gradient) and maximize.
//   g = grad (negated with maximize) + weight_decay * param
//   buf = g at the first step, else momentum * buf + (1 - dampening) * g
//   g = g + momentum * buf (nesterov) or buf
//   param -= lr * g
// See optimizer.h for groups, per-group clipping (max_grad_norm) and state save/restore.
#include <optional>
#include <string_view>
#include <vector>

#include "engine/optim/optimizer.h"

namespace qatd::optim {

struct SgdOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0
  bool maximize = false;
  // Clip this group's gradients to this L2 norm before its update (see optimizer.h).
  std::optional<double> max_grad_norm = std::nullopt;
};

void validate_options(const SgdOptions& options, std::string_view where);
nlohmann::json options_to_json(const SgdOptions& options);
void options_from_json(const nlohmann::json& document, std::string_view where, SgdOptions& parsed);

class SGD : public OptimizerWithOptions<SgdOptions> {
 public:
  // One group of `params` with `options` (which also become the defaults for add_param_group).
  SGD(std::vector<Tensor> params, const SgdOptions& options = {});

 protected:
  void update_group(size_t group) override;
  std::vector<std::string> buffer_names() const override { return {"momentum_buffer"}; }
};

}  // namespace qatd::optim

#include "engine/optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/optim/clip_grad.h"

namespace qatd::optim {

namespace {

constexpr int kStateFormat = 1;

nlohmann::json shape_json(const Shape& shape) { return nlohmann::json(shape); }

}  // namespace

void check_lr(double lr, std::string_view where) {
  QATD_CHECK(std::isfinite(lr) && lr >= 0.0, "{}: invalid lr {} (must be finite and >= 0)", where, lr);
}

void check_weight_decay(double weight_decay, std::string_view where) {
  QATD_CHECK(std::isfinite(weight_decay) && weight_decay >= 0.0,
             "{}: invalid weight_decay {} (must be finite and >= 0)", where, weight_decay);
}

void check_max_grad_norm(const std::optional<double>& max_grad_norm, std::string_view where) {
  QATD_CHECK(!max_grad_norm || (std::isfinite(*max_grad_norm) && *max_grad_norm > 0.0),
             "{}: invalid max_grad_norm {} (must be finite and > 0, or unset for no clipping)", where,
             max_grad_norm.value_or(0.0));
}

nlohmann::json optional_to_json(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::optional<double> optional_from_json(const nlohmann::json& document, const std::string& key,
                                         std::string_view where) {
  QATD_CHECK(document.is_object() && document.contains(key), "{}: the saved options have no '{}'", where, key);
  const nlohmann::json& value = document.at(key);
  if (value.is_null()) return std::nullopt;
  QATD_CHECK(value.is_number(), "{}: the saved option '{}' must be a number or null, not {}", where, key,
             value.dump());
  return value.get<double>();
}

std::string Optimizer::where(size_t group) const { return fmt::format("{}: param group {}", name_, group); }

const std::vector<Tensor>& Optimizer::params(size_t group) const {
  QATD_CHECK(group < groups_.size(), "{}: param group {} does not exist ({} groups)", name_, group, groups_.size());
  return groups_[group].params;
}

std::vector<Tensor> Optimizer::all_params() const {
  std::vector<Tensor> all;
  for (const Group& group : groups_) all.insert(all.end(), group.params.begin(), group.params.end());
  return all;
}

std::optional<double> Optimizer::initial_lr(size_t group) const {
  params(group);
  return groups_[group].initial_lr;
}

void Optimizer::set_initial_lr(size_t group, double lr) {
  params(group);
  check_lr(lr, where(group));
  groups_[group].initial_lr = lr;
}

const ParamState* Optimizer::state(const Tensor& param) const {
  for (const Group& group : groups_) {
    for (size_t i = 0; i < group.params.size(); ++i) {
      if (group.params[i].is_same(param)) return group.state[i] ? &*group.state[i] : nullptr;
    }
  }
  return nullptr;
}

void Optimizer::append_group(std::vector<Tensor> params) {
  std::string group_name = where(groups_.size());
  std::set<const TensorImpl*> seen;
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& param = params[i];
    QATD_CHECK(param.defined(), "{}: parameter {} is an undefined tensor", group_name, i);
    QATD_CHECK(param.dtype() == DType::f32 || param.dtype() == DType::f64,
               "{}: parameter {} has dtype {}; only f32 and f64 parameters can be optimized", group_name, i,
               param.dtype());
    QATD_CHECK(param.is_leaf(), "{}: parameter {} is not a leaf tensor (it is the output of {}); optimize the "
               "leaf it was computed from", group_name, i, param.grad_fn() ? param.grad_fn()->name() : "an op");
    QATD_CHECK(param.device().is_cpu(), "{}: parameter {} is on {}; only CPU parameters are supported for now",
               group_name, i, param.device().str());
    QATD_CHECK(seen.insert(param.impl().get()).second, "{}: parameter {} appears twice in the group", group_name, i);
    for (size_t g = 0; g < groups_.size(); ++g) {
      for (const Tensor& held : groups_[g].params) {
        QATD_CHECK(!held.is_same(param), "{}: parameter {} is already in param group {}; a parameter may belong to "
                   "one group only", group_name, i, g);
      }
    }
  }
  Group group;
  group.state.resize(params.size());
  group.params = std::move(params);
  groups_.push_back(std::move(group));
}

Tensor Optimizer::gradient(size_t group, size_t index) const {
  const Tensor& param = groups_[group].params[index];
  Tensor grad = param.grad();
  if (!grad.defined()) return grad;
  QATD_CHECK(grad.dtype() == param.dtype(), "{}, parameter {}: the gradient's dtype {} differs from the "
             "parameter's {}", where(group), index, grad.dtype(), param.dtype());
  QATD_CHECK(grad.shape() == param.shape(), "{}, parameter {}: the gradient's shape {} differs from the "
             "parameter's {}", where(group), index, shape_str(grad.shape()), shape_str(param.shape()));
  QATD_CHECK(grad.device().is_cpu(), "{}, parameter {}: the gradient is on {}; only CPU is supported for now",
             where(group), index, grad.device().str());
  return grad.contiguous();
}

void Optimizer::step() {
  NoGradGuard no_grad;
  // Every gradient is checked before anything changes.
  for (size_t group = 0; group < groups_.size(); ++group) {
    for (size_t i = 0; i < groups_[group].params.size(); ++i) gradient(group, i);
  }
  for (size_t group = 0; group < groups_.size(); ++group) {
    if (std::optional<double> max_norm = max_grad_norm(group)) clip_grad_norm_(groups_[group].params, *max_norm);
    update_group(group);
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (const Group& group : groups_) {
    for (const Tensor& param : group.params) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        param.set_grad(Tensor());
      } else {
        grad.zero_();
      }
    }
  }
}

OptimizerState Optimizer::state_dict(const std::string& prefix) const {
  OptimizerState saved;
  nlohmann::json groups = nlohmann::json::array();
  nlohmann::json states = nlohmann::json::object();
  size_t index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const Group& group = groups_[g];
    nlohmann::json indices = nlohmann::json::array(), shapes = nlohmann::json::array(),
                   dtypes = nlohmann::json::array();
    for (size_t i = 0; i < group.params.size(); ++i, ++index) {
      indices.push_back(index);
      shapes.push_back(shape_json(group.params[i].shape()));
      dtypes.push_back(std::string(dtype_name(group.params[i].dtype())));
      if (!group.state[i]) continue;
      const ParamState& state = *group.state[i];
      nlohmann::json buffers = nlohmann::json::array();
      for (const auto& [buffer_name, buffer] : state.buffers) {
        buffers.push_back(buffer_name);
        saved.tensors.emplace_back(fmt::format("{}state.{}.{}", prefix, index, buffer_name), buffer);
      }
      states[std::to_string(index)] = {{"step", state.step}, {"buffers", buffers}};
    }
    groups.push_back({{"options", group_options_json(g)},
                      {"initial_lr", optional_to_json(group.initial_lr)},
                      {"params", indices},
                      {"shapes", shapes},
                      {"dtypes", dtypes}});
  }
  saved.metadata = {{"optimizer", name_}, {"format", kStateFormat}, {"param_groups", groups}, {"state", states}};
  return saved;
}

void Optimizer::load_state_dict(const OptimizerState& saved, const std::string& prefix) {
  try {
    restore(saved, prefix);
  } catch (const nlohmann::json::exception& error) {
    fail("{}.load_state_dict: malformed state metadata ({})", name_, error.what());
  }
}

void Optimizer::restore(const OptimizerState& saved, const std::string& prefix) {
  const nlohmann::json& metadata = saved.metadata;
  std::string what = name_ + ".load_state_dict";
  QATD_CHECK(metadata.is_object() && metadata.contains("optimizer") && metadata.contains("param_groups") &&
                 metadata.contains("state"),
             "{}: the metadata is not an optimizer state (expected an object with 'optimizer', 'param_groups' and "
             "'state')", what);
  QATD_CHECK(metadata.value("format", 0) == kStateFormat, "{}: unsupported state format {} (expected {})", what,
             metadata.value("format", 0), kStateFormat);
  std::string saved_name = metadata.at("optimizer").is_string() ? metadata.at("optimizer").get<std::string>() : "?";
  QATD_CHECK(saved_name == name_, "{}: the state was saved by {}, not {}", what, saved_name, name_);
  const nlohmann::json& saved_groups = metadata.at("param_groups");
  QATD_CHECK(saved_groups.is_array() && saved_groups.size() == groups_.size(),
             "{}: the state has {} param groups, this optimizer has {}", what,
             saved_groups.is_array() ? saved_groups.size() : 0, groups_.size());

  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& [tensor_name, tensor] : saved.tensors) by_name[tensor_name] = &tensor;

  // Everything is checked and copied into new state first; the optimizer changes only at the end.
  std::vector<const Tensor*> flat_params;
  std::vector<std::pair<size_t, size_t>> location;  // global index -> (group, index in group)
  std::vector<nlohmann::json> options;
  std::vector<std::optional<double>> initial_lrs;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const nlohmann::json& saved_group = saved_groups[g];
    const std::vector<Tensor>& params = groups_[g].params;
    QATD_CHECK(saved_group.is_object() && saved_group.contains("options") && saved_group.contains("shapes") &&
                   saved_group.contains("dtypes"),
               "{}: param group {} of the state is malformed", what, g);
    const nlohmann::json& shapes = saved_group.at("shapes");
    const nlohmann::json& dtypes = saved_group.at("dtypes");
    QATD_CHECK(shapes.is_array() && shapes.size() == params.size() && dtypes.is_array() &&
                   dtypes.size() == params.size(),
               "{}: param group {} of the state has {} parameters, this optimizer's has {}", what, g,
               shapes.is_array() ? shapes.size() : 0, params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      Shape saved_shape;
      std::string saved_dtype;
      try {
        saved_shape = shapes[i].get<Shape>();
        saved_dtype = dtypes[i].get<std::string>();
      } catch (const nlohmann::json::exception&) {
        fail("{}: param group {}, parameter {}: malformed shape or dtype in the state", what, g, i);
      }
      QATD_CHECK(saved_shape == params[i].shape(),
                 "{}: param group {}, parameter {} (index {}): the state is for shape {}, the parameter has shape {}",
                 what, g, i, flat_params.size(), shape_str(saved_shape), shape_str(params[i].shape()));
      QATD_CHECK(saved_dtype == dtype_name(params[i].dtype()),
                 "{}: param group {}, parameter {} (index {}): the state is for dtype {}, the parameter is {}", what,
                 g, i, flat_params.size(), saved_dtype, params[i].dtype());
      flat_params.push_back(&params[i]);
      location.emplace_back(g, i);
    }
    options.push_back(saved_group.at("options"));
    initial_lrs.push_back(optional_from_json(saved_group, "initial_lr", where(g)));
    if (initial_lrs.back()) check_lr(*initial_lrs.back(), where(g) + " (initial_lr)");
  }

  std::vector<std::vector<std::optional<ParamState>>> states(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) states[g].resize(groups_[g].params.size());
  std::vector<std::string> known = buffer_names();
  const nlohmann::json& saved_states = metadata.at("state");
  QATD_CHECK(saved_states.is_object(), "{}: 'state' must be an object keyed by parameter index", what);
  {
    NoGradGuard no_grad;
    for (const auto& [key, entry] : saved_states.items()) {
      size_t index = 0;
      try {
        index = std::stoul(key);
      } catch (const std::exception&) {
        fail("{}: state key '{}' is not a parameter index", what, key);
      }
      QATD_CHECK(index < flat_params.size(), "{}: the state has an entry for parameter {}, but there are only {}",
                 what, index, flat_params.size());
      QATD_CHECK(entry.is_object() && entry.contains("step") && entry.at("step").is_number_integer() &&
                     entry.at("step").get<int64_t>() >= 0 && entry.contains("buffers") &&
                     entry.at("buffers").is_array(),
                 "{}: the state of parameter {} is malformed (needs an integer step >= 0 and a list of buffers)",
                 what, index);
      const Tensor& param = *flat_params[index];
      ParamState state;
      state.step = entry.at("step").get<int64_t>();
      for (const nlohmann::json& buffer_entry : entry.at("buffers")) {
        QATD_CHECK(buffer_entry.is_string(), "{}: parameter {}: buffer names must be strings", what, index);
        std::string buffer_name = buffer_entry.get<std::string>();
        QATD_CHECK(std::find(known.begin(), known.end(), buffer_name) != known.end(),
                   "{}: parameter {}: {} keeps no buffer named '{}'", what, index, name_, buffer_name);
        std::string tensor_name = fmt::format("{}state.{}.{}", prefix, index, buffer_name);
        auto found = by_name.find(tensor_name);
        QATD_CHECK(found != by_name.end(), "{}: the tensor '{}' is missing", what, tensor_name);
        const Tensor& loaded = *found->second;
        QATD_CHECK(loaded.shape() == param.shape(), "{}: '{}' has shape {}, its parameter has shape {}", what,
                   tensor_name, shape_str(loaded.shape()), shape_str(param.shape()));
        QATD_CHECK(is_floating(loaded.dtype()), "{}: '{}' has dtype {}, not a floating dtype", what, tensor_name,
                   loaded.dtype());
        Tensor owned = loaded.dtype() == param.dtype() ? loaded.clone() : loaded.to(param.dtype());
        state.buffers[buffer_name] = owned.contiguous();
      }
      auto [g, i] = location[index];
      states[g][i] = std::move(state);
    }
  }
  replace_group_options(options);
  for (size_t g = 0; g < groups_.size(); ++g) {
    groups_[g].state = std::move(states[g]);
    groups_[g].initial_lr = initial_lrs[g];
  }
}

}  // namespace qatd::optim

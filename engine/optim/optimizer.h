#pragma once
// The optimizer base, as torch.optim.Optimizer: parameter groups with their own hyper-parameters,
// per-parameter state, zero_grad, per-group gradient clipping, and state save/restore.
//
// Parameters are held by handle (a Tensor copy shares the TensorImpl), so step() updates the
// model's own tensors, in place, under NoGradGuard, bumping their version counters. A parameter
// whose .grad is undefined is skipped and its state left alone, as in PyTorch. Each parameter
// may appear once over all groups.
//
// Per-group gradient clipping (not in torch.optim): a group whose options set max_grad_norm has
// its gradients scaled by clip_grad_norm_(that group's parameters, max_grad_norm, 2) right before
// its update. The norm covers that group's gradients only; the gradients stay clipped afterwards,
// exactly as after a manual clip_grad_norm_ call followed by step().
//
// Saving: state_dict() returns the per-parameter state (step counts and buffers such as exp_avg)
// as named tensors, and the groups' hyper-parameters as a JSON document, ready for
// engine/io/checkpoint.h:
//   OptimizerState state = optimizer.state_dict();
//   io::save_checkpoint(path, state.tensors, {{"optimizer", state.metadata}});
//   io::Checkpoint checkpoint = io::load_checkpoint(path);
//   optimizer.load_state_dict({checkpoint.tensors, checkpoint.metadata.at("optimizer")});
// Tensors are named "<prefix>state.<index>.<buffer>", where index counts parameters over all
// groups in order (PyTorch's numbering). The returned tensors share memory with the live state:
// save them before the next step(). Loading copies them, so a restored optimizer continues
// bit-identically; it fails with a clear message (and changes nothing) when the state came from
// another optimizer type or its groups, parameter counts, shapes or dtypes differ.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "engine/tensor.h"

namespace qatd::optim {

// What an optimizer keeps for one parameter; created at the parameter's first update.
struct ParamState {
  int64_t step = 0;                       // updates applied so far (Adam's bias corrections)
  std::map<std::string, Tensor> buffers;  // momentum_buffer, exp_avg, exp_avg_sq, max_exp_avg_sq
};

struct OptimizerState {
  io::NamedTensors tensors;
  nlohmann::json metadata;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  const std::string& name() const { return name_; }  // "SGD", "Adam", "AdamW"

  // One update of every parameter that has a gradient (after each clipping group's clip).
  void step();
  // set_to_none (PyTorch's default): drop the gradients; otherwise zero them in place.
  void zero_grad(bool set_to_none = true);

  size_t num_groups() const { return groups_.size(); }
  const std::vector<Tensor>& params(size_t group) const;
  std::vector<Tensor> all_params() const;  // every group's, in order
  virtual double lr(size_t group) const = 0;
  virtual void set_lr(size_t group, double lr) = 0;
  // The lr schedulers scale from (PyTorch's group["initial_lr"]): unset until the first
  // scheduler attaches to the group, which records the group's lr at that moment.
  std::optional<double> initial_lr(size_t group) const;
  void set_initial_lr(size_t group, double lr);
  // `param`'s state; null before its first update or when this optimizer does not hold it.
  const ParamState* state(const Tensor& param) const;

  OptimizerState state_dict(const std::string& prefix = "optimizer.") const;
  void load_state_dict(const OptimizerState& state, const std::string& prefix = "optimizer.");

 protected:
  struct Group {
    std::vector<Tensor> params;
    std::vector<std::optional<ParamState>> state;  // one per parameter
    std::optional<double> initial_lr;
  };

  explicit Optimizer(std::string name) : name_(std::move(name)) {}

  // Checks `params` (defined f32/f64 leaves on the CPU, none already held) and appends a group.
  void append_group(std::vector<Tensor> params);
  // "SGD: param group 2" and the like, to start error messages.
  std::string where(size_t group) const;
  // The gradient to apply to parameter `index` of `group`, contiguous; undefined when it has none.
  // Throws when its dtype, shape or device does not match the parameter.
  Tensor gradient(size_t group, size_t index) const;
  // Runs `update(buffer)` on the parameter's memory (a contiguous copy for a strided parameter,
  // written back after), then bumps its version.
  template <typename Update>
  void update_in_place(const Tensor& param, Update&& update) {
    Tensor buffer = param.contiguous();
    update(buffer);
    Tensor target = param;
    if (buffer.is_same(target)) {
      target.bump_version();
    } else {
      target.copy_(buffer);
    }
  }

  // The algorithm's update of one group (already under NoGradGuard, already clipped).
  virtual void update_group(size_t group) = 0;
  virtual std::optional<double> max_grad_norm(size_t group) const = 0;
  // State buffer names this algorithm may keep (checked when loading).
  virtual std::vector<std::string> buffer_names() const = 0;
  virtual nlohmann::json group_options_json(size_t group) const = 0;
  // Parses and validates every group's options, then replaces them all (or throws, changing nothing).
  virtual void replace_group_options(const std::vector<nlohmann::json>& options) = 0;

  std::vector<Group> groups_;

 private:
  // load_state_dict's work; a JSON type error inside becomes a qatd::Error there.
  void restore(const OptimizerState& state, const std::string& prefix);

  std::string name_;
};

// An optimizer whose groups carry an `Options` struct (SgdOptions, AdamOptions). Options provide
// lr and max_grad_norm, and these overloads, found by argument-dependent lookup:
//   void validate_options(const Options&, std::string_view where);   // throws naming `where`
//   nlohmann::json options_to_json(const Options&);
//   void options_from_json(const nlohmann::json&, std::string_view where, Options& parsed);
template <typename Options>
class OptimizerWithOptions : public Optimizer {
 public:
  const Options& defaults() const { return defaults_; }
  const Options& options(size_t group) const {
    QATD_CHECK(group < options_.size(), "{}: param group {} does not exist ({} groups)", name(), group,
               options_.size());
    return options_[group];
  }
  void set_options(size_t group, const Options& options) {
    QATD_CHECK(group < options_.size(), "{}: param group {} does not exist ({} groups)", name(), group,
               options_.size());
    validate_options(options, where(group));
    options_[group] = options;
  }
  double lr(size_t group) const override { return options(group).lr; }
  void set_lr(size_t group, double lr) override {
    Options changed = options(group);
    changed.lr = lr;
    set_options(group, changed);
  }
  // A new group (PyTorch's add_param_group), with the optimizer's defaults or its own options.
  void add_param_group(std::vector<Tensor> params) { add_param_group(std::move(params), defaults_); }
  void add_param_group(std::vector<Tensor> params, const Options& options) {
    validate_options(options, where(groups_.size()));
    append_group(std::move(params));
    options_.push_back(options);
  }

 protected:
  OptimizerWithOptions(std::string name, const Options& defaults) : Optimizer(std::move(name)), defaults_(defaults) {
    validate_options(defaults_, where(0));  // the constructors' options are group 0's
  }

  std::optional<double> max_grad_norm(size_t group) const override { return options(group).max_grad_norm; }
  nlohmann::json group_options_json(size_t group) const override { return options_to_json(options(group)); }
  void replace_group_options(const std::vector<nlohmann::json>& documents) override {
    std::vector<Options> parsed;
    for (size_t group = 0; group < documents.size(); ++group) {
      options_from_json(documents[group], where(group), parsed.emplace_back());
      validate_options(parsed.back(), where(group));
    }
    options_ = std::move(parsed);
  }

  std::vector<Options> options_;  // one per group

 private:
  Options defaults_;
};

// Reads one field of an options JSON object, naming `where` and the key when it is missing or mistyped.
template <typename T>
T json_field(const nlohmann::json& document, const std::string& key, std::string_view where) {
  QATD_CHECK(document.is_object() && document.contains(key), "{}: the saved options have no '{}'", where, key);
  try {
    return document.at(key).get<T>();
  } catch (const nlohmann::json::exception& error) {
    fail("{}: the saved option '{}' has the wrong type ({})", where, key, error.what());
  }
}

// Shared checks for Options fields; `where` names the optimizer and group.
void check_lr(double lr, std::string_view where);
void check_weight_decay(double weight_decay, std::string_view where);
void check_max_grad_norm(const std::optional<double>& max_grad_norm, std::string_view where);
nlohmann::json optional_to_json(const std::optional<double>& value);
std::optional<double> optional_from_json(const nlohmann::json& document, const std::string& key,
                                         std::string_view where);

}  // namespace qatd::optim

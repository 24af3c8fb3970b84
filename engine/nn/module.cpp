#include "engine/nn/module.h"

#include <map>
#include <set>

#include "engine/autograd/grad_mode.h"

namespace qatd::nn {

std::string LoadResult::describe() const {
  std::string text;
  auto list = [&](const char* title, const std::vector<std::string>& names) {
    if (names.empty()) return;
    text += fmt::format("{}{} ({}): {}", text.empty() ? "" : "; ", title, names.size(), fmt::join(names, ", "));
  };
  list("missing keys", missing);
  list("unexpected keys", unexpected);
  list("shape mismatches", mismatched);
  return text.empty() ? "all keys matched" : text;
}

void Module::register_parameter(const std::string& name, Tensor& slot) {
  QATD_CHECK(!name.empty() && name.find('.') == std::string::npos, "register_parameter: invalid name '{}'", name);
  parameters_.push_back({name, &slot, true});
}

void Module::register_buffer(const std::string& name, Tensor& slot, bool persistent) {
  QATD_CHECK(!name.empty() && name.find('.') == std::string::npos, "register_buffer: invalid name '{}'", name);
  buffers_.push_back({name, &slot, persistent});
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  QATD_CHECK(!name.empty() && name.find('.') == std::string::npos, "register_module: invalid name '{}'", name);
  QATD_CHECK(module != nullptr, "register_module: module '{}' is null", name);
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out) {
  out.emplace_back(prefix, this);
  for (auto& [name, child] : children_) child->collect(prefix.empty() ? name : prefix + "." + name, out);
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  collect("", out);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

Module& Module::submodule(const std::string& path) {
  for (auto& [name, module] : named_modules()) {
    if (name == path) return *module;
  }
  fail("{} has no submodule '{}'", type_name(), path);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<TensorImpl*> seen;
  auto visit = [&](const std::string& prefix, const Module& module, auto&& self) -> void {
    for (const Slot& slot : module.parameters_) {
      if (!slot.tensor->defined() || !seen.insert(slot.tensor->impl().get()).second) continue;
      out.emplace_back(prefix + slot.name, *slot.tensor);
    }
    if (!recurse) return;
    for (const auto& [name, child] : module.children_) self(prefix + name + ".", *child, self);
  };
  visit("", *this, visit);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters(recurse)) out.push_back(tensor);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  auto visit = [&](const std::string& prefix, const Module& module, auto&& self) -> void {
    for (const Slot& slot : module.buffers_) {
      if (slot.tensor->defined()) out.emplace_back(prefix + slot.name, *slot.tensor);
    }
    if (!recurse) return;
    for (const auto& [name, child] : module.children_) self(prefix + name + ".", *child, self);
  };
  visit("", *this, visit);
  return out;
}

io::NamedTensors Module::state_dict() const {
  io::NamedTensors state;
  auto visit = [&](const std::string& prefix, const Module& module, auto&& self) -> void {
    for (const Slot& slot : module.parameters_) {
      if (slot.tensor->defined()) state.emplace_back(prefix + slot.name, slot.tensor->detach());
    }
    for (const Slot& slot : module.buffers_) {
      if (slot.persistent && slot.tensor->defined()) state.emplace_back(prefix + slot.name, slot.tensor->detach());
    }
    for (const auto& [name, child] : module.children_) self(prefix + name + ".", *child, self);
  };
  visit("", *this, visit);
  return state;
}

LoadResult Module::load_state_dict(const io::NamedTensors& state, bool strict) {
  // Every slot by name, shared parameters under each of their names.
  std::map<std::string, Tensor*> slots;
  auto visit = [&](const std::string& prefix, Module& module, auto&& self) -> void {
    for (Slot& slot : module.parameters_) slots[prefix + slot.name] = slot.tensor;
    for (Slot& slot : module.buffers_) {
      if (slot.persistent) slots[prefix + slot.name] = slot.tensor;
    }
    for (auto& [name, child] : module.children_) self(prefix + name + ".", *child, self);
  };
  visit("", *this, visit);

  LoadResult result;
  std::set<std::string> provided;
  std::vector<std::pair<Tensor*, Tensor>> copies;
  for (const auto& [name, tensor] : state) {
    provided.insert(name);
    auto found = slots.find(name);
    if (found == slots.end()) {
      result.unexpected.push_back(name);
    } else if (!found->second->defined() || found->second->shape() != tensor.shape()) {
      result.mismatched.push_back(fmt::format(
          "{}: state {} vs module {}", name, shape_str(tensor.shape()),
          found->second->defined() ? shape_str(found->second->shape()) : std::string("undefined")));
    } else {
      copies.emplace_back(found->second, tensor);
    }
  }
  for (const auto& [name, slot] : slots) {
    if (!provided.count(name)) result.missing.push_back(name);
  }
  if (strict && !result.ok()) fail("load_state_dict into {}: {}", type_name(), result.describe());
  NoGradGuard no_grad;
  for (auto& [slot, tensor] : copies) slot->copy_(tensor);
  return result;
}

void Module::train(bool training) {
  training_ = training;
  for (auto& [name, child] : children_) child->train(training);
}

void Module::zero_grad() {
  for (auto& [name, parameter] : named_parameters()) parameter.set_grad(Tensor());
}

void Module::requires_grad_(bool requires_grad) {
  for (auto& [name, parameter] : named_parameters()) parameter.set_requires_grad(requires_grad);
}

void Module::to(DType dtype) {
  QATD_CHECK(dtype == DType::f32 || dtype == DType::f64, "Module::to: parameters can be f32 or f64, not {}", dtype);
  auto convert = [&](Tensor& tensor) {
    if (!tensor.defined() || !is_floating(tensor.dtype()) || tensor.dtype() == dtype) return;
    bool requires_grad = tensor.requires_grad();
    tensor = tensor.detach().to(dtype);
    tensor.set_requires_grad(requires_grad);
  };
  auto visit = [&](Module& module, auto&& self) -> void {
    for (Slot& slot : module.parameters_) convert(*slot.tensor);
    for (Slot& slot : module.buffers_) convert(*slot.tensor);
    for (auto& [name, child] : module.children_) self(*child, self);
  };
  visit(*this, visit);
}

int Module::register_forward_hook(ForwardHook hook) {
  int handle = next_hook_handle_++;
  forward_hooks_.emplace_back(handle, std::move(hook));
  return handle;
}

void Module::remove_forward_hook(int handle) {
  std::erase_if(forward_hooks_, [handle](const auto& entry) { return entry.first == handle; });
}

void Module::set_parameter_transform(const std::string& name, ParameterTransform transform) {
  for (Slot& slot : parameters_) {
    if (slot.name == name) {
      slot.transform = std::move(transform);
      return;
    }
  }
  std::vector<std::string> names;
  for (const Slot& slot : parameters_) names.push_back(slot.name);
  fail("set_parameter_transform: {} has no parameter '{}' (it has: {})", type_name(), name, fmt::join(names, ", "));
}

bool Module::has_parameter_transform(const std::string& name) const {
  for (const Slot& slot : parameters_) {
    if (slot.name == name) return static_cast<bool>(slot.transform);
  }
  return false;
}

Tensor Module::read_parameter(const Tensor& slot) const {
  for (const Slot& entry : parameters_) {
    if (entry.tensor == &slot) return entry.transform ? entry.transform(slot) : slot;
  }
  return slot;
}

Tensor Module::finish_forward(const Tensor& output) {
  Tensor result = output;
  for (auto& [handle, hook] : forward_hooks_) {
    Tensor replaced = hook(*this, result);
    if (replaced.defined()) result = replaced;
  }
  return result;
}

}  // namespace qatd::nn

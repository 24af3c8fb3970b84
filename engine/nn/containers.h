#pragma once
// nn.ModuleList and nn.Sequential: children named "0", "1", ... as in PyTorch's state_dict.
#include <memory>
#include <vector>

#include "engine/nn/module.h"

namespace qatd::nn {

class ModuleList : public Module {
 public:
  template <typename M>
  std::shared_ptr<M> append(std::shared_ptr<M> module) {
    items_.push_back(register_module(std::to_string(items_.size()), module));
    return module;
  }
  size_t size() const { return items_.size(); }
  Module& operator[](size_t index) const;
  // The item at `index` as its concrete type (throws if it is not one).
  template <typename M>
  M& at(size_t index) const {
    auto* typed = dynamic_cast<M*>(&(*this)[index]);
    QATD_CHECK(typed != nullptr, "ModuleList: item {} is a {}, not the requested type", index,
               (*this)[index].type_name());
    return *typed;
  }
  std::string type_name() const override { return "ModuleList"; }

 private:
  std::vector<std::shared_ptr<Module>> items_;
};

class Sequential : public UnaryModule {
 public:
  std::shared_ptr<UnaryModule> append(std::shared_ptr<UnaryModule> module);
  size_t size() const { return items_.size(); }
  UnaryModule& operator[](size_t index) const;
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Sequential"; }

 private:
  std::vector<std::shared_ptr<UnaryModule>> items_;
};

}  // namespace qatd::nn

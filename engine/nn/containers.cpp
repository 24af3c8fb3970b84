#include "engine/nn/containers.h"

namespace qatd::nn {

Module& ModuleList::operator[](size_t index) const {
  QATD_CHECK(index < items_.size(), "ModuleList: index {} is out of range for {} items", index, items_.size());
  return *items_[index];
}

std::shared_ptr<UnaryModule> Sequential::append(std::shared_ptr<UnaryModule> module) {
  items_.push_back(register_module(std::to_string(items_.size()), module));
  return module;
}

UnaryModule& Sequential::operator[](size_t index) const {
  QATD_CHECK(index < items_.size(), "Sequential: index {} is out of range for {} items", index, items_.size());
  return *items_[index];
}

Tensor Sequential::forward(const Tensor& input) {
  Tensor x = input;
  for (auto& module : items_) x = (*module)(x);
  return x;
}

}  // namespace qatd::nn

#include "train/activation_capture.h"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/error.h"
#include "engine/suggest.h"

namespace qatd::train {

ActivationCapture::ActivationCapture(nn::Module& model, std::vector<std::string> sites, std::string role)
    : sites_(std::move(sites)), role_(std::move(role)) {
  recorded_.resize(sites_.size());
  std::map<std::string, nn::Module*> modules;
  std::vector<std::string> names;
  for (auto& [name, module] : model.named_modules()) {
    if (name.empty()) continue;
    modules[name] = module;
    names.push_back(name);
  }
  for (size_t i = 0; i < sites_.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      QATD_CHECK(sites_[i] != sites_[j], "layerwise distillation: KD site '{}' is listed twice", sites_[i]);
    }
    auto found = modules.find(sites_[i]);
    QATD_CHECK(found != modules.end(), "layerwise distillation: KD site '{}' is not a module of the {} (nearest: '{}')",
               sites_[i], role_, nearest_name(sites_[i], names));
    modules_.push_back(found->second);
  }
  // Hooks only once every site is valid: a constructor that throws runs no destructor to remove them.
  for (size_t i = 0; i < sites_.size(); ++i) {
    hooks_.push_back(modules_[i]->register_forward_hook([this, i](nn::Module&, const Tensor& output) {
      recorded_[i].push_back(output);
      call_order_.push_back(i);
      return Tensor();
    }));
  }
}

ActivationCapture::~ActivationCapture() {
  for (size_t i = 0; i < modules_.size(); ++i) modules_[i]->remove_forward_hook(hooks_[i]);
}

void ActivationCapture::clear() {
  for (auto& outputs : recorded_) outputs.clear();
  call_order_.clear();
}

std::vector<Tensor> ActivationCapture::activations() const {
  std::vector<std::string> wrong;
  for (size_t i = 0; i < sites_.size(); ++i) {
    if (recorded_[i].size() != 1) wrong.push_back(fmt::format("{} ({} outputs)", sites_[i], recorded_[i].size()));
  }
  QATD_CHECK(wrong.empty(),
             "layerwise distillation: every KD site must produce exactly one output per step; on the {}: {}", role_,
             fmt::join(wrong, ", "));
  std::vector<Tensor> result;
  for (const auto& outputs : recorded_) result.push_back(outputs.front());
  return result;
}

}  // namespace qatd::train

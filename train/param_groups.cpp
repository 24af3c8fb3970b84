#include "train/param_groups.h"

#include <cmath>

#include "engine/error.h"

namespace qatd::train {

namespace {

// Layer-wise lr decay (as in BEiT and SAM's fine-tuning): the depth of a parameter of the student,
// 0 for the patch and position embeddings, k + 1 for trunk block k, blocks + 1 for everything after
// the trunk (neck, prompt encoder, decoder, memory). A parameter at depth d gets lr * decay^(blocks + 1 - d).
int64_t layer_depth(const std::string& name, int64_t blocks) {
  const std::string trunk = "image_encoder.trunk.";
  if (!name.starts_with(trunk)) return blocks + 1;
  const std::string rest = name.substr(trunk.size());
  if (!rest.starts_with("blocks.")) return 0;
  return std::stoll(rest.substr(std::string("blocks.").size())) + 1;
}

int64_t trunk_block_count(nn::Module& student) {
  int64_t blocks = 0;
  for (const auto& [name, module] : student.named_modules()) {
    const std::string prefix = "image_encoder.trunk.blocks.";
    if (name.starts_with(prefix) && name.find('.', prefix.size()) == std::string::npos) ++blocks;
  }
  return blocks;
}

}  // namespace

ParamGroups build_param_groups(nn::Module& student, const std::vector<std::pair<std::string, Tensor>>& bits,
                               const std::vector<Tensor>& quantizer_steps, const OptimizerSettings& settings) {
  ParamGroups result;
  const int64_t depths = settings.layer_decay < 1.0 ? trunk_block_count(student) + 2 : 1;
  // With optim.vision_lr_scale != 1 each depth splits again: the image encoder's parameters, then the rest.
  const int64_t parts = settings.vision_lr_scale != 1.0 ? 2 : 1;
  std::vector<ParamGroup> weights, biases;
  for (int64_t level = 0; level < depths; ++level) {
    for (int64_t part = 0; part < parts; ++part) {
      const bool vision = part == 1;
      const double scale =
          std::pow(settings.layer_decay, static_cast<double>(level)) * (vision ? settings.vision_lr_scale : 1.0);
      const std::string suffix =
          (depths > 1 ? "/decay" + std::to_string(level) : std::string()) + (vision ? "/vision" : "");
      weights.push_back({"weights" + suffix, {}, settings.weights.lr * scale, settings.weights.weight_decay});
      biases.push_back(
          {"biases_norms" + suffix, {}, settings.biases_norms.lr * scale, settings.biases_norms.weight_decay});
    }
  }
  ParamGroup bit_group{"bits", {}, settings.bits.lr, settings.bits.weight_decay};
  ParamGroup steps{"quantizer_steps", {}, settings.weights.lr, 0.0};
  for (const auto& [name, tensor] : student.named_parameters()) {
    if (!tensor.requires_grad()) continue;
    const int64_t level = depths > 1 ? depths - 1 - layer_depth(name, depths - 2) : 0;
    const int64_t part = parts > 1 && name.starts_with("image_encoder.") ? 1 : 0;
    (tensor.dim() >= 2 ? weights : biases)[level * parts + part].params.emplace_back(name, tensor);
  }
  bit_group.params = bits;
  size_t step_index = 0;
  for (const Tensor& tensor : quantizer_steps) {
    steps.params.emplace_back("quantizer step " + std::to_string(step_index++), tensor);
  }
  std::vector<ParamGroup*> ordered;
  for (size_t group = 0; group < weights.size(); ++group) ordered.insert(ordered.end(), {&weights[group], &biases[group]});
  ordered.insert(ordered.end(), {&bit_group, &steps});
  for (ParamGroup* group : ordered) {
    if (group->params.empty()) continue;
    if (group == &bit_group) result.bits_group = result.groups.size();
    result.groups.push_back(*group);
  }
  return result;
}

std::unique_ptr<optim::Optimizer> make_optimizer(const OptimizerSettings& settings,
                                                 const std::vector<ParamGroup>& groups) {
  auto tensors = [](const ParamGroup& group) {
    std::vector<Tensor> list;
    for (const auto& [name, tensor] : group.params) list.push_back(tensor);
    return list;
  };
  auto build = [&]<typename Optimizer, typename Options>(auto make_options) -> std::unique_ptr<optim::Optimizer> {
    std::unique_ptr<Optimizer> optimizer;
    for (const ParamGroup& group : groups) {
      Options options = make_options(group);
      if (!optimizer) {
        optimizer = std::make_unique<Optimizer>(tensors(group), options);
      } else {
        optimizer->add_param_group(tensors(group), options);
      }
    }
    return optimizer;
  };
  switch (settings.type) {
    case OptimizerType::adamw:
      return build.template operator()<optim::AdamW, optim::AdamWOptions>([&](const ParamGroup& group) {
        optim::AdamWOptions options;
        options.lr = group.lr;
        options.betas = {settings.beta1, settings.beta2};
        options.eps = settings.eps;
        options.weight_decay = group.weight_decay;
        return options;
      });
    case OptimizerType::adam:
      return build.template operator()<optim::Adam, optim::AdamOptions>([&](const ParamGroup& group) {
        optim::AdamOptions options;
        options.lr = group.lr;
        options.betas = {settings.beta1, settings.beta2};
        options.eps = settings.eps;
        options.weight_decay = group.weight_decay;
        return options;
      });
    case OptimizerType::sgd:
      return build.template operator()<optim::SGD, optim::SgdOptions>([&](const ParamGroup& group) {
        optim::SgdOptions options;
        options.lr = group.lr;
        options.momentum = settings.momentum;
        options.weight_decay = group.weight_decay;
        return options;
      });
  }
  fail("unknown optimizer type");
}

}  // namespace qatd::train

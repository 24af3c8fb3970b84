#pragma once
// The optimizer's parameter groups of a training run: the student's matrices and kernels
// ("weights"), its 1-D parameters (biases, norms, embeddings of one row: "biases_norms"), the bit
// variables ("bits") and the quantizers' learned steps ("quantizer_steps", the weights' lr, no
// weight decay), each with its own lr and weight decay. With optim.layer_decay < 1 the first two
// are split by trunk depth (docs/training.md), the top first, so that group 0 keeps the configured lr;
// with optim.vision_lr_scale != 1 each of those splits again into the image encoder's parameters
// (lr times the scale, SAM 2's vision_lr) after the rest.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/nn/module.h"
#include "engine/optim/optim.h"
#include "train/train_config.h"

namespace qatd::train {

struct ParamGroup {
  std::string name;
  std::vector<std::pair<std::string, Tensor>> params;
  double lr = 0.0;
  double weight_decay = 0.0;
};

struct ParamGroups {
  std::vector<ParamGroup> groups;   // empty groups are left out
  std::optional<size_t> bits_group; // the index of "bits", clipped separately
};

// `bits`: the bit variables with their names; `quantizer_steps`: the learned LSQ steps.
ParamGroups build_param_groups(nn::Module& student, const std::vector<std::pair<std::string, Tensor>>& bits,
                               const std::vector<Tensor>& quantizer_steps, const OptimizerSettings& settings);

std::unique_ptr<optim::Optimizer> make_optimizer(const OptimizerSettings& settings,
                                                 const std::vector<ParamGroup>& groups);

}  // namespace qatd::train

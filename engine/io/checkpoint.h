#pragma once
// Checkpoints: tensors in a safetensors file, with a JSON document (step, config, bits,
// optimizer hyper-parameters, RNG state, ...) in its metadata under the key "qatd".
// Writes are atomic, so an interrupted save never damages the previous checkpoint.
#include <string>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"

namespace qatd::io {

struct Checkpoint {
  NamedTensors tensors;
  nlohmann::json metadata;

  // The tensor called `name`; throws naming the checkpoint when absent.
  const Tensor& at(const std::string& name) const;
};

void save_checkpoint(const std::string& path, const NamedTensors& tensors, const nlohmann::json& metadata);
// Throws when the file is not a safetensors file or carries no qatd metadata.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace qatd::io

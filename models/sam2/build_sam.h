#pragma once
// sam2/build_sam.py: a SAM 2 model from a config (file or preset name) and a checkpoint.
#include <memory>
#include <string>

#include "models/sam2/sam2_base.h"

namespace qatd::sam2 {

// The model of `config_file_or_preset` (see load_model_config), in eval mode, with the weights of
// `checkpoint_path` (official .pt, or safetensors with official or HuggingFace names) loaded
// strictly: a checkpoint that does not match the config is an error listing every missing,
// unexpected and mismatched key. An empty checkpoint path leaves the random initialization.
std::unique_ptr<SAM2Base> build_sam2(const std::string& config_file_or_preset, const std::string& checkpoint_path,
                                     Generator* generator = nullptr);

}  // namespace qatd::sam2

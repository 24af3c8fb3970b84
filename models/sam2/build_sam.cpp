#include "models/sam2/build_sam.h"

#include "models/sam2/checkpoint.h"

namespace qatd::sam2 {

std::unique_ptr<SAM2Base> build_sam2(const std::string& config_file_or_preset, const std::string& checkpoint_path,
                                     Generator* generator) {
  auto model = std::make_unique<SAM2Base>(load_model_config(config_file_or_preset), generator);
  if (!checkpoint_path.empty()) {
    io::NamedTensors state = load_checkpoint_state(checkpoint_path);
    try {
      model->load_official_state(state);
    } catch (const Error& error) {
      fail("checkpoint {} does not match the model config {}: {}", checkpoint_path, config_file_or_preset,
           error.what());
    }
  }
  model->eval();
  return model;
}

}  // namespace qatd::sam2

#pragma once
// The teacher and the quantized student of a run, rebuilt from its config and a checkpoint, for
// `qatd eval`, `qatd sweep` and `qatd demo`. The checkpoint is a training checkpoint (student
// weights, learned bits and quantizer state; training_checkpoint.h) or any model checkpoint qatd
// reads (then the plan starts from its bits_init). With train.from_scratch the student has no plan and
// there is no teacher (it trained against none).
#include <memory>
#include <optional>
#include <string>

#include "models/sam2/sam2_base.h"
#include "quant/quantization_plan.h"
#include "train/train_config.h"

namespace qatd::train {

struct RunModels {
  std::unique_ptr<sam2::SAM2Base> teacher;  // null with train.from_scratch
  std::unique_ptr<sam2::SAM2Base> student;
  std::optional<quant::QuantizedModel> quantized;
  int64_t step = 0;  // the training checkpoint's step; 0 for a model checkpoint
};

// Throws naming the checkpoint when its weights, bits or quantizer state do not fit the config.
RunModels load_run_models(const TrainConfig& config, const std::string& checkpoint);

}  // namespace qatd::train

#include "train/run_models.h"

#include "engine/error.h"
#include "models/sam2/build_sam.h"
#include "train/training_checkpoint.h"

namespace qatd::train {

RunModels load_run_models(const TrainConfig& config, const std::string& checkpoint) {
  RunModels models;
  Generator init(static_cast<uint64_t>(config.seed));
  if (!config.train.from_scratch) {
    models.teacher = sam2::build_sam2(config.model.config, config.model.teacher_checkpoint_or_student(), &init);
    models.teacher->eval();
  }
  const bool training = is_training_checkpoint(checkpoint);
  std::optional<TrainingCheckpoint> saved;
  if (training) {
    saved = load_training_checkpoint(checkpoint);
    models.student = sam2::build_sam2(config.model.config, "", &init);
    try {
      models.student->load_official_state(saved->model_state());
    } catch (const Error& error) {
      fail("checkpoint {} does not fit model {}: {}", checkpoint, config.model.config, error.what());
    }
    models.step = saved->metadata.value("step", int64_t{0});
  } else {
    models.student = sam2::build_sam2(config.model.config, checkpoint, &init);
  }
  models.student->eval();
  models.quantized.emplace(
      quant::apply_plan(*models.student, config.train.from_scratch ? quant::QuantizationPlan{} : config.quant));
  if (saved && !models.quantized->bits().empty()) {
    try {
      models.quantized->bits().load_state_dict({saved->tensors, saved->metadata.at("bits")}, kBitsPrefix);
      models.quantized->load_quantizer_state(saved->tensors, kQuantizerPrefix);
    } catch (const nlohmann::json::exception& error) {
      fail("checkpoint {} lacks the bit state: {}", checkpoint, error.what());
    } catch (const Error& error) {
      fail("checkpoint {} does not fit the config's quantization plan: {}", checkpoint, error.what());
    }
  }
  return models;
}

}  // namespace qatd::train

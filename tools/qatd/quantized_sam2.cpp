#include "tools/qatd/quantized_sam2.h"

#include "engine/engine.h"
#include "models/sam2/build_sam.h"
#include "models/sam2/checkpoint.h"
#include "train/training_checkpoint.h"

namespace qatd::cli {

namespace {

using train::kBitsPrefix;
using train::kOptimizerPrefix;
using train::kQuantizerPrefix;

// Whether `path` is in the qatd checkpoint format (safetensors with the format tag): the trainer's
// checkpoints and any other writer of engine/io/checkpoint.h, with or without the trainer's CRCs.
bool is_qatd_checkpoint(const std::string& path) {
  if (sam2::detect_checkpoint_container(path) != sam2::CheckpointContainer::safetensors) return false;
  const io::SafetensorsFile file = io::SafetensorsFile::open(path);
  const auto& metadata = file.metadata();
  auto format = metadata.find("format");
  return format != metadata.end() && format->second == "qatd-checkpoint-1";
}

}  // namespace

quant::QuantizationPlan plan_from_arguments(const std::string& command, const Arguments& arguments,
                                            bool allow_weight_bits) {
  const bool config = arguments.has("config");
  const bool weight_bits = allow_weight_bits && arguments.has("weight-bits");
  if (!allow_weight_bits) {
    QATD_CHECK(config, "qatd {}: --config FILE.toml (the [quant] plan) is required (see qatd {} --help)", command,
               command);
    return quant::QuantizationPlan::from_toml_file(arguments.text("config", ""));
  }
  QATD_CHECK(config != weight_bits,
             "qatd {}: give exactly one of --config FILE.toml (a [quant] plan) and --weight-bits N (every "
             "Linear/Conv2d/ConvTranspose2d weight at N bits){}",
             command, config ? ", not both" : "");
  if (config) {
    QATD_CHECK(!arguments.has("per-channel"),
               "qatd {}: --per-channel applies to --weight-bits; with --config the plan sets the granularity",
               command);
    return quant::QuantizationPlan::from_toml_file(arguments.text("config", ""));
  }
  const int64_t bits = arguments.integer("weight-bits", 0);
  QATD_CHECK(bits >= 2 && bits <= 16,
             "qatd {}: --weight-bits must lie in [2, 16] (a signed symmetric grid needs 2 bits or more), got {}",
             command, bits);
  return quant::QuantizationPlan::uniform_weights(bits, arguments.has("per-channel"));
}

QuantizedSam2 load_quantized_sam2(const std::string& command, const Arguments& arguments,
                                  const quant::QuantizationPlan& plan) {
  const std::string config = arguments.text("model-config", "");
  const std::string checkpoint = arguments.text("checkpoint", "");
  QuantizedSam2 loaded;
  io::NamedTensors quantization_tensors;
  nlohmann::json bits_document;
  if (is_qatd_checkpoint(checkpoint)) {
    io::Checkpoint training = io::load_checkpoint(checkpoint);
    io::NamedTensors model_state;
    for (auto& [name, tensor] : training.tensors) {
      if (name.starts_with(kOptimizerPrefix)) continue;
      bool quantization = name.starts_with(kBitsPrefix) || name.starts_with(kQuantizerPrefix);
      (quantization ? quantization_tensors : model_state).emplace_back(name, tensor);
    }
    loaded.model = sam2::build_sam2(config, "");
    try {
      loaded.model->load_official_state(model_state);
    } catch (const Error& error) {
      fail("qatd {}: checkpoint {} does not match the model config {}: {}", command, checkpoint, config,
           error.what());
    }
    if (training.metadata.contains("bits")) bits_document = training.metadata.at("bits");
  } else {
    loaded.model = sam2::build_sam2(config, checkpoint);
  }
  loaded.model->eval();
  loaded.quantized.emplace(quant::apply_plan(*loaded.model, plan));
  loaded.plan_source = plan.source;

  bool has_bit_tensors = false, has_quantizer_tensors = false;
  for (const auto& [name, tensor] : quantization_tensors) {
    has_bit_tensors = has_bit_tensors || name.starts_with(kBitsPrefix);
    has_quantizer_tensors = has_quantizer_tensors || name.starts_with(kQuantizerPrefix);
  }
  if (has_bit_tensors || !bits_document.is_null()) {
    try {
      loaded.quantized->bits().load_state_dict({quantization_tensors, bits_document}, kBitsPrefix);
    } catch (const Error& error) {
      fail("qatd {}: the learned bits of {} do not fit the plan ({}): {}", command, checkpoint, plan.source,
           error.what());
    }
    loaded.learned_bits = true;
  }
  if (has_quantizer_tensors) {
    try {
      loaded.quantized->load_quantizer_state(quantization_tensors, kQuantizerPrefix);
    } catch (const Error& error) {
      fail("qatd {}: the quantizer state of {} does not fit the plan ({}): {}", command, checkpoint, plan.source,
           error.what());
    }
    loaded.quantizer_state = true;
  }
  return loaded;
}

}  // namespace qatd::cli

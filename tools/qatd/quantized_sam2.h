#pragma once
// A SAM 2 model with a quantization plan applied, from the options `qatd export` and
// `qatd importance` share: --model-config, --checkpoint, and the plan (--config FILE.toml, or
// --weight-bits N [--per-channel] where the command offers it).
//
// The checkpoint is any SAM 2 checkpoint qatd reads (build_sam.h), or a qatd training checkpoint
// (engine/io/checkpoint.h, format "qatd-checkpoint-1") holding the model's official state dict
// plus, optionally, the quantization state under the library's default prefixes:
//   "bits.<site>" tensors with the BitController document as metadata "bits" (learned bits), and
//   "quant.<site>.<tensor>" (learned LSQ steps and observer ranges, QuantizedModel::quantizer_state).
// Learned bits replace the plan's bits_init; they must match the plan's sites and bit ranges.
#include <memory>
#include <optional>
#include <string>

#include "models/sam2/sam2_base.h"
#include "quant/quantization_plan.h"
#include "tools/qatd/arguments.h"

namespace qatd::cli {

struct QuantizedSam2 {
  std::unique_ptr<sam2::SAM2Base> model;
  std::optional<quant::QuantizedModel> quantized;
  std::string plan_source;            // the plan's description, for summaries
  bool learned_bits = false;          // the checkpoint carried the bits
  bool quantizer_state = false;       // the checkpoint carried steps / observer ranges
};

// The plan of --config or --weight-bits: exactly one is required when `allow_weight_bits`, else
// --config is. Errors are prefixed with "qatd <command>:".
quant::QuantizationPlan plan_from_arguments(const std::string& command, const Arguments& arguments,
                                            bool allow_weight_bits);

// Builds the model of --model-config with the weights of --checkpoint, applies `plan` and loads the
// checkpoint's quantization state when it has one.
QuantizedSam2 load_quantized_sam2(const std::string& command, const Arguments& arguments,
                                  const quant::QuantizationPlan& plan);

}  // namespace qatd::cli

#pragma once
// The quantization plan's side of the trainer's config: the default plan, the [quant] section
// written back as TOML (quant/ reads plans but has no writer), and plans compared by content
// (QuantizationPlan has no ==, and its `source` only names it in messages).
#include "quant/quantization_plan.h"
#include "train/config_overrides.h"

namespace qatd::train {

// Every Linear and Conv2d weight, per output channel, at QuantizerSpec's default bits.
quant::QuantizationPlan default_quantization_plan();

// [quant.defaults], [quant.anneal] and one [[quant.rules]] per rule, each with only the keys the
// plan sets, so QuantizationPlan::from_toml_text reads back the same plan.
void write_plan(TomlWriter& writer, const quant::QuantizationPlan& plan);

// Rules, defaults and schedule equal; `source` is ignored.
bool same_plan(const quant::QuantizationPlan& a, const quant::QuantizationPlan& b);

}  // namespace qatd::train

#pragma once
// Which sites of a model are fake-quantized, and how: a QuantizationPlan read from the [quant]
// section of a TOML config, and apply_plan, which wires it into any nn::Module.
//
//   [quant]
//   defaults = { surrogate = "interp", bits_min = 2 }  # settings every rule starts from (optional)
//
//   [[quant.rules]]
//   pattern = "image_encoder.trunk.blocks.*.mlp.layers.*"
//   weights = true                # fake-quantize the weight of each matched Linear/Conv2d/ConvTranspose2d
//   granularity = "per_channel"
//   bits_init = 6
//
//   [[quant.rules]]
//   pattern = "**"                # every module ...
//   types = ["Conv2d"]            # ... of these types (type_name(), as PyTorch prints it)
//   outputs = true                # fake-quantize the module's output (a forward hook replaces it)
//   symmetric = false
//   signed = false
//
//   [quant.anneal]                # optional BitSchedule (bit_controller.h)
//   steps = 2000
//   ceiling_start = 8
//   ceiling_end = 4
//   penalty_warmup_steps = 500
//
// Patterns match dotted module names (as named_modules() gives them) component by component:
// `*` matches exactly one component ("blocks.*.mlp" matches "blocks.3.mlp", not "blocks.3.x.mlp"),
// `**` matches any number of components, none included ("image_encoder.**" matches
// "image_encoder" and everything below it), and inside a component `*` matches any run of
// characters ("layers_*" matches "layers_0"). The root module itself is never a site.
//
// Rule keys: pattern (required), types, weights, outputs, and the QuantizerSpec settings
// granularity, channel_axis, symmetric, signed, scale_source, averaging_constant, percentile,
// surrogate, bits_init, bits_min, bits_max (the strings quantizer_spec.h parses). A rule must set
// weights or outputs. `weights = true` creates (or updates) the weight site of every matched
// module, `outputs = true` its output site; `= false` removes that site again (a later exclusion).
// A site's spec is QuantizerSpec's defaults, then [quant].defaults, then the settings of every
// rule that set its kind to true, in file order, each rule overriding only the keys it names
// (a removal starts the site afresh). Unknown keys are errors that name the closest valid key.
//
// channel_axis, when no rule names it: weights use axis 0 (output channels), except
// ConvTranspose2d, whose output channels are axis 1 of its (in, out / groups, kH, kW) weight;
// outputs use axis 1 for Conv2d/ConvTranspose2d (N, C, H, W) and the last axis (-1) otherwise.
//
// Sites are named "<module>.weight" and "<module>.output" ("image_encoder.trunk.blocks.3.attn.qkv.weight").
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "engine/nn/module.h"
#include "quant/bit_controller.h"
#include "quant/fake_quantizer.h"
#include "quant/quantizer_spec.h"

namespace qatd::quant {

// The QuantizerSpec fields a rule sets; unset ones keep their earlier value.
struct SpecOverrides {
  std::optional<Granularity> granularity;
  std::optional<int64_t> channel_axis;
  std::optional<bool> symmetric;
  std::optional<bool> is_signed;  // the key "signed"
  std::optional<ScaleSource> scale_source;
  std::optional<double> averaging_constant;
  std::optional<double> percentile;
  std::optional<Surrogate> surrogate;
  std::optional<double> bits_init;
  std::optional<double> bits_min;
  std::optional<double> bits_max;

  void apply_to(QuantizerSpec& spec) const;
  bool empty() const;
};

struct PlanRule {
  std::string pattern;
  std::vector<std::string> types;  // module type names; empty: any type
  std::optional<bool> weights;
  std::optional<bool> outputs;
  SpecOverrides settings;
};

struct QuantizationPlan {
  SpecOverrides defaults;
  std::vector<PlanRule> rules;
  std::optional<BitSchedule> schedule;  // installed in the controller by apply_plan
  std::string source = "quantization plan";  // names the plan in error messages

  // The [quant] section of a TOML file or text; throws naming the source, the rule and the key.
  static QuantizationPlan from_toml_file(const std::string& path);
  static QuantizationPlan from_toml_text(std::string_view text, const std::string& source = "<toml text>");
  // Every Linear, Conv2d and ConvTranspose2d weight at a fixed `bits`, symmetric and signed, min-max
  // scaled, per output channel or per tensor (qatd export --weight-bits).
  static QuantizationPlan uniform_weights(int64_t bits, bool per_channel);
};

// Whether `module_name` matches `pattern` (see above).
bool match_pattern(std::string_view pattern, std::string_view module_name);

enum class SiteKind { weight, output };
std::string to_string(SiteKind kind);

struct QuantSite {
  std::string name;         // "<module>.weight" or "<module>.output"
  std::string module_name;
  std::string module_type;  // type_name()
  SiteKind kind = SiteKind::weight;
  nn::Module* module = nullptr;
  QuantizerSpec spec;
  std::vector<size_t> rules;  // indices of the rules that shaped it, for the report
  std::shared_ptr<FakeQuantizer> quantizer;
  Tensor weight;  // weight sites: the module's weight parameter (the stored float tensor)
  int hook = -1;  // output sites: the forward hook's handle
};

// A model with a plan applied. The model's transforms and hooks hold the quantizers, so the model
// keeps quantizing after this object is gone; remove() restores the float model.
class QuantizedModel {
 public:
  QuantizedModel(QuantizedModel&&) = default;
  QuantizedModel& operator=(QuantizedModel&&) = default;
  QuantizedModel(const QuantizedModel&) = delete;
  QuantizedModel& operator=(const QuantizedModel&) = delete;

  nn::Module& model() const { return *model_; }
  const std::vector<QuantSite>& sites() const { return sites_; }
  std::vector<std::string> site_names() const;
  // Throws naming the nearest site when absent.
  const QuantSite& site(const std::string& name) const;
  BitController& bits() { return bits_; }
  const BitController& bits() const { return bits_; }

  // The quantizers' trainable tensors (LSQ step sizes), for an optimizer group.
  std::vector<Tensor> parameters() const;
  // Training mode of the quantizers (observers update in training mode); the model's own mode
  // is left alone.
  void train(bool training = true);
  // Turns every site's fake quantization on or off (teacher path, ablations).
  void set_enabled(bool enabled);
  bool enabled() const { return enabled_; }

  // Removes every parameter transform and forward hook this plan set; the model is the float
  // model again, bit for bit. Later calls do nothing.
  void remove();
  bool removed() const { return removed_; }

  // Every site with its settings: a text table, and a JSON array of objects.
  std::string report() const;
  nlohmann::json report_json() const;

  // The quantizers' learned steps and observer buffers, named "<prefix><site>.<tensor>".
  io::NamedTensors quantizer_state(const std::string& prefix = "quant.") const;
  // Copies them back (entries without the prefix are ignored); throws naming every unknown,
  // missing or mismatched tensor, copying nothing then.
  void load_quantizer_state(const io::NamedTensors& tensors, const std::string& prefix = "quant.");

 private:
  friend QuantizedModel apply_plan(nn::Module& model, const QuantizationPlan& plan);
  explicit QuantizedModel(nn::Module& model) : model_(&model) {}

  nn::Module* model_;
  std::vector<QuantSite> sites_;
  BitController bits_;
  bool enabled_ = true;
  bool removed_ = false;
};

// Creates the sites the plan selects in `model`, one BitController entry and one FakeQuantizer
// each, and installs their parameter transforms and forward hooks. Throws (changing nothing)
// when a rule's pattern matches no module, when weights = true meets a module without a
// quantizable weight, when a site's spec is invalid, or when a weight already has a transform.
QuantizedModel apply_plan(nn::Module& model, const QuantizationPlan& plan);

}  // namespace qatd::quant

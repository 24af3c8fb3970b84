// apply_plan and QuantizedModel: wiring a QuantizationPlan into a model, reporting and removing it.
#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "engine/error.h"
#include "engine/nn/conv.h"
#include "engine/nn/linear.h"
#include "engine/suggest.h"
#include "quant/quantization_plan.h"

namespace qatd::quant {

namespace {

bool has_quantizable_weight(nn::Module& module) {
  if (auto* linear = dynamic_cast<nn::Linear*>(&module)) return linear->weight.defined();
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&module)) return conv->weight.defined();
  if (auto* transposed = dynamic_cast<nn::ConvTranspose2d*>(&module)) return transposed->weight.defined();
  return false;
}

Tensor weight_of(nn::Module& module) {
  if (auto* linear = dynamic_cast<nn::Linear*>(&module)) return linear->weight;
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&module)) return conv->weight;
  return dynamic_cast<nn::ConvTranspose2d&>(module).weight;
}

// The channel axis of a site whose rules never named one (see quantization_plan.h).
int64_t default_channel_axis(SiteKind kind, const nn::Module& module) {
  const std::string type = module.type_name();
  if (kind == SiteKind::weight) return type == "ConvTranspose2d" ? 1 : 0;
  return type == "Conv2d" || type == "ConvTranspose2d" ? 1 : -1;
}

// A site while the rules are being applied.
struct PendingSite {
  bool active = false;
  QuantizerSpec spec;
  bool axis_named = false;
  std::vector<size_t> rules;
};

std::string describe_rule(const QuantizationPlan& plan, size_t index) {
  const PlanRule& rule = plan.rules[index];
  std::string text = fmt::format("{}: rule #{} (pattern '{}'", plan.source, index + 1, rule.pattern);
  if (!rule.types.empty()) text += fmt::format(", types [{}]", fmt::join(rule.types, ", "));
  return text + ")";
}

}  // namespace

QuantizedModel apply_plan(nn::Module& model, const QuantizationPlan& plan) {
  std::vector<std::pair<std::string, nn::Module*>> modules = model.named_modules();
  std::erase_if(modules, [](const auto& entry) { return entry.first.empty(); });  // the root is never a site
  std::vector<std::string> module_names;
  for (const auto& [name, module] : modules) module_names.push_back(name);

  QuantizerSpec base;
  plan.defaults.apply_to(base);
  // One weight and one output site per module, indexed [module][kind].
  std::vector<std::array<PendingSite, 2>> pending(modules.size());
  for (size_t r = 0; r < plan.rules.size(); ++r) {
    const PlanRule& rule = plan.rules[r];
    bool matched_any = false;
    for (size_t m = 0; m < modules.size(); ++m) {
      auto& [name, module] = modules[m];
      if (!match_pattern(rule.pattern, name)) continue;
      if (!rule.types.empty() &&
          std::find(rule.types.begin(), rule.types.end(), module->type_name()) == rule.types.end()) {
        continue;
      }
      matched_any = true;
      for (SiteKind kind : {SiteKind::weight, SiteKind::output}) {
        const std::optional<bool>& wanted = kind == SiteKind::weight ? rule.weights : rule.outputs;
        if (!wanted) continue;
        PendingSite& site = pending[m][static_cast<size_t>(kind)];
        if (!*wanted) {
          site.active = false;
          continue;
        }
        if (kind == SiteKind::weight && !has_quantizable_weight(*module)) {
          fail("{} sets weights = true on module '{}' ({}), which has no quantizable weight (only Linear, Conv2d "
               "and ConvTranspose2d weights can be fake-quantized)",
               describe_rule(plan, r), name, module->type_name());
        }
        if (!site.active) site = {true, base, plan.defaults.channel_axis.has_value(), {}};
        rule.settings.apply_to(site.spec);
        site.axis_named = site.axis_named || rule.settings.channel_axis.has_value();
        site.rules.push_back(r);
      }
    }
    if (!matched_any) {
      QATD_CHECK(!module_names.empty(), "{} matches no module: the model has no submodules", describe_rule(plan, r));
      fail("{} matches no module (nearest module name: '{}')", describe_rule(plan, r),
           nearest_name(rule.pattern, module_names));
    }
  }

  // Everything is checked and built before the model is touched, so a failure changes nothing.
  QuantizedModel quantized(model);
  for (size_t m = 0; m < modules.size(); ++m) {
    auto& [module_name, module] = modules[m];
    for (SiteKind kind : {SiteKind::weight, SiteKind::output}) {
      PendingSite& pending_site = pending[m][static_cast<size_t>(kind)];
      if (!pending_site.active) continue;
      QuantSite site;
      site.name = module_name + "." + to_string(kind);
      site.module_name = module_name;
      site.module_type = module->type_name();
      site.kind = kind;
      site.module = module;
      site.spec = pending_site.spec;
      if (!pending_site.axis_named) site.spec.channel_axis = default_channel_axis(kind, *module);
      site.rules = pending_site.rules;
      validate(site.spec, fmt::format("{}: site '{}'", plan.source, site.name));
      if (kind == SiteKind::weight) {
        QATD_CHECK(!module->has_parameter_transform("weight"),
                   "{}: the weight of '{}' already has a parameter transform (is a plan applied twice?)", plan.source,
                   module_name);
        site.weight = weight_of(*module);
      }
      size_t index = quantized.bits_.add_site(site.name, site.spec.bits_init, site.spec.bits_min, site.spec.bits_max);
      try {
        site.quantizer = std::make_shared<FakeQuantizer>(site.spec, quantized.bits_.bits(index));
        // A weight's channel count is known now, so its per-channel state (and learned step, which
        // an optimizer needs before the first forward) exists from the start.
        if (kind == SiteKind::weight && site.spec.granularity == Granularity::per_channel) {
          QATD_CHECK(site.spec.channel_axis >= -site.weight.dim() && site.spec.channel_axis < site.weight.dim(),
                     "channel_axis {} is out of range for the weight {}", site.spec.channel_axis,
                     shape_str(site.weight.shape()));
          site.quantizer->allocate_state(site.weight.size(site.spec.channel_axis));
        }
      } catch (const Error& error) {
        fail("{}: site '{}': {}", plan.source, site.name, error.what());
      }
      quantized.sites_.push_back(std::move(site));
    }
  }
  quantized.bits_.set_schedule(plan.schedule);

  for (QuantSite& site : quantized.sites_) {
    std::shared_ptr<FakeQuantizer> quantizer = site.quantizer;
    if (site.kind == SiteKind::weight) {
      site.module->set_parameter_transform("weight", [quantizer](const Tensor& weight) { return (*quantizer)(weight); });
    } else {
      site.hook = site.module->register_forward_hook(
          [quantizer](nn::Module&, const Tensor& output) { return (*quantizer)(output); });
    }
  }
  return quantized;
}

std::vector<std::string> QuantizedModel::site_names() const {
  std::vector<std::string> names;
  for (const QuantSite& site : sites_) names.push_back(site.name);
  return names;
}

const QuantSite& QuantizedModel::site(const std::string& name) const {
  for (const QuantSite& site : sites_) {
    if (site.name == name) return site;
  }
  QATD_CHECK(!sites_.empty(), "QuantizedModel: no site '{}' (the plan created no sites)", name);
  fail("QuantizedModel: no site '{}' (did you mean '{}'?)", name, nearest_name(name, site_names()));
}

std::vector<Tensor> QuantizedModel::parameters() const {
  std::vector<Tensor> tensors;
  for (const QuantSite& site : sites_) {
    for (const Tensor& tensor : site.quantizer->parameters()) tensors.push_back(tensor);
  }
  return tensors;
}

void QuantizedModel::train(bool training) {
  for (QuantSite& site : sites_) site.quantizer->train(training);
}

void QuantizedModel::set_enabled(bool enabled) {
  for (QuantSite& site : sites_) site.quantizer->set_enabled(enabled);
  enabled_ = enabled;
}

void QuantizedModel::remove() {
  if (removed_) return;
  for (QuantSite& site : sites_) {
    if (site.kind == SiteKind::weight) {
      site.module->set_parameter_transform("weight", nullptr);
    } else {
      site.module->remove_forward_hook(site.hook);
    }
  }
  removed_ = true;
}

nlohmann::json QuantizedModel::report_json() const {
  nlohmann::json sites = nlohmann::json::array();
  for (size_t i = 0; i < sites_.size(); ++i) {
    const QuantSite& site = sites_[i];
    const QuantizerSpec& spec = site.spec;
    nlohmann::json rules = nlohmann::json::array();
    for (size_t rule : site.rules) rules.push_back(rule + 1);
    nlohmann::json entry = {{"site", site.name},
                            {"module", site.module_name},
                            {"type", site.module_type},
                            {"kind", to_string(site.kind)},
                            {"granularity", to_string(spec.granularity)},
                            {"symmetric", spec.symmetric},
                            {"signed", spec.is_signed},
                            {"scale_source", to_string(spec.scale_source)},
                            {"surrogate", to_string(spec.surrogate)},
                            {"bits", bits_.value(i)},
                            {"integer_bits", bits_.integer_bits(i)},
                            {"bits_min", spec.bits_min},
                            {"bits_max", spec.bits_max},
                            {"enabled", site.quantizer->enabled()},
                            {"rules", rules}};
    if (spec.granularity == Granularity::per_channel) entry["channel_axis"] = spec.channel_axis;
    if (spec.scale_source == ScaleSource::moving_average) entry["averaging_constant"] = spec.averaging_constant;
    if (spec.scale_source == ScaleSource::percentile) entry["percentile"] = spec.percentile;
    if (site.weight.defined()) entry["shape"] = site.weight.shape();
    sites.push_back(entry);
  }
  return sites;
}

std::string QuantizedModel::report() const {
  std::vector<std::vector<std::string>> rows = {
      {"site", "type", "shape", "granularity", "symmetry", "scale", "surrogate", "b", "n", "range", "rules"}};
  for (size_t i = 0; i < sites_.size(); ++i) {
    const QuantSite& site = sites_[i];
    const QuantizerSpec& spec = site.spec;
    std::string granularity = spec.granularity == Granularity::per_channel
                                  ? fmt::format("per_channel({})", spec.channel_axis)
                                  : std::string("per_tensor");
    std::string scale = to_string(spec.scale_source);
    if (spec.scale_source == ScaleSource::moving_average) scale += fmt::format("({})", spec.averaging_constant);
    if (spec.scale_source == ScaleSource::percentile) scale += fmt::format("({})", spec.percentile);
    std::vector<size_t> rule_numbers;
    for (size_t rule : site.rules) rule_numbers.push_back(rule + 1);
    rows.push_back({site.name, site.module_type, site.weight.defined() ? shape_str(site.weight.shape()) : "-",
                    granularity,
                    fmt::format("{} {}", spec.symmetric ? "sym" : "asym", spec.is_signed ? "signed" : "unsigned"),
                    scale, to_string(spec.surrogate), fmt::format("{:.3f}", bits_.value(i)),
                    std::to_string(bits_.integer_bits(i)), fmt::format("[{}, {}]", spec.bits_min, spec.bits_max),
                    fmt::format("{}", fmt::join(rule_numbers, ","))});
  }
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string text;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) line += fmt::format("{:<{}}  ", row[c], widths[c]);
    line.erase(line.find_last_not_of(' ') + 1);
    text += line + "\n";
  }
  text += fmt::format("{} sites ({} weights, {} outputs){}\n", sites_.size(),
                      std::count_if(sites_.begin(), sites_.end(), [](const QuantSite& site) {
                        return site.kind == SiteKind::weight;
                      }),
                      std::count_if(sites_.begin(), sites_.end(), [](const QuantSite& site) {
                        return site.kind == SiteKind::output;
                      }),
                      enabled_ ? "" : ", fake quantization disabled");
  return text;
}

io::NamedTensors QuantizedModel::quantizer_state(const std::string& prefix) const {
  io::NamedTensors tensors;
  for (const QuantSite& site : sites_) {
    for (auto& [name, tensor] : site.quantizer->state_dict()) tensors.emplace_back(prefix + site.name + "." + name, tensor);
  }
  return tensors;
}

void QuantizedModel::load_quantizer_state(const io::NamedTensors& tensors, const std::string& prefix) {
  std::map<std::string, io::NamedTensors> by_site;
  std::vector<std::string> unknown;
  for (const auto& [name, tensor] : tensors) {
    if (name.rfind(prefix, 0) != 0) continue;
    std::string rest = name.substr(prefix.size());
    size_t dot = rest.rfind('.');
    std::string site_name = dot == std::string::npos ? rest : rest.substr(0, dot);
    auto found = std::find_if(sites_.begin(), sites_.end(), [&](const QuantSite& site) { return site.name == site_name; });
    if (found == sites_.end() || dot == std::string::npos) {
      unknown.push_back(name);
      continue;
    }
    by_site[site_name].emplace_back(rest.substr(dot + 1), tensor);
  }
  // Per-channel state that no forward has allocated yet (an output site's channel count is only
  // known from its input) is allocated at the saved size: the same unobserved state a first
  // forward would start from.
  for (QuantSite& site : sites_) {
    auto entries = by_site.find(site.name);
    if (site.spec.granularity != Granularity::per_channel || entries == by_site.end()) continue;
    bool allocated = site.quantizer->running_min.defined() || site.quantizer->step.defined();
    if (!allocated && !entries->second.empty() && entries->second.front().second.dim() == 1) {
      site.quantizer->allocate_state(entries->second.front().second.numel());
    }
  }
  nn::LoadResult problems;
  problems.unexpected = unknown;
  for (const QuantSite& site : sites_) {
    std::map<std::string, Shape> expected;
    for (const auto& [name, tensor] : site.quantizer->state_dict()) expected.emplace(name, tensor.shape());
    std::set<std::string> provided;
    for (const auto& [name, tensor] : by_site[site.name]) {
      provided.insert(name);
      auto slot = expected.find(name);
      if (slot == expected.end()) {
        problems.unexpected.push_back(prefix + site.name + "." + name);
      } else if (slot->second != tensor.shape()) {
        problems.mismatched.push_back(fmt::format("{}{}.{}: state {} vs quantizer {}", prefix, site.name, name,
                                                  shape_str(tensor.shape()), shape_str(slot->second)));
      }
    }
    for (const auto& [name, shape] : expected) {
      if (!provided.count(name)) problems.missing.push_back(prefix + site.name + "." + name);
    }
  }
  QATD_CHECK(problems.ok(), "QuantizedModel::load_quantizer_state: {}", problems.describe());
  for (QuantSite& site : sites_) {
    if (by_site.count(site.name)) site.quantizer->load_state_dict(by_site[site.name]);
  }
}

}  // namespace qatd::quant

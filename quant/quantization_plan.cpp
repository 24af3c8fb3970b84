// Quantization plans: reading the [quant] section and matching module names.
#include "quant/quantization_plan.h"

#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "engine/error.h"
#include "engine/suggest.h"

namespace qatd::quant {

void SpecOverrides::apply_to(QuantizerSpec& spec) const {
  if (granularity) spec.granularity = *granularity;
  if (channel_axis) spec.channel_axis = *channel_axis;
  if (symmetric) spec.symmetric = *symmetric;
  if (is_signed) spec.is_signed = *is_signed;
  if (scale_source) spec.scale_source = *scale_source;
  if (averaging_constant) spec.averaging_constant = *averaging_constant;
  if (percentile) spec.percentile = *percentile;
  if (surrogate) spec.surrogate = *surrogate;
  if (bits_init) spec.bits_init = *bits_init;
  if (bits_min) spec.bits_min = *bits_min;
  if (bits_max) spec.bits_max = *bits_max;
}

bool SpecOverrides::empty() const {
  return !granularity && !channel_axis && !symmetric && !is_signed && !scale_source && !averaging_constant &&
         !percentile && !surrogate && !bits_init && !bits_min && !bits_max;
}

namespace {

// ------------------------------------------------------------------------------------------------
// Pattern matching.

std::vector<std::string_view> split_dotted(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

// One component against a component pattern in which `*` matches any run of characters.
bool match_component(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool match_parts(const std::vector<std::string_view>& pattern, size_t p, const std::vector<std::string_view>& name,
                 size_t n) {
  if (p == pattern.size()) return n == name.size();
  if (pattern[p] == "**") {
    for (size_t skip = n; skip <= name.size(); ++skip) {
      if (match_parts(pattern, p + 1, name, skip)) return true;
    }
    return false;
  }
  return n < name.size() && match_component(pattern[p], name[n]) && match_parts(pattern, p + 1, name, n + 1);
}

// ------------------------------------------------------------------------------------------------
// The [quant] section.

const std::vector<std::string> kSettingKeys = {"granularity",  "channel_axis", "symmetric",  "signed",
                                               "scale_source", "averaging_constant", "percentile", "surrogate",
                                               "bits_init",    "bits_min",     "bits_max"};
const std::vector<std::string> kSectionKeys = {"defaults", "rules", "anneal"};
const std::vector<std::string> kAnnealKeys = {"start_step", "steps", "ceiling_start", "ceiling_end",
                                              "penalty_warmup_steps"};

std::vector<std::string> with_settings(std::vector<std::string> keys) {
  keys.insert(keys.end(), kSettingKeys.begin(), kSettingKeys.end());
  return keys;
}

[[noreturn]] void unknown_key(const std::string& where, const std::string& key, const std::vector<std::string>& known) {
  fail("{}: unknown key '{}' (did you mean '{}'? known keys: {})", where, key, nearest_name(key, known),
       fmt::join(known, ", "));
}

bool read_bool(const toml::node& node, const std::string& where, const std::string& key) {
  if (auto value = node.value_exact<bool>()) return *value;
  fail("{}: '{}' must be true or false", where, key);
}

double read_number(const toml::node& node, const std::string& where, const std::string& key) {
  if (auto value = node.value_exact<int64_t>()) return static_cast<double>(*value);
  if (auto value = node.value_exact<double>()) return *value;
  fail("{}: '{}' must be a number", where, key);
}

int64_t read_integer(const toml::node& node, const std::string& where, const std::string& key) {
  if (auto value = node.value_exact<int64_t>()) return *value;
  fail("{}: '{}' must be an integer", where, key);
}

std::string read_string(const toml::node& node, const std::string& where, const std::string& key) {
  if (auto value = node.value_exact<std::string>()) return *value;
  fail("{}: '{}' must be a string", where, key);
}

// Parses a setting into `settings`; false when `key` is not a setting.
bool read_setting(SpecOverrides& settings, const std::string& key, const toml::node& node, const std::string& where) {
  auto parsed = [&](auto parse) {
    std::string text = read_string(node, where, key);
    try {
      return parse(text);
    } catch (const Error& error) {
      fail("{}: '{}': {}", where, key, error.what());
    }
  };
  if (key == "granularity") {
    settings.granularity = parsed(parse_granularity);
  } else if (key == "channel_axis") {
    settings.channel_axis = read_integer(node, where, key);
  } else if (key == "symmetric") {
    settings.symmetric = read_bool(node, where, key);
  } else if (key == "signed") {
    settings.is_signed = read_bool(node, where, key);
  } else if (key == "scale_source") {
    settings.scale_source = parsed(parse_scale_source);
  } else if (key == "averaging_constant") {
    settings.averaging_constant = read_number(node, where, key);
  } else if (key == "percentile") {
    settings.percentile = read_number(node, where, key);
  } else if (key == "surrogate") {
    settings.surrogate = parsed(parse_surrogate);
  } else if (key == "bits_init") {
    settings.bits_init = read_number(node, where, key);
  } else if (key == "bits_min") {
    settings.bits_min = read_number(node, where, key);
  } else if (key == "bits_max") {
    settings.bits_max = read_number(node, where, key);
  } else {
    return false;
  }
  return true;
}

const toml::table& as_table(const toml::node& node, const std::string& where) {
  const toml::table* table = node.as_table();
  QATD_CHECK(table != nullptr, "{} must be a table", where);
  return *table;
}

SpecOverrides read_defaults(const toml::node& node, const std::string& where) {
  SpecOverrides defaults;
  for (const auto& [key, value] : as_table(node, where)) {
    std::string name(key.str());
    if (!read_setting(defaults, name, value, where)) unknown_key(where, name, kSettingKeys);
  }
  return defaults;
}

PlanRule read_rule(const toml::table& table, const std::string& where) {
  PlanRule rule;
  const std::vector<std::string> known = with_settings({"pattern", "types", "weights", "outputs"});
  for (const auto& [key, value] : table) {
    std::string name(key.str());
    if (name == "pattern") {
      rule.pattern = read_string(value, where, name);
    } else if (name == "types") {
      if (auto single = value.value_exact<std::string>()) {
        rule.types.push_back(*single);
      } else if (const toml::array* list = value.as_array()) {
        for (const toml::node& item : *list) rule.types.push_back(read_string(item, where, name));
      } else {
        fail("{}: 'types' must be a string or a list of strings", where);
      }
    } else if (name == "weights") {
      rule.weights = read_bool(value, where, name);
    } else if (name == "outputs") {
      rule.outputs = read_bool(value, where, name);
    } else if (!read_setting(rule.settings, name, value, where)) {
      unknown_key(where, name, known);
    }
  }
  QATD_CHECK(!rule.pattern.empty(), "{}: needs a non-empty 'pattern'", where);
  QATD_CHECK(rule.weights || rule.outputs, "{}: sets neither 'weights' nor 'outputs'", where);
  QATD_CHECK(rule.weights.value_or(false) || rule.outputs.value_or(false) || rule.settings.empty(),
             "{}: only removes sites (weights/outputs = false), so its settings would have no effect", where);
  return rule;
}

BitSchedule read_schedule(const toml::node& node, const std::string& where) {
  BitSchedule schedule;
  for (const auto& [key, value] : as_table(node, where)) {
    std::string name(key.str());
    if (name == "start_step") {
      schedule.start_step = read_integer(value, where, name);
    } else if (name == "steps") {
      schedule.steps = read_integer(value, where, name);
    } else if (name == "ceiling_start") {
      schedule.ceiling_start = read_number(value, where, name);
    } else if (name == "ceiling_end") {
      schedule.ceiling_end = read_number(value, where, name);
    } else if (name == "penalty_warmup_steps") {
      schedule.penalty_warmup_steps = read_integer(value, where, name);
    } else {
      unknown_key(where, name, kAnnealKeys);
    }
  }
  validate(schedule, where);
  return schedule;
}

}  // namespace

bool match_pattern(std::string_view pattern, std::string_view module_name) {
  if (module_name.empty()) return false;
  return match_parts(split_dotted(pattern), 0, split_dotted(module_name), 0);
}

std::string to_string(SiteKind kind) { return kind == SiteKind::weight ? "weight" : "output"; }

QuantizationPlan QuantizationPlan::from_toml_text(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    fail("{}: TOML error at line {}, column {}: {}", source, error.source().begin.line, error.source().begin.column,
         error.description());
  }
  const toml::node* section = root.get("quant");
  QATD_CHECK(section != nullptr, "{}: no [quant] section", source);
  QuantizationPlan plan;
  plan.source = source;
  const toml::table& quant = as_table(*section, source + ": [quant]");
  for (const auto& [key, value] : quant) {
    std::string name(key.str());
    if (name == "defaults") {
      plan.defaults = read_defaults(value, source + ": [quant.defaults]");
    } else if (name == "anneal") {
      plan.schedule = read_schedule(value, source + ": [quant.anneal]");
    } else if (name == "rules") {
      const toml::array* rules = value.as_array();
      QATD_CHECK(rules != nullptr, "{}: quant.rules must be an array of tables ([[quant.rules]])", source);
      for (size_t i = 0; i < rules->size(); ++i) {
        std::string where = fmt::format("{}: [[quant.rules]] #{}", source, i + 1);
        plan.rules.push_back(read_rule(as_table(*rules->get(i), where), where));
      }
    } else {
      unknown_key(source + ": [quant]", name, kSectionKeys);
    }
  }
  QATD_CHECK(!plan.rules.empty(), "{}: [quant] has no rules ([[quant.rules]] with a pattern)", source);
  return plan;
}

QuantizationPlan QuantizationPlan::from_toml_file(const std::string& path) {
  std::ifstream stream(path);
  QATD_CHECK(stream.good(), "cannot open quantization config '{}'", path);
  std::stringstream text;
  text << stream.rdbuf();
  return from_toml_text(text.str(), path);
}

QuantizationPlan QuantizationPlan::uniform_weights(int64_t bits, bool per_channel) {
  QATD_CHECK(bits >= 1 && bits <= 16, "QuantizationPlan::uniform_weights: bits must lie in [1, 16], got {}", bits);
  QuantizationPlan plan;
  plan.source = fmt::format("uniform {}-bit weight plan", bits);
  PlanRule rule;
  rule.pattern = "**";
  rule.types = {"Linear", "Conv2d", "ConvTranspose2d"};
  rule.weights = true;
  rule.settings.granularity = per_channel ? Granularity::per_channel : Granularity::per_tensor;
  rule.settings.symmetric = true;
  rule.settings.is_signed = true;
  rule.settings.scale_source = ScaleSource::min_max;
  rule.settings.bits_init = rule.settings.bits_min = rule.settings.bits_max = static_cast<double>(bits);
  plan.rules.push_back(rule);
  return plan;
}

}  // namespace qatd::quant

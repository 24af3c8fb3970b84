// The file formats of a SAM 2 model config: each is turned into a JSON tree, whose model block the
// strict reader of sam2_config.cpp reads.
#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include "engine/error.h"
#include "models/sam2/sam2_config.h"
#include "engine/suggest.h"
#include "models/sam2/sam2_config_internal.h"

namespace qatd::sam2 {
namespace {

using nlohmann::json;

// The top-level sections of the official training config (and train.py's optional `cluster`), which
// a model loader skips.
constexpr std::array<std::string_view, 7> kNonModelSections = {"scratch",  "dataset",  "vos",    "trainer",
                                                               "launcher", "submitit", "cluster"};

// ------------------------------------------------------------------------------------------------
// YAML. Plain scalars are typed the way OmegaConf's loader types them (PyYAML's YAML 1.1 resolvers,
// with OmegaConf's float pattern that also accepts 1e-6), so a value reads the same as in Python.

const std::regex& yaml_bool_pattern() {
  static const std::regex pattern("yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF");
  return pattern;
}

const std::regex& yaml_int_pattern() {
  static const std::regex pattern("[-+]?(0b[01_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+)");
  return pattern;
}

const std::regex& yaml_float_pattern() {
  static const std::regex pattern(
      "[-+]?[0-9]+(_[0-9]+)*\\.[0-9_]*([eE][-+]?[0-9]+)?"
      "|[-+]?[0-9]+(_[0-9]+)*[eE][-+]?[0-9]+"
      "|\\.[0-9]+(_[0-9]+)*([eE][-+][0-9]+)?"
      "|[-+]?\\.(inf|Inf|INF)"
      "|\\.(nan|NaN|NAN)");
  return pattern;
}

json yaml_int(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (c != '_') digits += c;
  }
  bool negative = digits[0] == '-';
  if (digits[0] == '-' || digits[0] == '+') digits.erase(0, 1);
  int base = 10;
  if (digits.size() > 1 && digits[0] == '0') {
    base = digits[1] == 'x' ? 16 : digits[1] == 'b' ? 2 : 8;
    digits.erase(0, base == 8 ? 1 : 2);
  }
  try {
    int64_t value = std::stoll(digits, nullptr, base);
    return negative ? -value : value;
  } catch (const std::out_of_range&) {
    return text;  // left as a string, which the reader then reports with its key
  }
}

json yaml_float(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (c != '_') digits += c;
  }
  if (digits.find("inf") != std::string::npos || digits.find("Inf") != std::string::npos ||
      digits.find("INF") != std::string::npos) {
    return digits[0] == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (digits.find_first_of("nN") != std::string::npos) return std::numeric_limits<double>::quiet_NaN();
  return std::stod(digits);
}

json yaml_plain_scalar(const std::string& text) {
  if (std::regex_match(text, yaml_bool_pattern())) {
    char first = text[0];
    return first == 'y' || first == 'Y' || first == 't' || first == 'T' || text == "on" || text == "On" ||
           text == "ON";
  }
  if (std::regex_match(text, yaml_int_pattern())) return yaml_int(text);
  if (std::regex_match(text, yaml_float_pattern())) return yaml_float(text);
  return text;
}

json yaml_to_json(const YAML::Node& node, const std::string& path, const std::string& source) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& tag = node.Tag();
      const std::string& text = node.Scalar();
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;
      json value = yaml_plain_scalar(text);
      if (tag == "?" || tag.empty()) return value;
      if (tag == "tag:yaml.org,2002:int" && value.is_number_integer()) return value;
      if (tag == "tag:yaml.org,2002:float" && value.is_number()) return value.get<double>();
      if (tag == "tag:yaml.org,2002:bool" && value.is_boolean()) return value;
      fail("{}: {}: unsupported YAML tag {} on {}", source, path, tag, text);
    }
    case YAML::NodeType::Sequence: {
      json array = json::array();
      for (size_t i = 0; i < node.size(); ++i) {
        array.push_back(yaml_to_json(node[i], fmt::format("{}[{}]", path, i), source));
      }
      return array;
    }
    case YAML::NodeType::Map: {
      json object = json::object();
      for (const auto& entry : node) {
        std::string key = entry.first.Scalar();
        std::string child = path.empty() ? key : path + "." + key;
        if (object.contains(key)) fail("{}: {}: duplicate key", source, child);
        object[key] = yaml_to_json(entry.second, child, source);
      }
      return object;
    }
  }
  return nullptr;
}

json parse_yaml(std::string_view text, const std::string& source) {
  try {
    return yaml_to_json(YAML::Load(std::string(text)), "", source);
  } catch (const YAML::Exception& error) {
    fail("{}: YAML error at line {}, column {}: {}", source, error.mark.line + 1, error.mark.column + 1, error.msg);
  }
}

// Whole-value OmegaConf interpolations (`image_size: ${scratch.resolution}`) inside the model block
// are replaced by the value they point at; anything fancier (resolvers, string templates) is refused.
void resolve_interpolations(json& value, const json& root, const std::string& path, const std::string& source,
                            int depth = 0) {
  if (value.is_object()) {
    for (auto& [key, child] : value.items()) resolve_interpolations(child, root, path + "." + key, source, depth);
    return;
  }
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      resolve_interpolations(value[i], root, fmt::format("{}[{}]", path, i), source, depth);
    }
    return;
  }
  if (!value.is_string()) return;
  const std::string text = value.get<std::string>();
  if (text.find("${") == std::string::npos) return;
  static const std::regex reference("\\$\\{([A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z0-9_]+)*)\\}");
  std::smatch match;
  if (!std::regex_match(text, match, reference)) {
    fail("{}: {}: the interpolation {} is not supported (only whole-value references such as ${{scratch.resolution}})",
         source, path, text);
  }
  QATD_CHECK(depth < 32, "{}: {}: interpolation {} does not resolve (cycle?)", source, path, text);
  const json* target = &root;
  std::stringstream parts(match[1].str());
  for (std::string part; std::getline(parts, part, '.');) {
    if (!target->is_object() || !target->contains(part)) {
      fail("{}: {}: interpolation {} points at a key that does not exist", source, path, text);
    }
    target = &(*target)[part];
  }
  value = *target;
  resolve_interpolations(value, root, path, source, depth + 1);
}

SAM2Config read_yaml(std::string_view text, const std::string& source) {
  json root = parse_yaml(text, source);
  if (!root.is_object()) fail("{}: expected a mapping with a `model:` key at the top level", source);
  const bool has_model = root.contains("model");
  std::vector<std::string> allowed = {"model"};
  allowed.insert(allowed.end(), kNonModelSections.begin(), kNonModelSections.end());
  for (const auto& [key, unused] : root.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      fail("{}: {}: unknown top-level key (did you mean {}?); besides `model`, only the official training "
           "sections {} may appear",
           source, key, nearest_name(key, allowed), fmt::join(kNonModelSections, ", "));
    }
  }
  // A training config nests the model in its trainer (training.model.sam2.SAM2Train).
  std::string path = "model";
  json block;
  if (has_model) {
    block = root["model"];
  } else if (root.contains("trainer") && root["trainer"].is_object() && root["trainer"].contains("model")) {
    path = "trainer.model";
    block = root["trainer"]["model"];
  } else {
    fail("{}: no `model:` mapping at the top level (nor `trainer.model:`)", source);
  }
  resolve_interpolations(block, root, path, source);
  return detail::read_model_block(block, path, source);
}

// ------------------------------------------------------------------------------------------------
// TOML: the model tree under a [model] table.

json toml_to_json(const toml::node& node, const std::string& path, const std::string& source) {
  if (const toml::table* table = node.as_table()) {
    json object = json::object();
    for (const auto& [key, child] : *table) {
      std::string name(key.str());
      object[name] = toml_to_json(child, path.empty() ? name : path + "." + name, source);
    }
    return object;
  }
  if (const toml::array* array = node.as_array()) {
    json list = json::array();
    for (size_t i = 0; i < array->size(); ++i) {
      list.push_back(toml_to_json(*array->get(i), fmt::format("{}[{}]", path, i), source));
    }
    return list;
  }
  if (auto value = node.value_exact<int64_t>()) return *value;
  if (auto value = node.value_exact<double>()) return *value;
  if (auto value = node.value_exact<bool>()) return *value;
  if (auto value = node.value_exact<std::string>()) return *value;
  fail("{}: {}: dates and times have no meaning in a model config", source, path);
}

SAM2Config read_toml(std::string_view text, const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    fail("{}: TOML error at line {}, column {}: {}", source, error.source().begin.line, error.source().begin.column,
         error.description());
  }
  json root = toml_to_json(table, "", source);
  if (!root.contains("model")) fail("{}: no [model] table", source);
  return detail::read_model_block(root["model"], "model", source);
}

// ------------------------------------------------------------------------------------------------
// JSON: the model tree under a top-level "model" key.

SAM2Config read_json(std::string_view text, const std::string& source) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& error) {
    fail("{}: JSON error: {}", source, error.what());
  }
  if (!root.is_object() || !root.contains("model")) fail("{}: no top-level \"model\" object", source);
  return detail::read_model_block(root["model"], "model", source);
}

std::string lowercase_extension(const std::string& path) {
  size_t dot = path.find_last_of('.');
  size_t slash = path.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string extension = path.substr(dot);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

}  // namespace

SAM2Config parse_model_config(std::string_view text, ConfigFormat format, const std::string& source) {
  SAM2Config config;
  switch (format) {
    case ConfigFormat::yaml: config = read_yaml(text, source); break;
    case ConfigFormat::toml: config = read_toml(text, source); break;
    case ConfigFormat::json: config = read_json(text, source); break;
  }
  try {
    validate(config);
  } catch (const Error& error) {
    fail("{}: {}", source, error.what());
  }
  return config;
}

SAM2Config load_model_config(const std::string& file_or_preset) {
  if (is_preset_name(file_or_preset)) return preset_config(file_or_preset);
  std::string extension = lowercase_extension(file_or_preset);
  ConfigFormat format;
  if (extension == ".yaml" || extension == ".yml") {
    format = ConfigFormat::yaml;
  } else if (extension == ".toml") {
    format = ConfigFormat::toml;
  } else if (extension == ".json") {
    format = ConfigFormat::json;
  } else {
    fail("SAM 2 config '{}' is neither a preset (did you mean {}?) nor a .yaml/.yml/.toml/.json file; presets: {}",
         file_or_preset, nearest_name(file_or_preset, preset_names()), fmt::join(preset_names(), ", "));
  }
  std::ifstream file(file_or_preset, std::ios::binary);
  QATD_CHECK(file.good(), "SAM 2 config '{}': cannot open the file", file_or_preset);
  std::stringstream contents;
  contents << file.rdbuf();
  return parse_model_config(contents.str(), format, file_or_preset);
}

}  // namespace qatd::sam2

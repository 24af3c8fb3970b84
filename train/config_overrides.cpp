// The TOML-level half of the trainer's configuration: schema, overrides, merging, writing values.
#include "train/config_overrides.h"

#include <cctype>
#include <charconv>
#include <sstream>

#include "engine/error.h"
#include "engine/suggest.h"

namespace qatd::train {

namespace {

std::string join(std::string_view parent, std::string_view name) {
  return parent.empty() ? std::string(name) : std::string(parent) + "." + std::string(name);
}

// The name of the table at `path` as a reader of the file sees it.
std::string describe_table(std::string_view pattern) {
  if (pattern.empty()) return "the top level";
  if (pattern.size() > 2 && pattern.substr(pattern.size() - 2) == ".*") {
    return "[[" + std::string(pattern.substr(0, pattern.size() - 2)) + "]]";
  }
  return "[" + std::string(pattern) + "]";
}

// `rest`: the components of an override's key after the unknown one; the suggestion keeps them
// when they are valid under the suggested name ("trian.steps": did you mean "train.steps"?).
[[noreturn]] void unknown_key(const std::string& source, const std::string& parent_path, const std::string& name,
                              const std::string& parent_pattern, const ConfigSchema& schema,
                              const std::string& rest = "") {
  std::vector<std::string> known = schema.children(parent_pattern);
  std::string nearest = nearest_name(name, known);
  std::string suggestion = join(parent_path, nearest);
  if (!rest.empty() && schema.find(path_pattern(join(join(parent_pattern, nearest), rest))) != nullptr) {
    suggestion += "." + rest;
  }
  fail("{}: unknown key '{}' (did you mean '{}'? valid keys in {}: {})", source,
       rest.empty() ? join(parent_path, name) : join(join(parent_path, name), rest), suggestion,
       describe_table(parent_pattern), fmt::join(known, ", "));
}

std::optional<size_t> parse_index(std::string_view text) {
  size_t index = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), index);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return index;
}

bool valid_key_component(std::string_view component) {
  if (component.empty()) return false;
  for (char c : component) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

// Copies (or moves) any node into `table` under `key`; toml++ inserts concrete node types only.
void assign(toml::table& table, const std::string& key, const toml::node& node) {
  node.visit([&](const auto& concrete) { table.insert_or_assign(key, concrete); });
}

void check_table(const toml::table& table, const std::string& pattern, const std::string& path,
                 const ConfigSchema& schema, const std::string& source);

// A table or array-of-tables key must hold that container: the readers walk into it.
void check_container(const toml::node& node, KeyKind kind, const std::string& pattern, const std::string& path,
                     const ConfigSchema& schema, const std::string& source) {
  if (kind == KeyKind::table) {
    const toml::table* table = node.as_table();
    QATD_CHECK(table != nullptr, "{}: '{}' must be a table, got {} {}", source, path, type_name(node),
               describe_value(node));
    check_table(*table, pattern, path, schema, source);
  } else if (kind == KeyKind::table_array) {
    const toml::array* array = node.as_array();
    QATD_CHECK(array != nullptr, "{}: '{}' must be an array of tables ([[{}]]), got {} {}", source, path, path,
               type_name(node), describe_value(node));
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::table* element = array->get(i)->as_table();
      QATD_CHECK(element != nullptr, "{}: '{}.{}' must be a table, got {} {}", source, path, i,
                 type_name(*array->get(i)), describe_value(*array->get(i)));
      check_table(*element, pattern + ".*", path + "." + std::to_string(i), schema, source);
    }
  }
}

void check_table(const toml::table& table, const std::string& pattern, const std::string& path,
                 const ConfigSchema& schema, const std::string& source) {
  for (const auto& [key, node] : table) {
    std::string name(key.str());
    const KeyKind* kind = schema.find(join(pattern, name));
    if (kind == nullptr) unknown_key(source, path, name, pattern, schema);
    check_container(node, *kind, join(pattern, name), join(path, name), schema, source);
  }
}

}  // namespace

std::string to_string(KeyKind kind) {
  switch (kind) {
    case KeyKind::integer: return "an integer";
    case KeyKind::number: return "a number";
    case KeyKind::boolean: return "true or false";
    case KeyKind::string: return "a string";
    case KeyKind::strings: return "a string or an array of strings";
    case KeyKind::numbers: return "an array of numbers";
    case KeyKind::table: return "a table";
    case KeyKind::table_array: return "an array of tables";
  }
  return "?";
}

ConfigSchema::ConfigSchema(std::vector<std::pair<std::string, KeyKind>> entries) : entries_(std::move(entries)) {
  for (const auto& [pattern, kind] : entries_) {
    QATD_CHECK(kinds_.emplace(pattern, kind).second, "ConfigSchema: duplicate key '{}'", pattern);
  }
}

const KeyKind* ConfigSchema::find(std::string_view pattern) const {
  auto found = kinds_.find(pattern);
  return found == kinds_.end() ? nullptr : &found->second;
}

std::vector<std::string> ConfigSchema::children(std::string_view parent_pattern) const {
  std::vector<std::string> names;
  std::string prefix = parent_pattern.empty() ? "" : std::string(parent_pattern) + ".";
  for (const auto& [pattern, kind] : entries_) {
    if (pattern.size() <= prefix.size() || pattern.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = pattern.substr(prefix.size());
    if (rest.find('.') == std::string::npos) names.push_back(rest);
  }
  return names;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

std::string path_pattern(std::string_view path) {
  std::string pattern;
  for (const std::string& part : split_path(path)) pattern = join(pattern, parse_index(part) ? "*" : part);
  return pattern;
}

Override parse_override(std::string_view argument) {
  Override result;
  result.text = std::string(argument);
  size_t equals = argument.find('=');
  QATD_CHECK(equals != std::string_view::npos, "override '{}' is not key=value (write '{}=VALUE')", argument,
             argument);
  result.key = std::string(argument.substr(0, equals));
  result.value = std::string(argument.substr(equals + 1));
  QATD_CHECK(!result.key.empty(), "override '{}' has no key before '=' (write KEY{})", argument, argument);
  // `key==value` is a slip far more often than a value that starts with '='; a string that does
  // can still be quoted.
  QATD_CHECK(result.value.empty() || result.value[0] != '=',
             "override '{}' has '==' (write '{}={}'; quote a value that starts with '=')", argument, result.key,
             result.value.substr(1));
  for (const std::string& component : split_path(result.key)) {
    QATD_CHECK(valid_key_component(component),
               "override '{}': '{}' is not a valid key (dotted names of letters, digits, '_' and '-')", argument,
               result.key);
  }
  return result;
}

toml::table parse_override_value(const Override& override_argument, KeyKind kind) {
  const std::string& text = override_argument.value;
  auto bare_string = [&] {
    toml::table table;
    table.insert("v", text);
    return table;
  };
  toml::table parsed;
  try {
    std::string document = "v = " + text;
    parsed = toml::parse(std::string_view(document), std::string_view("override"));
  } catch (const toml::parse_error& error) {
    bool meant_as_toml = !text.empty() && std::string_view("[{\"'").find(text[0]) != std::string_view::npos;
    QATD_CHECK(!meant_as_toml, "override '{}': '{}' is not a valid TOML value: {}", override_argument.text, text,
               error.description());
    return bare_string();
  }
  // "1\nseed = 3" parses, but would smuggle in a second key.
  if (parsed.size() != 1) {
    QATD_CHECK(kind == KeyKind::string, "override '{}': '{}' is not a single TOML value", override_argument.text,
               text);
    return bare_string();
  }
  if (kind == KeyKind::string && !parsed.get("v")->is_string()) return bare_string();
  return parsed;
}

void apply_override(toml::table& root, const Override& override_argument, const ConfigSchema& schema) {
  const std::string source = "override '" + override_argument.text + "'";
  std::vector<std::string> parts = split_path(override_argument.key);
  toml::table* table = &root;
  std::string pattern, path;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& name = parts[i];
    const KeyKind* kind = schema.find(join(pattern, name));
    if (kind == nullptr) {
      std::vector<std::string> rest(parts.begin() + static_cast<std::ptrdiff_t>(i) + 1, parts.end());
      unknown_key(source, path, name, pattern, schema, fmt::format("{}", fmt::join(rest, ".")));
    }
    std::string child_pattern = join(pattern, name), child_path = join(path, name);
    bool last = i + 1 == parts.size();
    if (last) {
      toml::table value = parse_override_value(override_argument, *kind);
      const toml::node& node = *value.get("v");
      // Containers are checked now, naming the override; leaves are checked by the struct readers.
      check_container(node, *kind, child_pattern, child_path, schema, source);
      // An inline table sets the keys it names and keeps the others, as a [section] in the file does.
      toml::table* existing = table->get_as<toml::table>(name);
      if (existing != nullptr && node.is_table()) {
        merge_into(*existing, *node.as_table());
      } else {
        assign(*table, name, node);
      }
      return;
    }
    if (*kind == KeyKind::table) {
      toml::node* child = table->get(name);
      if (child == nullptr) child = table->insert(name, toml::table{}).first->second.as_table();
      QATD_CHECK(child->is_table(), "{}: '{}' must be a table, got {} {}", source, child_path, type_name(*child),
                 describe_value(*child));
      table = child->as_table();
    } else if (*kind == KeyKind::table_array) {
      std::optional<size_t> index = parse_index(parts[i + 1]);
      QATD_CHECK(index.has_value(), "{}: '{}' is an array of tables: address an element by index ('{}.0.{}')",
                 source, child_path, child_path, parts[i + 1]);
      toml::array* array = table->get_as<toml::array>(name);
      size_t size = array == nullptr ? 0 : array->size();
      QATD_CHECK(*index < size,
                 "{}: '{}' has {} element(s), so there is no element {} (to add elements, override the whole "
                 "array: {}=[{{...}}, ...])",
                 source, child_path, size, *index, child_path);
      if (i + 2 == parts.size()) {
        toml::table value = parse_override_value(override_argument, KeyKind::table);
        const toml::node& node = *value.get("v");
        QATD_CHECK(node.is_table(), "{}: '{}.{}' must be a table, got {} {}", source, child_path, *index,
                   type_name(node), describe_value(node));
        check_container(node, KeyKind::table, child_pattern + ".*", child_path + "." + parts[i + 1], schema,
                        source);
        array->replace(array->cbegin() + static_cast<std::ptrdiff_t>(*index), *node.as_table());
        return;
      }
      toml::table* element = array->get_as<toml::table>(*index);
      QATD_CHECK(element != nullptr, "{}: '{}.{}' must be a table", source, child_path, *index);
      table = element;
      child_pattern += ".*";
      child_path += "." + parts[i + 1];
      ++i;
    } else {
      fail("{}: '{}' is {}, so it has no key '{}'", source, child_path, to_string(*kind), parts[i + 1]);
    }
    pattern = std::move(child_pattern);
    path = std::move(child_path);
  }
}

void check_known_keys(const toml::table& root, const ConfigSchema& schema, const std::string& source) {
  check_table(root, "", "", schema, source);
}

void merge_into(toml::table& base, const toml::table& top) {
  for (const auto& [key, node] : top) {
    toml::table* base_table = base.get_as<toml::table>(key.str());
    if (base_table != nullptr && node.is_table()) {
      merge_into(*base_table, *node.as_table());
    } else {
      assign(base, std::string(key.str()), node);
    }
  }
}

std::string toml_string(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    switch (c) {
      case '"': quoted += "\\\""; break;
      case '\\': quoted += "\\\\"; break;
      case '\n': quoted += "\\n"; break;
      case '\t': quoted += "\\t"; break;
      case '\r': quoted += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          quoted += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
        } else {
          quoted += c;
        }
    }
  }
  return quoted + "\"";
}

std::string toml_number(double value) {
  // fmt's "{}" is the shortest decimal that reads back to the same double.
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eEni") == std::string::npos) text += ".0";
  return text;
}

std::string describe_value(const toml::node& node) {
  if (auto text = node.value_exact<std::string>()) return toml_string(*text);
  if (auto number = node.value_exact<double>()) return toml_number(*number);
  std::ostringstream stream;
  node.visit([&](const auto& concrete) { stream << concrete; });
  return stream.str();
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

}  // namespace qatd::train

#pragma once
// The TOML-level half of the trainer's configuration (train_config.h): which dotted keys exist,
// Hydra-style `key=value` overrides applied to a parsed TOML table, deep merging of tables, and
// writing TOML values. Everything here works on toml::table before any struct is filled, so that a
// file and the command line go through the same validation path.
//
// Paths are dotted (`optim.bits.lr`); an element of an array of tables is addressed by its index
// (`loss.kd_layer.0.weight`), which the schema spells `*` (`loss.kd_layer.*.weight`).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

namespace qatd::train {

enum class KeyKind {
  integer,
  number,   // integer or float
  boolean,
  string,
  strings,  // a string or an array of strings
  numbers,  // an array of numbers
  table,    // a table whose keys are listed in the schema
  table_array,
};
std::string to_string(KeyKind kind);

// Every key a config may hold, with its kind. Tables and arrays of tables are entries too.
class ConfigSchema {
 public:
  explicit ConfigSchema(std::vector<std::pair<std::string, KeyKind>> entries);

  // The kind of `pattern` (a path with `*` for indices), nullptr when it is not a key.
  const KeyKind* find(std::string_view pattern) const;
  // The names directly under the table `parent_pattern` ("" for the top level), in schema order.
  std::vector<std::string> children(std::string_view parent_pattern) const;

 private:
  std::vector<std::pair<std::string, KeyKind>> entries_;
  std::map<std::string, KeyKind, std::less<>> kinds_;
};

// One `key=value` argument.
struct Override {
  std::string key;
  std::string value;  // the text after the first '='
  std::string text;   // the whole argument, for messages
};

// Throws on anything but `dotted.key=value` with non-empty key components: `train.steps`,
// `=3`, `train..steps=3` and `train.steps==3` are errors.
Override parse_override(std::string_view argument);

// The value of an override as TOML: `100`, `0.5`, `true`, `"text"`, `[1, 2]`, `{lr = 0.1}`. Text
// that is not a TOML value is taken as a bare string (`model.config=sam2.1_hiera_t`,
// `data.images=/data/x`), as Hydra does; so is any value of a string key (`model.checkpoint=2024`),
// since a path or a name is never meant as a number.
toml::table parse_override_value(const Override& override_argument, KeyKind kind);

// Sets the key of `override_argument` in `root`, creating missing tables; an inline table given
// for a table key merges into it, while an array (of tables too) replaces. Throws when the key is
// unknown (naming the closest valid key), when it crosses a key that is not a table, or when an
// index names no existing element of an array of tables.
void apply_override(toml::table& root, const Override& override_argument, const ConfigSchema& schema);

// Throws on the first key of `root` the schema does not know, naming its dotted path, the closest
// valid key and the keys valid there; `source` names the file.
void check_known_keys(const toml::table& root, const ConfigSchema& schema, const std::string& source);

// `top` over `base`: tables merge key by key, anything else (arrays included) replaces.
void merge_into(toml::table& base, const toml::table& top);

// The dotted path with every index replaced by `*`.
std::string path_pattern(std::string_view path);
std::vector<std::string> split_path(std::string_view path);

// TOML spellings that read back exactly: a basic string with escapes, and the shortest
// round-tripping decimal of a double (with ".0" on integral values, so it stays a float).
std::string toml_string(std::string_view text);
std::string toml_number(double value);

// Writes TOML in the order it is given (toml++ sorts keys), with values that read back exactly.
class TomlWriter {
 public:
  void section(std::string_view name) { out_ += fmt::format("\n[{}]\n", name); }
  void array_section(std::string_view name) { out_ += fmt::format("\n[[{}]]\n", name); }
  void integer(std::string_view key, int64_t value) { line(key, std::to_string(value)); }
  void number(std::string_view key, double value) { line(key, toml_number(value)); }
  void boolean(std::string_view key, bool value) { line(key, value ? "true" : "false"); }
  void string(std::string_view key, std::string_view value) { line(key, toml_string(value)); }
  void strings(std::string_view key, const std::vector<std::string>& values) {
    std::vector<std::string> quoted;
    for (const std::string& value : values) quoted.push_back(toml_string(value));
    line(key, fmt::format("[{}]", fmt::join(quoted, ", ")));
  }
  void numbers(std::string_view key, const std::vector<double>& values) {
    std::vector<std::string> texts;
    for (double value : values) texts.push_back(toml_number(value));
    line(key, fmt::format("[{}]", fmt::join(texts, ", ")));
  }
  void comment(std::string_view text) { out_ += fmt::format("# {}\n", text); }
  const std::string& text() const { return out_; }

 private:
  void line(std::string_view key, std::string_view value) { out_ += fmt::format("{} = {}\n", key, value); }
  std::string out_;
};

// A node's value as it would appear in TOML, for messages ("\"abc\"", "3", "[1, 2]").
std::string describe_value(const toml::node& node);
// "integer", "float", "string", "boolean", "array", "table", ...
std::string type_name(const toml::node& node);

}  // namespace qatd::train

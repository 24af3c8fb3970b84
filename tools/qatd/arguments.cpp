#include "tools/qatd/arguments.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/suggest.h"

namespace qatd::cli {

Arguments::Arguments(std::string command, const std::vector<std::string>& words, std::vector<OptionSpec> specs)
    : command_(std::move(command)), specs_(std::move(specs)) {
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word.rfind("--", 0) != 0 || word.size() == 2) {
      positional_.push_back(word);
      continue;
    }
    std::string name = word.substr(2), value;
    bool inline_value = false;
    if (size_t equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
      inline_value = true;
    }
    const OptionSpec& option = spec(name);
    if (!option.value_name.empty() && !inline_value) {
      QATD_CHECK(i + 1 < words.size(), "qatd {}: option --{} needs a value ({})", command_, name, option.value_name);
      value = words[++i];
    }
    QATD_CHECK(option.value_name.empty() || !value.empty(), "qatd {}: option --{} needs a value", command_, name);
    QATD_CHECK(!option.value_name.empty() || !inline_value, "qatd {}: option --{} takes no value", command_, name);
    values_.emplace_back(name, value);
  }
}

const OptionSpec& Arguments::spec(const std::string& name) const {
  for (const OptionSpec& option : specs_) {
    if (option.name == name) return option;
  }
  std::vector<std::string> names;
  for (const OptionSpec& option : specs_) names.push_back(option.name);
  std::optional<std::string> suggestion = likely_typo_of(name, names);
  fail("qatd {}: unknown option --{}{}", command_, name,
       suggestion ? " (did you mean --" + *suggestion + "?)" : std::string(" (see qatd " + command_ + " --help)"));
}

bool Arguments::has(const std::string& name) const {
  spec(name);
  return std::any_of(values_.begin(), values_.end(), [&](const auto& entry) { return entry.first == name; });
}

std::string Arguments::text(const std::string& name, const std::string& fallback) const {
  spec(name);
  for (auto it = values_.rbegin(); it != values_.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return fallback;
}

int64_t Arguments::integer(const std::string& name, int64_t fallback) const {
  if (!has(name)) return fallback;
  std::string value = text(name, "");
  try {
    size_t used = 0;
    int64_t parsed = std::stoll(value, &used);
    if (used == value.size()) return parsed;
  } catch (const std::exception&) {
  }
  fail("qatd {}: --{} expects an integer, got '{}'", command_, name, value);
}

double Arguments::number(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  std::string value = text(name, "");
  try {
    size_t used = 0;
    double parsed = std::stod(value, &used);
    if (used == value.size()) return parsed;
  } catch (const std::exception&) {
  }
  fail("qatd {}: --{} expects a number, got '{}'", command_, name, value);
}

std::string Arguments::usage() const {
  std::string text;
  for (const OptionSpec& option : specs_) {
    std::string left = "--" + option.name + (option.value_name.empty() ? "" : " " + option.value_name);
    text += fmt::format("  {:<24} {}\n", left, option.help);
  }
  return text;
}

}  // namespace qatd::cli

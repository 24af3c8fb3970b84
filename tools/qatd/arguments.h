#pragma once
// Command-line options of one qatd subcommand: "--name value", "--name=value" and bare
// "--flag"; anything else is positional. Unknown options are errors that suggest the
// closest known name.
#include <optional>
#include <string>
#include <vector>

namespace qatd::cli {

struct OptionSpec {
  std::string name;  // without the leading dashes
  std::string value_name;  // empty: a flag without a value
  std::string help;
};

class Arguments {
 public:
  Arguments(std::string command, const std::vector<std::string>& words, std::vector<OptionSpec> specs);

  bool has(const std::string& name) const;
  std::string text(const std::string& name, const std::string& fallback) const;
  int64_t integer(const std::string& name, int64_t fallback) const;
  double number(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // "  --steps N    training steps" lines for --help.
  std::string usage() const;

 private:
  const OptionSpec& spec(const std::string& name) const;

  std::string command_;
  std::vector<OptionSpec> specs_;
  std::vector<std::pair<std::string, std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace qatd::cli

#include "train/metrics_csv.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/suggest.h"

namespace qatd::train {
namespace {

std::string join_header(const std::vector<std::string>& columns) {
  std::string line;
  for (size_t i = 0; i < columns.size(); ++i) {
    line += (i == 0 ? "" : ",") + columns[i];
  }
  return line;
}

std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, ',')) {
    fields.push_back(field);
  }
  if (!line.empty() && line.back() == ',') {
    fields.emplace_back();
  }
  return fields;
}

void check_columns(const std::vector<std::string>& columns) {
  const auto& core = metrics_core_columns();
  QATD_CHECK(columns.size() >= core.size() && std::equal(core.begin(), core.end(), columns.begin()),
             "metrics.csv: the header must start with {}, got {}", fmt::join(core, ","), fmt::join(columns, ","));
  std::set<std::string> seen;
  for (const auto& name : columns) {
    QATD_CHECK(!name.empty() && name.find_first_of(",\"\r\n") == std::string::npos,
               "metrics.csv: column name '{}' is empty or holds a comma, quote or line break", name);
    QATD_CHECK(seen.insert(name).second, "metrics.csv: column '{}' appears twice", name);
  }
}

std::FILE* open_file(const std::filesystem::path& path, const char* mode) {
  std::FILE* file = std::fopen(path.c_str(), mode);
  QATD_CHECK(file != nullptr, "metrics.csv: cannot open {}: {}", path.string(), std::strerror(errno));
  return file;
}

void write_and_flush(std::FILE* file, const std::string& text, const std::filesystem::path& path) {
  const bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size() && std::fflush(file) == 0;
  QATD_CHECK(ok, "metrics.csv: cannot write {}: {}", path.string(), std::strerror(errno));
}

// The step a row starts with, or -1 when the field is not a whole non-negative integer.
int64_t parse_step(const std::string& field) {
  char* end = nullptr;
  errno = 0;
  const long long step = std::strtoll(field.c_str(), &end, 10);
  if (field.empty() || *end != '\0' || errno != 0 || step < 0) {
    return -1;
  }
  return step;
}

}  // namespace

const std::vector<std::string>& metrics_core_columns() {
  static const std::vector<std::string> columns = {"step",          "lr",       "loss_total", "loss_task",
                                                   "loss_kd_output", "loss_kd_layer", "loss_bit", "bits_mean"};
  return columns;
}

std::vector<std::string> metrics_columns(const std::vector<std::string>& sites, const std::vector<std::string>& extra) {
  std::vector<std::string> columns = metrics_core_columns();
  for (const auto& site : sites) {
    columns.push_back("bits:" + site);
  }
  columns.insert(columns.end(), extra.begin(), extra.end());
  check_columns(columns);
  return columns;
}

std::string format_metric_value(double value) {
  if (std::isnan(value)) {
    return "nan";
  }
  if (std::isinf(value)) {
    return value > 0 ? "inf" : "-inf";
  }
  // Losses and bits are float32 in the engine: printing them as floats keeps the file short
  // ("0.1" rather than "0.10000000149011612") while strtof still recovers every bit.
  const float as_float = static_cast<float>(value);
  if (static_cast<double>(as_float) == value) {
    return fmt::format("{}", as_float);
  }
  return fmt::format("{}", value);
}

MetricsCsv::MetricsCsv(std::filesystem::path path, std::vector<std::string> columns, std::FILE* file,
                       int64_t last_step)
    : path_(std::move(path)), columns_(std::move(columns)), file_(file), last_step_(last_step) {}

MetricsCsv MetricsCsv::create(const std::filesystem::path& path, std::vector<std::string> columns) {
  check_columns(columns);
  std::FILE* file = open_file(path, "wb");
  MetricsCsv csv(path, std::move(columns), file, -1);
  write_and_flush(file, join_header(csv.columns_) + "\n", path);
  return csv;
}

MetricsCsv MetricsCsv::resume(const std::filesystem::path& path, std::vector<std::string> columns,
                              int64_t resumed_step) {
  check_columns(columns);
  std::ifstream in(path, std::ios::binary);
  QATD_CHECK(in.good(), "metrics.csv: cannot resume, {} does not exist or cannot be read", path.string());
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();

  const size_t header_end = content.find('\n');
  QATD_CHECK(header_end != std::string::npos, "metrics.csv: cannot resume, {} has no complete header line",
             path.string());
  const std::vector<std::string> found = split_line(content.substr(0, header_end));
  if (found != columns) {
    // Name the first differing column: with hundreds of bits:SITE columns a full dump is unreadable.
    size_t index = 0;
    while (index < found.size() && index < columns.size() && found[index] == columns[index]) {
      ++index;
    }
    fail("metrics.csv: cannot resume, the header of {} does not match this run ({} columns in the file, {} "
         "expected; first difference at column {}: file has '{}', run has '{}')",
         path.string(), found.size(), columns.size(), index + 1, index < found.size() ? found[index] : "<none>",
         index < columns.size() ? columns[index] : "<none>");
  }

  // Keep rows up to the resumed step; cut at the first later row or torn (unterminated) row.
  size_t keep_end = header_end + 1;
  int64_t last_step = -1;
  while (keep_end < content.size()) {
    const size_t line_end = content.find('\n', keep_end);
    if (line_end == std::string::npos) {
      break;
    }
    const std::string line = content.substr(keep_end, line_end - keep_end);
    const int64_t step = parse_step(line.substr(0, line.find(',')));
    QATD_CHECK(step >= 0, "metrics.csv: cannot resume, {} has a row without a valid step: '{}'", path.string(), line);
    if (step > resumed_step) {
      break;
    }
    last_step = step;
    keep_end = line_end + 1;
  }
  std::filesystem::resize_file(path, keep_end);
  return MetricsCsv(path, std::move(columns), open_file(path, "ab"), last_step);
}

void MetricsCsv::write_row(int64_t step, const std::map<std::string, double>& values) {
  QATD_CHECK(step > last_step_, "metrics.csv: step {} is not after the last written step {}", step, last_step_);
  for (const auto& [name, value] : values) {
    if (name == "step" || std::find(columns_.begin(), columns_.end(), name) == columns_.end()) {
      fail("metrics.csv: '{}' is not a value column of this file (nearest: '{}')", name,
           nearest_name(name, std::vector<std::string>(columns_.begin() + 1, columns_.end())));
    }
  }
  std::string line = std::to_string(step);
  for (size_t i = 1; i < columns_.size(); ++i) {
    const auto found = values.find(columns_[i]);
    QATD_CHECK(found != values.end(), "metrics.csv: the row of step {} has no value for column '{}'", step,
               columns_[i]);
    line += "," + format_metric_value(found->second);
  }
  write_and_flush(file_.get(), line + "\n", path_);
  last_step_ = step;
}

MetricsTable read_metrics_csv(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  QATD_CHECK(in.good(), "metrics.csv: cannot read {}", path.string());
  MetricsTable table;
  std::string line;
  QATD_CHECK(static_cast<bool>(std::getline(in, line)), "metrics.csv: {} is empty", path.string());
  table.columns = split_line(line);
  while (std::getline(in, line)) {
    const std::vector<std::string> fields = split_line(line);
    QATD_CHECK(fields.size() == table.columns.size(), "metrics.csv: {} has a row of {} fields under {} columns",
               path.string(), fields.size(), table.columns.size());
    std::vector<double>& row = table.rows.emplace_back();
    for (const auto& field : fields) {
      char* end = nullptr;
      row.push_back(std::strtod(field.c_str(), &end));
      QATD_CHECK(!field.empty() && *end == '\0', "metrics.csv: {} holds '{}', which is not a number", path.string(),
                 field);
    }
  }
  return table;
}

}  // namespace qatd::train

#pragma once
// metrics.csv: one row per logged training step, under a header fixed when the run starts.
//
// Columns: step, lr, loss_total, loss_task, loss_kd_output, loss_kd_layer, loss_bit, bits_mean, then
// bits:SITE for each quantized site, then any extra columns. Values are written so they read back
// exactly: a value that is exactly a float32 prints as the shortest text that strtof maps back to it,
// any other value as the shortest text that strtod maps back to it; NaN and infinities print as
// nan, inf, -inf. Each row is flushed as it is written, so a crash loses at most the row in flight.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qatd::train {

// The columns every metrics.csv starts with, in order.
const std::vector<std::string>& metrics_core_columns();

// The full header: the core columns, bits:SITE per site, then `extra`. Names must be unique and
// free of commas, quotes and line breaks (the file is written without CSV quoting).
std::vector<std::string> metrics_columns(const std::vector<std::string>& sites,
                                         const std::vector<std::string>& extra = {});

// The text a value is written as (see above).
std::string format_metric_value(double value);

class MetricsCsv {
 public:
  // Starts a new file at `path`, replacing any file there, and writes the header.
  static MetricsCsv create(const std::filesystem::path& path, std::vector<std::string> columns);
  // Continues the file of a run resumed after `resumed_step`: the header must equal `columns`, and
  // rows with a larger step (written after the checkpoint the run resumes from) and a torn last row
  // are cut off, so the finished file equals the one an uninterrupted run writes.
  static MetricsCsv resume(const std::filesystem::path& path, std::vector<std::string> columns,
                           int64_t resumed_step);

  MetricsCsv(MetricsCsv&&) noexcept = default;
  MetricsCsv& operator=(MetricsCsv&&) noexcept = default;

  // Writes and flushes the row of `step`, which must exceed every step already in the file.
  // `values` names every column but `step`, no more and no fewer: a missing or misspelt name is
  // an error rather than an empty cell, so a silently shifted column cannot happen.
  void write_row(int64_t step, const std::map<std::string, double>& values);

  const std::vector<std::string>& columns() const { return columns_; }
  const std::filesystem::path& path() const { return path_; }
  // The step of the last row in the file; -1 when it has none.
  int64_t last_step() const { return last_step_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };

  MetricsCsv(std::filesystem::path path, std::vector<std::string> columns, std::FILE* file, int64_t last_step);

  std::filesystem::path path_;
  std::vector<std::string> columns_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  int64_t last_step_ = -1;
};

// A metrics.csv read back: the header and each row's values parsed with strtod.
struct MetricsTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
};
MetricsTable read_metrics_csv(const std::filesystem::path& path);

}  // namespace qatd::train

// metrics.csv: header, rows that read back exactly, resume truncation and header checks; plus the
// progress bar's text (small enough not to need a file of its own).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "engine/error.h"
#include "tests/test_support.h"
#include "train/metrics_csv.h"
#include "train/progress.h"

using namespace qatd;
using namespace qatd::train;

namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The values of step `step` of a small deterministic run: floats with long expansions, a double
// learning rate that is not a float, and bits that change per site.
std::map<std::string, double> row_for(int64_t step) {
  std::map<std::string, double> row;
  row["lr"] = 1e-4 * std::cos(0.1 * static_cast<double>(step));
  row["loss_total"] = static_cast<float>(1.0 / (3.0 + step));
  row["loss_task"] = static_cast<float>(0.1 * step);
  row["loss_kd_output"] = 0.0;
  row["loss_kd_layer"] = static_cast<float>(std::exp(-step) * 1e-7);
  row["loss_bit"] = static_cast<float>(12345.678 + step);
  row["bits_mean"] = static_cast<float>(6.0 - step / 7.0);
  row["bits:image_encoder.trunk.blocks.0.attn.qkv"] = static_cast<float>(8.0 - step / 3.0);
  row["bits:mask_decoder.transformer.layers.1.mlp"] = static_cast<float>(4.0 + step / 9.0);
  row["grad_norm"] = static_cast<float>(2.0 / 3.0);
  return row;
}

const std::vector<std::string> kSites = {"image_encoder.trunk.blocks.0.attn.qkv",
                                         "mask_decoder.transformer.layers.1.mlp"};

}  // namespace

TEST_CASE("metrics.csv header has the core columns, one bits column per site, then extras", "[train][metrics_csv]") {
  const auto columns = metrics_columns(kSites, {"grad_norm"});
  REQUIRE(columns == std::vector<std::string>{"step", "lr", "loss_total", "loss_task", "loss_kd_output",
                                              "loss_kd_layer", "loss_bit", "bits_mean",
                                              "bits:image_encoder.trunk.blocks.0.attn.qkv",
                                              "bits:mask_decoder.transformer.layers.1.mlp", "grad_norm"});
  REQUIRE_THROWS_WITH(metrics_columns({"a,b"}), Catch::Contains("comma"));
  REQUIRE_THROWS_WITH(metrics_columns({"a", "a"}), Catch::Contains("appears twice"));
  REQUIRE_THROWS_WITH(metrics_columns({}, {"lr"}), Catch::Contains("appears twice"));
}

TEST_CASE("metrics.csv values read back exactly", "[train][metrics_csv]") {
  const float floats[] = {0.1f, 1.0f / 3.0f, 1e-30f, 3.4028235e38f, -2.5f, 0.0f, 16777217.0f, 1.17549435e-38f};
  for (float value : floats) {
    const std::string text = format_metric_value(value);
    INFO(text);
    REQUIRE(std::strtof(text.c_str(), nullptr) == value);
    REQUIRE(static_cast<float>(std::strtod(text.c_str(), nullptr)) == value);
  }
  REQUIRE(format_metric_value(0.1f) == "0.1");  // short, not 0.10000000149011612
  const double doubles[] = {0.1, 1.0 / 3.0, 1e-300, 2.0e-4 * std::cos(0.3), 123456789.123456789};
  for (double value : doubles) {
    const std::string text = format_metric_value(value);
    INFO(text);
    REQUIRE(std::strtod(text.c_str(), nullptr) == value);
  }
  REQUIRE(format_metric_value(std::numeric_limits<double>::quiet_NaN()) == "nan");
  REQUIRE(format_metric_value(-std::numeric_limits<double>::infinity()) == "-inf");
}

TEST_CASE("metrics.csv writes one flushed row per step that reads back exactly", "[train][metrics_csv]") {
  const std::filesystem::path path = testing::temporary_path("metrics_rows.csv");
  auto csv = MetricsCsv::create(path, metrics_columns(kSites, {"grad_norm"}));
  for (int64_t step = 1; step <= 5; ++step) {
    csv.write_row(step, row_for(step));
    // Flushed per row: another reader sees the row before the writer closes.
    REQUIRE(read_metrics_csv(path).rows.size() == static_cast<size_t>(step));
  }
  const MetricsTable table = read_metrics_csv(path);
  REQUIRE(table.columns == csv.columns());
  for (int64_t step = 1; step <= 5; ++step) {
    const auto expected = row_for(step);
    const auto& row = table.rows[step - 1];
    REQUIRE(row[0] == static_cast<double>(step));
    for (size_t column = 1; column < table.columns.size(); ++column) {
      const double want = expected.at(table.columns[column]);
      INFO(table.columns[column] << " at step " << step);
      // strtod of a float's shortest text lands on that float once rounded back to float32.
      if (static_cast<double>(static_cast<float>(want)) == want) {
        REQUIRE(static_cast<float>(row[column]) == static_cast<float>(want));
      } else {
        REQUIRE(row[column] == want);
      }
    }
  }
  REQUIRE(read_text(path).substr(0, 5) == "step,");
}

TEST_CASE("metrics.csv rejects bad rows", "[train][metrics_csv]") {
  const std::filesystem::path path = testing::temporary_path("metrics_bad_rows.csv");
  auto csv = MetricsCsv::create(path, metrics_columns(kSites, {"grad_norm"}));
  auto row = row_for(1);
  row.erase("loss_bit");
  REQUIRE_THROWS_WITH(csv.write_row(1, row), Catch::Contains("no value for column 'loss_bit'"));
  row = row_for(1);
  row["loss_totl"] = 1.0;
  REQUIRE_THROWS_WITH(csv.write_row(1, row), Catch::Contains("'loss_totl'") && Catch::Contains("'loss_total'"));
  csv.write_row(3, row_for(3));
  REQUIRE_THROWS_WITH(csv.write_row(3, row_for(3)), Catch::Contains("not after the last written step 3"));
}

TEST_CASE("metrics.csv resume truncates later rows so the file equals an uninterrupted run's",
          "[train][metrics_csv]") {
  const auto columns = metrics_columns(kSites, {"grad_norm"});
  const std::filesystem::path straight = testing::temporary_path("metrics_straight.csv");
  {
    auto csv = MetricsCsv::create(straight, columns);
    for (int64_t step = 1; step <= 10; ++step) csv.write_row(step, row_for(step));
  }
  // Interrupted run: checkpoint at step 4, logged up to step 6, then crashed in the middle of row 7.
  const std::filesystem::path resumed = testing::temporary_path("metrics_resumed.csv");
  {
    auto csv = MetricsCsv::create(resumed, columns);
    for (int64_t step = 1; step <= 6; ++step) csv.write_row(step, row_for(step));
  }
  {
    std::ofstream torn(resumed, std::ios::app | std::ios::binary);
    torn << "7,0.0001,0.12";
  }
  {
    auto csv = MetricsCsv::resume(resumed, columns, 4);
    REQUIRE(csv.last_step() == 4);
    REQUIRE(read_metrics_csv(resumed).rows.size() == 4);
    for (int64_t step = 5; step <= 10; ++step) csv.write_row(step, row_for(step));
  }
  REQUIRE(read_text(resumed) == read_text(straight));

  // Resuming past the last row keeps everything (and drops only a torn tail).
  {
    std::ofstream torn(resumed, std::ios::app | std::ios::binary);
    torn << "11,0.0";
  }
  REQUIRE(MetricsCsv::resume(resumed, columns, 100).last_step() == 10);
  REQUIRE(read_text(resumed) == read_text(straight));
}

TEST_CASE("metrics.csv resume rejects a different header", "[train][metrics_csv]") {
  const std::filesystem::path path = testing::temporary_path("metrics_header.csv");
  { MetricsCsv::create(path, metrics_columns(kSites)); }
  const std::string before = read_text(path);
  REQUIRE_THROWS_WITH(MetricsCsv::resume(path, metrics_columns({kSites[0], "other.site"}), 0),
                      Catch::Contains("does not match") && Catch::Contains("column 10") &&
                          Catch::Contains("'bits:mask_decoder.transformer.layers.1.mlp'") &&
                          Catch::Contains("'bits:other.site'"));
  REQUIRE_THROWS_WITH(MetricsCsv::resume(path, metrics_columns(kSites, {"extra"}), 0),
                      Catch::Contains("10 columns in the file, 11 expected"));
  REQUIRE(read_text(path) == before);  // a refused resume leaves the file alone
  REQUIRE_THROWS_WITH(MetricsCsv::resume(testing::temporary_path("metrics_missing.csv"), metrics_columns(kSites), 0),
                      Catch::Contains("does not exist"));
}

TEST_CASE("progress bar and summary text", "[train][progress]") {
  REQUIRE(format_duration(5) == "5s");
  REQUIRE(format_duration(245) == "4m05s");
  REQUIRE(format_duration(3720) == "1h02m");
  REQUIRE(format_duration(NAN) == "?");
  REQUIRE(format_progress_line(250, 1000, 3.21, 245, {{"loss_total", 0.12345}}) ==
          "[#####---------------] 250/1000  25.0%  3.21 img/s  ETA 4m05s  loss_total 0.1235");
  const std::vector<double> bits = {3.0, 8.0, 5.5};
  REQUIRE(format_summary_line(7, bits, {{"loss_task", 0.5}, {"loss_bit", 2.0}}) ==
          "step 7: bits min 3 max 8 mean 5.5 (3 sites) | loss_task 0.5  loss_bit 2");

  // Without a terminal: a line every `line_every` steps and at the end, with the rate from the clock.
  const std::string log_path = testing::temporary_path("progress.log");
  std::FILE* file = std::fopen(log_path.c_str(), "w");
  double now = 100.0;
  {
    ProgressBar bar({.total_steps = 4, .images_per_step = 2, .line_every = 2, .out = file, .terminal = false,
                     .clock = [&] { return now; }});
    for (int64_t step = 1; step <= 4; ++step) {
      now += 0.5;
      bar.update(step, {{"loss_total", 1.0 / step}});
    }
    bar.summary(4, bits, {{"loss_total", 0.25}});
    bar.finish();
  }
  std::fclose(file);
  REQUIRE(read_text(log_path) ==
          "[##########----------] 2/4  50.0%  4 img/s  ETA 1s  loss_total 0.5\n"
          "[####################] 4/4 100.0%  4 img/s  ETA 0s  loss_total 0.25\n"
          "step 4: bits min 3 max 8 mean 5.5 (3 sites) | loss_total 0.25\n");
}

#pragma once
// TensorBoard event files, written natively (no protobuf or TensorFlow library).
//
// File: events.out.tfevents.<unix seconds>.<hostname> in the run directory (a ".N" suffix is added
// if that name exists). Records use TFRecord framing: uint64 little-endian length, masked CRC-32C
// of those 8 bytes, the data, masked CRC-32C of the data. Each record is a tensorboard.Event,
// hand-encoded: wall_time (1, double), step (2, int64), file_version (3, "brain.Event:2", first
// record only), summary (5) holding Summary.Value entries with tag (1) and either simple_value (2,
// float) or histo (5, HistogramProto: min 1, max 2, num 3, sum 4, sum_squares 5, bucket_limit 6 and
// bucket 7 as packed doubles). A resumed run writes a new file whose first event after the version
// is a SessionLog START (field 7, status 1) at the first new step: TensorBoard then drops whatever
// the interrupted run logged from that step on, so the merged view equals an uninterrupted run's.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qatd::train {

// A histogram in TensorFlow's default bucketing: bucket edges ±1e-12·1.1^k up to ±1e20, 0 and
// ±DBL_MAX; bucket i counts values in [limit[i-1], limit[i]) and is labelled by its right edge.
// Runs of empty buckets are merged into one, as TensorFlow's EncodeToProto does, so a few values
// encode in a few dozen bytes. Non-finite values are left out (a NaN has no bucket; the trainer's
// anomaly checks report them).
struct Histogram {
  double min = 0.0;
  double max = 0.0;
  double num = 0.0;
  double sum = 0.0;
  double sum_squares = 0.0;
  std::vector<double> bucket_limit;
  std::vector<double> bucket;
};
Histogram make_histogram(std::span<const double> values);

struct TensorBoardOptions {
  // Seconds since the Unix epoch; stamps each event and names the file. Tests inject a fixed one.
  std::function<double()> clock;
  // Defaults to gethostname().
  std::string hostname;
  // Set when the run resumes after this step: marks the restart for TensorBoard (see above).
  std::optional<int64_t> resumed_step;
};

class TensorBoardWriter {
 public:
  explicit TensorBoardWriter(const std::filesystem::path& run_dir, TensorBoardOptions options = {});
  ~TensorBoardWriter();
  TensorBoardWriter(TensorBoardWriter&&) noexcept;
  TensorBoardWriter& operator=(TensorBoardWriter&&) noexcept;

  // Values for one step are gathered into one event; a value for another step first writes the
  // pending event. Call flush() once a step is logged so a crash loses nothing already logged.
  void add_scalar(std::string_view tag, double value, int64_t step);
  void add_histogram(std::string_view tag, std::span<const double> values, int64_t step);
  // Writes the pending event, if any, and flushes the file.
  void flush();

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  void write_pending();

  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };

  std::filesystem::path path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::function<double()> clock_;
  std::optional<int64_t> pending_step_;
  std::string pending_values_;  // the encoded Summary.Value entries of the pending step
};

}  // namespace qatd::train

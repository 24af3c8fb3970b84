#include "train/tensorboard_writer.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "engine/error.h"
#include "train/crc32c.h"

namespace qatd::train {
namespace {

// Protobuf and TFRecord are little-endian; copying the host's bytes is only right on such hosts.
static_assert(std::endian::native == std::endian::little, "the event encoder assumes a little-endian host");

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_tag(std::string& out, uint32_t field, WireType wire) { put_varint(out, (uint64_t{field} << 3) | wire); }

template <typename T>
void put_raw(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_double(std::string& out, uint32_t field, double value) {
  put_tag(out, field, kFixed64);
  put_raw(out, value);
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_tag(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

void put_packed_doubles(std::string& out, uint32_t field, const std::vector<double>& values) {
  put_tag(out, field, kLengthDelimited);
  put_varint(out, values.size() * sizeof(double));
  for (double value : values) {
    put_raw(out, value);
  }
}

// Event fields shared by every record. An int64 is encoded as the varint of its two's complement,
// as protobuf does (a negative step would take 10 bytes; the trainer never logs one).
std::string event_header(double wall_time, std::optional<int64_t> step) {
  std::string event;
  put_double(event, 1, wall_time);
  if (step) {
    put_tag(event, 2, kVarint);
    put_varint(event, static_cast<uint64_t>(*step));
  }
  return event;
}

const std::vector<double>& default_bucket_limits() {
  // Built by repeated multiplication, like TensorFlow's histogram.cc, so the edges are bit-identical
  // to the ones TensorFlow writers use.
  static const std::vector<double> limits = [] {
    std::vector<double> positive;
    for (double value = 1.0e-12; value < 1.0e20; value *= 1.1) {
      positive.push_back(value);
    }
    positive.push_back(DBL_MAX);
    std::vector<double> all;
    for (auto it = positive.rbegin(); it != positive.rend(); ++it) {
      all.push_back(-*it);
    }
    all.push_back(0.0);
    all.insert(all.end(), positive.begin(), positive.end());
    return all;
  }();
  return limits;
}

double default_clock() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string local_hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return "localhost";
  }
  return name;
}

}  // namespace

Histogram make_histogram(std::span<const double> values) {
  const std::vector<double>& limits = default_bucket_limits();
  std::vector<double> counts(limits.size(), 0.0);
  Histogram histogram;
  histogram.min = DBL_MAX;
  histogram.max = -DBL_MAX;
  for (double value : values) {
    if (!std::isfinite(value)) {
      continue;
    }
    const size_t index = std::upper_bound(limits.begin(), limits.end(), value) - limits.begin();
    counts[std::min(index, limits.size() - 1)] += 1.0;  // only DBL_MAX itself lands past the last edge
    histogram.min = std::min(histogram.min, value);
    histogram.max = std::max(histogram.max, value);
    histogram.num += 1.0;
    histogram.sum += value;
    histogram.sum_squares += value * value;
  }
  for (size_t i = 0; i < counts.size();) {
    double limit = limits[i];
    double count = counts[i];
    ++i;
    if (count <= 0.0) {
      while (i < counts.size() && counts[i] <= 0.0) {
        limit = limits[i];
        ++i;
      }
    }
    histogram.bucket_limit.push_back(limit);
    histogram.bucket.push_back(count);
  }
  return histogram;
}

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& run_dir, TensorBoardOptions options)
    : clock_(options.clock ? std::move(options.clock) : default_clock) {
  std::error_code error;
  std::filesystem::create_directories(run_dir, error);
  QATD_CHECK(!error, "tensorboard: cannot create the run directory {}: {}", run_dir.string(), error.message());
  const double start = clock_();
  const std::string hostname = options.hostname.empty() ? local_hostname() : options.hostname;
  const std::string base = fmt::format("events.out.tfevents.{:010d}.{}", static_cast<int64_t>(std::floor(start)),
                                       hostname);
  // A resume within the same second as the previous start must not overwrite that run's events.
  for (int suffix = 0; !file_; ++suffix) {
    path_ = run_dir / (suffix == 0 ? base : fmt::format("{}.{}", base, suffix));
    std::FILE* file = std::fopen(path_.c_str(), "wbx");
    QATD_CHECK(file != nullptr || errno == EEXIST, "tensorboard: cannot create {}: {}", path_.string(),
               std::strerror(errno));
    file_.reset(file);
  }

  std::string version = event_header(start, std::nullopt);
  put_bytes(version, 3, "brain.Event:2");
  write_record(version);
  if (options.resumed_step) {
    std::string session_log;
    put_tag(session_log, 1, kVarint);
    put_varint(session_log, 1);  // SessionLog.START
    std::string restart = event_header(clock_(), *options.resumed_step + 1);
    put_bytes(restart, 7, session_log);
    write_record(restart);
  }
  QATD_CHECK(std::fflush(file_.get()) == 0, "tensorboard: cannot write {}: {}", path_.string(), std::strerror(errno));
}

TensorBoardWriter::~TensorBoardWriter() {
  if (!file_) {
    return;  // moved from
  }
  try {
    flush();
  } catch (const Error&) {
    // A destructor must not throw; losing the last step's events is the lesser harm.
  }
}

TensorBoardWriter::TensorBoardWriter(TensorBoardWriter&&) noexcept = default;
TensorBoardWriter& TensorBoardWriter::operator=(TensorBoardWriter&&) noexcept = default;

void TensorBoardWriter::add_scalar(std::string_view tag, double value, int64_t step) {
  if (pending_step_ && *pending_step_ != step) {
    write_pending();
  }
  pending_step_ = step;
  std::string entry;
  put_bytes(entry, 1, tag);
  // simple_value is a float field in a oneof, so it is written even when it is 0.
  put_tag(entry, 2, kFixed32);
  put_raw(entry, static_cast<float>(value));
  put_bytes(pending_values_, 1, entry);
}

void TensorBoardWriter::add_histogram(std::string_view tag, std::span<const double> values, int64_t step) {
  const Histogram histogram = make_histogram(values);
  if (histogram.num == 0.0) {
    return;  // nothing finite to show; TensorBoard cannot draw an empty histogram
  }
  if (pending_step_ && *pending_step_ != step) {
    write_pending();
  }
  pending_step_ = step;
  std::string proto;
  put_double(proto, 1, histogram.min);
  put_double(proto, 2, histogram.max);
  put_double(proto, 3, histogram.num);
  put_double(proto, 4, histogram.sum);
  put_double(proto, 5, histogram.sum_squares);
  put_packed_doubles(proto, 6, histogram.bucket_limit);
  put_packed_doubles(proto, 7, histogram.bucket);
  std::string entry;
  put_bytes(entry, 1, tag);
  put_bytes(entry, 5, proto);
  put_bytes(pending_values_, 1, entry);
}

void TensorBoardWriter::flush() {
  write_pending();
  QATD_CHECK(std::fflush(file_.get()) == 0, "tensorboard: cannot write {}: {}", path_.string(), std::strerror(errno));
}

void TensorBoardWriter::write_pending() {
  if (!pending_step_) {
    return;
  }
  std::string event = event_header(clock_(), *pending_step_);
  put_bytes(event, 5, pending_values_);
  pending_step_.reset();
  pending_values_.clear();
  write_record(event);
}

void TensorBoardWriter::write_record(const std::string& event) {
  std::string record;
  put_raw(record, static_cast<uint64_t>(event.size()));
  const uint32_t length_crc = masked_crc32c(record);
  put_raw(record, length_crc);
  record += event;
  put_raw(record, masked_crc32c(event));
  QATD_CHECK(std::fwrite(record.data(), 1, record.size(), file_.get()) == record.size(),
             "tensorboard: cannot write {}: {}", path_.string(), std::strerror(errno));
}

}  // namespace qatd::train

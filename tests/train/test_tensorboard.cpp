// TensorBoard event files: the committed fixture was decoded by the real TensorBoard reader
// (tools/make_tensorboard_fixture.py); here the writer must reproduce it byte for byte, and an
// independent minimal TFRecord + protobuf reader (its own bitwise CRC-32C) must agree with what
// TensorBoard decoded. A flipped byte must fail that reader's CRC checks.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"
#include "train/crc32c.h"
#include "train/tensorboard_writer.h"

using namespace qatd;
using namespace qatd::train;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtureDir = fs::path(QATD_TEST_DATA_DIR) / "fixtures" / "train";
const char* kFreshName = "events.qatd.tfevents";
const char* kResumedName = "events.qatd.tfevents.resumed";  // sorts after the first, as TensorBoard reads them

// ---- an independent reader -------------------------------------------------------------------

uint32_t bitwise_crc32c(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }

template <typename T>
T load(std::string_view bytes, size_t offset) {
  if (offset + sizeof(T) > bytes.size()) throw std::runtime_error("truncated");
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

class ProtoReader {
 public:
  explicit ProtoReader(std::string_view data) : data_(data) {}
  bool done() const { return position_ >= data_.size(); }
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const auto byte = static_cast<unsigned char>(load<char>(data_, position_++));
      value |= uint64_t{byte & 0x7Fu} << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw std::runtime_error("bad varint");
  }
  std::pair<uint32_t, uint32_t> tag() {
    const uint64_t key = varint();
    return {static_cast<uint32_t>(key >> 3), static_cast<uint32_t>(key & 7)};
  }
  template <typename T>
  T fixed() {
    const T value = load<T>(data_, position_);
    position_ += sizeof(T);
    return value;
  }
  std::string_view bytes() {
    const uint64_t size = varint();
    if (position_ + size > data_.size()) throw std::runtime_error("truncated field");
    const std::string_view field = data_.substr(position_, size);
    position_ += size;
    return field;
  }
  void expect(uint32_t wire, uint32_t wanted) {
    if (wire != wanted) throw std::runtime_error("unexpected wire type");
  }

 private:
  std::string_view data_;
  size_t position_ = 0;
};

struct Value {
  std::string tag;
  std::optional<float> simple_value;
  std::optional<Histogram> histo;
};

struct Event {
  double wall_time = 0.0;
  int64_t step = 0;
  std::optional<std::string> file_version;
  std::optional<int> session_log_status;
  std::vector<Value> values;
};

std::vector<double> packed_doubles(std::string_view bytes) {
  std::vector<double> values;
  for (size_t offset = 0; offset < bytes.size(); offset += 8) values.push_back(load<double>(bytes, offset));
  return values;
}

Histogram parse_histogram(std::string_view bytes) {
  Histogram histogram;
  ProtoReader reader(bytes);
  double* doubles[] = {nullptr, &histogram.min, &histogram.max, &histogram.num, &histogram.sum, &histogram.sum_squares};
  while (!reader.done()) {
    auto [field, wire] = reader.tag();
    if (field >= 1 && field <= 5) {
      reader.expect(wire, 1);
      *doubles[field] = reader.fixed<double>();
    } else if (field == 6 || field == 7) {
      reader.expect(wire, 2);
      (field == 6 ? histogram.bucket_limit : histogram.bucket) = packed_doubles(reader.bytes());
    } else {
      throw std::runtime_error("unknown histogram field");
    }
  }
  return histogram;
}

Value parse_value(std::string_view bytes) {
  Value value;
  ProtoReader reader(bytes);
  while (!reader.done()) {
    auto [field, wire] = reader.tag();
    if (field == 1) {
      reader.expect(wire, 2);
      value.tag = std::string(reader.bytes());
    } else if (field == 2) {
      reader.expect(wire, 5);
      value.simple_value = reader.fixed<float>();
    } else if (field == 5) {
      reader.expect(wire, 2);
      value.histo = parse_histogram(reader.bytes());
    } else {
      throw std::runtime_error("unknown value field");
    }
  }
  return value;
}

Event parse_event(std::string_view bytes) {
  Event event;
  ProtoReader reader(bytes);
  while (!reader.done()) {
    auto [field, wire] = reader.tag();
    if (field == 1) {
      reader.expect(wire, 1);
      event.wall_time = reader.fixed<double>();
    } else if (field == 2) {
      reader.expect(wire, 0);
      event.step = static_cast<int64_t>(reader.varint());
    } else if (field == 3) {
      reader.expect(wire, 2);
      event.file_version = std::string(reader.bytes());
    } else if (field == 5) {
      reader.expect(wire, 2);
      ProtoReader summary(reader.bytes());
      while (!summary.done()) {
        auto [summary_field, summary_wire] = summary.tag();
        if (summary_field != 1 || summary_wire != 2) throw std::runtime_error("unknown summary field");
        event.values.push_back(parse_value(summary.bytes()));
      }
    } else if (field == 7) {
      reader.expect(wire, 2);
      ProtoReader session_log(reader.bytes());
      while (!session_log.done()) {
        auto [log_field, log_wire] = session_log.tag();
        if (log_field != 1 || log_wire != 0) throw std::runtime_error("unknown session_log field");
        event.session_log_status = static_cast<int>(session_log.varint());
      }
    } else {
      throw std::runtime_error("unknown event field");
    }
  }
  return event;
}

std::vector<Event> read_events(std::string_view file) {
  std::vector<Event> events;
  size_t offset = 0;
  while (offset < file.size()) {
    const auto length = load<uint64_t>(file, offset);
    if (load<uint32_t>(file, offset + 8) != masked(bitwise_crc32c(file.substr(offset, 8)))) {
      throw std::runtime_error("length crc mismatch");
    }
    if (offset + 12 + length + 4 > file.size()) throw std::runtime_error("truncated record");
    const std::string_view data = file.substr(offset + 12, length);
    if (load<uint32_t>(file, offset + 12 + length) != masked(bitwise_crc32c(data))) {
      throw std::runtime_error("data crc mismatch");
    }
    events.push_back(parse_event(data));
    offset += 12 + length + 4;
  }
  return events;
}

std::string read_binary(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// ---- the fixture run -------------------------------------------------------------------------

// Values chosen to cover: zero (a oneof float must still be written), negatives, tiny and huge
// magnitudes, a double that is not a float (stored rounded to float32), and histogram values that
// share a bucket or sit on 0.
double scalar_input(int run, int64_t step, int tag) {
  const double table[4][3] = {{0.0, 1e-8, 8.0}, {0.1, -2.5, 7.25}, {1.0 / 3.0, 3.0e30, 6.5}, {-0.0625, 42.0, 6.0}};
  return table[step - 1][tag] + (run == 1 ? 100.0 : 0.0);
}

std::vector<double> histogram_input(int run, int64_t step) {
  return {0.0, -1.5, 2.0 + step, 4.0, 8.0 - run, 8.0 - run, 1e-13};
}

const char* kScalarTags[] = {"loss/total", "loss/kd_layer", "bits/image_encoder.trunk.blocks.0.attn.qkv"};

// Writes run 0 (steps 1-4) and run 1 (resumed after step 2; steps 3-4 with other values) into
// `directory` with fixed clocks; returns the two files.
std::pair<fs::path, fs::path> write_fixture_runs(const fs::path& directory) {
  fs::remove_all(directory);
  std::vector<fs::path> paths;
  for (int run = 0; run < 2; ++run) {
    int ticks = 0;
    TensorBoardOptions options{.clock = [run, &ticks] { return 1700000000.0 + 100.0 * run + 0.125 * ticks++; },
                               .hostname = "fixture",
                               .resumed_step = run == 1 ? std::optional<int64_t>(2) : std::nullopt};
    TensorBoardWriter writer(directory, options);
    for (int64_t step = run == 0 ? 1 : 3; step <= 4; ++step) {
      for (int tag = 0; tag < 3; ++tag) writer.add_scalar(kScalarTags[tag], scalar_input(run, step, tag), step);
      writer.add_histogram("bits", histogram_input(run, step), step);
      writer.flush();
    }
    paths.push_back(writer.path());
  }
  return {paths[0], paths[1]};
}

void require_histograms_equal(const Histogram& ours, const nlohmann::json& theirs) {
  REQUIRE(ours.min == theirs.at("min").get<double>());
  REQUIRE(ours.max == theirs.at("max").get<double>());
  REQUIRE(ours.num == theirs.at("num").get<double>());
  REQUIRE(ours.sum == theirs.at("sum").get<double>());
  REQUIRE(ours.sum_squares == theirs.at("sum_squares").get<double>());
  REQUIRE(ours.bucket_limit == theirs.at("bucket_limit").get<std::vector<double>>());
  REQUIRE(ours.bucket == theirs.at("bucket").get<std::vector<double>>());
}

}  // namespace

// Run once to (re)create the committed event files, then run tools/make_tensorboard_fixture.py.
TEST_CASE("regenerate the TensorBoard fixture", "[.][regenerate_tensorboard_fixture]") {
  const auto [fresh, resumed] = write_fixture_runs(testing::temporary_path("tensorboard_fixture_out"));
  fs::create_directories(kFixtureDir);
  fs::copy_file(fresh, kFixtureDir / kFreshName, fs::copy_options::overwrite_existing);
  fs::copy_file(resumed, kFixtureDir / kResumedName, fs::copy_options::overwrite_existing);
}

TEST_CASE("CRC-32C matches the standard check value", "[train][tensorboard]") {
  REQUIRE(crc32c("123456789") == 0xE3069283u);
  REQUIRE(bitwise_crc32c("123456789") == 0xE3069283u);
  const std::string data = "brain.Event:2 and more bytes";
  REQUIRE(masked_crc32c(data) == masked(bitwise_crc32c(data)));
}

TEST_CASE("event files are byte-identical to the committed fixture", "[train][tensorboard]") {
  const auto [fresh, resumed] = write_fixture_runs(testing::temporary_path("tensorboard_fixture_check"));
  REQUIRE(fresh.filename() == "events.out.tfevents.1700000000.fixture");
  REQUIRE(resumed.filename() == "events.out.tfevents.1700000100.fixture");
  REQUIRE(read_binary(fresh) == read_binary(kFixtureDir / kFreshName));
  REQUIRE(read_binary(resumed) == read_binary(kFixtureDir / kResumedName));
}

TEST_CASE("our decoder agrees with what TensorBoard decoded", "[train][tensorboard]") {
  std::ifstream json_file(kFixtureDir / "events_decoded.json");
  REQUIRE(json_file.good());
  const nlohmann::json decoded = nlohmann::json::parse(json_file);

  size_t values_compared = 0;
  for (const char* name : {kFreshName, kResumedName}) {
    const std::vector<Event> ours = read_events(read_binary(kFixtureDir / name));
    const auto& theirs = decoded.at("files").at(name);
    REQUIRE(ours.size() == theirs.size());
    for (size_t i = 0; i < ours.size(); ++i) {
      INFO(name << " event " << i);
      const auto& event = theirs[i];
      REQUIRE(ours[i].wall_time == event.at("wall_time").get<double>());
      REQUIRE(ours[i].step == event.at("step").get<int64_t>());
      REQUIRE(ours[i].file_version == (event.contains("file_version")
                                           ? std::optional<std::string>(event["file_version"].get<std::string>())
                                           : std::nullopt));
      REQUIRE(ours[i].session_log_status == (event.contains("session_log_status")
                                                 ? std::optional<int>(event["session_log_status"].get<int>())
                                                 : std::nullopt));
      REQUIRE(ours[i].values.size() == event.at("values").size());
      for (size_t v = 0; v < ours[i].values.size(); ++v) {
        const Value& value = ours[i].values[v];
        const auto& their_value = event["values"][v];
        REQUIRE(value.tag == their_value.at("tag").get<std::string>());
        REQUIRE(value.simple_value.has_value() == their_value.contains("simple_value"));
        if (value.simple_value) {
          REQUIRE(static_cast<double>(*value.simple_value) == their_value["simple_value"].get<double>());
        }
        REQUIRE(value.histo.has_value() == their_value.contains("histo"));
        if (value.histo) require_histograms_equal(*value.histo, their_value["histo"]);
        ++values_compared;
      }
    }
  }
  REQUIRE(values_compared == 6 * 4);
  REQUIRE(decoded.at("files").at(kFreshName)[0].at("file_version") == "brain.Event:2");

  // TensorBoard's EventAccumulator over both files: the restart marker made it drop the
  // interrupted run's steps 3-4, so it shows run 0's steps 1-2 and run 1's steps 3-4, exactly
  // the inputs (as float32).
  const auto& accumulated = decoded.at("accumulator");
  for (int tag = 0; tag < 3; ++tag) {
    const auto& series = accumulated.at("scalars").at(kScalarTags[tag]);
    REQUIRE(series.size() == 4);
    for (int64_t step = 1; step <= 4; ++step) {
      INFO(kScalarTags[tag] << " step " << step);
      REQUIRE(series[step - 1].at("step").get<int64_t>() == step);
      const float expected = static_cast<float>(scalar_input(step <= 2 ? 0 : 1, step, tag));
      REQUIRE(series[step - 1].at("value").get<double>() == static_cast<double>(expected));
    }
  }
  const auto& histograms = accumulated.at("histograms").at("bits");
  REQUIRE(histograms.size() == 4);
  for (int64_t step = 1; step <= 4; ++step) {
    const std::vector<double> input = histogram_input(step <= 2 ? 0 : 1, step);
    const Histogram histogram = make_histogram(input);
    require_histograms_equal(histogram, histograms[step - 1]);
    double counted = 0.0;
    for (double count : histogram.bucket) counted += count;
    REQUIRE(counted == static_cast<double>(input.size()));
  }
}

TEST_CASE("a flipped byte fails the reader's CRC check", "[train][tensorboard]") {
  const std::string file = read_binary(kFixtureDir / kFreshName);
  REQUIRE_NOTHROW(read_events(file));
  std::string corrupt = file;
  corrupt[20] ^= 0x01;  // inside the first record's data (the version event's wall_time, bytes 12-35)
  REQUIRE_THROWS_WITH(read_events(corrupt), Catch::Contains("data crc"));
  corrupt = file;
  corrupt[2] ^= 0x10;  // the first record's length
  REQUIRE_THROWS_WITH(read_events(corrupt), Catch::Contains("length crc"));
  corrupt = file;
  corrupt[file.size() - 20] ^= 0x80;  // inside the last record's histogram
  REQUIRE_THROWS_WITH(read_events(corrupt), Catch::Contains("data crc"));
}

TEST_CASE("a writer never overwrites an existing event file", "[train][tensorboard]") {
  const fs::path directory = testing::temporary_path("tensorboard_same_second");
  fs::remove_all(directory);
  TensorBoardOptions options{.clock = [] { return 1700000000.5; }, .hostname = "host", .resumed_step = std::nullopt};
  TensorBoardWriter first(directory, options);
  TensorBoardWriter second(directory, options);
  REQUIRE(first.path().filename() == "events.out.tfevents.1700000000.host");
  REQUIRE(second.path().filename() == "events.out.tfevents.1700000000.host.1");
  first.add_scalar("a", 1.0, 1);
  first.add_scalar("a", 2.0, 2);  // another step: the first step's event is written first
  first.flush();
  const std::vector<Event> events = read_events(read_binary(first.path()));
  REQUIRE(events.size() == 3);
  REQUIRE(events[1].step == 1);
  REQUIRE(events[2].values.at(0).simple_value == 2.0f);
}

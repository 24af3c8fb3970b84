// safetensors and checkpoints: round trips, files written by Python, and malformed files.
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "tests/test_support.h"

namespace qatd {

using ::qatd::testing::temporary_path;
namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A file with the given JSON header and `data_bytes` zero bytes of data.
std::string handmade(const std::string& header, size_t data_bytes) {
  std::string bytes(8, '\0');
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(length >> (8 * i));
  return bytes + header + std::string(data_bytes, '\0');
}

}  // namespace

TEST_CASE("safetensors round-trips every dtype, shape and the metadata", "[io]") {
  std::string path = temporary_path("round_trip.safetensors");
  io::NamedTensors tensors = {
      {"a.f32", randn({2, 3})},
      {"b.f64", randn({4}, DType::f64)},
      {"c.i64", arange(5)},
      {"d.i32", arange(3).to(DType::i32)},
      {"e.bool", bernoulli({7}, 0.5)},
      {"f.bf16", randn({3, 1}).to(DType::bf16)},
      {"g.f16", randn({2}).to(DType::f16)},
      {"h.u8", arange(4).to(DType::u8)},
      {"i.scalar", scalar_tensor(2.5)},
      {"j.empty", zeros({0, 3})},
      {"k.transposed", randn({3, 2}).t()},
  };
  io::save_safetensors(path, tensors, {{"note", "hello"}});
  std::map<std::string, std::string> metadata;
  io::NamedTensors loaded = io::load_safetensors(path, &metadata);
  CHECK(metadata.at("note") == "hello");
  REQUIRE(loaded.size() == tensors.size());
  for (const auto& [name, original] : tensors) {
    auto found = std::find_if(loaded.begin(), loaded.end(), [&](const auto& entry) { return entry.first == name; });
    REQUIRE(found != loaded.end());
    CHECK(found->second.dtype() == original.dtype());
    CHECK(found->second.shape() == original.shape());
    CHECK(found->second.to(DType::f64).to_vector<double>() == original.to(DType::f64).to_vector<double>());
  }
}

TEST_CASE("select_prefix keeps and renames one submodule's entries", "[io]") {
  io::NamedTensors state = {{"a.b.w", ones({1})}, {"a.c", ones({2})}, {"ab.x", ones({3})}, {"a.", ones({4})}};
  io::NamedTensors selected = io::select_prefix(state, "a.");
  REQUIRE(selected.size() == 2);
  CHECK(selected[0].first == "b.w");
  CHECK(selected[1].first == "c");
}

TEST_CASE("safetensors written by the Python library load, memory-mapped", "[io]") {
  std::string path = std::string(QATD_TEST_DATA_DIR) + "/fixtures/ops/linalg.safetensors";
  io::SafetensorsFile file = io::SafetensorsFile::open(path);
  CHECK(file.metadata().count("torch") == 1);
  Tensor input = file.get("bmm.input.0");
  CHECK(input.shape() == Shape{2, 3, 4});
  CHECK(input.dtype() == DType::f32);
  CHECK(input.storage() == file.get("bmm.input.1").storage());  // both views of one mapping
  input.fill_(0.0);  // copy-on-write: the file is untouched
  CHECK(io::SafetensorsFile::open(path).get("bmm.input.0").to_vector<float>() !=
        std::vector<float>(24, 0.0f));
}

TEST_CASE("malformed safetensors files are rejected with the reason", "[io]") {
  std::string path = temporary_path("bad.safetensors");
  write_bytes(path, "");
  REQUIRE_THROWS_WITH(io::SafetensorsFile::open(path), Catch::Contains("empty"));
  write_bytes(path, "abc");
  REQUIRE_THROWS_WITH(io::SafetensorsFile::open(path), Catch::Contains("shorter than the 8-byte"));
  write_bytes(path, handmade("{\"x\":", 0));
  REQUIRE_THROWS_WITH(io::SafetensorsFile::open(path), Catch::Contains("not valid JSON"));
  std::string huge(8, '\xff');
  write_bytes(path, huge + "{}");
  REQUIRE_THROWS_WITH(io::SafetensorsFile::open(path), Catch::Contains("exceeds the file size"));
  write_bytes(path, handmade(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", 8));
  REQUIRE_THROWS_WITH(io::SafetensorsFile::open(path), Catch::Contains("outside the 8-byte data section"));
  write_bytes(path, handmade(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
  REQUIRE_THROWS_WITH(io::SafetensorsFile::open(path), Catch::Contains("'w'") && Catch::Contains("needs 12"));
  write_bytes(path, handmade(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8));
  REQUIRE_THROWS_WITH(io::SafetensorsFile::open(path), Catch::Contains("unknown dtype 'Q4'"));
  write_bytes(path, handmade(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                             12));
  REQUIRE_THROWS_WITH(io::SafetensorsFile::open(path), Catch::Contains("overlap"));
  write_bytes(path, handmade(R"({"w":{"dtype":"F32","shape":[2]}})", 8));
  REQUIRE_THROWS_WITH(io::SafetensorsFile::open(path), Catch::Contains("data_offsets"));
  REQUIRE_THROWS_WITH(io::SafetensorsFile::open(temporary_path("does_not_exist.safetensors")),
                      Catch::Contains("cannot open"));
}

TEST_CASE("a failed write leaves the previous file intact", "[io]") {
  std::string path = temporary_path("atomic.safetensors");
  io::save_safetensors(path, {{"x", ones({3})}});
  REQUIRE_THROWS(io::write_file_atomically(path, [](std::ostream& stream) {
    stream << "partial";
    throw Error("simulated failure while writing");
  }));
  CHECK(io::load_safetensors(path).at(0).second.to_vector<float>() == std::vector<float>{1, 1, 1});
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    CHECK(entry.path().string().find("atomic.safetensors.tmp") == std::string::npos);
  }
  REQUIRE_THROWS_WITH(io::save_safetensors(path, {{"x", ones({1})}, {"x", ones({1})}}), Catch::Contains("twice"));
}

TEST_CASE("checkpoints carry JSON metadata and refuse foreign files", "[io]") {
  std::string path = temporary_path("checkpoint.safetensors");
  io::save_checkpoint(path, {{"w", randn({2, 2})}}, {{"step", 17}, {"bits", {{"a", 4.5}}}});
  io::Checkpoint checkpoint = io::load_checkpoint(path);
  CHECK(checkpoint.metadata["step"] == 17);
  CHECK(checkpoint.metadata["bits"]["a"] == 4.5);
  CHECK(checkpoint.at("w").shape() == Shape{2, 2});
  REQUIRE_THROWS_WITH(checkpoint.at("missing"), Catch::Contains("'missing'"));
  std::string plain = temporary_path("plain.safetensors");
  io::save_safetensors(plain, {{"w", ones({1})}});
  REQUIRE_THROWS_WITH(io::load_checkpoint(plain), Catch::Contains("not a qatd checkpoint"));
}

}  // namespace qatd

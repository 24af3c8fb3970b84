// torch.save checkpoints read natively: real files written by PyTorch, the restricted pickle
// machine, zip64 and deflate, and malformed or malicious files (each a qatd::Error, never a
// crash and never anything executed).
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "engine/io/torch_checkpoint.h"
#include "engine/io/zip_reader.h"

namespace qatd {

using ::qatd::testing::temporary_path;
namespace {

std::string pickle_fixture(const std::string& name) { return testing::fixture_path("torch_pickle/" + name); }

std::string read_bytes(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), {});
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// Same dtype, shape and bytes (so -0.0 and NaN payloads count too).
bool identical(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  Tensor dense_a = a.contiguous(), dense_b = b.contiguous();
  return std::memcmp(dense_a.raw_data(), dense_b.raw_data(), static_cast<size_t>(a.numel()) * dtype_size(a.dtype())) ==
         0;
}

std::map<std::string, Tensor> by_name(const io::NamedTensors& tensors) {
  std::map<std::string, Tensor> map;
  for (const auto& [name, tensor] : tensors) REQUIRE(map.emplace(name, tensor).second);
  return map;
}

void check_values_checkpoint(const std::string& path) {
  INFO(path);
  io::TorchValue checkpoint = io::load_torch_pickle(path);
  REQUIRE(checkpoint.is(io::TorchValue::Kind::dict));
  CHECK(checkpoint.find("epoch")->as_int() == 7);
  CHECK(checkpoint.find("negative")->as_int() == -5);
  CHECK(checkpoint.find("large")->as_int() == (int64_t{1} << 40));
  CHECK(checkpoint.find("learning_rate")->as_float() == 0.25);
  CHECK(checkpoint.find("nothing")->is(io::TorchValue::Kind::none));
  CHECK(checkpoint.find("flag")->as_bool());
  CHECK_FALSE(checkpoint.find("off")->as_bool());
  std::string name;
  for (int i = 0; i < 60; ++i) name += "micro";
  CHECK(checkpoint.find("name")->as_string() == name);
  CHECK(checkpoint.find("absent") == nullptr);

  const auto& values = checkpoint.find("values")->items();
  REQUIRE(values.size() == 4);
  CHECK(checkpoint.find("values")->is(io::TorchValue::Kind::list));
  CHECK(values[0].as_int() == 1);
  CHECK(values[1].as_float() == 2.5);
  CHECK(values[2].as_string() == "text");
  CHECK(values[3].is(io::TorchValue::Kind::none));
  const io::TorchValue& pair = *checkpoint.find("pair");
  REQUIRE(pair.is(io::TorchValue::Kind::tuple));
  CHECK(pair.items()[0].as_int() == 1);
  CHECK(pair.items()[1].items()[1].as_int() == 3);
  const auto& by_index = checkpoint.find("by_index")->entries();
  REQUIRE(by_index.size() == 2);
  CHECK(by_index[0].first.as_int() == 3);
  CHECK(by_index[0].second.as_string() == "three");
  CHECK(by_index[1].second.items()[0].as_int() == 5);
  REQUIRE_THROWS_WITH(checkpoint.find("epoch")->as_string(), Catch::Contains("expected str, found int"));

  io::NamedTensors state = io::torch_state_dict(checkpoint, "model", path);
  std::vector<std::string> names;
  for (const auto& entry : state) names.push_back(entry.first);
  CHECK(names == std::vector<std::string>{"base", "transposed", "window", "every_other", "half", "bfloat", "double",
                                          "long", "int", "byte", "bool", "parameter", "scalar", "empty"});
  auto expected = by_name(io::load_safetensors(pickle_fixture("values_expected.safetensors")));
  for (const auto& [tensor_name, tensor] : state) {
    INFO(tensor_name);
    CHECK(identical(tensor, expected.at("model." + tensor_name)));
  }
  auto loaded = by_name(state);
  // Views keep the saved geometry and share one storage, as in PyTorch.
  CHECK(loaded.at("transposed").strides() == Shape{1, 6});
  CHECK(loaded.at("transposed").storage() == loaded.at("base").storage());
  CHECK(loaded.at("window").offset() == 8);
  CHECK(loaded.at("every_other").strides() == Shape{2});
  CHECK(loaded.at("bfloat").dtype() == DType::bf16);
  CHECK(loaded.at("scalar").dim() == 0);
  CHECK(loaded.at("empty").shape() == Shape{0, 3});
}

}  // namespace

TEST_CASE("torch.save checkpoints load natively, equal to their safetensors copy", "[io][torch_pickle]") {
  std::string path = testing::fixture_path("sam2_micro_a/model.pt");
  io::TorchValue checkpoint = io::load_torch_pickle(path);
  REQUIRE(checkpoint.entries().size() == 1);
  CHECK(checkpoint.entries()[0].first.as_string() == "model");

  io::NamedTensors state = io::load_torch_state_dict(path);
  auto expected = by_name(io::load_safetensors(testing::fixture_path("sam2_micro_a/model.safetensors")));
  REQUIRE(state.size() == expected.size());
  for (const auto& [name, tensor] : state) {
    INFO(name);
    REQUIRE(expected.count(name) == 1);
    CHECK(identical(tensor, expected.at(name)));
  }
  CHECK(state.front().first == "maskmem_tpos_enc");  // the file's order, not sorted
}

TEST_CASE("torch.save values: every dtype, strided views, parameters and plain values", "[io][torch_pickle]") {
  check_values_checkpoint(pickle_fixture("values_p2.pt"));
  check_values_checkpoint(pickle_fixture("values_p4.pt"));
  // The same records deflated, with zip64 headers.
  check_values_checkpoint(pickle_fixture("zip64_deflate.pt"));
}

TEST_CASE("state dicts are checkpoint['model'] or the top-level dict", "[io][torch_pickle]") {
  io::NamedTensors state = io::load_torch_state_dict(pickle_fixture("handmade_valid.pt"));
  REQUIRE(state.size() == 1);
  CHECK(state[0].first == "weight");
  CHECK(state[0].second.to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
  // A storage at an offset that is no multiple of its element size is copied, not viewed.
  io::NamedTensors unaligned = io::load_torch_state_dict(pickle_fixture("unaligned.pt"));
  CHECK(reinterpret_cast<uintptr_t>(unaligned[0].second.raw_data()) % 4 == 0);
  CHECK(unaligned[0].second.to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
  REQUIRE_THROWS_WITH(io::load_torch_state_dict(pickle_fixture("values_p2.pt"), ""),
                      Catch::Contains("top-level dict['model'] is of type dict, not a tensor"));
  REQUIRE_THROWS_WITH(io::load_torch_state_dict(pickle_fixture("values_p2.pt"), "by_index"),
                      Catch::Contains("key of type int"));
}

TEST_CASE("the zip reader lists entries and reads stored ones without copying", "[io][torch_pickle]") {
  io::ZipArchive archive = io::ZipArchive::open(testing::fixture_path("sam2_micro_a/model.pt"));
  REQUIRE(archive.find("model/data.pkl") != nullptr);
  CHECK(archive.find("model/absent") == nullptr);
  CHECK(archive.read_text("model/byteorder") == "little");
  std::shared_ptr<Storage> storage = archive.read("model/data/0");
  CHECK(reinterpret_cast<uintptr_t>(storage->data()) % 64 == 0);  // torch.save aligns storages
  REQUIRE_THROWS_WITH(archive.read("model/absent"), Catch::Contains("no entry named 'model/absent'"));
  CHECK(io::has_zip_signature(testing::fixture_path("sam2_micro_a/model.pt")));
  CHECK_FALSE(io::has_zip_signature(testing::fixture_path("sam2_micro_a/model.safetensors")));
}

TEST_CASE("malformed torch checkpoints are refused with the reason", "[io][torch_pickle]") {
  std::string model = read_bytes(testing::fixture_path("sam2_micro_a/model.pt"));
  std::string truncated = temporary_path("truncated.pt");
  write_bytes(truncated, model.substr(0, model.size() / 2));
  REQUIRE_THROWS_WITH(io::load_torch_pickle(truncated),
                      Catch::Contains("truncated.pt") && Catch::Contains("truncated or not a zip archive"));
  std::string legacy = temporary_path("legacy.pt");
  write_bytes(legacy, std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15));
  REQUIRE_THROWS_WITH(io::load_torch_pickle(legacy), Catch::Contains("legacy torch.save format"));
  std::string text = temporary_path("text.pt");
  write_bytes(text, "not a checkpoint at all");
  REQUIRE_THROWS_WITH(io::load_torch_pickle(text), Catch::Contains("not a zip archive"));
  REQUIRE_THROWS_WITH(io::load_torch_pickle(temporary_path("does_not_exist.pt")), Catch::Contains("cannot open"));

  struct Case {
    std::string file;
    std::vector<std::string> expected;
  };
  std::vector<Case> cases = {
      {"no_data_pkl.pt", {"no 'archive/data.pkl'"}},
      {"forbidden_os_system.pt", {"global 'os.system' is not allowed"}},
      {"forbidden_builtins_eval.pt", {"global 'builtins.eval' is not allowed"}},
      {"forbidden_nested_posix_system.pt", {"global 'posix.system' is not allowed"}},
      {"unknown_opcode.pt", {"unknown pickle opcode 0xff", "at byte 3"}},
      {"inst_opcode.pt", {"pickle opcode INST (0x69) is not supported"}},
      {"missing_storage.pt", {"storage '7' is missing from the archive", "archive/data/7"}},
      {"storage_too_small.pt", {"size [4, 4] stride [4, 1] offset 0", "storage too small"}},
      {"storage_size_mismatch.pt", {"storage '0' holds 24 bytes", "need 32"}},
      {"big_endian.pt", {"byteorder is 'big'"}},
      {"crc_mismatch.pt", {"entry 'archive/data/0'", "CRC-32 mismatch"}},
      {"truncated_pickle.pt", {"truncated data.pkl"}},
      {"recursive.pt", {"recursive"}},
      {"deep.pt", {"nested deeper than 256 levels"}},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    std::string path = pickle_fixture(c.file);
    try {
      io::load_torch_pickle(path);
      FAIL("loaded without an error");
    } catch (const Error& error) {
      std::string message = error.what();
      INFO(message);
      CHECK(message.find(c.file) != std::string::npos);
      for (const std::string& part : c.expected) CHECK(message.find(part) != std::string::npos);
    }
  }
}

TEST_CASE("damaged archives and pickles give errors, never crashes", "[io][torch_pickle]") {
  // Every truncation and many single-byte changes of a small archive, then of its pickle
  // program run directly (past the CRC that would otherwise catch most changes).
  std::string original = read_bytes(pickle_fixture("values_p4.pt"));
  std::string path = temporary_path("damaged.pt");
  auto attempt = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    try {
      io::load_torch_pickle(path);
    } catch (const Error&) {
    }
  };
  for (size_t length = 0; length < original.size(); length += 7) attempt(original.substr(0, length));
  for (size_t position = 0; position < original.size(); position += 3) {
    std::string damaged = original;
    damaged[position] = static_cast<char>(damaged[position] ^ 0x5a);
    attempt(damaged);
  }

  io::ZipArchive archive = io::ZipArchive::open(pickle_fixture("values_p4.pt"));
  std::string program = archive.read_text("values_p4/data.pkl");
  io::TorchStorageLoader load = [&](const std::string& key, DType dtype, int64_t numel) {
    std::string name = "values_p4/data/" + key;
    QATD_CHECK(archive.find(name) != nullptr, "no storage {}", key);
    std::shared_ptr<Storage> bytes = archive.read(name);
    QATD_CHECK(bytes->nbytes() == static_cast<size_t>(numel) * dtype_size(dtype), "storage {} size", key);
    return bytes;
  };
  size_t failures = 0, runs = 0;
  auto run = [&](const std::string& bytes) {
    ++runs;
    try {
      io::unpickle_torch(bytes.data(), bytes.size(), load, "damaged");
    } catch (const Error&) {
      ++failures;
    }
  };
  for (size_t length = 0; length < program.size(); ++length) run(program.substr(0, length));
  for (size_t position = 0; position < program.size(); ++position) {
    for (unsigned char value : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string damaged = program;
      damaged[position] = static_cast<char>(value);
      run(damaged);
    }
  }
  printf("damaged pickles: %zu of %zu runs refused\n", failures, runs);
  CHECK(failures > runs / 2);
}

TEST_CASE("int16 and int8 tensors load with their dtype", "[io][torch_pickle]") {
  io::NamedTensors state = io::load_torch_state_dict(pickle_fixture("int16.pt"));
  REQUIRE(state.size() == 1);
  CHECK(state[0].second.dtype() == DType::i16);
  CHECK(state[0].second.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2});
}

}  // namespace qatd

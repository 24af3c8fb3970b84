// SAM 2 checkpoints: the official .pt, safetensors with official names and safetensors with
// HuggingFace transformers names all load as the same state under the official names.
// Tolerance: none. Loading only moves and renames bytes, so every tensor must be identical.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "models/sam2/checkpoint.h"
#include "models/sam2/hf_keys.h"

namespace qatd {

using ::qatd::testing::temporary_path;
namespace {

std::map<std::string, Tensor> by_name(const io::NamedTensors& tensors) {
  std::map<std::string, Tensor> map;
  for (const auto& [name, tensor] : tensors) REQUIRE(map.emplace(name, tensor).second);
  return map;
}

// Checks that `state` holds exactly the reference tensors, byte for byte, and prints one line
// per tensor set (name, count, largest absolute difference).
void check_identical(const std::string& label, const io::NamedTensors& state) {
  auto reference = by_name(io::load_safetensors(testing::fixture_path("sam2_micro_a/model.safetensors")));
  auto loaded = by_name(state);
  REQUIRE(loaded.size() == reference.size());
  double max_difference = 0;
  for (const auto& [name, expected] : reference) {
    INFO(label << ": " << name);
    REQUIRE(loaded.count(name) == 1);
    const Tensor& tensor = loaded.at(name);
    REQUIRE(tensor.dtype() == expected.dtype());
    REQUIRE(tensor.shape() == expected.shape());
    Tensor dense = tensor.contiguous(), dense_expected = expected.contiguous();
    CHECK(std::memcmp(dense.raw_data(), dense_expected.raw_data(), static_cast<size_t>(tensor.numel()) * 4) == 0);
    std::vector<float> a = dense.to_vector<float>(), b = dense_expected.to_vector<float>();
    for (size_t i = 0; i < a.size(); ++i) max_difference = std::max(max_difference, double(std::abs(a[i] - b[i])));
  }
  printf("%-40s %4zu tensors  relative error 0 required  max abs diff %.3g\n", label.c_str(), loaded.size(),
         max_difference);
}

std::vector<std::vector<std::string>> read_table(const std::string& path) {
  std::ifstream stream(path);
  REQUIRE(stream.good());
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(stream, line);  // header
  while (std::getline(stream, line)) {
    std::vector<std::string> fields;
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, '\t')) fields.push_back(cell);
    REQUIRE(fields.size() == 3);
    rows.push_back(fields);
  }
  return rows;
}

}  // namespace

TEST_CASE("official .pt, official and HF safetensors load as the same official state", "[sam2]") {
  sam2::CheckpointOrigin origin;
  check_identical("model.pt", sam2::load_checkpoint_state(testing::fixture_path("sam2_micro_a/model.pt"), &origin));
  CHECK(origin.container == sam2::CheckpointContainer::torch_zip);
  CHECK(origin.naming == sam2::KeyNaming::official);
  check_identical("model.safetensors", sam2::load_checkpoint_state(testing::fixture_path("sam2_micro_a/model.safetensors"), &origin));
  CHECK(origin.container == sam2::CheckpointContainer::safetensors);
  CHECK(origin.naming == sam2::KeyNaming::official);
  check_identical("sam2_micro_a_hf.safetensors",
                  sam2::load_checkpoint_state(testing::fixture_path("sam2_micro_a_hf.safetensors"), &origin));
  CHECK(origin.container == sam2::CheckpointContainer::safetensors);
  CHECK(origin.naming == sam2::KeyNaming::huggingface);
  CHECK(sam2::describe(origin) == "safetensors file with HuggingFace transformers keys");
}

TEST_CASE("the container is recognized by content, not by extension", "[sam2]") {
  struct Copy {
    std::string from, to;
    sam2::CheckpointContainer container;
  };
  for (const Copy& copy :
       {Copy{"sam2_micro_a/model.safetensors", "swapped.pt", sam2::CheckpointContainer::safetensors},
        Copy{"sam2_micro_a/model.pt", "swapped.safetensors", sam2::CheckpointContainer::torch_zip},
        Copy{"sam2_micro_a_hf.safetensors", "hf_weights.bin", sam2::CheckpointContainer::safetensors}}) {
    std::string path = temporary_path(copy.to);
    std::filesystem::copy_file(testing::fixture_path(copy.from), path, std::filesystem::copy_options::overwrite_existing);
    sam2::CheckpointOrigin origin;
    check_identical(copy.to, sam2::load_checkpoint_state(path, &origin));
    CHECK(origin.container == copy.container);
  }
}

TEST_CASE("HF names of every hiera_t key map back to the official key", "[sam2]") {
  // Each tensor holds its row's index, so the test sees where every tensor lands.
  auto rows = read_table(testing::fixture_path("sam2.1_hiera_t_hf_key_map.tsv"));
  REQUIRE(rows.size() == 471);
  io::NamedTensors hf_state, official_names;
  std::vector<float> point_rows;
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string& hf_key = rows[i][1];
    official_names.emplace_back(rows[i][0], ones({1}));
    if (hf_key.rfind("prompt_encoder.point_embed.", 0) == 0) {
      // HF concatenates the four (1, C) point embeddings into point_embed.weight, in order.
      CHECK(hf_key == fmt::format("prompt_encoder.point_embed.{}.weight", point_rows.size()));
      point_rows.push_back(static_cast<float>(i));
      if (point_rows.size() == 4) {
        hf_state.emplace_back("prompt_encoder.point_embed.weight", from_vector(point_rows, {4, 1}));
      }
      continue;
    }
    hf_state.emplace_back(hf_key, full({1, 1}, static_cast<double>(i)));
    if (hf_key == "prompt_encoder.shared_embedding.positional_embedding") {
      hf_state.emplace_back("shared_image_embedding.positional_embedding", full({1, 1}, static_cast<double>(i)));
    }
  }
  CHECK(sam2::detect_key_naming(hf_state, "table") == sam2::KeyNaming::huggingface);
  CHECK(sam2::detect_key_naming(official_names, "table") == sam2::KeyNaming::official);

  auto official = by_name(sam2::official_state_from_hf(hf_state, "table"));
  REQUIRE(official.size() == rows.size());
  size_t mapped = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    INFO(rows[i][0] << " <- " << rows[i][1]);
    REQUIRE(official.count(rows[i][0]) == 1);
    CHECK(official.at(rows[i][0]).item() == static_cast<double>(i));
    mapped += official.at(rows[i][0]).item() == static_cast<double>(i);
  }
  printf("hiera_t HF key map: %zu of %zu keys map back to their official name\n", mapped, rows.size());
}

TEST_CASE("official safetensors load whatever keys they hold", "[sam2]") {
  io::NamedTensors state = io::load_safetensors(testing::fixture_path("sam2_micro_a/model.safetensors"));
  io::NamedTensors image_only;
  for (const auto& entry : state) {
    if (entry.first.rfind("memory_", 0) != 0) image_only.push_back(entry);
  }
  REQUIRE(image_only.size() < state.size());
  std::string path = temporary_path("image_only.safetensors");
  io::save_safetensors(path, image_only);
  CHECK(sam2::load_checkpoint_state(path).size() == image_only.size());
}

TEST_CASE("bad SAM 2 checkpoints are refused with the reason", "[sam2]") {
  auto save = [](const std::string& name, const io::NamedTensors& tensors) {
    std::string path = temporary_path(name);
    io::save_safetensors(path, tensors);
    return path;
  };
  REQUIRE_THROWS_WITH(
      sam2::load_checkpoint_state(save("mixed.safetensors", {{"image_encoder.trunk.pos_embed", ones({1})},
                                                             {"vision_encoder.backbone.pos_embed", ones({1})}})),
      Catch::Contains("mixes official key names ('image_encoder.trunk.pos_embed')") &&
          Catch::Contains("('vision_encoder.backbone.pos_embed')"));
  REQUIRE_THROWS_WITH(
      sam2::load_checkpoint_state(save("foreign.safetensors", {{"vision_encoder.backbone.pos_embed", ones({1})},
                                                               {"lora.adapter.weight", ones({1})}})),
      Catch::Contains("HF key 'lora.adapter.weight' has no official SAM 2 name"));
  REQUIRE_THROWS_WITH(
      sam2::load_checkpoint_state(
          save("matrices.safetensors", {{"prompt_encoder.shared_embedding.positional_embedding", ones({2, 4})},
                                        {"shared_image_embedding.positional_embedding", zeros({2, 4})}})),
      Catch::Contains("differ; the official model has one matrix for both"));
  REQUIRE_THROWS_WITH(
      sam2::load_checkpoint_state(save("points.safetensors", {{"prompt_encoder.point_embed.weight", ones({4})}})),
      Catch::Contains("'prompt_encoder.point_embed.weight' has shape [4]"));

  std::string text = temporary_path("notes.pt");
  std::ofstream(text) << "{\"not\": \"a checkpoint\"}";
  REQUIRE_THROWS_WITH(sam2::load_checkpoint_state(text),
                      Catch::Contains("notes.pt") && Catch::Contains("neither a PyTorch checkpoint"));
  std::string legacy = temporary_path("legacy_sam.pt");
  std::ofstream(legacy, std::ios::binary)
      << std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 14);
  REQUIRE_THROWS_WITH(sam2::load_checkpoint_state(legacy), Catch::Contains("legacy torch.save format"));
  std::ifstream source(testing::fixture_path("sam2_micro_a/model.pt"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(source)), {});
  std::string truncated = temporary_path("truncated_sam.pt");
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  REQUIRE_THROWS_WITH(sam2::load_checkpoint_state(truncated), Catch::Contains("truncated"));
  REQUIRE_THROWS_WITH(sam2::load_checkpoint_state(temporary_path("absent.pt")), Catch::Contains("cannot open"));
}

}  // namespace qatd

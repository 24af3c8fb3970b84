// The image path against the official implementation: qatd parity's logic on the project's copy
// of the reference (tests/fixtures/sam2_micro_a), and the checks around building a model.
#include <filesystem>

#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "engine/io/image.h"
#include "models/sam2/build_sam.h"
#include "models/sam2/parity.h"
#include "tests/test_support.h"

namespace qatd::sam2 {
namespace {

}  // namespace

TEST_CASE("SAM 2 image and video paths: every reference tensor and gradient within tolerance", "[sam2][parity]") {
  ParityOptions options;  // forward 1e-4, gradients 1e-3, image and video, as qatd parity's defaults
  ParityReport report = run_parity(std::string(QATD_TEST_DATA_DIR) + "/fixtures/sam2_micro_a", options);
  std::printf("%s", report.table().c_str());
  CHECK(report.rows.size() >= 300);
  for (const ParityRow& row : report.rows) {
    INFO(row.name << ": relative error " << row.relative_error << " " << row.problem);
    CHECK(row.passed);
  }
}

TEST_CASE("parity fails when the input differs from the reference", "[sam2][parity]") {
  namespace fs = std::filesystem;
  fs::path copy = fs::temp_directory_path() / "qatd_parity_flipped";
  fs::create_directories(copy);
  for (const char* name : {"meta.json", "model.pt", "image_io.safetensors", "image_grads.safetensors"}) {
    fs::copy_file(testing::micro_fixture_path(name), copy / name, fs::copy_options::overwrite_existing);
  }
  Tensor image = io::read_image(testing::micro_fixture_path("image.png"));
  io::write_png((copy / "image.png").string(), flip(image, {1}).contiguous());
  ParityReport report = run_parity(copy.string(), ParityOptions{.video = false});
  CHECK_FALSE(report.passed());
  size_t failed = std::count_if(report.rows.begin(), report.rows.end(), [](const ParityRow& row) { return !row.passed; });
  std::printf("flipped image: %zu of %zu tensors fail\n", failed, report.rows.size());
  CHECK(failed > 100);
}

TEST_CASE("a checkpoint that does not match the config names the keys", "[sam2]") {
  Generator generator(0);
  try {
    build_sam2("sam2.1_hiera_t", testing::micro_fixture_path("model.pt"), &generator);
    FAIL("a micro checkpoint loaded into hiera_t");
  } catch (const Error& error) {
    std::string message = error.what();
    CHECK_THAT(message, Catch::Contains("does not match the model config") &&
                            Catch::Contains("image_encoder.trunk.pos_embed: state [1, 24, 7, 7] vs module [1, 96, 7, 7]") &&
                            Catch::Contains("missing keys"));
  }
}

TEST_CASE("the model builds from meta.json and loads .pt and HuggingFace safetensors alike", "[sam2]") {
  auto from_pt = build_sam2(testing::micro_fixture_path("meta.json"), testing::micro_fixture_path("model.pt"));
  auto from_hf = build_sam2(testing::micro_fixture_path("meta.json"), std::string(QATD_TEST_DATA_DIR) + "/fixtures/sam2_micro_a_hf.safetensors");
  CHECK_FALSE(from_pt->is_training());
  io::NamedTensors a = from_pt->official_state(), b = from_hf->official_state();
  auto by_name = [](const auto& x, const auto& y) { return x.first < y.first; };
  std::sort(a.begin(), a.end(), by_name);
  std::sort(b.begin(), b.end(), by_name);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.to_vector<float>() == b[i].second.to_vector<float>());
  }
}

}  // namespace qatd::sam2

// COCO run-length encoding against pycocotools, the official encoder: tests/fixtures/data/rle/cases.json
// (tools/make_rle_fixtures.py) holds masks as lists of set pixels with pycocotools' compressed strings, run
// lengths and areas. Also every mask dtype and layout, and malformed strings.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"
#include "tests/test_support.h"
#include "train/data/coco_rle.h"

namespace qatd::train::data {

namespace {

struct OfficialCase {
  std::string name;
  int64_t height = 0;
  int64_t width = 0;
  std::vector<int64_t> set_indices;  // row-major
  std::string counts;
  std::vector<uint32_t> uncompressed;
  int64_t area = 0;
};

std::vector<OfficialCase> official_cases() {
  std::ifstream file(testing::fixture_path("data/rle/cases.json"));
  REQUIRE(file.good());
  nlohmann::json document = nlohmann::json::parse(file);
  std::vector<OfficialCase> cases;
  for (const nlohmann::json& entry : document) {
    cases.push_back({entry["name"], entry["size"][0], entry["size"][1], entry["set_indices"], entry["counts"],
                     entry["uncompressed"], entry["area"]});
  }
  return cases;
}

Tensor mask_of(const OfficialCase& official) {
  Tensor mask = zeros({official.height, official.width}, DType::boolean);
  for (int64_t index : official.set_indices) mask.data<bool>()[index] = true;
  return mask;
}

std::vector<bool> pixels_of(const Tensor& mask) {
  Tensor dense = mask.contiguous();
  REQUIRE(dense.dtype() == DType::boolean);
  return std::vector<bool>(dense.data<bool>(), dense.data<bool>() + dense.numel());
}

}  // namespace

TEST_CASE("rle: pycocotools' cases encode, print, parse and decode identically", "[data]") {
  std::vector<OfficialCase> cases = official_cases();
  REQUIRE(cases.size() == 12);
  for (const OfficialCase& official : cases) {
    INFO(official.name);
    Tensor mask = mask_of(official);
    Rle encoded = rle_encode(mask);
    CHECK(encoded.height == official.height);
    CHECK(encoded.width == official.width);
    CHECK(encoded.counts == official.uncompressed);
    CHECK(rle_to_string(encoded) == official.counts);
    CHECK(rle_area(encoded) == official.area);

    Rle parsed = rle_from_string(official.counts, official.height, official.width, official.name);
    CHECK(parsed == Rle{official.height, official.width, official.uncompressed});
    Tensor decoded = rle_decode(parsed);
    CHECK(decoded.shape() == Shape{official.height, official.width});
    CHECK(pixels_of(decoded) == pixels_of(mask));
  }
}

TEST_CASE("rle: the long-run case really exercises counts past 2^16 and multi-character counts", "[data]") {
  std::vector<OfficialCase> cases = official_cases();
  const OfficialCase& official = cases.back();
  REQUIRE(official.name == "long_runs_300x400");
  CHECK(official.uncompressed.front() > 65536u);
  CHECK(official.counts.size() > official.uncompressed.size());
}

TEST_CASE("rle: every mask dtype and layout encodes the same", "[data]") {
  const OfficialCase official = official_cases()[6];  // blobs_24x32
  REQUIRE(official.name == "blobs_24x32");
  Tensor mask = mask_of(official);
  std::vector<uint32_t> expected = official.uncompressed;

  Tensor as_u8 = zeros({official.height, official.width}, DType::u8);
  Tensor as_f32 = zeros({official.height, official.width}, DType::f32);
  Tensor as_f64 = full({official.height, official.width}, 0.5, DType::f64);  // 0.5 is outside
  for (int64_t index : official.set_indices) {
    as_u8.data<uint8_t>()[index] = 7;
    as_f32.data<float>()[index] = 0.51f;
    as_f64.data<double>()[index] = 1.0;
  }
  CHECK(rle_encode(as_u8).counts == expected);
  CHECK(rle_encode(as_f32).counts == expected);
  CHECK(rle_encode(as_f64).counts == expected);

  // A transposed view: same pixels, strides (1, H).
  Tensor transposed = mask.t().contiguous().t();
  REQUIRE_FALSE(transposed.is_contiguous());
  CHECK(rle_encode(transposed).counts == expected);
}

TEST_CASE("rle: malformed strings throw naming the source", "[data]") {
  const std::string what = "sa_7.json: annotations[3].segmentation";
  // '~' is 126 - 48 = 78, past the 6-bit alphabet; ' ' is below '0'.
  REQUIRE_THROWS_WITH(rle_from_string("c0~", 4, 5, what), Catch::Contains(what) && Catch::Contains("character 2"));
  REQUIRE_THROWS_WITH(rle_from_string(" c01", 4, 5, what), Catch::Contains(what) && Catch::Contains("character 0"));
  // 'P' = 48 + 0x20: a group that says another follows, at the end of the string.
  REQUIRE_THROWS_WITH(rle_from_string("c0P", 4, 5, what), Catch::Contains(what) && Catch::Contains("ends inside"));
  // pycocotools' string of a 4 x 5 mask read as 4 x 6, and as 3 x 5.
  REQUIRE_THROWS_WITH(rle_from_string("c01", 4, 6, what), Catch::Contains(what) && Catch::Contains("sum to 20"));
  REQUIRE_THROWS_WITH(rle_from_string("c01", 3, 5, what), Catch::Contains(what) && Catch::Contains("outside [0, 15]"));
  // 'O' = 48 + 31: a single group with the sign bit set, i.e. a run of length -1.
  REQUIRE_THROWS_WITH(rle_from_string("00O", 4, 5, what), Catch::Contains(what) && Catch::Contains("outside"));
  REQUIRE_THROWS_WITH(rle_from_string("c01", -1, 5, what), Catch::Contains(what) && Catch::Contains("negative"));
  REQUIRE_THROWS_AS(rle_decode(Rle{4, 5, {3, 4}}), Error);
  REQUIRE_THROWS_AS(rle_encode(zeros({2, 3, 4}, DType::boolean)), Error);
  REQUIRE_THROWS_AS(rle_encode(zeros({2, 3}, DType::i32)), Error);
}

TEST_CASE("rle: an empty string is a 0 x 0 mask; a 0-area mask of any size decodes to nothing", "[data]") {
  CHECK(rle_from_string("", 0, 0, "empty") == Rle{0, 0, {}});
  REQUIRE_THROWS_AS(rle_from_string("", 2, 2, "empty"), Error);
  Rle outside = rle_from_string("d0", 5, 4, "outside");
  CHECK(rle_area(outside) == 0);
  std::vector<bool> pixels = pixels_of(rle_decode(outside));
  CHECK(std::count(pixels.begin(), pixels.end(), true) == 0);
}

}  // namespace qatd::train::data

// PIL-exact image resizing: every filter on small generated images of 1 to 4 channels (down, up, one
// axis, 1x1, same size), and the SAM 2 reference frames and image resized to 1024 and odd sizes.
// Expected pixels come from tools/make_resize_fixtures.py (Pillow 13's Image.resize). Tolerance: none,
// every byte must match.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "engine/io/image.h"
#include "engine/io/image_resize.h"
#include "tests/test_support.h"

namespace qatd {
namespace {

io::ResampleFilter parse_filter(const std::string& name) {
  for (io::ResampleFilter filter : {io::ResampleFilter::nearest, io::ResampleFilter::box, io::ResampleFilter::bilinear,
                                    io::ResampleFilter::hamming, io::ResampleFilter::bicubic,
                                    io::ResampleFilter::lanczos}) {
    if (io::resample_filter_name(filter) == name) return filter;
  }
  FAIL("unknown filter " << name);
  return io::ResampleFilter::nearest;
}

// The FNV-1a 64-bit hash the fixture generator stores, reinterpreted as signed.
int64_t fnv1a(const Tensor& pixels) {
  uint64_t value = 0xCBF29CE484222325ull;
  const uint8_t* bytes = pixels.data<uint8_t>();
  for (int64_t i = 0; i < pixels.numel(); ++i) value = (value ^ bytes[i]) * 0x100000001B3ull;
  return static_cast<int64_t>(value);
}

struct Comparison {
  int64_t mismatches = 0;
  int64_t max_difference = 0;
};

Comparison compare_pixels(const Tensor& ours, const Tensor& expected) {
  Comparison result;
  std::vector<int64_t> a = ours.to_vector<int64_t>();
  std::vector<int64_t> b = expected.to_vector<int64_t>();
  for (size_t i = 0; i < a.size(); ++i) {
    result.mismatches += a[i] != b[i];
    result.max_difference = std::max(result.max_difference, std::abs(a[i] - b[i]));
  }
  return result;
}

// Row sums locate a mismatch that the hash only detects.
Comparison compare_summary(const Tensor& ours, const Tensor& row_sums, int64_t hash) {
  Comparison result;
  std::vector<int32_t> expected = row_sums.to_vector<int32_t>();
  int64_t row_values = ours.numel() / ours.size(0);
  const uint8_t* pixels = ours.data<uint8_t>();
  for (int64_t y = 0; y < ours.size(0); ++y) {
    int64_t sum = 0;
    for (int64_t i = 0; i < row_values; ++i) sum += pixels[y * row_values + i];
    result.mismatches += sum != expected[y];
    result.max_difference = std::max(result.max_difference, std::abs(sum - expected[y]));
  }
  if (fnv1a(ours) != hash && result.mismatches == 0) result.mismatches = 1;
  return result;
}

}  // namespace

TEST_CASE("resize_image matches Pillow's Image.resize byte for byte", "[io][image][resize]") {
  io::SafetensorsFile file = io::SafetensorsFile::open(testing::fixture_path("images/resize/resize.safetensors"));
  nlohmann::json cases = nlohmann::json::parse(file.metadata().at("cases"));
  std::printf("resize fixtures from Pillow %s, %zu cases; exact match required\n", file.metadata().at("pillow").c_str(),
              cases.size());
  std::map<std::string, Tensor> sources;
  // One line per source and filter for the small generated images, one per case for the others.
  std::map<std::string, std::pair<int, Comparison>> groups;
  int checked = 0;
  for (const nlohmann::json& item : cases) {
    std::string name = item.at("name"), source = item.at("source"), filter_name = item.at("filter");
    int64_t height = item.at("height"), width = item.at("width");
    INFO(name);
    if (!sources.count(source)) {
      sources[source] = source.starts_with("input.") ? file.get(source) : io::read_image(testing::fixture_path(source));
    }
    const Tensor& image = sources[source];
    Tensor ours = io::resize_image(image, height, width, parse_filter(filter_name));
    Shape expected_shape = image.dim() == 3 ? Shape{height, width, image.size(2)} : Shape{height, width};
    REQUIRE(ours.shape() == expected_shape);
    REQUIRE(ours.dtype() == DType::u8);
    bool full = file.contains("expected." + name);
    Comparison comparison = full ? compare_pixels(ours, file.get("expected." + name))
                                 : compare_summary(ours, file.get("rowsums." + name),
                                                   file.get("fnv1a." + name).to_vector<int64_t>()[0]);
    CHECK(comparison.mismatches == 0);
    if (source.starts_with("input.")) {
      auto& [count, total] = groups[source.substr(6) + " " + filter_name];
      ++count;
      total.mismatches += comparison.mismatches;
      total.max_difference = std::max(total.max_difference, comparison.max_difference);
    } else {
      std::printf("%-36s %-14s %s: mismatched %s %lld, max abs difference %lld\n", name.c_str(),
                  shape_str(ours.shape()).c_str(), full ? "pixels" : "hash+row sums",
                  full ? "values" : "rows", static_cast<long long>(comparison.mismatches),
                  static_cast<long long>(comparison.max_difference));
    }
    ++checked;
  }
  for (const auto& [group, entry] : groups) {
    std::printf("%-28s %d sizes: mismatched values %lld, max abs difference %lld\n", group.c_str(), entry.first,
                static_cast<long long>(entry.second.mismatches), static_cast<long long>(entry.second.max_difference));
  }
  CHECK(checked >= 450);
}

TEST_CASE("resize_image copies an image already of the requested size and reads any strides",
          "[io][image][resize]") {
  Tensor image = io::read_image(testing::fixture_path("images/frame_00000.png"));
  Tensor same = io::resize_image(image, image.size(0), image.size(1));
  CHECK_FALSE(same.storage() == image.storage());
  CHECK(compare_pixels(same, image).mismatches == 0);

  // A transposed view resizes as the transposed image.
  Tensor transposed = image.permute({1, 0, 2});
  Tensor from_view = io::resize_image(transposed, 100, 61);
  Tensor from_copy = io::resize_image(transposed.contiguous(), 100, 61);
  CHECK(compare_pixels(from_view, from_copy).mismatches == 0);

  // Channels are independent: a gray image resizes as each channel of its RGB replica.
  Tensor gray = image.select(2, 1).contiguous();
  Tensor gray_resized = io::resize_image(gray, 77, 300, io::ResampleFilter::lanczos);
  Tensor rgb_resized = io::resize_image(image, 77, 300, io::ResampleFilter::lanczos);
  CHECK(compare_pixels(gray_resized, rgb_resized.select(2, 1).contiguous()).mismatches == 0);
}

TEST_CASE("resize_image rejects bad images and sizes, naming the problem", "[io][image][resize]") {
  Tensor image = zeros({4, 5, 3}, DType::u8);
  CHECK_THROWS_WITH(io::resize_image(Tensor(), 2, 2), Catch::Contains("resize_image") && Catch::Contains("undefined"));
  CHECK_THROWS_WITH(io::resize_image(zeros({4, 5, 3}), 2, 2),
                    Catch::Contains("resize_image") && Catch::Contains("uint8") && Catch::Contains("f32"));
  CHECK_THROWS_WITH(io::resize_image(zeros({2, 4, 5, 3}, DType::u8), 2, 2),
                    Catch::Contains("resize_image") && Catch::Contains("[2, 4, 5, 3]"));
  CHECK_THROWS_WITH(io::resize_image(zeros({0, 5, 3}, DType::u8), 2, 2),
                    Catch::Contains("resize_image") && Catch::Contains("empty"));
  CHECK_THROWS_WITH(io::resize_image(image, 0, 2), Catch::Contains("resize_image") && Catch::Contains("0x2"));
  CHECK_THROWS_WITH(io::resize_image(image, 3, -1), Catch::Contains("resize_image") && Catch::Contains("positive"));
  CHECK_THROWS_WITH(io::resize_image(image, int64_t{1} << 40, 3, io::ResampleFilter::bilinear),
                    Catch::Contains("resize_image") && Catch::Contains("not supported"));
}

}  // namespace qatd

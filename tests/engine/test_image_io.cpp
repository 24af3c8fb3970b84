// Image files: decoding PNG and JPEG exactly as PIL does, label maps, PNG writing, overlays, and
// malformed files. Expected pixels come from tools/make_image_fixtures.py (PIL 13 with its bundled
// libjpeg-turbo) and from the SAM 2 reference fixture (the official loader's decoded frames).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "tests/test_support.h"
#include "engine/io/image.h"

namespace qatd {

using ::qatd::testing::temporary_path;
namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Exact equality of two integer tensors of the same shape; prints the mismatch count.
void require_same_pixels(const std::string& what, const Tensor& ours, const Tensor& expected) {
  REQUIRE(ours.shape() == expected.shape());
  std::vector<int64_t> a = ours.to_vector<int64_t>();
  std::vector<int64_t> b = expected.to_vector<int64_t>();
  int64_t mismatches = 0;
  int64_t max_difference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    mismatches += a[i] != b[i];
    max_difference = std::max(max_difference, std::abs(a[i] - b[i]));
  }
  std::printf("%-28s %-14s mismatched values %lld, max abs difference %lld\n", what.c_str(),
              shape_str(ours.shape()).c_str(), static_cast<long long>(mismatches),
              static_cast<long long>(max_difference));
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("the SAM 2 reference image decodes to exactly the official loader's pixels", "[io][image]") {
  io::SafetensorsFile reference = io::SafetensorsFile::open(testing::fixture_path("sam2_micro_a/image_io.safetensors"));
  Tensor image = io::read_image(testing::fixture_path("sam2_micro_a/image.png"));
  CHECK(image.dtype() == DType::u8);
  require_same_pixels("sam2_micro_a/image.png", image, reference.get("image.rgb"));
}

TEST_CASE("JPEG frames decode to exactly the pixels PIL gave the official video loader", "[io][image]") {
  for (int frame = 0; frame < 4; ++frame) {
    std::string stem = testing::fixture_path("images/frame_0000" + std::to_string(frame));
    Tensor from_jpeg = io::read_image(stem + ".jpg");
    Tensor from_png = io::read_image(stem + ".png");
    require_same_pixels("frame_0000" + std::to_string(frame) + ".jpg", from_jpeg, from_png);
  }
}

TEST_CASE("every PNG colour type, bit depth and interlacing converts to RGB as PIL's convert(\"RGB\")",
          "[io][image]") {
  io::SafetensorsFile expected = io::SafetensorsFile::open(testing::fixture_path("images/expected.safetensors"));
  int checked = 0;
  for (const std::string& key : expected.names()) {
    if (!key.ends_with(".rgb")) continue;
    std::string name = key.substr(0, key.size() - 4);
    std::string path = testing::fixture_path("images/" + name + (name.starts_with("jpeg") ? ".jpg" : ".png"));
    INFO(path);
    require_same_pixels(name, io::read_image(path), expected.get(key));
    ++checked;
  }
  CHECK(checked >= 29);
}

TEST_CASE("PNG label maps keep palette indices and gray samples unconverted", "[io][image]") {
  io::SafetensorsFile expected = io::SafetensorsFile::open(testing::fixture_path("images/expected.safetensors"));
  int checked = 0;
  for (const std::string& key : expected.names()) {
    if (!key.ends_with(".labels")) continue;
    std::string name = key.substr(0, key.size() - 7);
    INFO(name);
    Tensor labels = io::read_png_labels(testing::fixture_path("images/" + name + ".png"));
    Tensor reference = expected.get(key);
    CHECK(labels.dtype() == reference.dtype());
    require_same_pixels(name + " labels", labels, reference);
    ++checked;
  }
  CHECK(checked >= 10);
  CHECK_THROWS_WITH(io::read_png_labels(testing::fixture_path("images/rgb8.png")), Catch::Contains("rgb8.png") &&
                                                                        Catch::Contains("RGB PNG"));
  CHECK_THROWS_WITH(io::read_png_labels(testing::fixture_path("images/jpeg420.jpg")), Catch::Contains("JPEG"));
}

TEST_CASE("PNG writing round-trips masks and RGB images", "[io][image]") {
  Tensor rgb = io::read_image(testing::fixture_path("sam2_micro_a/image.png"));
  std::string rgb_path = temporary_path("round_trip_rgb.png");
  io::write_png(rgb_path, rgb);
  require_same_pixels("RGB round trip", io::read_image(rgb_path), rgb);

  // A transposed view is written by value, not by its storage order.
  Tensor transposed = rgb.permute({1, 0, 2});
  io::write_png(rgb_path, transposed);
  require_same_pixels("transposed RGB round trip", io::read_image(rgb_path), transposed);

  Tensor mask = rgb.select(2, 0).contiguous();
  std::string mask_path = temporary_path("round_trip_mask.png");
  io::write_png(mask_path, mask);
  require_same_pixels("uint8 mask round trip", io::read_png_labels(mask_path), mask);

  Tensor binary = gt(mask.to(DType::f32), 128.0);
  io::write_png(mask_path, binary);
  Tensor labels = io::read_png_labels(mask_path);
  require_same_pixels("bool mask round trip", labels, mul(binary.to(DType::f32), 255.0).to(DType::u8));
  Tensor as_rgb = io::read_image(mask_path);
  require_same_pixels("bool mask as RGB", as_rgb.select(2, 1), labels);

  CHECK_THROWS_WITH(io::write_png(mask_path, zeros({4, 4})), Catch::Contains("write_png") &&
                                                                 Catch::Contains("f32"));
  CHECK_THROWS_WITH(io::write_png(temporary_path("no_such_directory/mask.png"), mask),
                    Catch::Contains("does not exist"));
}

TEST_CASE("malformed image files give errors naming the file and the reason", "[io][image]") {
  std::string png = read_bytes(testing::fixture_path("images/rgb8.png"));
  std::string jpeg = read_bytes(testing::fixture_path("images/jpeg420.jpg"));
  std::string truncated_png = temporary_path("truncated.png");
  write_bytes(truncated_png, png.substr(0, png.size() / 2));
  CHECK_THROWS_WITH(io::read_image(truncated_png), Catch::Contains(truncated_png) && Catch::Contains("truncated"));

  std::string truncated_jpeg = temporary_path("truncated.jpg");
  write_bytes(truncated_jpeg, jpeg.substr(0, jpeg.size() / 2));
  CHECK_THROWS_WITH(io::read_image(truncated_jpeg),
                    Catch::Contains(truncated_jpeg) && Catch::Contains("Premature end of JPEG file"));

  std::string header_only_jpeg = temporary_path("header_only.jpg");
  write_bytes(header_only_jpeg, jpeg.substr(0, 20));
  CHECK_THROWS_WITH(io::read_image(header_only_jpeg), Catch::Contains(header_only_jpeg));

  std::string text = temporary_path("text.png");
  write_bytes(text, "this is not an image\n");
  CHECK_THROWS_WITH(io::read_image(text), Catch::Contains(text) && Catch::Contains("not a PNG or JPEG"));

  std::string empty = temporary_path("empty.png");
  write_bytes(empty, "");
  CHECK_THROWS_WITH(io::read_image(empty), Catch::Contains(empty) && Catch::Contains("empty"));

  std::string missing = temporary_path("does_not_exist.png");
  std::filesystem::remove(missing);
  CHECK_THROWS_WITH(io::read_image(missing), Catch::Contains(missing) && Catch::Contains("No such file"));
  CHECK_THROWS_WITH(io::read_png_labels(missing), Catch::Contains(missing));

  CHECK_THROWS_WITH(io::read_image(std::filesystem::temp_directory_path().string()),
                    Catch::Contains("directory"));

  std::string gif = temporary_path("image.gif");
  write_bytes(gif, "GIF89a\x01\x00\x01\x00");
  CHECK_THROWS_WITH(io::read_image(gif), Catch::Contains(gif) && Catch::Contains("GIF"));
  std::string tiff = temporary_path("image.tif");
  write_bytes(tiff, std::string("MM\0*\0\0\0\x08", 8));
  CHECK_THROWS_WITH(io::read_image(tiff), Catch::Contains(tiff) && Catch::Contains("TIFF"));
  std::string almost_tiff = temporary_path("almost_tiff.png");
  write_bytes(almost_tiff, "MM is not a TIFF signature");
  CHECK_THROWS_WITH(io::read_image(almost_tiff), Catch::Contains("not a PNG or JPEG"));

  // A corrupted critical chunk: libpng's CRC check.
  std::string corrupt = temporary_path("corrupt_crc.png");
  std::string damaged = png;
  damaged[20] = static_cast<char>(damaged[20] ^ 0x40);  // inside IHDR's width
  write_bytes(corrupt, damaged);
  CHECK_THROWS_WITH(io::read_image(corrupt), Catch::Contains(corrupt) && Catch::Contains("CRC"));

  // Decoding keeps working after errors (no state left behind by the longjmps).
  CHECK(io::read_image(testing::fixture_path("images/jpeg420.jpg")).shape() == Shape{37, 53, 3});
  CHECK(io::read_image(testing::fixture_path("images/rgb8.png")).shape() == Shape{7, 13, 3});
}

TEST_CASE("every prefix and many corruptions of a PNG and a JPEG decode or throw, never crash", "[io][image]") {
  for (const char* name : {"images/palette2_interlaced.png", "images/rgb16.png", "images/jpeg_progressive.jpg",
                           "images/jpeg420.jpg"}) {
    std::string bytes = read_bytes(testing::fixture_path(name));
    // Corruption may change the header's size fields; any (H, W, 3) uint8 result is a valid outcome.
    auto decode = [&](const std::string& data) {
      try {
        Tensor image = io::decode_image(reinterpret_cast<const uint8_t*>(data.data()), data.size(), name);
        return image.dim() == 3 && image.size(2) == 3 && image.dtype() == DType::u8 ? 1 : -1;
      } catch (const Error&) {
        return 0;
      }
    };
    int decoded = 0, failed = 0;
    for (size_t length = 0; length < bytes.size(); ++length) {
      int result = decode(bytes.substr(0, length));
      REQUIRE(result >= 0);
      (result == 1 ? decoded : failed) += 1;
    }
    uint64_t state = 12345;
    for (int trial = 0; trial < 200; ++trial) {
      std::string damaged = bytes;
      for (int flip = 0; flip < 3; ++flip) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        damaged[(state >> 33) % damaged.size()] ^= static_cast<char>(1 + (state >> 20) % 255);
      }
      int result = decode(damaged);
      REQUIRE(result >= 0);
      (result == 1 ? decoded : failed) += 1;
    }
    std::printf("%-32s prefixes and corruptions: %d decoded, %d rejected\n", name, decoded, failed);
  }
}

TEST_CASE("overlay_masks blends each mask's colour over the image", "[io][image]") {
  Tensor image = full({2, 3, 3}, 100.0, DType::u8);
  Tensor masks = zeros({2, 2, 3}, DType::f32);
  {
    NoGradGuard no_grad;
    masks.select(0, 0).select(0, 0).fill_(1.0);   // mask 0: the first row
    masks.select(0, 1).select(0, 1).fill_(-3.0);  // negative logits stay outside
    masks.select(0, 1).select(1, 2).fill_(0.5);   // mask 1: the last column
  }
  Tensor out = io::overlay_masks(image, masks, 0.5);
  std::vector<int64_t> pixels = out.to_vector<int64_t>();
  auto at = [&](int64_t y, int64_t x, int64_t c) { return pixels[(y * 3 + x) * 3 + c]; };
  CHECK(at(1, 0, 0) == 100);                   // outside both masks
  CHECK(at(0, 0, 0) == 65);                    // round(0.5 * 100 + 0.5 * 30)
  CHECK(at(0, 0, 2) == 178);                   // round(0.5 * 100 + 0.5 * 255) = 177.5 -> 178
  CHECK(at(1, 2, 0) == 178);                   // mask 1's colour (255, 127, 14)
  CHECK(at(0, 2, 0) == 160);                   // both: mask 1 over mask 0: 0.5 * 65 + 0.5 * 255
  CHECK(at(0, 1, 1) == 122);                   // 0.5 * 100 + 0.5 * 144
  CHECK(io::overlay_masks(image, gt(masks.select(0, 0), 0.0)).to_vector<int64_t>() ==
        io::overlay_masks(image, masks.select(0, 0)).to_vector<int64_t>());
  CHECK_THROWS_WITH(io::overlay_masks(image, zeros({2, 4})), Catch::Contains("overlay_masks"));
  CHECK_THROWS_WITH(io::overlay_masks(image, masks, 1.5), Catch::Contains("alpha"));
}

}  // namespace qatd

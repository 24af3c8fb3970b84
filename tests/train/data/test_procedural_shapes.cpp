// Procedural shapes (train/data/procedural_shapes.h): determinism, exact visible masks that are
// disjoint and large enough, colours that tell instances from the background, the mix of object sizes,
// and the generation time. A hidden [data-viz] case writes overlays to look at.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/io/image.h"
#include "tests/test_support.h"
#include "train/data/distance_transform.h"
#include "train/data/procedural_shapes.h"

namespace qatd::train::data {

namespace {

bool same_image(const AnnotatedImage& a, const AnnotatedImage& b) {
  return a.image.shape() == b.image.shape() && a.image.to_vector<uint8_t>() == b.image.to_vector<uint8_t>() &&
         a.masks == b.masks && a.name == b.name;
}

// Largest distance from a mask pixel to the background (the border counts), in pixels.
double thickness(const Tensor& mask) {
  const std::vector<uint8_t> inside = mask.to(DType::u8).to_vector<uint8_t>();
  const std::vector<int64_t> distance = squared_distance_to_background(inside.data(), mask.size(0), mask.size(1), true);
  return std::sqrt(static_cast<double>(*std::max_element(distance.begin(), distance.end())));
}

}  // namespace

TEST_CASE("procedural shapes: items are fixed by (seed, index)", "[data]") {
  const ProceduralShapes source(10, 96, 1234);
  CHECK(source.size() == 10);
  CHECK(source.name(7) == "procedural #7");
  const AnnotatedImage item = source.load(3);
  CHECK(item.name == "procedural #3");
  CHECK(item.image.shape() == Shape{96, 96, 3});
  CHECK(item.image.dtype() == DType::u8);
  CHECK(same_image(item, source.load(3)));
  CHECK(same_image(item, ProceduralShapes(10, 96, 1234).load(3)));
  CHECK_FALSE(same_image(item, source.load(4)));
  CHECK_FALSE(same_image(item, ProceduralShapes(10, 96, 1235).load(3)));
  CHECK(item.image.to_vector<uint8_t>() != source.load(4).image.to_vector<uint8_t>());
  // Loading order and threads do not matter: item 3 after others is the same.
  source.load(9);
  CHECK(same_image(item, source.load(3)));

  CHECK(testing::error_message([&] { source.load(10); }).find("item 10") != std::string::npos);
  CHECK(testing::error_message([&] { source.load(-1); }).find("does not exist") != std::string::npos);
  CHECK(testing::error_message([] { ProceduralShapes(0, 64, 1); }).find("count") != std::string::npos);
  CHECK(testing::error_message([] { ProceduralShapes(5, 8, 1); }).find("image size") != std::string::npos);
  CHECK(testing::error_message([] { ProceduralShapes(5, 64, 1, {.min_objects = 4, .max_objects = 3}); }).find("min_objects") !=
        std::string::npos);
  CHECK(testing::error_message([] { ProceduralShapes(5, 64, 1, {.min_visible_fraction = 0.5}); }).find("min_visible_fraction") !=
        std::string::npos);
}

TEST_CASE("procedural shapes: loading from several threads gives the sequential items", "[data]") {
  const ProceduralShapes source(16, 64, 99);
  std::vector<AnnotatedImage> sequential;
  for (int64_t index = 0; index < source.size(); ++index) sequential.push_back(source.load(index));
  std::vector<AnnotatedImage> parallel(source.size());
  std::vector<std::thread> threads;
  for (int64_t worker = 0; worker < 4; ++worker) {
    threads.emplace_back([&, worker] {
      for (int64_t index = source.size() - 1 - worker; index >= 0; index -= 4) parallel[index] = source.load(index);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int64_t index = 0; index < source.size(); ++index) CHECK(same_image(sequential[index], parallel[index]));
}

TEST_CASE("procedural shapes: visible masks are disjoint, large enough, and coloured apart", "[data]") {
  const int64_t size = 128, pixels = size * size;
  const ProceduralShapes source(60, size, 77);
  const int64_t min_area = static_cast<int64_t>(std::ceil(0.01 * pixels));
  int64_t instances = 0, distinct = 0;
  for (int64_t index = 0; index < source.size(); ++index) {
    const AnnotatedImage item = source.load(index);
    INFO(item.name);
    REQUIRE(!item.masks.empty());
    CHECK(item.masks.size() <= 6);
    const std::vector<uint8_t> rgb = item.image.to_vector<uint8_t>();
    std::vector<int64_t> owner(pixels, -1);
    for (size_t k = 0; k < item.masks.size(); ++k) {
      const Rle& rle = item.masks[k];
      REQUIRE(rle.height == size);
      REQUIRE(rle.width == size);
      CHECK(rle_area(rle) >= min_area);
      const Tensor decoded = rle_decode(rle);
      CHECK(rle_encode(decoded) == rle);  // canonical COCO runs, as the library's encoder writes them
      const std::vector<uint8_t> mask = decoded.to(DType::u8).to_vector<uint8_t>();
      for (int64_t p = 0; p < pixels; ++p) {
        if (!mask[p]) continue;
        CHECK(owner[p] == -1);  // disjoint
        owner[p] = static_cast<int64_t>(k);
      }
    }
    // Mean colours: of each instance, and of the pixels in no instance.
    std::vector<std::array<double, 3>> sums(item.masks.size() + 1, {0.0, 0.0, 0.0});
    std::vector<int64_t> counts(item.masks.size() + 1, 0);
    for (int64_t p = 0; p < pixels; ++p) {
      const size_t slot = owner[p] < 0 ? item.masks.size() : static_cast<size_t>(owner[p]);
      ++counts[slot];
      for (size_t c = 0; c < 3; ++c) sums[slot][c] += rgb[3 * p + c];
    }
    REQUIRE(counts.back() > 0);  // the masks never cover the whole image
    for (size_t k = 0; k < item.masks.size(); ++k) {
      double distance = 0.0;
      for (size_t c = 0; c < 3; ++c) {
        const double difference = sums[k][c] / counts[k] - sums.back()[c] / counts.back();
        distance += difference * difference;
      }
      distance = std::sqrt(distance);
      CHECK(distance > 20.0);
      distinct += distance > 40.0;
      ++instances;
    }
  }
  // Nearly every instance stands out from the background by its mean colour.
  std::printf("procedural shapes: %ld of %ld instances differ from the background mean by more than 40 levels\n",
              distinct, instances);
  CHECK(distinct >= 0.9 * instances);
}

TEST_CASE("procedural shapes: the minimum visible area is an option", "[data]") {
  const int64_t size = 64;
  const ProceduralShapes strict(20, size, 5, {.min_objects = 5, .max_objects = 5, .min_visible_fraction = 0.08});
  const ProceduralShapes loose(20, size, 5, {.min_objects = 5, .max_objects = 5, .min_visible_fraction = 0.0});
  int64_t strict_count = 0, loose_count = 0;
  for (int64_t index = 0; index < 20; ++index) {
    const AnnotatedImage item = strict.load(index);
    REQUIRE(!item.masks.empty());
    for (const Rle& rle : item.masks) CHECK(rle_area(rle) >= static_cast<int64_t>(std::ceil(0.08 * size * size)));
    strict_count += static_cast<int64_t>(item.masks.size());
    const AnnotatedImage all = loose.load(index);
    for (const Rle& rle : all.masks) CHECK(rle_area(rle) > 0);
    loose_count += static_cast<int64_t>(all.masks.size());
  }
  CHECK(loose_count > strict_count);

  // One shape that must show a tenth of the image: layouts are redrawn until one does.
  const ProceduralShapes lonely(100, 32, 6, {.min_objects = 1, .max_objects = 1, .min_visible_fraction = 0.1});
  for (int64_t index = 0; index < lonely.size(); ++index) {
    const AnnotatedImage item = lonely.load(index);
    REQUIRE(item.masks.size() == 1);
    CHECK(rle_area(item.masks[0]) >= static_cast<int64_t>(std::ceil(0.1 * 32 * 32)));
  }
}

TEST_CASE("procedural shapes: object sizes", "[data]") {
  // The mix of objects: mostly compact and at least 3% of the image, a minority thin (no pixel farther
  // than 3 units of 1/256 of the image from the background).
  const int64_t size = 256;
  const ProceduralShapes source(200, size, 31);
  int64_t objects = 0, large = 0, thin = 0;
  for (int64_t index = 0; index < source.size(); ++index) {
    for (const Rle& rle : source.load(index).masks) {
      ++objects;
      large += rle_area(rle) >= 0.03 * size * size;
      thin += thickness(rle_decode(rle)) <= 3.0;
    }
  }
  std::printf("procedural shapes %ld^2: %.2f objects per image, %.0f%% at least 3%% of the image, %.0f%% thin\n", size,
              static_cast<double>(objects) / source.size(), 100.0 * large / objects, 100.0 * thin / objects);
  CHECK(large >= 0.6 * objects);
  CHECK(thin >= 0.05 * objects);
  CHECK(thin <= 0.3 * objects);
}

TEST_CASE("procedural shapes: generation time is printed", "[data]") {
  for (int64_t image_size : {256, 1024}) {
    const ProceduralShapes timed(20, image_size, 8);
    const int64_t items = image_size == 256 ? 20 : 8;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t index = 0; index < items; ++index) timed.load(index);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("procedural shapes %ld^2: %.2f ms per image\n", image_size, 1000.0 * seconds / items);
  }
}

TEST_CASE("procedural shapes: write overlays to look at", "[.][data-viz]") {
  for (int64_t image_size : {256, 1024}) {
    const ProceduralShapes source(6, image_size, 2025);
    for (int64_t index = 0; index < source.size(); ++index) {
      const AnnotatedImage item = source.load(index);
      std::vector<Tensor> masks;
      for (const Rle& rle : item.masks) masks.push_back(rle_decode(rle));
      const std::string stem = "procedural_" + std::to_string(image_size) + "_" + std::to_string(index);
      io::write_png(testing::temporary_path(stem + "_image.png"), item.image);
      io::write_png(testing::temporary_path(stem + "_overlay.png"), io::overlay_masks(item.image, stack(masks), 0.55));
      std::printf("%s: %zu instances\n", testing::temporary_path(stem + "_overlay.png").c_str(), item.masks.size());
    }
  }
}

}  // namespace qatd::train::data

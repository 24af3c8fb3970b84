// The exact Euclidean distance transform (train/data/distance_transform.h) against a brute-force
// minimum over every background pixel (and the one-pixel border, when it counts as background).
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "engine/random.h"
#include "train/data/distance_transform.h"

namespace qatd::train::data {

namespace {

std::vector<int64_t> brute_force(const std::vector<uint8_t>& inside, int64_t height, int64_t width, bool border) {
  std::vector<int64_t> result(inside.size(), kNoBackground);
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      int64_t best = kNoBackground;
      for (int64_t by = border ? -1 : 0; by < height + (border ? 1 : 0); ++by) {
        for (int64_t bx = border ? -1 : 0; bx < width + (border ? 1 : 0); ++bx) {
          const bool outside_grid = by < 0 || by >= height || bx < 0 || bx >= width;
          if (!outside_grid && inside[by * width + bx]) continue;
          best = std::min(best, (x - bx) * (x - bx) + (y - by) * (y - by));
        }
      }
      result[y * width + x] = best;
    }
  }
  return result;
}

}  // namespace

TEST_CASE("distance transform: equals the brute-force squared distance to the background", "[data]") {
  Generator generator(99);
  for (int64_t trial = 0; trial < 60; ++trial) {
    const int64_t height = 1 + static_cast<int64_t>(generator.uniform() * 23);
    const int64_t width = 1 + static_cast<int64_t>(generator.uniform() * 23);
    // From sparse to nearly full masks, including full ones.
    const double density = trial % 10 == 0 ? 1.0 : generator.uniform();
    std::vector<uint8_t> inside(height * width);
    for (uint8_t& pixel : inside) pixel = generator.uniform() < density ? 1 : 0;
    for (bool border : {false, true}) {
      INFO("trial " << trial << ": " << height << " x " << width << ", border " << border);
      CHECK(squared_distance_to_background(inside.data(), height, width, border) ==
            brute_force(inside, height, width, border));
    }
  }
}

TEST_CASE("distance transform: hand-computed values", "[data]") {
  // One background pixel in the middle of a 3 x 5 object: squared distances without the border.
  std::vector<uint8_t> inside(15, 1);
  inside[7] = 0;
  const std::vector<int64_t> expected = {5, 2, 1, 2, 5, 4, 1, 0, 1, 4, 5, 2, 1, 2, 5};
  CHECK(squared_distance_to_background(inside.data(), 3, 5, false) == expected);
  // With the border, the edge pixels are at distance 1.
  const std::vector<int64_t> bordered = {1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1};
  CHECK(squared_distance_to_background(inside.data(), 3, 5, true) == bordered);
  // No background at all, and no border.
  std::vector<uint8_t> full(6, 1);
  CHECK(squared_distance_to_background(full.data(), 2, 3, false) == std::vector<int64_t>(6, kNoBackground));
}

}  // namespace qatd::train::data

// The even-odd scanline rasterizer (train/data/polygon_raster.h) against hand-counted pixels and a
// per-pixel point-in-polygon test (the crossing-number test of W. R. Franklin's PNPOLY).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/random.h"
#include "train/data/polygon_raster.h"

namespace qatd::train::data {

namespace {

std::vector<uint8_t> paint(const std::vector<Span>& spans, int64_t height, int64_t width) {
  std::vector<uint8_t> grid(height * width, 0);
  for (const Span& span : spans) {
    REQUIRE(span.row >= 0);
    REQUIRE(span.row < height);
    REQUIRE(span.begin >= 0);
    REQUIRE(span.begin < span.end);
    REQUIRE(span.end <= width);
    for (int64_t x = span.begin; x < span.end; ++x) {
      REQUIRE(grid[span.row * width + x] == 0);  // spans do not overlap
      grid[span.row * width + x] = 1;
    }
  }
  return grid;
}

bool pnpoly(const std::vector<Polygon>& polygons, double x, double y) {
  bool inside = false;
  for (const Polygon& polygon : polygons) {
    for (size_t i = 0, j = polygon.size() - 1; i < polygon.size(); j = i++) {
      const Point& a = polygon[i];
      const Point& b = polygon[j];
      if ((a.y > y) != (b.y > y) && x < (b.x - a.x) * (y - a.y) / (b.y - a.y) + a.x) inside = !inside;
    }
  }
  return inside;
}

}  // namespace

TEST_CASE("polygon raster: a rectangle with a hole, by hand", "[data]") {
  // The square [2, 9] x [1, 8]: centres 2.5 .. 8.5 and 1.5 .. 7.5, so columns 2..8 and rows 1..7; the
  // hole [4, 6] x [3, 5] removes columns 4, 5 and rows 3, 4.
  const Polygon outer = {{2, 1}, {9, 1}, {9, 8}, {2, 8}};
  const Polygon hole = {{4, 3}, {6, 3}, {6, 5}, {4, 5}};
  const std::vector<uint8_t> grid = paint(rasterize_even_odd({outer, hole}, 10, 12), 10, 12);
  for (int64_t y = 0; y < 10; ++y) {
    for (int64_t x = 0; x < 12; ++x) {
      const bool in_outer = x >= 2 && x <= 8 && y >= 1 && y <= 7;
      const bool in_hole = x >= 4 && x <= 5 && y >= 3 && y <= 4;
      INFO("pixel (" << x << ", " << y << ")");
      CHECK(grid[y * 12 + x] == (in_outer && !in_hole ? 1 : 0));
    }
  }
  // Clipped to the grid: a polygon larger than the image covers all of it.
  const std::vector<uint8_t> all = paint(rasterize_even_odd({{{-5, -5}, {50, -5}, {50, 50}, {-5, 50}}}, 6, 7), 6, 7);
  CHECK(std::count(all.begin(), all.end(), 1) == 42);
  CHECK(rasterize_even_odd({{{100, 100}, {120, 100}, {110, 120}}}, 6, 7).empty());
}

TEST_CASE("polygon raster: random polygons match a per-pixel point-in-polygon test", "[data]") {
  Generator generator(17);
  const int64_t height = 37, width = 41;
  for (int64_t trial = 0; trial < 50; ++trial) {
    // One or two random (often self-intersecting) polygons reaching past the grid.
    std::vector<Polygon> polygons(1 + trial % 2);
    for (Polygon& polygon : polygons) {
      const int64_t vertices = 3 + static_cast<int64_t>(generator.uniform() * 10);
      for (int64_t k = 0; k < vertices; ++k) {
        polygon.push_back({-5.0 + 51.0 * generator.uniform(), -5.0 + 47.0 * generator.uniform()});
      }
    }
    const std::vector<uint8_t> grid = paint(rasterize_even_odd(polygons, height, width), height, width);
    int64_t mismatches = 0;
    for (int64_t y = 0; y < height; ++y) {
      for (int64_t x = 0; x < width; ++x) {
        mismatches += grid[y * width + x] != (pnpoly(polygons, x + 0.5, y + 0.5) ? 1 : 0);
      }
    }
    INFO("trial " << trial);
    CHECK(mismatches == 0);
  }
}

}  // namespace qatd::train::data

// Scanline even-odd filling: per row, the crossings of the row's centre line with every edge, sorted;
// consecutive pairs bound the inside.
#include "train/data/polygon_raster.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"

namespace qatd::train::data {

std::vector<Span> rasterize_even_odd(const std::vector<Polygon>& polygons, int64_t height, int64_t width) {
  QATD_CHECK(height >= 1 && width >= 1, "rasterize_even_odd: the grid must not be empty, got {} x {}", height, width);
  double top = std::numeric_limits<double>::infinity(), bottom = -std::numeric_limits<double>::infinity();
  for (const Polygon& polygon : polygons) {
    for (const Point& point : polygon) {
      QATD_CHECK(std::isfinite(point.x) && std::isfinite(point.y),
                 "rasterize_even_odd: a vertex is not finite ({}, {})", point.x, point.y);
      top = std::min(top, point.y);
      bottom = std::max(bottom, point.y);
    }
  }
  std::vector<Span> spans;
  if (!(top <= bottom)) return spans;
  // Rows whose centre row + 0.5 lies in [top, bottom].
  const int64_t first_row = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(top - 0.5)));
  const int64_t last_row = std::min<int64_t>(height - 1, static_cast<int64_t>(std::floor(bottom - 0.5)));
  std::vector<double> crossings;
  for (int64_t row = first_row; row <= last_row; ++row) {
    const double center = static_cast<double>(row) + 0.5;
    crossings.clear();
    for (const Polygon& polygon : polygons) {
      for (size_t i = 0, previous = polygon.size() - 1; i < polygon.size(); previous = i++) {
        const Point& a = polygon[previous];
        const Point& b = polygon[i];
        if ((a.y <= center) == (b.y <= center)) continue;
        crossings.push_back(a.x + (center - a.y) * (b.x - a.x) / (b.y - a.y));
      }
    }
    std::sort(crossings.begin(), crossings.end());
    // Inside between crossings 2k and 2k + 1: the pixels with left < column + 0.5 <= right.
    for (size_t k = 0; k + 1 < crossings.size(); k += 2) {
      const double left = std::clamp(crossings[k], -1.0, static_cast<double>(width) + 1.0);
      const double right = std::clamp(crossings[k + 1], -1.0, static_cast<double>(width) + 1.0);
      const int64_t begin = std::max<int64_t>(0, static_cast<int64_t>(std::floor(left - 0.5)) + 1);
      const int64_t end = std::min<int64_t>(width, static_cast<int64_t>(std::floor(right - 0.5)) + 1);
      if (begin < end) spans.push_back({row, begin, end});
    }
  }
  return spans;
}

}  // namespace qatd::train::data

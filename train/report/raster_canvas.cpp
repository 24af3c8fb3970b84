// RasterCanvas: the pixel-centre rules for shapes and the placement of bitmap-font glyphs.
#include "train/report/raster_canvas.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/error.h"
#include "train/report/bitmap_font.h"

namespace qatd::train::report {

namespace {

// The pixel range [first, last) whose centres lie in [low, high], clipped to [0, size).
void centre_range(double low, double high, int64_t size, int64_t& first, int64_t& last) {
  first = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(low - 0.5)));
  last = std::min<int64_t>(size, static_cast<int64_t>(std::floor(high - 0.5)) + 1);
}

double distance_to_segment(double px, double py, Point a, Point b) {
  double dx = b.x - a.x, dy = b.y - a.y;
  double length_squared = dx * dx + dy * dy;
  double t = length_squared > 0.0 ? std::clamp(((px - a.x) * dx + (py - a.y) * dy) / length_squared, 0.0, 1.0) : 0.0;
  double ex = a.x + t * dx - px, ey = a.y + t * dy - py;
  return std::sqrt(ex * ex + ey * ey);
}

}  // namespace

RasterCanvas::RasterCanvas(int64_t width, int64_t height, Rgb background) : width_(width), height_(height) {
  QATD_CHECK(width >= 1 && height >= 1 && width * height <= (int64_t{1} << 28),
             "raster canvas: size {}x{} must be positive and at most 2^28 pixels", width, height);
  pixels_.resize(static_cast<size_t>(width * height * 3));
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = background.red;
    pixels_[i + 1] = background.green;
    pixels_[i + 2] = background.blue;
  }
}

Rgb RasterCanvas::pixel(int64_t x, int64_t y) const {
  QATD_CHECK(x >= 0 && x < width_ && y >= 0 && y < height_, "raster canvas: pixel ({}, {}) is outside {}x{}", x, y,
             width_, height_);
  const uint8_t* p = &pixels_[static_cast<size_t>((y * width_ + x) * 3)];
  return Rgb{p[0], p[1], p[2]};
}

void RasterCanvas::put(int64_t x, int64_t y, Rgb color) {
  if (x < 0 || x >= width_ || y < 0 || y >= height_) return;
  uint8_t* p = &pixels_[static_cast<size_t>((y * width_ + x) * 3)];
  p[0] = color.red;
  p[1] = color.green;
  p[2] = color.blue;
}

void RasterCanvas::fill_rect(double left, double top, double right, double bottom, Rgb color) {
  int64_t x0, x1, y0, y1;
  centre_range(left, right, width_, x0, x1);
  centre_range(top, bottom, height_, y0, y1);
  for (int64_t y = y0; y < y1; ++y) {
    for (int64_t x = x0; x < x1; ++x) put(x, y, color);
  }
}

void RasterCanvas::stroke_line(Point from, Point to, double width, Rgb color) {
  double reach = std::max(width / 2.0, 0.5);
  int64_t x0, x1, y0, y1;
  centre_range(std::min(from.x, to.x) - reach, std::max(from.x, to.x) + reach, width_, x0, x1);
  centre_range(std::min(from.y, to.y) - reach, std::max(from.y, to.y) + reach, height_, y0, y1);
  for (int64_t y = y0; y < y1; ++y) {
    for (int64_t x = x0; x < x1; ++x) {
      if (distance_to_segment(x + 0.5, y + 0.5, from, to) <= reach) put(x, y, color);
    }
  }
}

void RasterCanvas::fill_circle(Point centre, double radius, Rgb color) {
  int64_t x0, x1, y0, y1;
  centre_range(centre.x - radius, centre.x + radius, width_, x0, x1);
  centre_range(centre.y - radius, centre.y + radius, height_, y0, y1);
  for (int64_t y = y0; y < y1; ++y) {
    for (int64_t x = x0; x < x1; ++x) {
      double dx = x + 0.5 - centre.x, dy = y + 0.5 - centre.y;
      if (dx * dx + dy * dy <= radius * radius) put(x, y, color);
    }
  }
}

void RasterCanvas::fill_polygon(const std::vector<Point>& corners, Rgb color) {
  if (corners.size() < 3) return;
  double top = corners[0].y, bottom = corners[0].y;
  for (const Point& corner : corners) {
    top = std::min(top, corner.y);
    bottom = std::max(bottom, corner.y);
  }
  int64_t y0, y1;
  centre_range(top, bottom, height_, y0, y1);
  std::vector<double> crossings;
  for (int64_t y = y0; y < y1; ++y) {
    double cy = y + 0.5;
    crossings.clear();
    for (size_t i = 0; i < corners.size(); ++i) {
      Point a = corners[i], b = corners[(i + 1) % corners.size()];
      // Half-open in y, so a vertex shared by two edges is counted once.
      if ((a.y <= cy) != (b.y <= cy)) crossings.push_back(a.x + (cy - a.y) / (b.y - a.y) * (b.x - a.x));
    }
    std::sort(crossings.begin(), crossings.end());
    for (size_t i = 0; i + 1 < crossings.size(); i += 2) {
      int64_t x0, x1;
      centre_range(crossings[i], crossings[i + 1], width_, x0, x1);
      for (int64_t x = x0; x < x1; ++x) put(x, y, color);
    }
  }
}

void RasterCanvas::draw_text(Point origin, const std::string& text, int scale, Rgb color, TextDirection direction,
                             bool bold) {
  QATD_CHECK(scale >= 1, "raster canvas: text scale must be at least 1, got {}", scale);
  auto base_x = static_cast<int64_t>(std::lround(origin.x));
  auto base_y = static_cast<int64_t>(std::lround(origin.y));
  int64_t along = 0;  // font pixels from the origin along the line
  for (char32_t code_point : decode_utf8(text)) {
    const GlyphRows& rows = glyph(code_point);
    for (int row = 0; row < kGlyphRows; ++row) {
      for (int column = 0; column < kGlyphWidth; ++column) {
        if (!(rows[row] >> (kGlyphWidth - 1 - column) & 1)) continue;
        for (int copy = 0; copy <= (bold ? 1 : 0); ++copy) {
          int64_t u = (along + column) * scale + copy;  // along the line
          int64_t v = (row - kGlyphAscent) * scale;     // across it, negative above the baseline
          for (int64_t i = 0; i < scale; ++i) {
            for (int64_t j = 0; j < scale; ++j) {
              if (direction == TextDirection::horizontal) {
                put(base_x + u + i, base_y + v + j, color);
              } else {
                put(base_x + v + j, base_y - 1 - u - i, color);
              }
            }
          }
        }
      }
    }
    along += kGlyphAdvance;
  }
}

Tensor RasterCanvas::to_tensor() const {
  Tensor image = zeros({height_, width_, 3}, DType::u8);
  std::memcpy(image.data<uint8_t>(), pixels_.data(), pixels_.size());
  return image;
}

}  // namespace qatd::train::report

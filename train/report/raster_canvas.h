#pragma once
// An RGB canvas for the chart rasters: filled shapes, thick lines and bitmap-font text, without
// anti-aliasing, so every inked pixel has exactly the colour it was drawn with (tests look for the
// series colours) and the same drawing always gives the same bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace qatd::train::report {

struct Rgb {
  uint8_t red = 0, green = 0, blue = 0;
  bool operator==(const Rgb&) const = default;
};

struct Point {
  double x = 0.0, y = 0.0;
};

// Horizontal text, or text turned 90 degrees counter-clockwise (reading upwards, as y-axis labels).
enum class TextDirection { horizontal, upward };

// Coordinates are in pixels from the top-left corner; pixel (column i, row j) covers [i, i+1) x [j, j+1)
// and is painted when its centre (i + 0.5, j + 0.5) lies inside the shape. Shapes may reach outside the
// canvas: the part outside is dropped.
class RasterCanvas {
 public:
  RasterCanvas(int64_t width, int64_t height, Rgb background);

  int64_t width() const { return width_; }
  int64_t height() const { return height_; }
  Rgb pixel(int64_t x, int64_t y) const;

  void fill_rect(double left, double top, double right, double bottom, Rgb color);
  // Pixels within max(width / 2, 0.5) of the segment: round caps, no gaps at any slope.
  void stroke_line(Point from, Point to, double width, Rgb color);
  void fill_circle(Point centre, double radius, Rgb color);
  // A simple polygon (even-odd rule).
  void fill_polygon(const std::vector<Point>& corners, Rgb color);

  // Text in the bitmap font, each font pixel drawn as a scale x scale block. `origin` is where the
  // baseline starts: horizontal text runs right from it with glyphs above it; upward text runs up from
  // it with the glyph tops to the left. Bold draws each glyph twice, one pixel apart along the line.
  void draw_text(Point origin, const std::string& text, int scale, Rgb color, TextDirection direction, bool bold);

  // (height, width, 3) uint8.
  Tensor to_tensor() const;

 private:
  void put(int64_t x, int64_t y, Rgb color);

  int64_t width_, height_;
  std::vector<uint8_t> pixels_;  // row-major RGB
};

}  // namespace qatd::train::report

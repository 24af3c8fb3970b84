#pragma once
// A chart as a list of drawing primitives in pixel coordinates, rendered either as SVG text or into
// a RasterCanvas. Both renderers take every position from the same list, which is what keeps the SVG
// and the PNG of a chart identical in layout.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "engine/tensor.h"
#include "train/report/raster_canvas.h"

namespace qatd::train::report {

enum class MarkerShape { circle, square, triangle_up, diamond, triangle_down };
enum class TextAnchor { start, middle, end };

// Text in the bitmap font's metrics: `scale` font pixels per glyph pixel, so a character advances
// kGlyphAdvance * scale pixels; SVG draws it in a monospace font of size 10 * scale (whose advance is
// the same 0.6 em). `origin` is on the baseline. The raster renderer draws rotations 0 and -90
// (reading upwards) only; SVG any.
struct SceneText {
  Point origin;
  std::string text;
  int scale = 1;
  Rgb color;
  TextAnchor anchor = TextAnchor::start;
  double rotation_degrees = 0.0;
  bool bold = false;
};

struct SceneLine {
  Point from, to;
  double width = 1.0;
  Rgb color;
};

struct ScenePolyline {
  std::vector<Point> points;
  double width = 1.0;
  Rgb color;
};

struct SceneRect {
  double left = 0.0, top = 0.0, right = 0.0, bottom = 0.0;
  Rgb fill;
  std::string css_class;  // SVG class attribute ("bar"), empty for none
};

// A data marker (SVG class "marker", one element per point) or a legend sample ("legend-marker").
struct SceneMarker {
  Point centre;
  double radius = 3.0;
  MarkerShape shape = MarkerShape::circle;
  Rgb color;
  bool legend = false;
};

using SceneItem = std::variant<SceneText, SceneLine, ScenePolyline, SceneRect, SceneMarker>;

struct Scene {
  int64_t width = 0, height = 0;
  Rgb background{255, 255, 255};
  std::vector<SceneItem> items;  // in drawing order
};

// The pixels a text covers along its line: text_width * scale (plus one for bold).
double scene_text_length(const SceneText& text);

// Corners of the polygon markers (triangles, diamond) around `centre`; empty for circle and square
// (a square has half side 0.85 * radius).
std::vector<Point> marker_corners(MarkerShape shape, Point centre, double radius);

std::string render_svg(const Scene& scene);
// (height, width, 3) uint8. Throws for text rotated other than 0 or -90 degrees.
Tensor render_raster(const Scene& scene);

// Text with &, <, >, " and ' replaced by entities (and control characters XML cannot hold by "?").
std::string xml_escape(const std::string& text);

}  // namespace qatd::train::report

// The SVG and raster renderers of a chart Scene.
#include "train/report/scene.h"

#include <cmath>

#include <fmt/format.h>

#include "engine/error.h"
#include "train/report/bitmap_font.h"

namespace qatd::train::report {

namespace {

constexpr double kSquareHalfSide = 0.85;
constexpr int kSvgFontSizePerScale = 10;  // monospace advance 0.6 em == kGlyphAdvance font pixels

// Two decimals without trailing zeros: short, and the same bytes for the same picture.
std::string number(double value) {
  std::string text = fmt::format("{:.2f}", value);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text == "-0" ? "0" : text;
}

std::string hex(Rgb color) { return fmt::format("#{:02x}{:02x}{:02x}", color.red, color.green, color.blue); }

std::string svg_points(const std::vector<Point>& points) {
  std::string text;
  for (const Point& point : points) {
    if (!text.empty()) text += ' ';
    text += number(point.x) + "," + number(point.y);
  }
  return text;
}

const char* anchor_name(TextAnchor anchor) {
  switch (anchor) {
    case TextAnchor::start: return "start";
    case TextAnchor::middle: return "middle";
    case TextAnchor::end: return "end";
  }
  return "start";
}

struct SvgWriter {
  std::string& out;

  void operator()(const SceneText& text) const {
    out += fmt::format(R"(<text x="{}" y="{}" font-size="{}" fill="{}")", number(text.origin.x), number(text.origin.y),
                       kSvgFontSizePerScale * text.scale, hex(text.color));
    if (text.anchor != TextAnchor::start) out += fmt::format(R"( text-anchor="{}")", anchor_name(text.anchor));
    if (text.bold) out += R"( font-weight="bold")";
    if (text.rotation_degrees != 0.0) {
      out += fmt::format(R"svg( transform="rotate({} {} {})")svg", number(text.rotation_degrees), number(text.origin.x),
                         number(text.origin.y));
    }
    out += ">" + xml_escape(text.text) + "</text>\n";
  }
  void operator()(const SceneLine& line) const {
    out += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{}"/>)", number(line.from.x),
                       number(line.from.y), number(line.to.x), number(line.to.y), hex(line.color), number(line.width));
    out += "\n";
  }
  void operator()(const ScenePolyline& polyline) const {
    out += fmt::format(R"(<polyline points="{}" fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round" )"
                       R"(stroke-linecap="round"/>)",
                       svg_points(polyline.points), hex(polyline.color), number(polyline.width));
    out += "\n";
  }
  void operator()(const SceneRect& rect) const {
    out += "<rect";
    if (!rect.css_class.empty()) out += fmt::format(R"( class="{}")", xml_escape(rect.css_class));
    out += fmt::format(R"( x="{}" y="{}" width="{}" height="{}" fill="{}"/>)", number(rect.left), number(rect.top),
                       number(rect.right - rect.left), number(rect.bottom - rect.top), hex(rect.fill));
    out += "\n";
  }
  void operator()(const SceneMarker& marker) const {
    const char* css_class = marker.legend ? "legend-marker" : "marker";
    if (marker.shape == MarkerShape::circle) {
      out += fmt::format(R"(<circle class="{}" cx="{}" cy="{}" r="{}" fill="{}"/>)", css_class, number(marker.centre.x),
                         number(marker.centre.y), number(marker.radius), hex(marker.color));
    } else if (marker.shape == MarkerShape::square) {
      double half = kSquareHalfSide * marker.radius;
      out += fmt::format(R"(<rect class="{}" x="{}" y="{}" width="{}" height="{}" fill="{}"/>)", css_class,
                         number(marker.centre.x - half), number(marker.centre.y - half), number(2 * half),
                         number(2 * half), hex(marker.color));
    } else {
      out += fmt::format(R"(<polygon class="{}" points="{}" fill="{}"/>)", css_class,
                         svg_points(marker_corners(marker.shape, marker.centre, marker.radius)), hex(marker.color));
    }
    out += "\n";
  }
};

struct RasterWriter {
  RasterCanvas& canvas;

  void operator()(const SceneText& text) const {
    bool upward = text.rotation_degrees == -90.0;
    QATD_CHECK(text.rotation_degrees == 0.0 || upward,
               "chart raster: text '{}' is rotated by {} degrees; only 0 and -90 can be drawn", text.text,
               text.rotation_degrees);
    double shift = text.anchor == TextAnchor::start    ? 0.0
                   : text.anchor == TextAnchor::middle ? scene_text_length(text) / 2.0
                                                       : scene_text_length(text);
    Point origin = upward ? Point{text.origin.x, text.origin.y + shift} : Point{text.origin.x - shift, text.origin.y};
    canvas.draw_text(origin, text.text, text.scale, text.color,
                     upward ? TextDirection::upward : TextDirection::horizontal, text.bold);
  }
  void operator()(const SceneLine& line) const { canvas.stroke_line(line.from, line.to, line.width, line.color); }
  void operator()(const ScenePolyline& polyline) const {
    for (size_t i = 0; i + 1 < polyline.points.size(); ++i) {
      canvas.stroke_line(polyline.points[i], polyline.points[i + 1], polyline.width, polyline.color);
    }
  }
  void operator()(const SceneRect& rect) const {
    canvas.fill_rect(rect.left, rect.top, rect.right, rect.bottom, rect.fill);
  }
  void operator()(const SceneMarker& marker) const {
    if (marker.shape == MarkerShape::circle) {
      canvas.fill_circle(marker.centre, marker.radius, marker.color);
    } else if (marker.shape == MarkerShape::square) {
      double half = kSquareHalfSide * marker.radius;
      canvas.fill_rect(marker.centre.x - half, marker.centre.y - half, marker.centre.x + half, marker.centre.y + half,
                       marker.color);
    } else {
      canvas.fill_polygon(marker_corners(marker.shape, marker.centre, marker.radius), marker.color);
    }
  }
};

}  // namespace

double scene_text_length(const SceneText& text) {
  return static_cast<double>(text_width(text.text)) * text.scale + (text.bold ? 1.0 : 0.0);
}

std::vector<Point> marker_corners(MarkerShape shape, Point centre, double radius) {
  // Triangles are a little larger than the circle so that the three shapes look equally heavy.
  double r = radius * 1.2, x = centre.x, y = centre.y;
  switch (shape) {
    case MarkerShape::triangle_up: return {{x, y - r}, {x + 0.866 * r, y + 0.5 * r}, {x - 0.866 * r, y + 0.5 * r}};
    case MarkerShape::triangle_down: return {{x, y + r}, {x - 0.866 * r, y - 0.5 * r}, {x + 0.866 * r, y - 0.5 * r}};
    case MarkerShape::diamond: return {{x, y - r}, {x + 0.8 * r, y}, {x, y + r}, {x - 0.8 * r, y}};
    case MarkerShape::circle:
    case MarkerShape::square: break;
  }
  return {};
}

std::string xml_escape(const std::string& text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      case '\'': escaped += "&apos;"; break;
      default:
        // XML 1.0 has no way to write the other control characters.
        escaped += static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r' ? '?' : c;
    }
  }
  return escaped;
}

std::string render_svg(const Scene& scene) {
  std::string out =
      fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" )"
                  R"(font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">)"
                  "\n",
                  scene.width, scene.height);
  out += fmt::format(R"(<rect width="{}" height="{}" fill="{}"/>)", scene.width, scene.height, hex(scene.background));
  out += "\n";
  SvgWriter writer{out};
  for (const SceneItem& item : scene.items) std::visit(writer, item);
  out += "</svg>\n";
  return out;
}

Tensor render_raster(const Scene& scene) {
  RasterCanvas canvas(scene.width, scene.height, scene.background);
  RasterWriter writer{canvas};
  for (const SceneItem& item : scene.items) std::visit(writer, item);
  return canvas.to_tensor();
}

}  // namespace qatd::train::report

// Panels -> Scene: validation, the panel layout (see chart_layout.h), axes, series and legend, and the
// placement of point tags where they cover the least of the other marks.
#include "train/report/chart_layout.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"
#include "train/report/bitmap_font.h"

namespace qatd::train::report {

namespace {

// Lengths in units of the text scale (one glyph pixel).
constexpr double kPad = 6.0;  // around each panel
constexpr double kTickLength = 3.0;
constexpr double kTickGap = 2.0;          // between a tick and its label
constexpr double kLabelGap = 6.0;         // between tick labels and the axis label, title and plot
constexpr double kLineHeight = 12.0;      // legend rows
constexpr double kLegendSample = 18.0;    // the line sample of a legend entry
constexpr double kLegendSpacing = 14.0;   // between legend entries
constexpr double kMinTickSpacing = 16.0;  // x ticks: also their labels' width
constexpr double kMinYTickSpacing = 15.0;
constexpr double kAscent = kGlyphAscent, kDescent = kGlyphRows - kGlyphAscent;

struct Box {
  double left, top, right, bottom;
};

double overlap_area(const Box& a, const Box& b) {
  double w = std::min(a.right, b.right) - std::max(a.left, b.left);
  double h = std::min(a.bottom, b.bottom) - std::max(a.top, b.top);
  return w > 0 && h > 0 ? w * h : 0.0;
}

// Whether segment a-b passes through the box (Liang-Barsky clipping).
bool crosses(const Box& box, Point a, Point b) {
  double t0 = 0.0, t1 = 1.0, dx = b.x - a.x, dy = b.y - a.y;
  for (auto [p, q] :
       {std::pair{-dx, a.x - box.left}, {dx, box.right - a.x}, {-dy, a.y - box.top}, {dy, box.bottom - a.y}}) {
    if (p == 0.0) {
      if (q < 0.0) return false;
    } else if (p < 0.0) {
      t0 = std::max(t0, q / p);
    } else {
      t1 = std::min(t1, q / p);
    }
  }
  return t0 <= t1;
}

// The finite points of a series, sorted by x.
struct PlottedSeries {
  const Series* series;
  size_t index;                // in the panel
  std::vector<size_t> points;  // indices into x / y / tags
};

std::vector<PlottedSeries> checked_series(const Panel& panel, size_t panel_index) {
  std::vector<PlottedSeries> plotted;
  for (size_t k = 0; k < panel.series.size(); ++k) {
    const Series& series = panel.series[k];
    QATD_CHECK(series.x.size() == series.y.size(), "chart: panel {} ('{}') series '{}': x has {} values but y has {}",
               panel_index, panel.title, series.label, series.x.size(), series.y.size());
    QATD_CHECK(series.tags.empty() || series.tags.size() == series.x.size(),
               "chart: panel {} ('{}') series '{}': {} tags for {} points (give one per point or none)", panel_index,
               panel.title, series.label, series.tags.size(), series.x.size());
    PlottedSeries entry{&series, k, {}};
    for (size_t i = 0; i < series.x.size(); ++i) {
      if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) continue;
      QATD_CHECK(!panel.log_x || series.x[i] > 0.0,
                 "chart: panel {} ('{}') series '{}': x[{}] = {} is not positive, but the x axis is logarithmic",
                 panel_index, panel.title, series.label, i, series.x[i]);
      entry.points.push_back(i);
    }
    std::stable_sort(entry.points.begin(), entry.points.end(),
                     [&](size_t a, size_t b) { return series.x[a] < series.x[b]; });
    plotted.push_back(std::move(entry));
  }
  return plotted;
}

struct LegendEntry {
  size_t series;
  double left, baseline;  // where the line sample starts
};

struct PanelLayout {
  PlotArea area;
  double title_baseline = 0.0, x_tick_baseline = 0.0, x_label_baseline = 0.0, y_label_x = 0.0, y_tick_right = 0.0;
  std::vector<LegendEntry> legend;
};

double label_width(const std::vector<std::string>& labels, double u) {
  int widest = 0;
  for (const std::string& label : labels) widest = std::max(widest, text_width(label));
  return widest * u;
}

// The x axis with as many ticks as fit without their labels touching.
Axis fitted_x_axis(bool log, double low, double high, double plot_width, double u) {
  for (int max_ticks = std::max(2, static_cast<int>(plot_width / (kMinTickSpacing * u)));; --max_ticks) {
    Axis axis = log ? log_axis(low, high, max_ticks) : linear_axis(low, high, max_ticks);
    double closest = std::numeric_limits<double>::infinity();
    for (size_t i = 1; i < axis.ticks.size(); ++i) {
      closest = std::min(closest, (axis.fraction(axis.ticks[i]) - axis.fraction(axis.ticks[i - 1])) * plot_width);
    }
    if (max_ticks <= 2 || closest >= label_width(axis.tick_labels, u) + 3 * kGlyphAdvance * u) return axis;
  }
}

PanelLayout layout_panel(const Panel& panel, const std::vector<PlottedSeries>& plotted, size_t panel_index,
                         size_t panel_count, int64_t width, int64_t height, double u) {
  PanelLayout layout;
  double panel_left = std::floor(static_cast<double>(width) * panel_index / panel_count);
  double panel_right = std::floor(static_cast<double>(width) * (panel_index + 1) / panel_count);

  // Legend rows, filled greedily and centred under the panel.
  std::vector<std::vector<std::pair<size_t, double>>> rows;
  double available = panel_right - panel_left - 2 * kPad * u;
  double row_width = 0.0;
  for (size_t k = 0; k < plotted.size(); ++k) {
    double entry_width = (kLegendSample + kGlyphAdvance) * u + text_width(plotted[k].series->label) * u;
    if (rows.empty() || row_width + kLegendSpacing * u + entry_width > available) {
      rows.emplace_back();
      row_width = entry_width;
    } else {
      row_width += kLegendSpacing * u + entry_width;
    }
    rows.back().emplace_back(k, entry_width);
  }
  double last_baseline = static_cast<double>(height) - (kPad + kDescent) * u;
  double legend_top = static_cast<double>(height) - kPad * u;
  for (size_t r = 0; r < rows.size(); ++r) {
    double baseline = last_baseline - static_cast<double>(rows.size() - 1 - r) * kLineHeight * u;
    double total = -kLegendSpacing * u;
    for (const auto& entry : rows[r]) total += kLegendSpacing * u + entry.second;
    double left = (panel_left + panel_right - total) / 2.0;
    for (const auto& [series, entry_width] : rows[r]) {
      layout.legend.push_back({series, left, baseline});
      left += entry_width + kLegendSpacing * u;
    }
    if (r == 0) legend_top = baseline - kAscent * u - kLabelGap * u;
  }

  // Vertical: title, plot, x tick labels, x label, legend.
  layout.title_baseline = kPad * u + kAscent * u;
  double top = layout.title_baseline + (kDescent + kLabelGap) * u;
  double x_label_top = legend_top;
  if (!panel.x_label.empty()) {
    layout.x_label_baseline = legend_top - kDescent * u;
    x_label_top = layout.x_label_baseline - kAscent * u - kLabelGap * u;
  }
  layout.x_tick_baseline = x_label_top - kDescent * u;
  double bottom = layout.x_tick_baseline - (kAscent + kTickGap + kTickLength) * u;

  // The data ranges.
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min, y_min = x_min, y_max = -x_min;
  for (const PlottedSeries& entry : plotted) {
    for (size_t i : entry.points) {
      x_min = std::min(x_min, entry.series->x[i]);
      x_max = std::max(x_max, entry.series->x[i]);
      y_min = std::min(y_min, entry.series->y[i]);
      y_max = std::max(y_max, entry.series->y[i]);
    }
  }
  if (x_min > x_max) {  // nothing to plot: a unit range
    x_min = panel.log_x ? 1.0 : 0.0;
    x_max = panel.log_x ? 10.0 : 1.0;
    y_min = 0.0;
    y_max = 1.0;
  }

  // Horizontal: y label, y tick labels, plot; the y tick labels need the y axis, which needs the height.
  double plot_height = bottom - top;
  Axis y_axis = linear_axis(y_min, y_max, std::max(2, static_cast<int>(plot_height / (kMinYTickSpacing * u))));
  layout.y_label_x = panel_left + (kPad + kAscent) * u;
  double left = panel_left + kPad * u + (panel.y_label.empty() ? 0.0 : (kAscent + kDescent + kLabelGap) * u);
  layout.y_tick_right = left + label_width(y_axis.tick_labels, u);
  left = layout.y_tick_right + (kTickGap + kTickLength) * u;
  double right = panel_right - kPad * u;
  // The last x tick label is centred on its tick: shrink the plot until it stays inside the panel.
  Axis x_axis;
  for (int attempt = 0; attempt < 3; ++attempt) {
    x_axis = fitted_x_axis(panel.log_x, x_min, x_max, right - left, u);
    if (x_axis.ticks.empty()) break;
    double last = left + x_axis.fraction(x_axis.ticks.back()) * (right - left);
    double overflow = last + text_width(x_axis.tick_labels.back()) * u / 2.0 - (panel_right - kPad * u);
    if (overflow <= 0.0) break;
    right -= overflow;
  }

  layout.area.left = std::floor(left) + 0.5;
  layout.area.right = std::floor(right) + 0.5;
  layout.area.top = std::floor(top) + 0.5;
  layout.area.bottom = std::floor(bottom) + 0.5;
  QATD_CHECK(layout.area.right - layout.area.left >= 8 * u && layout.area.bottom - layout.area.top >= 8 * u,
             "chart: {}x{} pixels are too small for {} panel(s): panel {} ('{}') would get a {:.0f}x{:.0f} plot area",
             width, height, panel_count, panel_index, panel.title, layout.area.right - layout.area.left,
             layout.area.bottom - layout.area.top);
  layout.area.x_axis = std::move(x_axis);
  layout.area.y_axis = std::move(y_axis);
  return layout;
}

Point to_pixels(const PlotArea& area, double x, double y) {
  return {area.left + area.x_axis.fraction(x) * (area.right - area.left),
          area.bottom - area.y_axis.fraction(y) * (area.bottom - area.top)};
}

double snap(double position) { return std::floor(position) + 0.5; }

SceneText text(Point origin, std::string content, double u, Rgb color = kChartTextColor,
               TextAnchor anchor = TextAnchor::start) {
  return SceneText{origin, std::move(content), static_cast<int>(u), color, anchor, 0.0, false};
}

void draw_axes(const Panel& panel, const PanelLayout& layout, double u, Scene& scene) {
  const PlotArea& area = layout.area;
  for (double tick : area.x_axis.ticks) {
    double x = snap(to_pixels(area, tick, area.y_axis.low).x);
    scene.items.push_back(SceneLine{{x, area.top}, {x, area.bottom}, 1.0, kChartGridColor});
  }
  for (double tick : area.y_axis.ticks) {
    double y = snap(to_pixels(area, area.x_axis.low, tick).y);
    scene.items.push_back(SceneLine{{area.left, y}, {area.right, y}, 1.0, kChartGridColor});
  }
  Point corners[] = {
      {area.left, area.top}, {area.right, area.top}, {area.right, area.bottom}, {area.left, area.bottom}};
  for (int i = 0; i < 4; ++i) scene.items.push_back(SceneLine{corners[i], corners[(i + 1) % 4], 1.0, kChartAxisColor});
  for (size_t i = 0; i < area.x_axis.ticks.size(); ++i) {
    double x = snap(to_pixels(area, area.x_axis.ticks[i], area.y_axis.low).x);
    scene.items.push_back(SceneLine{{x, area.bottom}, {x, area.bottom + kTickLength * u}, 1.0, kChartAxisColor});
    scene.items.push_back(
        text({x, layout.x_tick_baseline}, area.x_axis.tick_labels[i], u, kChartTextColor, TextAnchor::middle));
  }
  for (size_t i = 0; i < area.y_axis.ticks.size(); ++i) {
    double y = snap(to_pixels(area, area.x_axis.low, area.y_axis.ticks[i]).y);
    scene.items.push_back(SceneLine{{area.left - kTickLength * u, y}, {area.left, y}, 1.0, kChartAxisColor});
    scene.items.push_back(text({layout.y_tick_right, std::round(y + kAscent * u / 2.0)}, area.y_axis.tick_labels[i], u,
                               kChartTextColor, TextAnchor::end));
  }
  double centre_x = std::round((area.left + area.right) / 2.0);
  SceneText title = text({centre_x, layout.title_baseline}, panel.title, u, kChartTextColor, TextAnchor::middle);
  title.bold = true;
  scene.items.push_back(title);
  if (!panel.x_label.empty()) {
    scene.items.push_back(
        text({centre_x, layout.x_label_baseline}, panel.x_label, u, kChartTextColor, TextAnchor::middle));
  }
  if (!panel.y_label.empty()) {
    SceneText y_label = text({layout.y_label_x, std::round((area.top + area.bottom) / 2.0)}, panel.y_label, u,
                             kChartTextColor, TextAnchor::middle);
    y_label.rotation_degrees = -90.0;
    scene.items.push_back(y_label);
  }
}

double marker_radius(double u) { return 2.0 * u + 1.0; }

// Tags are written one size smaller than the other text (they are many, and sit among the data),
// beside their marker at the candidate position that covers the least of the other tags, markers and
// lines while staying inside the plot area.
void draw_tags(const std::vector<PlottedSeries>& plotted, const PlotArea& area, double u, Scene& scene) {
  double radius = marker_radius(u), t = std::max(1.0, u - 1.0);
  std::vector<Box> markers, tags;
  std::vector<std::pair<Point, Point>> segments;
  for (const PlottedSeries& entry : plotted) {
    Point previous{};
    for (size_t n = 0; n < entry.points.size(); ++n) {
      size_t i = entry.points[n];
      Point p = to_pixels(area, entry.series->x[i], entry.series->y[i]);
      markers.push_back({p.x - radius - u, p.y - radius - u, p.x + radius + u, p.y + radius + u});
      if (entry.series->line && n > 0) segments.emplace_back(previous, p);
      previous = p;
    }
  }
  Box inside{area.left + u, area.top + u, area.right - u, area.bottom - u};
  for (const PlottedSeries& entry : plotted) {
    Rgb color = series_palette()[entry.index % series_palette().size()];
    for (size_t i : entry.points) {
      if (entry.series->tags.empty() || entry.series->tags[i].empty()) continue;
      Point p = to_pixels(area, entry.series->x[i], entry.series->y[i]);
      double length = text_width(entry.series->tags[i]) * t, gap = radius + 2 * u, diagonal = 0.7 * gap;
      double middle = p.y + kAscent * t / 2.0, above = p.y - gap - kDescent * t, below = p.y + gap + kAscent * t;
      Point candidates[] = {{p.x + gap, middle},
                            {p.x - gap - length, middle},
                            {p.x - length / 2, above},
                            {p.x - length / 2, below},
                            {p.x + diagonal, above + gap - diagonal},
                            {p.x + diagonal, below - gap + diagonal},
                            {p.x - diagonal - length, above + gap - diagonal},
                            {p.x - diagonal - length, below - gap + diagonal}};
      auto box_at = [&](Point origin) {
        return Box{origin.x, origin.y - kAscent * t, origin.x + length, origin.y + kDescent * t};
      };
      double best_score = std::numeric_limits<double>::infinity();
      Point best{};
      for (Point origin : candidates) {
        origin = {std::round(origin.x), std::round(origin.y)};
        Box box = box_at(origin);
        // Tags keep half a character apart, so that neighbours do not read as one word.
        Box spaced{box.left - kGlyphAdvance * t / 2, box.top - t, box.right + kGlyphAdvance * t / 2, box.bottom + t};
        double area_of_box = (box.right - box.left) * (box.bottom - box.top);
        double score = 0.0;
        if (box.left < inside.left || box.right > inside.right || box.top < inside.top || box.bottom > inside.bottom) {
          score += 100.0 * area_of_box;
        }
        for (const Box& other : tags) score += 4.0 * overlap_area(spaced, other);
        for (const Box& other : markers) score += 2.0 * overlap_area(box, other);
        for (const auto& [a, b] : segments) score += crosses(box, a, b) ? 0.3 * area_of_box : 0.0;
        if (score < best_score) {
          best_score = score;
          best = origin;
        }
      }
      tags.push_back(box_at(best));
      scene.items.push_back(text(best, entry.series->tags[i], t, color));
    }
  }
}

void draw_series(const std::vector<PlottedSeries>& plotted, const PlotArea& area, double u, Scene& scene) {
  for (const PlottedSeries& entry : plotted) {
    if (!entry.series->line || entry.points.size() < 2) continue;
    ScenePolyline polyline{{}, 1.0 + u / 2.0, series_palette()[entry.index % series_palette().size()]};
    for (size_t i : entry.points) polyline.points.push_back(to_pixels(area, entry.series->x[i], entry.series->y[i]));
    scene.items.push_back(std::move(polyline));
  }
  for (const PlottedSeries& entry : plotted) {
    Rgb color = series_palette()[entry.index % series_palette().size()];
    for (size_t i : entry.points) {
      scene.items.push_back(SceneMarker{to_pixels(area, entry.series->x[i], entry.series->y[i]), marker_radius(u),
                                        series_marker(entry.index), color, false});
    }
  }
  draw_tags(plotted, area, u, scene);
}

void draw_legend(const std::vector<PlottedSeries>& plotted, const PanelLayout& layout, double u, Scene& scene) {
  for (const LegendEntry& entry : layout.legend) {
    const PlottedSeries& series = plotted[entry.series];
    Rgb color = series_palette()[series.index % series_palette().size()];
    double middle = snap(entry.baseline - kAscent * u / 2.0);
    if (series.series->line) {
      scene.items.push_back(
          SceneLine{{entry.left, middle}, {entry.left + kLegendSample * u, middle}, 1.0 + u / 2.0, color});
    }
    scene.items.push_back(SceneMarker{
        {entry.left + kLegendSample * u / 2.0, middle}, marker_radius(u), series_marker(series.index), color, true});
    scene.items.push_back(
        text({entry.left + (kLegendSample + kGlyphAdvance) * u, entry.baseline}, series.series->label, u));
  }
}

void check_picture(const std::vector<Panel>& panels, int64_t width, int64_t height) {
  QATD_CHECK(!panels.empty(), "chart: no panels to draw");
  QATD_CHECK(width >= 1 && height >= 1 && width <= 16384 && height <= 16384,
             "chart: size {}x{} must be between 1 and 16384 pixels each way", width, height);
}

}  // namespace

const std::vector<Rgb>& series_palette() {
  static const std::vector<Rgb> palette = {{0x00, 0x72, 0xb2}, {0xd5, 0x5e, 0x00}, {0x00, 0x9e, 0x73},
                                           {0xcc, 0x79, 0xa7}, {0xe6, 0x9f, 0x00}, {0x56, 0xb4, 0xe9},
                                           {0x00, 0x00, 0x00}, {0xf0, 0xe4, 0x42}};
  return palette;
}

MarkerShape series_marker(size_t series_index) {
  constexpr MarkerShape shapes[] = {MarkerShape::circle, MarkerShape::square, MarkerShape::triangle_up,
                                    MarkerShape::diamond, MarkerShape::triangle_down};
  return shapes[series_index % std::size(shapes)];
}

int chart_text_scale(size_t panel_count, int64_t width, int64_t height) {
  double smaller = std::min(static_cast<double>(width) / std::max<size_t>(panel_count, 1), static_cast<double>(height));
  return static_cast<int>(std::clamp(std::lround(smaller / 260.0), 1L, 4L));
}

std::vector<PlotArea> plot_areas(const std::vector<Panel>& panels, int64_t width, int64_t height) {
  check_picture(panels, width, height);
  double u = chart_text_scale(panels.size(), width, height);
  std::vector<PlotArea> areas;
  for (size_t p = 0; p < panels.size(); ++p) {
    areas.push_back(layout_panel(panels[p], checked_series(panels[p], p), p, panels.size(), width, height, u).area);
  }
  return areas;
}

Scene chart_scene(const std::vector<Panel>& panels, int64_t width, int64_t height) {
  check_picture(panels, width, height);
  double u = chart_text_scale(panels.size(), width, height);
  Scene scene;
  scene.width = width;
  scene.height = height;
  for (size_t p = 0; p < panels.size(); ++p) {
    std::vector<PlottedSeries> plotted = checked_series(panels[p], p);
    PanelLayout layout = layout_panel(panels[p], plotted, p, panels.size(), width, height, u);
    draw_axes(panels[p], layout, u, scene);
    draw_series(plotted, layout.area, u, scene);
    draw_legend(plotted, layout, u, scene);
  }
  return scene;
}

}  // namespace qatd::train::report

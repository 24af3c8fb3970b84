// The chart entry points of train/report/chart.h: line charts through chart_layout's Scene, and the bar
// chart, whose picture grows past the asked size when its rotated labels or its bars need the room.
#include "train/report/chart.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "engine/error.h"
#include "train/report/bitmap_font.h"
#include "train/report/chart_layout.h"

namespace qatd::train::report {

namespace {

// Lengths in units of the text scale, as in chart_layout.cpp.
constexpr double kPad = 6.0;
constexpr double kTickLength = 3.0;
constexpr double kGap = 6.0;
constexpr double kMinBarPitch = 12.0;  // rotated labels one line height apart (in label scale)
constexpr double kMinPlotHeight = 60.0;
constexpr double kLabelAngle = 60.0;  // degrees below the horizontal, reading upwards to the bar
constexpr double kAscent = kGlyphAscent, kDescent = kGlyphRows - kGlyphAscent;

SceneText bar_text(Point origin, std::string content, double scale, TextAnchor anchor, double rotation = 0.0) {
  return SceneText{origin, std::move(content), static_cast<int>(scale), kChartTextColor, anchor, rotation, false};
}

struct BarLayout {
  double u = 1.0;                 // text scale of the title and the axis
  double label_scale = 1.0;       // of the bar and value labels, one smaller: they are long and many
  int64_t width = 0, height = 0;  // of the picture, at least the asked size
  double left = 0.0, top = 0.0, right = 0.0, bottom = 0.0, y_tick_right = 0.0, y_label_x = 0.0, title_baseline = 0.0;
  bool upright_values = false;  // value labels wider than a bar stand upright above it
  Axis axis;
  std::vector<std::string> values;
};

// Vertical: title, room for the value labels, plot, ticks, rotated labels; horizontal: y label, tick
// labels, bars. The picture grows when the labels hanging under the axis leave the plot less than 60%
// the asked height, or when the bars would stand closer than a label line apart.
BarLayout layout_bars(const std::string& y_label, const std::vector<Bar>& bars, int64_t width, int64_t height) {
  BarLayout layout;
  double u = layout.u = chart_text_scale(1, width, height);
  double l = layout.label_scale = std::max(1.0, u - 1.0);
  double cosine = std::cos(kLabelAngle * std::numbers::pi / 180.0);
  double sine = std::sin(kLabelAngle * std::numbers::pi / 180.0);
  auto count = static_cast<double>(bars.size());

  double low = 0.0, high = 0.0, largest = 0.0;
  for (const Bar& bar : bars) {
    if (!std::isfinite(bar.value)) continue;
    low = std::min(low, bar.value);
    high = std::max(high, bar.value);
    largest = std::max(largest, std::abs(bar.value));
  }
  double resolution = largest > 0.0 ? std::pow(10.0, std::floor(std::log10(largest)) - 2.0) : 1.0;
  double widest_value = 0.0, label_drop = 0.0;
  for (const Bar& bar : bars) {
    layout.values.push_back(format_number(bar.value, resolution));
    widest_value = std::max(widest_value, text_width(layout.values.back()) * l);
    label_drop = std::max(label_drop, text_width(bar.label) * l * sine);
  }
  label_drop += kAscent * l * cosine + kPad * u;

  layout.title_baseline = (kPad + kAscent) * u;
  double y_axis_room = kPad * u + (y_label.empty() ? 0.0 : (kAscent + kDescent + kGap) * u);
  double pitch_guess = (static_cast<double>(width) - y_axis_room - 8 * kGlyphAdvance * u) / std::max(count, 1.0);
  layout.upright_values = widest_value + 2 * l > std::max(pitch_guess, kMinBarPitch * l);
  double value_room = layout.upright_values ? widest_value + 2 * l : (kAscent + kDescent) * l;
  double top = layout.title_baseline + (kDescent + kGap) * u + value_room;
  double plot_height = std::max(kMinPlotHeight * u, 0.6 * (static_cast<double>(height) - top));
  layout.height =
      std::max<int64_t>(height, static_cast<int64_t>(std::ceil(top + plot_height + kTickLength * u + label_drop)));
  double bottom = static_cast<double>(layout.height) - label_drop - kTickLength * u;

  layout.axis = linear_axis(low, high, std::max(2, static_cast<int>((bottom - top) / (12.0 * u))), true);
  double widest_tick = 0.0;
  for (const std::string& label : layout.axis.tick_labels) widest_tick = std::max(widest_tick, text_width(label) * u);
  double left = y_axis_room + widest_tick + (2.0 + kTickLength) * u;

  // The first labels hang down to the left of their bar: move the plot right until they stay inside.
  layout.width = std::max<int64_t>(width, static_cast<int64_t>(std::ceil(left + count * kMinBarPitch * l + kPad * u)));
  double right = static_cast<double>(layout.width) - kPad * u;
  for (int attempt = 0; attempt < 3 && !bars.empty(); ++attempt) {
    double pitch = (right - left) / count, reach = 0.0;
    for (size_t i = 0; i < bars.size(); ++i) {
      double centre = left + (static_cast<double>(i) + 0.5) * pitch;
      reach = std::max(reach, kPad * u - (centre - text_width(bars[i].label) * l * cosine));
    }
    if (reach <= 0.0) break;
    if ((right - reach - left) / count < kMinBarPitch * l) {
      layout.width += static_cast<int64_t>(std::ceil(reach));
      right = static_cast<double>(layout.width) - kPad * u;
    }
    left += reach;
  }
  layout.left = std::floor(left) + 0.5;
  layout.right = std::floor(right) + 0.5;
  layout.top = std::floor(top) + 0.5;
  layout.bottom = std::floor(bottom) + 0.5;
  layout.y_tick_right = layout.left - (2.0 + kTickLength) * u;
  layout.y_label_x = layout.y_tick_right - widest_tick - (kGap + kDescent) * u;
  return layout;
}

}  // namespace

std::string chart_svg(const std::vector<Panel>& panels, int64_t width, int64_t height) {
  return render_svg(chart_scene(panels, width, height));
}

Tensor chart_raster(const std::vector<Panel>& panels, int64_t width, int64_t height) {
  return render_raster(chart_scene(panels, width, height));
}

std::string bar_chart_svg(const std::string& title, const std::string& y_label, const std::vector<Bar>& bars,
                          int64_t width, int64_t height) {
  QATD_CHECK(width >= 1 && height >= 1 && width <= 16384 && height <= 16384,
             "bar chart '{}': size {}x{} must be between 1 and 16384 pixels each way", title, width, height);
  BarLayout layout = layout_bars(y_label, bars, width, height);
  double u = layout.u, l = layout.label_scale, left = layout.left, right = layout.right;
  double top = layout.top, bottom = layout.bottom;
  double cosine = std::cos(kLabelAngle * std::numbers::pi / 180.0);
  double sine = std::sin(kLabelAngle * std::numbers::pi / 180.0);
  auto to_y = [&](double value) { return bottom - layout.axis.fraction(value) * (bottom - top); };

  Scene scene;
  scene.width = layout.width;
  scene.height = layout.height;
  for (size_t i = 0; i < layout.axis.ticks.size(); ++i) {
    double y = std::floor(to_y(layout.axis.ticks[i])) + 0.5;
    scene.items.push_back(SceneLine{{left, y}, {right, y}, 1.0, kChartGridColor});
    scene.items.push_back(SceneLine{{left - kTickLength * u, y}, {left, y}, 1.0, kChartAxisColor});
    scene.items.push_back(bar_text({layout.y_tick_right, std::round(y + kAscent * u / 2.0)}, layout.axis.tick_labels[i],
                                   u, TextAnchor::end));
  }
  double pitch = bars.empty() ? 0.0 : (right - left) / static_cast<double>(bars.size());
  double zero = std::floor(to_y(0.0)) + 0.5;
  for (size_t i = 0; i < bars.size(); ++i) {
    double centre = left + (static_cast<double>(i) + 0.5) * pitch;
    double value = bars[i].value;
    double end = std::isfinite(value) ? to_y(value) : zero;
    if (std::isfinite(value) && value != 0.0) {
      scene.items.push_back(SceneRect{centre - 0.35 * pitch, std::min(end, zero), centre + 0.35 * pitch,
                                      std::max(end, zero), series_palette()[0], "bar"});
    }
    const std::string& text = layout.values[i];
    if (value < 0.0) {
      scene.items.push_back(bar_text({centre, std::round(end + (2 + kAscent) * l)}, text, l, TextAnchor::middle));
    } else if (layout.upright_values) {
      scene.items.push_back(bar_text({std::round(centre + kAscent * l / 2.0), std::round(std::min(end, zero) - 2 * l)},
                                     text, l, TextAnchor::start, -90.0));
    } else {
      scene.items.push_back(bar_text({centre, std::round(std::min(end, zero) - 2 * l)}, text, l, TextAnchor::middle));
    }
    scene.items.push_back(SceneLine{{std::floor(centre) + 0.5, bottom},
                                    {std::floor(centre) + 0.5, bottom + kTickLength * u},
                                    1.0,
                                    kChartAxisColor});
    // The label ends under its bar; shifting the anchor by half the glyph height centres the letters on it.
    Point anchor{centre + kAscent * l / 2.0 * sine, bottom + kTickLength * u + kAscent * l / 2.0 * cosine + u};
    scene.items.push_back(bar_text(anchor, bars[i].label, l, TextAnchor::end, -kLabelAngle));
  }
  if (zero != bottom) scene.items.push_back(SceneLine{{left, zero}, {right, zero}, 1.0, kChartAxisColor});
  scene.items.push_back(SceneLine{{left, top}, {left, bottom}, 1.0, kChartAxisColor});
  scene.items.push_back(SceneLine{{left, bottom}, {right, bottom}, 1.0, kChartAxisColor});
  SceneText heading = bar_text({std::round((left + right) / 2.0), layout.title_baseline}, title, u, TextAnchor::middle);
  heading.bold = true;
  scene.items.push_back(heading);
  if (!y_label.empty()) {
    scene.items.push_back(
        bar_text({layout.y_label_x, std::round((top + bottom) / 2.0)}, y_label, u, TextAnchor::middle, -90.0));
  }
  return render_svg(scene);
}

}  // namespace qatd::train::report

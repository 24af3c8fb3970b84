#pragma once
// The layout of chart_svg / chart_raster (train/report/chart.h): panels side by side, each with a bold
// title on top, the plot area framed with light grid lines at the ticks, tick labels left of and under
// it, the x label under the tick labels, the y label reading upwards at the left edge, and the legend
// (one entry per series: line sample, marker, label) in centred rows at the bottom.
#include <cstdint>
#include <vector>

#include "train/report/axis_scale.h"
#include "train/report/chart.h"
#include "train/report/scene.h"

namespace qatd::train::report {

// Colours of text, of the frame and ticks, and of the grid (none of them in the palette).
inline constexpr Rgb kChartTextColor{34, 34, 34};
inline constexpr Rgb kChartAxisColor{85, 85, 85};
inline constexpr Rgb kChartGridColor{226, 226, 226};

// The series colours, in order (Okabe & Ito's colour-blind-safe palette): #0072b2 blue, #d55e00
// vermillion, #009e73 bluish green, #cc79a7 reddish purple, #e69f00 orange, #56b4e9 sky blue, #000000
// black, #f0e442 yellow; series k uses colour k % 8.
const std::vector<Rgb>& series_palette();
// Series k uses marker k % 5: circle, square, triangle up, diamond, triangle down.
MarkerShape series_marker(size_t series_index);

// Text scale (font pixels per glyph pixel) of a chart: one per ~260 pixels of the smaller of the panel
// width and the picture height, between 1 and 4.
int chart_text_scale(size_t panel_count, int64_t width, int64_t height);

// Where one panel plots: the pixel edges of its frame (at pixel centres, k + 0.5) and its axes. A value
// (x, y) is drawn at left + x_axis.fraction(x) * (right - left), bottom - y_axis.fraction(y) * (bottom - top).
struct PlotArea {
  double left = 0.0, top = 0.0, right = 0.0, bottom = 0.0;
  Axis x_axis, y_axis;
};

// The plot areas of chart_svg / chart_raster for these arguments; throws as they do.
std::vector<PlotArea> plot_areas(const std::vector<Panel>& panels, int64_t width, int64_t height);

// The whole picture as drawing primitives.
Scene chart_scene(const std::vector<Panel>& panels, int64_t width, int64_t height);

}  // namespace qatd::train::report

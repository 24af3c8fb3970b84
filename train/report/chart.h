#pragma once
// Charts for reports and sweeps, drawn without any plotting library: the same description renders
// to SVG (text, for the HTML report and the sweep's tradeoff.svg) and to an RGB raster (for
// tradeoff.png, with a built-in bitmap font), so both pictures always show the same data.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace qatd::train::report {

// Points of one series, drawn as markers joined by a line (sorted by x) when `line` is true.
struct Series {
  std::string label;             // the legend entry
  std::vector<double> x, y;      // same length; non-finite points are skipped
  std::vector<std::string> tags; // optional, one per point, written next to the marker
  bool line = true;
};

// One x-y plot. Axis ranges cover the data with a margin and have "nice" tick values; log_x draws
// x on a log10 axis (all x must then be positive).
struct Panel {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_x = false;
};

// Panels side by side in one picture of width x height pixels. Throws for an empty panel list or
// mismatched x/y/tags lengths, naming the series.
std::string chart_svg(const std::vector<Panel>& panels, int64_t width, int64_t height);
// The same picture as (height, width, 3) uint8, for io::write_png.
Tensor chart_raster(const std::vector<Panel>& panels, int64_t width, int64_t height);

struct Bar {
  std::string label;
  double value = 0.0;
};

// A vertical bar chart (one bar per label, labels rotated under the axis), e.g. bits per layer. The
// picture grows beyond width x height when the rotated labels or the number of bars need the room.
std::string bar_chart_svg(const std::string& title, const std::string& y_label, const std::vector<Bar>& bars,
                          int64_t width, int64_t height);

}  // namespace qatd::train::report

// Charts (train/report/chart.h): SVG structure, raster pixels where the documented layout puts them,
// nice ticks and number labels, degenerate data, determinism and errors; plus the bitmap font and the
// raster canvas it draws with. The hidden [report-viz] test writes a sample chart to look at.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "engine/error.h"
#include "engine/io/image.h"
#include "tests/test_support.h"
#include "train/report/bitmap_font.h"
#include "train/report/chart.h"
#include "train/report/chart_layout.h"
#include "train/report/raster_canvas.h"

using namespace qatd;
using namespace qatd::train::report;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Okabe & Ito's first colours, as chart_layout.h documents them.
const Rgb kBlue{0x00, 0x72, 0xb2};
const Rgb kVermillion{0xd5, 0x5e, 0x00};
const Rgb kGreen{0x00, 0x9e, 0x73};
const Rgb kWhite{255, 255, 255};

size_t count_of(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

// An empty string when `xml` is one element whose tags nest, whose attribute quotes pair up and whose
// text has only the five predefined entities; otherwise what is wrong.
std::string xml_problem(const std::string& xml) {
  std::vector<std::string> open;
  int roots = 0;
  for (size_t i = 0; i < xml.size(); ++i) {
    if (xml[i] == '&') {
      bool known = false;
      for (const char* entity : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"}) {
        known = known || xml.compare(i, std::strlen(entity), entity) == 0;
      }
      if (!known) return "bare & at " + std::to_string(i);
      continue;
    }
    if (xml[i] == '>') return "bare > at " + std::to_string(i);
    if (xml[i] != '<') continue;
    size_t end = i + 1;
    bool quoted = false;
    while (end < xml.size() && (quoted || xml[end] != '>')) {
      if (xml[end] == '<' && !quoted) return "< inside a tag at " + std::to_string(end);
      if (xml[end] == '"') quoted = !quoted;
      ++end;
    }
    if (end == xml.size()) return "unterminated tag at " + std::to_string(i);
    std::string tag = xml.substr(i + 1, end - i - 1);
    i = end;
    if (tag.empty()) return "empty tag";
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return "</" + tag.substr(1) + "> closes nothing open";
      open.pop_back();
      continue;
    }
    if (open.empty()) ++roots;
    if (tag.back() == '/') continue;
    open.push_back(tag.substr(0, tag.find(' ')));
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  return roots == 1 ? "" : std::to_string(roots) + " root elements";
}

Rgb pixel_of(const Tensor& image, int64_t x, int64_t y) {
  const uint8_t* p = image.data<uint8_t>() + (y * image.size(1) + x) * 3;
  return Rgb{p[0], p[1], p[2]};
}

int64_t pixels_of_color(const Tensor& image, Rgb color) {
  int64_t count = 0;
  for (int64_t y = 0; y < image.size(0); ++y) {
    for (int64_t x = 0; x < image.size(1); ++x) count += pixel_of(image, x, y) == color;
  }
  return count;
}

// Whether a marker of `color` covers (x, y) and the pixels 2 away each way: a line through the point
// covers at most two of those.
bool marker_at(const Tensor& image, double x, double y, Rgb color) {
  auto column = static_cast<int64_t>(x), row = static_cast<int64_t>(y);
  return pixel_of(image, column, row) == color && pixel_of(image, column - 2, row) == color &&
         pixel_of(image, column + 2, row) == color && pixel_of(image, column, row - 2) == color &&
         pixel_of(image, column, row + 2) == color;
}

Panel two_series_panel() {
  Panel panel;
  panel.title = "accuracy vs bits";
  panel.x_label = "average bits";
  panel.y_label = "mIoU";
  panel.series.push_back(Series{"learned", {2, 3, 4, 6}, {0.5, 0.7, 0.8, 0.85}, {}, true});
  panel.series.push_back(Series{"uniform", {2, 4, 8}, {0.3, 0.75, 0.86}, {}, true});
  return panel;
}

}  // namespace

TEST_CASE("chart svg: nested tags, one marker per finite point, legend and escaped text", "[report]") {
  Panel panel = two_series_panel();
  panel.series[0].x[1] = kNaN;  // skipped
  panel.series[1].y[0] = std::numeric_limits<double>::infinity();
  panel.series.push_back(Series{"a<b & \"c\"", {1, 5}, {0.4, 0.6}, {"λ<1", "t&2"}, false});
  panel.title = "<title> & 'more'";
  std::string svg = chart_svg({panel, two_series_panel()}, 1000, 420);
  INFO(svg.substr(0, 400));
  CHECK(xml_problem(svg).empty());
  CHECK(xml_problem("<svg><g></svg></g>") != "");  // the checker can fail
  CHECK(xml_problem("<svg>a & b</svg>") != "");
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"420\"", 0) == 0);
  // Panel 1: 3 + 2 + 2 finite points; panel 2: 4 + 3.
  CHECK(count_of(svg, "class=\"marker\"") == 14);
  CHECK(count_of(svg, "class=\"legend-marker\"") == 5);
  CHECK(count_of(svg, ">learned</text>") == 2);
  CHECK(count_of(svg, ">uniform</text>") == 2);
  CHECK(count_of(svg, ">a&lt;b &amp; &quot;c&quot;</text>") == 1);
  CHECK(count_of(svg, ">&lt;title&gt; &amp; &apos;more&apos;</text>") == 1);
  CHECK(count_of(svg, ">λ&lt;1</text>") == 1);
  CHECK(count_of(svg, ">t&amp;2</text>") == 1);
  CHECK(count_of(svg, "<polyline") == 4);  // the third series has line = false
  CHECK(count_of(svg, ">average bits</text>") == 2);
  CHECK(count_of(svg, "rotate(-90") == 2);  // the y labels
}

TEST_CASE("chart raster: size, series colours and a point where the axis mapping puts it", "[report]") {
  std::vector<Panel> panels = {two_series_panel(), two_series_panel()};
  panels[1].log_x = true;
  panels[1].series[1].x = {100, 1e4, 1e6};
  Tensor image = chart_raster(panels, 900, 360);
  REQUIRE(image.dtype() == DType::u8);
  REQUIRE(image.shape() == Shape{360, 900, 3});
  CHECK(pixel_of(image, 0, 0) == kWhite);
  CHECK(pixel_of(image, 899, 359) == kWhite);
  CHECK(pixels_of_color(image, kBlue) > 100);
  CHECK(pixels_of_color(image, kVermillion) > 100);
  CHECK(pixels_of_color(image, kGreen) == 0);

  std::vector<PlotArea> areas = plot_areas(panels, 900, 360);
  REQUIRE(areas.size() == 2);
  CHECK(areas[0].right < 450);
  CHECK(areas[1].left > 450);
  // Panel 1, linear: 'learned' (2, 0.5) is alone at the lower left.
  const PlotArea& linear = areas[0];
  REQUIRE(linear.x_axis.low < 2);
  REQUIRE(linear.y_axis.low < 0.3);
  double x =
      linear.left + (2 - linear.x_axis.low) / (linear.x_axis.high - linear.x_axis.low) * (linear.right - linear.left);
  double y = linear.bottom -
             (0.5 - linear.y_axis.low) / (linear.y_axis.high - linear.y_axis.low) * (linear.bottom - linear.top);
  CHECK(marker_at(image, x, y, kBlue));
  CHECK(pixel_of(image, static_cast<int64_t>(x), static_cast<int64_t>(y) - 12) != kBlue);
  // Panel 2, log x: 'uniform' (1e6, 0.86) at the upper right, a square marker.
  const PlotArea& log = areas[1];
  REQUIRE(log.x_axis.log);
  double lx = log.left + (6 - std::log10(log.x_axis.low)) / (std::log10(log.x_axis.high) - std::log10(log.x_axis.low)) *
                             (log.right - log.left);
  double ly = log.bottom - (0.86 - log.y_axis.low) / (log.y_axis.high - log.y_axis.low) * (log.bottom - log.top);
  CHECK(marker_at(image, lx, ly, kVermillion));
  CHECK(pixel_of(image, static_cast<int64_t>(lx) + 2, static_cast<int64_t>(ly) + 2) == kVermillion);  // a corner
  // The frame runs along the documented edges (between the ticks at mid-height, away from the data).
  CHECK(pixel_of(image, static_cast<int64_t>(log.right), static_cast<int64_t>((log.top + log.bottom) / 2)) ==
        kChartAxisColor);
  CHECK(pixel_of(image, static_cast<int64_t>((linear.left + linear.right) / 2), static_cast<int64_t>(linear.top)) ==
        kChartAxisColor);
  CHECK(pixel_of(image, static_cast<int64_t>((linear.left + linear.right) / 2), static_cast<int64_t>(linear.top) - 1) !=
        kChartAxisColor);
}

TEST_CASE("chart: svg and raster put the markers at the same places", "[report]") {
  std::vector<Panel> panels = {two_series_panel(), two_series_panel()};
  panels[1].log_x = true;
  std::string svg = chart_svg(panels, 1000, 400);
  Tensor image = chart_raster(panels, 1000, 400);
  int checked = 0;
  for (const std::string& prefix :
       {std::string("<circle class=\"marker\" cx=\""), std::string("<rect class=\"marker\" x=\"")}) {
    for (size_t at = svg.find(prefix); at != std::string::npos; at = svg.find(prefix, at + 1)) {
      size_t x_at = at + prefix.size();
      double x = std::stod(svg.substr(x_at));
      double y = std::stod(svg.substr(svg.find("=\"", svg.find('"', x_at + 1)) + 2));
      if (prefix[1] == 'r') {  // a square: x, y is its corner, and width follows
        double side = std::stod(svg.substr(svg.find("width=\"", x_at) + 7));
        x += side / 2;
        y += side / 2;
      }
      CHECK((marker_at(image, x, y, kBlue) || marker_at(image, x, y, kVermillion)));
      ++checked;
    }
  }
  CHECK(checked == 14);
}

TEST_CASE("chart: the same chart twice gives the same bytes", "[report]") {
  std::vector<Panel> panels = {two_series_panel()};
  panels[0].series[0].tags = {"a", "b", "c", "d"};
  Tensor first = chart_raster(panels, 640, 400), second = chart_raster(panels, 640, 400);
  CHECK(std::memcmp(first.data<uint8_t>(), second.data<uint8_t>(), static_cast<size_t>(first.numel())) == 0);
  CHECK(chart_svg(panels, 640, 400) == chart_svg(panels, 640, 400));
}

TEST_CASE("chart axes: nice ticks, log decades and compact labels", "[report]") {
  Axis unit = linear_axis(0.0, 1.0, 6);
  CHECK(unit.low == Approx(-0.05));
  CHECK(unit.high == Approx(1.05));
  CHECK(unit.tick_labels == std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1"});
  Axis narrow = linear_axis(0.81, 0.87, 4);
  CHECK(narrow.tick_labels == std::vector<std::string>{"0.82", "0.84", "0.86"});
  Axis big = linear_axis(1.1e6, 2.9e6, 5);
  CHECK(big.tick_labels == std::vector<std::string>{"1.5e6", "2e6", "2.5e6"});
  Axis bytes = log_axis(2e5, 3e7, 8);
  CHECK(bytes.tick_labels == std::vector<std::string>{"1e6", "1e7"});
  // Twelve decades in at most five ticks: every third one.
  Axis wide = log_axis(1e-3, 1e9, 5);
  CHECK(wide.tick_labels == std::vector<std::string>{"0.001", "1", "1000", "1e6", "1e9"});
  // No whole decade inside: 1-2-5 steps.
  Axis one_decade = log_axis(1.5, 8.0, 8);
  CHECK(one_decade.tick_labels == std::vector<std::string>{"2", "5"});
  Axis bars = linear_axis(0.0, 8.0, 5, true);
  CHECK(bars.low == 0.0);
  CHECK(bars.tick_labels == std::vector<std::string>{"0", "2", "4", "6", "8"});

  CHECK(nice_step(0.13) == Approx(0.2));
  CHECK(nice_step(3.0) == Approx(5.0));
  CHECK(nice_step(7.0) == Approx(10.0));
  CHECK(format_number(0.85, 0.01) == "0.85");
  CHECK(format_number(4.0, 1.0) == "4");
  CHECK(format_number(1200.0, 100.0) == "1200");
  CHECK(format_number(1.2e6, 1e5) == "1.2e6");
  CHECK(format_number(5e-4, 1e-4) == "5e-4");
  CHECK(format_number(-0.3, 0.1) == "-0.3");
  CHECK(format_number(1e-17, 0.1) == "0");
  CHECK(format_number(9.8e-4, 2e-5, 1.04e-3) == "0.00098");  // plain, like the axis's largest label
  CHECK(format_number(2e4, 1e4, 1e3) == "20000");
  CHECK(format_number(500.0, 100.0, 2e4) == "5e2");
  Axis small = linear_axis(9.5e-4, 1.05e-3, 6);
  // [9.45e-4, 1.055e-3] with the margin; steps of 2e-5.
  CHECK(small.tick_labels == std::vector<std::string>{"0.00096", "0.00098", "0.001", "0.00102", "0.00104"});
}

TEST_CASE("chart: one point, equal values, non-finite values and empty panels still draw", "[report]") {
  Panel single{"one point", "x", "y", {Series{"only", {3.0}, {7.0}, {"tag"}, true}}, false};
  Panel flat{"flat", "x", "y", {Series{"flat", {1, 1, 1}, {0.5, 0.5, 0.5}, {}, true}}, false};
  Panel log_single{"log", "bytes", "y", {Series{"one", {4096}, {0}, {}, true}}, true};
  Panel nothing{"nothing finite", "x", "y", {Series{"nan", {kNaN, 1.0}, {1.0, kNaN}, {}, true}}, false};
  Panel no_series{"no series", "", "", {}, false};
  std::vector<Panel> panels = {single, flat, log_single, nothing, no_series};
  std::vector<PlotArea> areas = plot_areas(panels, 1500, 300);
  REQUIRE(areas.size() == 5);
  for (const PlotArea& area : areas) {
    CHECK(area.left < area.right);
    CHECK(area.top < area.bottom);
    CHECK(area.x_axis.low < area.x_axis.high);
    CHECK(area.y_axis.low < area.y_axis.high);
    CHECK(!area.x_axis.ticks.empty());
    CHECK(!area.y_axis.ticks.empty());
  }
  CHECK((areas[0].x_axis.low < 3.0 && 3.0 < areas[0].x_axis.high));
  CHECK((areas[0].y_axis.low < 7.0 && 7.0 < areas[0].y_axis.high));
  CHECK((areas[1].y_axis.low < 0.5 && 0.5 < areas[1].y_axis.high));
  CHECK((areas[2].x_axis.low < 4096 && 4096 < areas[2].x_axis.high));
  CHECK((areas[2].y_axis.low < 0.0 && 0.0 < areas[2].y_axis.high));
  std::string svg = chart_svg(panels, 1500, 300);
  CHECK(xml_problem(svg).empty());
  CHECK(count_of(svg, "class=\"marker\"") == 5);
  CHECK(count_of(svg, "<polyline") == 1);  // only 'flat' has two finite points
  Tensor image = chart_raster(panels, 1500, 300);
  CHECK(image.shape() == Shape{300, 1500, 3});
}

TEST_CASE("chart: bad input throws naming the series", "[report]") {
  auto message = [](const std::vector<Panel>& panels, int64_t width = 800, int64_t height = 400) {
    try {
      chart_svg(panels, width, height);
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  CHECK(message({}).find("no panels") != std::string::npos);
  Panel lengths{
      "p", "x", "y", {Series{"ok", {1}, {1}, {}, true}, Series{"short y", {1, 2, 3}, {1, 2}, {}, true}}, false};
  CHECK(message({lengths}).find("series 'short y': x has 3 values but y has 2") != std::string::npos);
  Panel tags{"p", "x", "y", {Series{"tagged", {1, 2}, {1, 2}, {"a"}, true}}, false};
  CHECK(message({tags}).find("series 'tagged': 1 tags for 2 points") != std::string::npos);
  Panel negative{"p", "x", "y", {Series{"bytes", {10, 0}, {1, 2}, {}, true}}, true};
  CHECK(message({negative}).find("series 'bytes': x[1] = 0 is not positive") != std::string::npos);
  CHECK(message({two_series_panel()}, 40, 30).find("too small") != std::string::npos);
  CHECK(message({two_series_panel()}, 0, 30).find("0x30") != std::string::npos);
  CHECK_THROWS_AS(chart_raster({lengths}, 800, 400), Error);
}

TEST_CASE("bar chart svg: one bar per label, values, rotated escaped labels, room for them", "[report]") {
  std::vector<Bar> bars = {{"image_encoder.trunk.blocks.3.attn.qkv", 4.0},
                           {"image_encoder.trunk.blocks.3.mlp.layers.0", 6.5},
                           {"mask_decoder<&>", 8.0},
                           {"empty", 0.0},
                           {"broken", kNaN}};
  std::string svg = bar_chart_svg("bits per layer", "bits", bars, 600, 300);
  CHECK(xml_problem(svg).empty());
  CHECK(count_of(svg, "class=\"bar\"") == 3);  // zero and NaN draw no bar
  CHECK(count_of(svg, ">image_encoder.trunk.blocks.3.attn.qkv</text>") == 1);
  CHECK(count_of(svg, ">mask_decoder&lt;&amp;&gt;</text>") == 1);
  CHECK(count_of(svg, "rotate(-60") == 5);
  for (const char* value : {">4</text>", ">6.5</text>", ">8</text>", ">0</text>", ">nan</text>"}) {
    CHECK(count_of(svg, value) >= 1);
  }
  // The longest label (41 characters at 6 pixels per character and scale 1) hangs sin(60 degrees) * 246 =
  // 213 pixels below the axis, more than fits under a 60-scale-pixel plot in 300 pixels: the picture grows.
  size_t at = svg.find("height=\"");
  REQUIRE(at != std::string::npos);
  int height = std::stoi(svg.substr(at + 8));
  CHECK(height > 300);
  CHECK(bar_chart_svg("short", "", {{"a", 1.0}}, 600, 300).find("height=\"300\"") != std::string::npos);
  // Many bars widen the picture rather than overlap their labels.
  std::vector<Bar> many(200, Bar{"layer", 1.0});
  std::string wide = bar_chart_svg("many", "bits", many, 400, 300);
  CHECK(std::stoi(wide.substr(wide.find("width=\"") + 7)) >= 200 * 12);
  CHECK(xml_problem(bar_chart_svg("none", "bits", {}, 400, 300)).empty());
}

TEST_CASE("bitmap font: every printable ASCII glyph, distinct and inked; UTF-8 decoding", "[report]") {
  std::set<GlyphRows> seen;
  for (char32_t c = 33; c < 127; ++c) {
    const GlyphRows& rows = glyph(c);
    int inked = 0;
    for (uint8_t row : rows) {
      CHECK(row < (1u << kGlyphWidth));
      inked += row != 0;
    }
    CHECK(inked > 0);
    seen.insert(rows);
  }
  CHECK(seen.size() == 94);
  for (uint8_t row : glyph(U' ')) CHECK(row == 0);
  CHECK(glyph(U'\U0001F600') == glyph(U'\uFFFD'));
  CHECK(glyph(U'λ') != glyph(U'\uFFFD'));
  // Descenders use the rows under the baseline; capitals do not.
  CHECK(glyph(U'g')[kGlyphRows - 1] != 0);
  CHECK(glyph(U'E')[kGlyphAscent] == 0);
  CHECK(decode_utf8("λ=1") == std::vector<char32_t>{0x3BB, U'=', U'1'});
  CHECK(decode_utf8("a\xff"
                    "b") == std::vector<char32_t>{U'a', 0xFFFD, U'b'});
  CHECK(decode_utf8("\xce") == std::vector<char32_t>{0xFFFD});
  CHECK(text_width("") == 0);
  CHECK(text_width("ab") == 11);
  CHECK(text_width("λ=1") == 17);
}

TEST_CASE("raster canvas: pixel-centre shapes and text placement", "[report]") {
  const Rgb ink{1, 2, 3};
  RasterCanvas canvas(40, 30, kWhite);
  canvas.stroke_line({2, 10.5}, {20, 10.5}, 1.0, ink);
  CHECK(canvas.pixel(2, 10) == ink);
  CHECK(canvas.pixel(20, 10) == ink);
  CHECK(canvas.pixel(10, 9) == kWhite);
  CHECK(canvas.pixel(10, 11) == kWhite);
  canvas.fill_circle({30, 20}, 3.0, ink);
  CHECK(canvas.pixel(29, 19) == ink);     // centre (29.5, 19.5), 0.7 from the centre
  CHECK(canvas.pixel(32, 20) == ink);     // (32.5, 20.5): 2.55
  CHECK(canvas.pixel(33, 20) == kWhite);  // 3.54
  CHECK(canvas.pixel(32, 22) == kWhite);  // (32.5, 22.5): 3.54
  canvas.fill_polygon({{0, 20}, {8, 20}, {0, 28}}, ink);
  CHECK(canvas.pixel(0, 20) == ink);
  CHECK(canvas.pixel(6, 20) == ink);
  CHECK(canvas.pixel(6, 26) == kWhite);
  CHECK(canvas.pixel(1, 26) == ink);

  // 'L' (column 0 down, then the bottom row) with its baseline at y = 8, starting at x = 3.
  RasterCanvas text(20, 20, kWhite);
  text.draw_text({3, 8}, "L", 1, ink, TextDirection::horizontal, false);
  CHECK(text.pixel(3, 1) == ink);  // row 0
  CHECK(text.pixel(3, 7) == ink);  // row 6
  CHECK(text.pixel(7, 7) == ink);  // row 6, column 4
  CHECK(text.pixel(4, 6) == kWhite);
  CHECK(text.pixel(3, 8) == kWhite);  // under the baseline
  // Upward from (16, 18) at scale 2: glyph row r at x = 16 + (r - 7) * 2, column c at y = 18 - 1 - 2c.
  RasterCanvas upward(20, 20, kWhite);
  upward.draw_text({16, 18}, "L", 2, ink, TextDirection::upward, false);
  CHECK(upward.pixel(2, 17) == ink);  // row 0, column 0
  CHECK(upward.pixel(3, 16) == ink);
  CHECK(upward.pixel(14, 17) == ink);     // row 6, column 0
  CHECK(upward.pixel(15, 8) == ink);      // row 6, column 4
  CHECK(upward.pixel(8, 13) == kWhite);   // row 3, column 2
  CHECK(upward.pixel(16, 17) == kWhite);  // right of the baseline: descender rows, empty for L
  Tensor image = upward.to_tensor();
  CHECK(image.shape() == Shape{20, 20, 3});
  CHECK(pixel_of(image, 15, 8) == ink);
  CHECK_THROWS_AS(RasterCanvas(0, 5, kWhite), Error);
}

TEST_CASE("chart: sample pictures to look at", "[.][report-viz]") {
  auto series = [](const std::string& label, std::vector<double> x, std::vector<double> y,
                   std::vector<std::string> tags) {
    return Series{label, std::move(x), std::move(y), std::move(tags), true};
  };
  Panel bits{"accuracy vs average bits", "average bits", "mIoU", {}, false};
  bits.series.push_back(series("learned bits", {3.1, 4.2, 5.0, 6.3, 7.8}, {0.62, 0.78, 0.83, 0.855, 0.862},
                               {"λ=1e-1", "λ=3e-2", "λ=1e-2", "λ=3e-3", "λ=1e-3"}));
  bits.series.push_back(series("uniform bits", {4, 5, 6, 8}, {0.41, 0.71, 0.82, 0.858}, {"W4", "W5", "W6", "W8"}));
  Panel bytes{"accuracy vs model bytes", "model bytes", "mIoU", {}, true};
  bytes.series.push_back(series("learned bits", {1.9e7, 2.6e7, 3.1e7, 3.9e7, 4.8e7}, {0.62, 0.78, 0.83, 0.855, 0.862},
                                {"λ=1e-1", "λ=3e-2", "λ=1e-2", "λ=3e-3", "λ=1e-3"}));
  bytes.series.push_back(
      series("uniform bits", {2.45e7, 3.06e7, 3.67e7, 4.9e7}, {0.41, 0.71, 0.82, 0.858}, {"W4", "W5", "W6", "W8"}));
  bytes.series.push_back(Series{"fp32 teacher", {1.96e8}, {0.87}, {}, false});
  std::filesystem::path folder = testing::temporary_path("report_viz");
  std::filesystem::create_directories(folder);
  for (auto [width, height] : {std::pair{1200, 500}, std::pair{640, 300}}) {
    std::string name = fmt::format("tradeoff_{}x{}", width, height);
    io::write_png((folder / (name + ".png")).string(), chart_raster({bits, bytes}, width, height));
    std::ofstream((folder / (name + ".svg")).string()) << chart_svg({bits, bytes}, width, height);
  }
  // Eight series (the legend wraps), one flat and one without a line, next to a panel with a lone point.
  Panel crowded{"eight series, one flat", "step", "value", {}, false};
  for (int k = 0; k < 8; ++k) {
    Series curve{fmt::format("series number {}", k), {}, {}, {}, k != 5};
    for (int i = 0; i <= 10; ++i) {
      curve.x.push_back(i * 100.0);
      curve.y.push_back(k == 3 ? 0.5 : std::exp(-0.2 * i * (k + 1) / 4.0) + 0.05 * k);
    }
    crowded.series.push_back(curve);
  }
  Panel lone{"a single point", "x", "y", {Series{"lone", {42}, {0.001}, {"the only one"}, true}}, false};
  io::write_png((folder / "crowded.png").string(), chart_raster({crowded, lone}, 1100, 420));
  std::vector<Bar> bars;
  for (int block = 0; block < 6; ++block) {
    for (const char* part : {"attn.qkv", "attn.proj", "mlp.layers.0", "mlp.layers.1"}) {
      bars.push_back({fmt::format("image_encoder.trunk.blocks.{}.{}", block, part), 3.0 + (block * 7 + part[0]) % 6});
    }
  }
  std::ofstream((folder / "bits.svg").string()) << bar_chart_svg("bits per layer", "bits", bars, 900, 400);
  // The whole font, three times enlarged.
  RasterCanvas specimen(16 * kGlyphAdvance * 3 + 12, 7 * 12 * 3, kWhite);
  std::string line;
  for (char32_t c = 32; c < 127; ++c) line += static_cast<char>(c);
  for (size_t row = 0; row * 16 < line.size(); ++row) {
    specimen.draw_text({6, (row + 1) * 36.0 - 6}, line.substr(row * 16, 16), 3, Rgb{0, 0, 0}, TextDirection::horizontal,
                       false);
  }
  specimen.draw_text({6, 7 * 36.0 - 6}, "αβγδελμστ×±°·≈≤≥☺", 3, Rgb{0, 0, 0}, TextDirection::horizontal, false);
  io::write_png((folder / "font.png").string(), specimen.to_tensor());
  std::printf("wrote %s\n", folder.string().c_str());
}

// Axis ranges, nice ticks and the compact number format of the charts.
#include "train/report/axis_scale.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include <fmt/format.h>

#include "engine/error.h"

namespace qatd::train::report {

namespace {

constexpr double kMargin = 0.05;

// Multiples of `step` inside [low, high], computed from integer multipliers so they do not drift. The
// count is capped: far from zero (|low / step| > 2^53) the multipliers are no longer exact integers.
std::vector<double> multiples_inside(double low, double high, double step) {
  std::vector<double> values;
  double first = std::ceil(low / step - 1e-9), last = std::floor(high / step + 1e-9);
  auto count = static_cast<int64_t>(std::clamp(last - first + 1.0, 0.0, 1000.0));
  for (int64_t n = 0; n < count; ++n) {
    double k = first + static_cast<double>(n);
    values.push_back(std::abs(k) < 0.5 ? 0.0 : k * step);
  }
  return values;
}

// Multiples of the values in `mantissas` times each decade, inside [low, high] (positive).
std::vector<double> decade_multiples_inside(double low, double high, const std::vector<int>& mantissas) {
  std::vector<double> values;
  for (int exponent = static_cast<int>(std::floor(std::log10(low))) - 1;
       exponent <= static_cast<int>(std::ceil(std::log10(high))); ++exponent) {
    for (int mantissa : mantissas) {
      double value = mantissa * std::pow(10.0, exponent);
      if (value >= low * (1 - 1e-12) && value <= high * (1 + 1e-12)) values.push_back(value);
    }
  }
  return values;
}

// Labels telling apart values `resolution` apart, all plain or all with exponents, as the largest
// needs; 0 asks for each tick's own three significant digits and style (log axes span decades).
void label_ticks(Axis& axis, double resolution) {
  double largest = 0.0;
  for (double tick : axis.ticks) largest = std::max(largest, std::abs(tick));
  axis.tick_labels.clear();
  for (double tick : axis.ticks) {
    axis.tick_labels.push_back(resolution > 0.0 ? format_number(tick, resolution, largest)
                                                : format_number(tick, tick * 1e-3));
  }
}

// Ticks at multiples of a nice step, the smallest step that gives at most max_ticks of them.
void linear_ticks(Axis& axis, int max_ticks) {
  double step = nice_step((axis.high - axis.low) / std::max(1, max_ticks));
  axis.ticks = multiples_inside(axis.low, axis.high, step);
  while (static_cast<int>(axis.ticks.size()) > max_ticks) {
    step = nice_step(step * 1.5);
    axis.ticks = multiples_inside(axis.low, axis.high, step);
  }
  label_ticks(axis, step);
}

}  // namespace

double Axis::fraction(double value) const {
  if (log) return (std::log10(value) - std::log10(low)) / (std::log10(high) - std::log10(low));
  return (value - low) / (high - low);
}

double nice_step(double raw_step) {
  QATD_CHECK(std::isfinite(raw_step) && raw_step > 0.0, "nice_step: step {} must be positive and finite", raw_step);
  double power = std::pow(10.0, std::floor(std::log10(raw_step)));
  for (double mantissa : {1.0, 2.0, 5.0, 10.0}) {
    if (mantissa * power >= raw_step * (1 - 1e-12)) return mantissa * power;
  }
  return 10.0 * power;
}

Axis linear_axis(double data_min, double data_max, int max_ticks, bool from_zero) {
  QATD_CHECK(std::isfinite(data_min) && std::isfinite(data_max) && data_min <= data_max,
             "linear_axis: range [{}, {}] must be finite and ordered", data_min, data_max);
  max_ticks = std::max(max_ticks, 2);
  Axis axis;
  if (from_zero) {
    data_min = std::min(data_min, 0.0);
    data_max = std::max(data_max, 0.0);
  }
  if (data_min == data_max) {
    double half = data_min == 0.0 ? 1.0 : 0.05 * std::abs(data_min);
    data_min -= half;
    data_max += half;
  }
  double margin = kMargin * (data_max - data_min);
  axis.low = from_zero && data_min == 0.0 ? 0.0 : data_min - margin;
  axis.high = from_zero && data_max == 0.0 ? 0.0 : data_max + margin;
  linear_ticks(axis, max_ticks);
  return axis;
}

Axis log_axis(double data_min, double data_max, int max_ticks) {
  QATD_CHECK(std::isfinite(data_min) && std::isfinite(data_max) && data_min > 0.0 && data_min <= data_max,
             "log_axis: range [{}, {}] must be positive, finite and ordered", data_min, data_max);
  max_ticks = std::max(max_ticks, 2);
  double low = std::log10(data_min), high = std::log10(data_max);
  double margin = high > low ? kMargin * (high - low) : 0.15;
  Axis axis;
  axis.log = true;
  axis.low = std::pow(10.0, low - margin);
  axis.high = std::pow(10.0, high + margin);

  // Whole decades, thinned to the exponents that are multiples of 2, 3, ... when there are too many.
  std::vector<double> decades = decade_multiples_inside(axis.low, axis.high, {1});
  for (int every = 1;; ++every) {
    axis.ticks.clear();
    for (double decade : decades) {
      if (std::lround(std::log10(decade)) % every == 0) axis.ticks.push_back(decade);
    }
    if (static_cast<int>(axis.ticks.size()) <= max_ticks) break;
  }
  if (axis.ticks.size() >= 2) {
    label_ticks(axis, 0.0);
    return axis;
  }
  for (const std::vector<int>& mantissas : {std::vector<int>{1, 2, 5}, std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
    std::vector<double> candidates = decade_multiples_inside(axis.low, axis.high, mantissas);
    if (candidates.size() >= 2 && static_cast<int>(candidates.size()) <= max_ticks) {
      axis.ticks = candidates;
      label_ticks(axis, 0.0);
      return axis;
    }
  }
  linear_ticks(axis, max_ticks);
  return axis;
}

std::string format_number(double value, double resolution, double magnitude) {
  if (!std::isfinite(value)) return fmt::format("{}", value);
  resolution = std::abs(resolution);
  if (!(resolution > 0.0)) resolution = std::abs(value) * 1e-6;
  if (std::abs(value) <= resolution * 1e-6 || value == 0.0) return "0";
  double tolerance = resolution * 0.01;
  magnitude = std::isnan(magnitude) ? std::abs(value) : std::abs(magnitude);
  if (magnitude >= 1e-3 && magnitude < 1e4) {
    for (int decimals = 0;; ++decimals) {
      std::string text = fmt::format("{:.{}f}", value, decimals);
      if (decimals >= 12 || std::abs(std::strtod(text.c_str(), nullptr) - value) <= tolerance) return text;
    }
  }
  for (int decimals = 0;; ++decimals) {
    std::string text = fmt::format("{:.{}e}", value, decimals);
    if (decimals >= 12 || std::abs(std::strtod(text.c_str(), nullptr) - value) <= tolerance) {
      size_t e = text.find('e');
      return text.substr(0, e) + "e" + std::to_string(std::atoi(text.c_str() + e + 1));
    }
  }
}

}  // namespace qatd::train::report

#pragma once
// Axis ranges and ticks for the charts: a range that covers the data with a small margin, "nice" tick
// values (1, 2 or 5 times a power of ten; whole decades on a log axis) and compact tick labels.
#include <limits>
#include <string>
#include <vector>

namespace qatd::train::report {

struct Axis {
  double low = 0.0, high = 1.0;  // the range drawn, in data units
  bool log = false;              // positions follow log10(value)
  std::vector<double> ticks;     // inside [low, high], increasing
  std::vector<std::string> tick_labels;

  // Where `value` lies along the axis: 0 at low, 1 at high.
  double fraction(double value) const;
};

// A linear axis over [data_min, data_max] (finite, data_min <= data_max) with at most max_ticks ticks
// (at least 2 are asked for). The range is widened by 5% of the span on both sides; an empty span
// becomes 10% of the value's magnitude (or [-1, 1] around zero). With from_zero the range also reaches
// 0 and gets no margin on that side (bar charts).
Axis linear_axis(double data_min, double data_max, int max_ticks, bool from_zero = false);

// A log10 axis over positive [data_min, data_max], widened by 5% of the span in decades (a single
// value gets +-0.15 decades). Ticks are whole decades (those whose exponent is a multiple of 2, 3,
// ... when there are too many); a range holding fewer than two decades uses 1-2-5 or 1..9 times the
// decades, and a very narrow one falls back to linear nice ticks.
Axis log_axis(double data_min, double data_max, int max_ticks);

// The smallest step of the form {1, 2, 5} x 10^k that is at least `raw_step` (> 0).
double nice_step(double raw_step);

// The one number format of the charts: plain decimals for 1e-3 <= |magnitude| < 1e4 ("0.85", "4",
// "1200"), otherwise a short mantissa and exponent ("1.2e6", "5e-4"), with just enough digits to tell
// apart values `resolution` apart (e.g. the tick step). `magnitude` defaults to the value itself; an
// axis passes its largest tick so that all its labels look alike. Zero (or anything within
// resolution / 1e6 of it) is "0".
std::string format_number(double value, double resolution, double magnitude = std::numeric_limits<double>::quiet_NaN());

}  // namespace qatd::train::report

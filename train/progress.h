#pragma once
// The console side of training: a progress bar (ETA, images/s, the main losses) and periodic
// summary lines. On a terminal the bar is one line redrawn with a carriage return; otherwise (a log
// file, CI) it prints a plain line every `line_every` steps so logs stay readable.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace qatd::train {

using NamedValues = std::vector<std::pair<std::string, double>>;

struct ProgressOptions {
  int64_t total_steps = 0;
  int64_t images_per_step = 1;
  int64_t line_every = 10;         // without a terminal: one line per this many steps (and the last)
  std::FILE* out = stdout;
  std::optional<bool> terminal;    // default: whether `out` is a TTY
  std::function<double()> clock;   // seconds, monotonic; default steady_clock
};

// "1h02m", "4m05s", "12s".
std::string format_duration(double seconds);
// The bar's text without control characters, e.g.
// "[#####---------------] 250/1000  25.0%  3.21 img/s  ETA 4m05s  loss_total 0.1234  loss_bit 0.5"
std::string format_progress_line(int64_t step, int64_t total_steps, double images_per_second, double eta_seconds,
                                  const NamedValues& losses);
// e.g. "step 250: bits min 3.1 max 7.9 mean 5.42 (12 sites) | loss_total 0.1234 loss_task 0.1"
std::string format_summary_line(int64_t step, std::span<const double> bits, const NamedValues& losses);

class ProgressBar {
 public:
  // `first_step` is the step a resumed run starts after, so rates count only this session's work.
  explicit ProgressBar(ProgressOptions options, int64_t first_step = 0);

  // Step `step` (1-based, out of total_steps) has finished with these losses.
  void update(int64_t step, const NamedValues& losses);
  // Prints a summary line (on a terminal, above the bar, which the next update redraws).
  void summary(int64_t step, std::span<const double> bits, const NamedValues& losses);
  // Ends the bar's line on a terminal.
  void finish();

 private:
  ProgressOptions options_;
  bool terminal_ = false;
  int64_t first_step_ = 0;
  double start_time_ = 0.0;
  bool bar_open_ = false;  // a bar is drawn on the current terminal line
};

}  // namespace qatd::train

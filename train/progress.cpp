#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

namespace qatd::train {
namespace {

constexpr int kBarWidth = 20;

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string format_values(const NamedValues& values) {
  std::string text;
  for (const auto& [name, value] : values) {
    text += fmt::format("{}{} {:.4g}", text.empty() ? "" : "  ", name, value);
  }
  return text;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) {
    return "?";
  }
  const auto total = static_cast<int64_t>(std::llround(seconds));
  if (total >= 3600) {
    return fmt::format("{}h{:02d}m", total / 3600, (total % 3600) / 60);
  }
  if (total >= 60) {
    return fmt::format("{}m{:02d}s", total / 60, total % 60);
  }
  return fmt::format("{}s", total);
}

std::string format_progress_line(int64_t step, int64_t total_steps, double images_per_second, double eta_seconds,
                                  const NamedValues& losses) {
  const double fraction = total_steps > 0 ? std::clamp(static_cast<double>(step) / total_steps, 0.0, 1.0) : 0.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string line = fmt::format("[{}{}] {}/{} {:5.1f}%  {:.3g} img/s  ETA {}", std::string(filled, '#'),
                                 std::string(kBarWidth - filled, '-'), step, total_steps, 100.0 * fraction,
                                 images_per_second, format_duration(eta_seconds));
  if (!losses.empty()) {
    line += "  " + format_values(losses);
  }
  return line;
}

std::string format_summary_line(int64_t step, std::span<const double> bits, const NamedValues& losses) {
  std::string line = fmt::format("step {}:", step);
  if (!bits.empty()) {
    const auto [low, high] = std::minmax_element(bits.begin(), bits.end());
    double sum = 0.0;
    for (double bit : bits) {
      sum += bit;
    }
    line += fmt::format(" bits min {:.3g} max {:.3g} mean {:.4g} ({} sites) |", *low, *high, sum / bits.size(),
                        bits.size());
  }
  return line + " " + format_values(losses);
}

ProgressBar::ProgressBar(ProgressOptions options, int64_t first_step)
    : options_(std::move(options)), first_step_(first_step) {
  if (!options_.clock) {
    options_.clock = steady_seconds;
  }
  terminal_ = options_.terminal.value_or(isatty(fileno(options_.out)) == 1);
  start_time_ = options_.clock();
}

void ProgressBar::update(int64_t step, const NamedValues& losses) {
  const bool last = step >= options_.total_steps;
  if (!terminal_ && !last && (options_.line_every <= 0 || step % options_.line_every != 0)) {
    return;
  }
  // The average over this session so far: steadier than the last step's rate, which jumps with
  // checkpoint writes and summaries.
  const double elapsed = options_.clock() - start_time_;
  const auto done = static_cast<double>(step - first_step_);
  const double steps_per_second = elapsed > 0 && done > 0 ? done / elapsed : 0.0;
  const double images_per_second = steps_per_second * options_.images_per_step;
  const double eta = steps_per_second > 0 ? (options_.total_steps - step) / steps_per_second : NAN;
  const std::string line = format_progress_line(step, options_.total_steps, images_per_second, eta, losses);
  if (terminal_) {
    // \x1b[K clears what a longer previous line left behind.
    fmt::print(options_.out, "\r{}\x1b[K", line);
    bar_open_ = true;
  } else {
    fmt::print(options_.out, "{}\n", line);
  }
  std::fflush(options_.out);
}

void ProgressBar::summary(int64_t step, std::span<const double> bits, const NamedValues& losses) {
  fmt::print(options_.out, "{}{}\n", bar_open_ ? "\r\x1b[K" : "", format_summary_line(step, bits, losses));
  bar_open_ = false;
  std::fflush(options_.out);
}

void ProgressBar::finish() {
  if (bar_open_) {
    fmt::print(options_.out, "\n");
    std::fflush(options_.out);
    bar_open_ = false;
  }
}

}  // namespace qatd::train

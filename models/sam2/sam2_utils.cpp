#include "models/sam2/sam2_utils.h"

#include <algorithm>
#include <cstdlib>

#include "engine/engine.h"

namespace qatd::sam2 {

Tensor get_1d_sine_pe(const Tensor& positions, int64_t dim, double temperature) {
  QATD_CHECK(dim > 0 && dim % 2 == 0, "get_1d_sine_pe: dim must be positive and even, got {}", dim);
  int64_t half = dim / 2;
  Tensor index = arange(0.0, static_cast<double>(half), 1.0, positions.dtype());
  Tensor paired = mul(floor(div(index, 2.0)), 2.0);
  Tensor frequencies = pow(temperature, div(paired, static_cast<double>(half)));
  Tensor angles = div(positions.unsqueeze(-1), frequencies);
  return cat({sin(angles), cos(angles)}, -1);
}

std::vector<int64_t> select_closest_cond_frames(int64_t frame_idx, const std::vector<int64_t>& cond_frames,
                                                int64_t max_cond_frame_num) {
  if (max_cond_frame_num == -1 || static_cast<int64_t>(cond_frames.size()) <= max_cond_frame_num) return cond_frames;
  QATD_CHECK(max_cond_frame_num >= 2, "select_closest_cond_frames: at least 2 conditioning frames must be allowed, got {}",
             max_cond_frame_num);
  std::vector<int64_t> selected;
  auto before = std::find_if(cond_frames.rbegin(), cond_frames.rend(), [&](int64_t t) { return t < frame_idx; });
  if (before != cond_frames.rend()) selected.push_back(*before);
  auto after = std::find_if(cond_frames.begin(), cond_frames.end(), [&](int64_t t) { return t >= frame_idx; });
  if (after != cond_frames.end()) selected.push_back(*after);
  std::vector<int64_t> remaining;
  for (int64_t t : cond_frames) {
    if (std::find(selected.begin(), selected.end(), t) == selected.end()) remaining.push_back(t);
  }
  // Python's sorted() is stable: ties keep the dict's (ascending) order.
  std::stable_sort(remaining.begin(), remaining.end(),
                   [&](int64_t a, int64_t b) { return std::llabs(a - frame_idx) < std::llabs(b - frame_idx); });
  for (int64_t t : remaining) {
    if (static_cast<int64_t>(selected.size()) >= max_cond_frame_num) break;
    selected.push_back(t);
  }
  return selected;
}

}  // namespace qatd::sam2

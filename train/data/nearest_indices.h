#pragma once
// Nearest-neighbour resampling by pixel centres, the one rule every mask resize of the data pipeline
// uses: output pixel i of `out` reads source pixel floor((i + 0.5) * in / out), the source pixel whose
// extent holds the output pixel's centre (PIL's NEAREST and PyTorch's "nearest-exact"), computed in
// integers so that no rounding of (i + 0.5) * in / out moves a pixel.
#include <cstdint>
#include <vector>

namespace qatd::train::data {

inline std::vector<int64_t> nearest_source_indices(int64_t in, int64_t out) {
  std::vector<int64_t> indices(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i) indices[static_cast<size_t>(i)] = (2 * i + 1) * in / (2 * out);
  return indices;
}

}  // namespace qatd::train::data

#pragma once
// Fake quantization (quantize, then dequantize) over a contiguous [outer, channels, inner] buffer
// with one integer grid per channel (channels = 1: per tensor). A grid is given relative to its
// zero point z, so the loops never add or subtract it:
//   r = nearbyint(x * inv_scale),  y = clamp(r, low, high) * scale,  low = q_min - z, high = q_max - z,
// which equals torch's (clamp(nearbyint(x * inv_scale) + z, q_min, q_max) - z) * scale for an integer z.
// Rounding is to nearest with ties to even (torch's nearbyint). Forward and backward are single
// passes; the backward recomputes r from x instead of reading a saved mask.
#include <cstdint>

namespace qatd::kernels::cpu {

struct QuantLayout {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 1;
  int64_t numel() const { return outer * channels * inner; }
};

// One grid per channel: four arrays of `channels` values.
template <typename T>
struct QuantGridView {
  const T* scale;
  const T* inv_scale;  // 1 / scale, rounded to T (torch multiplies by it too)
  const T* low;
  const T* high;
};

template <typename T>
void fake_quant_forward(const T* x, const QuantLayout& layout, const QuantGridView<T>& grid, T* y);

// Per-channel sums the backward needs, accumulated in double (each null when not wanted):
//   step:             sum of g * (r - x * inv_scale) inside the grid, g * low below it, g * high above it
//                     (d y / d scale with the rounding straight-through: LSQ's factor)
//   above, below:     sum of g over the elements with r > high, r < low
//   level_difference: sum of g * (Q_upper(x) - Q_lower(x)) for two further grids `upper`, `lower`
struct FakeQuantSums {
  double* step = nullptr;
  double* above = nullptr;
  double* below = nullptr;
  double* level_difference = nullptr;
};

// grad_x (may be null) = grad_y where low <= r <= high, else 0; plus the requested sums.
// `lower` and `upper` are read only when sums.level_difference is set.
template <typename T>
void fake_quant_backward(const T* grad_y, const T* x, const QuantLayout& layout, const QuantGridView<T>& grid,
                         const QuantGridView<T>* lower, const QuantGridView<T>* upper, T* grad_x,
                         const FakeQuantSums& sums);

// The integers of x on the grid, zero point added back: q = clamp(r, low, high) + zero_point.
template <typename T>
void quantize_to_integers(const T* x, const QuantLayout& layout, const QuantGridView<T>& grid, const T* zero_point,
                          int64_t* q);

// Per-channel statistics, in double.
template <typename T>
void channel_min_max(const T* x, const QuantLayout& layout, double* min, double* max);
template <typename T>
void channel_mean_abs(const T* x, const QuantLayout& layout, double* mean);
// The `fraction` quantile of each channel's values (of |x| when `absolute`), interpolated
// linearly between order statistics as torch.quantile does; without `absolute`, `low` also gets
// the (1 - fraction) quantile (low may be null with `absolute`).
template <typename T>
void channel_quantile(const T* x, const QuantLayout& layout, double fraction, bool absolute, double* low,
                      double* high);

}  // namespace qatd::kernels::cpu

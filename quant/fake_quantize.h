#pragma once
// The differentiable fake-quantization ops behind FakeQuantizer, and the grid arithmetic they,
// the module and the integer export share. docs/quantization.md derives every formula below.
//
// Bits. b is a one-element float32 tensor; the forward quantizes at n = round(clamp(b, bits_min,
// bits_max)) (halves round up).
//
// Grids at n bits (q: the integer, z: the zero point, x_hat = (q - z) s):
//   signed symmetric     q in [-(2^(n-1) - 1), 2^(n-1) - 1], z = 0  (narrow range: the grid is
//                        symmetric about 0 and the observed max|x| lands on the top level)
//   unsigned symmetric   q in [0, 2^n - 1], z = 0
//   asymmetric           q in the full grid, [-2^(n-1), 2^(n-1) - 1] or [0, 2^n - 1], integer z
//   q = clamp(round(x / s) + z, q_min, q_max), round to nearest, ties to even (torch's rounding);
//   like torch, x / s is computed as x * (1 / s) in the input's precision.
// Observer scales from a tracked range [m, M] (m_ = min(m, 0), M_ = max(M, 0)), with
// L(n) = 2^(n-1) - 1 for signed symmetric grids and 2^n - 1 otherwise:
//   signed symmetric     s = max(-m_, M_) / L(n)
//   unsigned symmetric   s = M_ / L(n)
//   asymmetric           s = (M_ - m_) / L(n), z = clamp(q_min - round(m_ / s), q_min, q_max)
//   and s = max(s, eps), eps = float32 epsilon, as torch's observers guard empty ranges.
// Learned scales (LSQ): s = max(step, eps); an asymmetric grid takes z from the tracked minimum as
// above, at the learned s. Q_P = L(n) is LSQ's positive extent: the initial step is
// 2 mean|x| / sqrt(Q_P) and the step gradient is scaled by 1 / sqrt(numel_per_step * Q_P).
//
// Gradients. With r = round(x / s) (zero-point-relative), "inside" meaning q_min - z <= r <= q_max - z:
//   d x_hat / d x = 1 inside, 0 outside (straight-through);
//   d x_hat / d s = r - x / s inside, q_min - z below, q_max - z above (LSQ), times the gradient scale;
//   d x_hat / d b, by the site's surrogate, times d clamp(b) / d b: 1 when bits_min <= b <= bits_max,
//   0 outside or when bits_min = bits_max:
//     ste:    d/dβ of F(β) at β = n, where F is the forward with n replaced by a real β wherever it
//             enters (L(β) in an observer's scale, the clamp bounds q_min(β), q_max(β)), z held at
//             its value, and the rounding straight-through (round(x/s) kept at its value, with
//             derivative 1). Per element: s'(n) (r - x/s) inside, s'(n) (q_bound - z) + s q_bound'(n)
//             outside, with s'(n) = -s L'(n) / L(n) for observers (0 under the eps guard or when
//             learned).
//     interp: Q_{k+1}(x) - Q_k(x), k = floor(clamp(b)) (k = bits_max - 1 at b = bits_max): the exact
//             derivative of (1 - a) Q_k(x) + a Q_{k+1}(x), a = clamp(b) - k, between integers; at an
//             integer b it is the right derivative (the left one at b = bits_max). Q_k is the
//             quantizer at k bits, its observer scale at k bits.
//   The x and step gradients are the same for both surrogates: those of the quantizer at n.
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/tensor.h"
#include "quant/quantizer_spec.h"

namespace qatd::quant {

struct FakeQuantizeOptions {
  std::optional<int64_t> channel_axis;  // per channel along this axis (negative counts from the end); none: per tensor
  bool symmetric = true;
  bool is_signed = true;
  Surrogate surrogate = Surrogate::ste;
  double bits_min = 2.0;
  double bits_max = 8.0;
};
FakeQuantizeOptions fake_quantize_options(const QuantizerSpec& spec);

// Scale and zero point from a tracked range: range_min and range_max hold one value (per tensor) or
// one per channel; they get no gradient. Differentiable in x and bits.
Tensor fake_quantize_observed(const Tensor& x, const Tensor& bits, const Tensor& range_min, const Tensor& range_max,
                              const FakeQuantizeOptions& options);

// LSQ: `step` (one value, or shape [channels]) is learned, its gradient multiplied by grad_scale.
// Asymmetric grids take z from range_min (no gradient; unused and may be undefined when symmetric).
// Differentiable in x, bits and step.
Tensor fake_quantize_learned(const Tensor& x, const Tensor& bits, const Tensor& step, const Tensor& range_min,
                             double grad_scale, const FakeQuantizeOptions& options);

// n = round(clamp(b, bits_min, bits_max)).
int64_t integer_bits(double b, double bits_min, double bits_max);
// Clamp bounds of q and the levels L(n) above, for real-valued n.
double grid_low(double bits, bool symmetric, bool is_signed);
double grid_high(double bits, bool symmetric, bool is_signed);
double grid_levels(double bits, bool symmetric, bool is_signed);

// One grid per channel at `bits`, as the ops quantize on it; low and high are q_min - z and q_max - z.
struct ChannelGrids {
  int64_t bits = 0;
  std::vector<double> scale;
  std::vector<double> zero_point;
  std::vector<double> low;
  std::vector<double> high;
  std::vector<double> scale_derivative;  // d s / d n of an observer scale; 0 where learned or under the eps guard
};
ChannelGrids observed_grids(const std::vector<double>& range_min, const std::vector<double>& range_max, int64_t bits,
                            bool symmetric, bool is_signed);
// `range_min` is read only for asymmetric grids.
ChannelGrids learned_grids(const std::vector<double>& step, const std::vector<double>& range_min, int64_t bits,
                           bool symmetric, bool is_signed);

// LSQ's initial step and gradient scale at n bits.
double lsq_initial_step(double mean_abs, int64_t bits, bool symmetric, bool is_signed);
double lsq_gradient_scale(int64_t numel_per_step, int64_t bits, bool symmetric, bool is_signed);

// The channel axis `options` selects in x (checked; none: per tensor) and the number of channels.
std::optional<int64_t> channel_axis_of(const Tensor& x, const FakeQuantizeOptions& options, const char* op);
int64_t channel_count(const Tensor& x, std::optional<int64_t> axis);

// Per-channel statistics of x along `axis` (none: one value), in double, for observers and LSQ init.
struct ChannelRange {
  std::vector<double> min;
  std::vector<double> max;
};
ChannelRange channel_min_max(const Tensor& x, std::optional<int64_t> axis);
// The `percentile` (in (0, 100]) of |x| as [-p, p] when `absolute`, else the (100 - percentile) and
// percentile points of x; torch.quantile's linear interpolation.
ChannelRange channel_percentile(const Tensor& x, std::optional<int64_t> axis, double percentile, bool absolute);
std::vector<double> channel_mean_abs(const Tensor& x, std::optional<int64_t> axis);

// The integers q of x on `grids` (zero point added), int64 with x's shape; the same arithmetic as
// the forward, so (q - z) * scale reproduces it bit for bit in x's dtype.
Tensor quantize_integers(const Tensor& x, std::optional<int64_t> axis, const ChannelGrids& grids);

}  // namespace qatd::quant

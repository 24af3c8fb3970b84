#pragma once
// An independent double-precision statement of the fake-quantization conventions of
// quant/fake_quantize.h (grids, observer scales, zero points), for the fake-quant tests to check
// the library against. Nothing here calls the library's grid code.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "engine/engine.h"
#include "quant/fake_quantizer.h"

namespace qatd::testing {

// One channel's grid: x_hat = (clamp(round(x * (1 / scale)) + zero_point, q_min, q_max) - zero_point) * scale.
struct ReferenceGrid {
  double scale = 1.0;
  double zero_point = 0.0;
  double q_min = 0.0;
  double q_max = 0.0;

  double integer(double x) const {
    return std::clamp(std::nearbyint(x * (1.0 / scale)) + zero_point, q_min, q_max);
  }
  double apply(double x) const { return (integer(x) - zero_point) * scale; }
};

// Clamp bounds at a real-valued bitwidth (signed symmetric grids are narrow).
inline double reference_q_min(double bits, bool symmetric, bool is_signed) {
  if (!is_signed) return 0.0;
  return symmetric ? -(std::exp2(bits - 1) - 1) : -std::exp2(bits - 1);
}
inline double reference_q_max(double bits, bool is_signed) {
  return is_signed ? std::exp2(bits - 1) - 1 : std::exp2(bits) - 1;
}
// The steps an observer's range spans: 2^(n-1) - 1 signed symmetric, else 2^n - 1.
inline double reference_levels(double bits, bool symmetric, bool is_signed) {
  return symmetric && is_signed ? std::exp2(bits - 1) - 1 : std::exp2(bits) - 1;
}

inline constexpr double kFloatEpsilon = std::numeric_limits<float>::epsilon();

inline double reference_zero_point(double min, double scale, double bits, bool symmetric, bool is_signed) {
  if (symmetric) return 0.0;
  double q_min = reference_q_min(bits, symmetric, is_signed), q_max = reference_q_max(bits, is_signed);
  return std::clamp(q_min - std::nearbyint(std::min(min, 0.0) / scale), q_min, q_max);
}

// The observer scale for a range [min, max] at `bits` (the scale as a function of real bits, for
// the ste relaxation; the eps guard applied).
inline double reference_observer_scale(double min, double max, double bits, bool symmetric, bool is_signed) {
  double low = std::min(min, 0.0), high = std::max(max, 0.0);
  double range = symmetric ? (is_signed ? std::max(-low, high) : high) : high - low;
  return std::max(range / reference_levels(bits, symmetric, is_signed), kFloatEpsilon);
}

inline ReferenceGrid reference_observer_grid(double min, double max, int64_t bits, bool symmetric, bool is_signed) {
  ReferenceGrid grid;
  grid.scale = reference_observer_scale(min, max, double(bits), symmetric, is_signed);
  grid.zero_point = reference_zero_point(min, grid.scale, double(bits), symmetric, is_signed);
  grid.q_min = reference_q_min(double(bits), symmetric, is_signed);
  grid.q_max = reference_q_max(double(bits), is_signed);
  return grid;
}

inline ReferenceGrid reference_learned_grid(double step, double min, int64_t bits, bool symmetric, bool is_signed) {
  ReferenceGrid grid;
  grid.scale = std::max(step, kFloatEpsilon);
  grid.zero_point = reference_zero_point(min, grid.scale, double(bits), symmetric, is_signed);
  grid.q_min = reference_q_min(double(bits), symmetric, is_signed);
  grid.q_max = reference_q_max(double(bits), is_signed);
  return grid;
}

// One channel of a fake-quantization site as the ops see it: an observer's range [min, max], or a
// learned step (with min for an asymmetric zero point). The functions below are the ones the
// gradients of quant/fake_quantize.h claim to differentiate, written out independently.
struct ReferenceSite {
  bool learned = false;
  double min = 0.0, max = 0.0, step = 0.0;
  bool symmetric = true, is_signed = true;

  // The scale at a real-valued bitwidth: an observer's range / L(bits) (eps guarded), or the step.
  double scale(double bits) const {
    return learned ? std::max(step, kFloatEpsilon) : reference_observer_scale(min, max, bits, symmetric, is_signed);
  }
  ReferenceGrid grid(int64_t bits) const {
    return learned ? reference_learned_grid(step, min, bits, symmetric, is_signed)
                   : reference_observer_grid(min, max, bits, symmetric, is_signed);
  }

  // The ste surrogate's F(beta): the forward with n replaced by beta in the scale and the clamp
  // bounds, z and round(x / s) frozen at their values at n, the rounding straight-through
  // (round(x / s(beta)) ~ r + x / s(beta) - x / s(n)).
  double ste_relaxation(double x, double beta, int64_t n) const {
    const ReferenceGrid at_n = grid(n);
    const double r = std::nearbyint(x * (1.0 / at_n.scale));
    const double s = scale(beta);
    const double low = reference_q_min(beta, symmetric, is_signed) - at_n.zero_point;
    const double high = reference_q_max(beta, is_signed) - at_n.zero_point;
    return s * std::clamp(r + x / s - x / at_n.scale, low, high);
  }

  // The interp surrogate's function of b: (1 - a) Q_k(x) + a Q_{k+1}(x), a = b - k.
  double interpolated(double x, double b, int64_t k) const {
    const double a = b - static_cast<double>(k);
    return (1.0 - a) * grid(k).apply(x) + a * grid(k + 1).apply(x);
  }

  // LSQ's F(s) at n bits around the step s0: z and round(x / s0) frozen, rounding straight-through.
  double lsq_relaxation(double x, double s, double s0, int64_t n) const {
    ReferenceSite at_s0 = *this;
    at_s0.step = s0;
    const ReferenceGrid grid0 = at_s0.grid(n);
    const double r = std::nearbyint(x * (1.0 / grid0.scale));
    return s * std::clamp(r + x / s - x / grid0.scale, grid0.q_min - grid0.zero_point, grid0.q_max - grid0.zero_point);
  }
};

// Which channel flat element i of a contiguous tensor of `shape` belongs to (axis < 0: per tensor).
inline int64_t channel_of(int64_t i, const Shape& shape, int64_t axis) {
  if (axis < 0) return 0;
  int64_t inner = 1;
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  return (i / inner) % shape[axis];
}

inline quant::QuantizerSpec make_spec(quant::ScaleSource source, bool symmetric, bool is_signed,
                                      int64_t axis = -1, quant::Surrogate surrogate = quant::Surrogate::ste) {
  quant::QuantizerSpec spec;
  spec.scale_source = source;
  spec.symmetric = symmetric;
  spec.is_signed = is_signed;
  spec.surrogate = surrogate;
  if (axis >= 0) {
    spec.granularity = quant::Granularity::per_channel;
    spec.channel_axis = axis;
  }
  return spec;
}

inline Tensor bit_variable(double value) {
  Tensor bits = full({1}, value, DType::f32);
  bits.set_requires_grad(true);
  return bits;
}

}  // namespace qatd::testing

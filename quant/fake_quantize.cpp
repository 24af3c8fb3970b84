#include "quant/fake_quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/autograd/saved_tensor.h"
#include "engine/error.h"
#include "kernels/cpu/fake_quant.h"

namespace qatd::quant {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using kernels::cpu::QuantLayout;

namespace {

// torch's observers clamp scales to float32's epsilon so an empty range never divides by zero.
constexpr double kScaleEpsilon = std::numeric_limits<float>::epsilon();
const double kLn2 = std::log(2.0);

void check_options(const FakeQuantizeOptions& options, const char* op) {
  QATD_CHECK(options.bits_min >= 1.0 && options.bits_max <= 16.0 && options.bits_min <= options.bits_max,
             "{}: the bit range [{}, {}] must satisfy 1 <= bits_min <= bits_max <= 16", op, options.bits_min,
             options.bits_max);
  QATD_CHECK(!(options.symmetric && options.is_signed) || options.bits_min >= 2.0,
             "{}: a signed symmetric grid needs at least 2 bits (1 bit has no level but 0), got bits_min {}", op,
             options.bits_min);
}

void check_input(const Tensor& x, const char* op) {
  QATD_CHECK(x.defined(), "{}: the input is undefined", op);
  QATD_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, "{}: the input must be f32 or f64, got {}", op,
             dtype_name(x.dtype()));
  QATD_CHECK(x.numel() > 0, "{}: the input {} is empty", op, shape_str(x.shape()));
}

// The value of the bit variable, checked.
double bits_value(const Tensor& bits, const char* op) {
  QATD_CHECK(bits.defined(), "{}: the bits tensor is undefined", op);
  QATD_CHECK(bits.numel() == 1 && bits.dtype() == DType::f32,
             "{}: bits must be a one-element f32 tensor, got shape {} of {}", op, shape_str(bits.shape()),
             dtype_name(bits.dtype()));
  double b = bits.item();
  QATD_CHECK(std::isfinite(b), "{}: the bit variable is {}", op, b);
  return b;
}

// The values of a per-channel parameter or range, checked to hold one value per channel.
std::vector<double> channel_values(const Tensor& values, int64_t channels, std::optional<int64_t> axis,
                                   const char* what, const char* op) {
  QATD_CHECK(values.defined(), "{}: {} is undefined", op, what);
  QATD_CHECK(is_floating(values.dtype()), "{}: {} must be floating point, got {}", op, what,
             dtype_name(values.dtype()));
  if (axis) {
    QATD_CHECK(values.shape() == Shape{channels},
               "{}: {} must have shape [{}] (one value per channel along axis {}), got {}", op, what, channels, *axis,
               shape_str(values.shape()));
  } else {
    QATD_CHECK(values.numel() == 1, "{}: {} of a per-tensor quantizer must hold one value, got shape {}", op, what,
               shape_str(values.shape()));
  }
  return values.to(DType::f64).to_vector<double>();
}

QuantLayout layout_of(const Tensor& x, std::optional<int64_t> axis) {
  if (!axis) return {1, 1, x.numel()};
  QuantLayout layout;
  for (int64_t d = 0; d < *axis; ++d) layout.outer *= x.size(d);
  layout.channels = x.size(*axis);
  for (int64_t d = *axis + 1; d < x.dim(); ++d) layout.inner *= x.size(d);
  return layout;
}

// A grid in T, as the kernels read it.
template <typename T>
struct GridArrays {
  std::vector<T> scale, inv_scale, low, high;
  explicit GridArrays(const ChannelGrids& grids) {
    for (size_t c = 0; c < grids.scale.size(); ++c) {
      scale.push_back(static_cast<T>(grids.scale[c]));
      inv_scale.push_back(T(1) / scale.back());
      low.push_back(static_cast<T>(grids.low[c]));
      high.push_back(static_cast<T>(grids.high[c]));
    }
  }
  kernels::cpu::QuantGridView<T> view() const { return {scale.data(), inv_scale.data(), low.data(), high.data()}; }
};

// d q_min / d n and d q_max / d n of the clamp bounds.
std::pair<double, double> bound_derivatives(int64_t bits, bool is_signed) {
  if (!is_signed) return {0.0, kLn2 * std::exp2(static_cast<double>(bits))};
  const double half = std::exp2(static_cast<double>(bits - 1));
  return {-kLn2 * half, kLn2 * half};
}

// What the backward needs besides x and the upstream gradient.
struct Plan {
  const char* op;
  QuantLayout layout;
  bool learned = false;
  Surrogate surrogate = Surrogate::ste;
  ChannelGrids grid, lower, upper;  // lower and upper: the interp surrogate's k and k + 1 bits
  double bits_weight = 0.0;         // d clamp(b) / d b
  double low_derivative = 0.0, high_derivative = 0.0;
  double grad_scale = 1.0;
};

Tensor fake_quantize_op(const Tensor& x, const Tensor& bits, const Tensor& step, const Plan& plan) {
  Tensor input = x.detach().contiguous();
  Tensor out = empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), plan.op, [&]<typename T>() {
    GridArrays<T> grid(plan.grid);
    kernels::cpu::fake_quant_forward<T>(input.data<T>(), plan.layout, grid.view(), out.data<T>());
  });
  if (!needs_grad({x, bits, step})) return out;
  const bool grad_x = x.requires_grad();
  const bool grad_bits = bits.requires_grad();
  const bool grad_step = step.defined() && step.requires_grad();
  SavedTensor saved_input(input);
  const Shape bits_shape = bits.shape(), step_shape = step.defined() ? step.shape() : Shape{};
  const DType step_dtype = step.defined() ? step.dtype() : DType::f32;
  std::vector<Tensor> inputs = {x, bits};
  if (step.defined()) inputs.push_back(step);
  record(plan.op, inputs, out, [=](const Tensor& g) {
    Tensor upstream = g.contiguous(), saved = saved_input.get();
    const int64_t channels = plan.layout.channels;
    // Outside [bits_min, bits_max] the clamp stops b's gradient: nothing to sum.
    const bool live_bits = grad_bits && plan.bits_weight != 0.0;
    const bool ste_bits = live_bits && plan.surrogate == Surrogate::ste;
    const bool interp_bits = live_bits && plan.surrogate == Surrogate::interp;
    std::vector<double> step_sum(channels), above(channels), below(channels), level(channels);
    kernels::cpu::FakeQuantSums sums;
    if (grad_step || (ste_bits && !plan.learned)) sums.step = step_sum.data();
    if (ste_bits) {
      sums.above = above.data();
      sums.below = below.data();
    }
    if (interp_bits) sums.level_difference = level.data();
    Tensor dx = grad_x ? empty(saved.shape(), saved.dtype()) : Tensor();
    dispatch_floating(saved.dtype(), plan.op, [&]<typename T>() {
      GridArrays<T> grid(plan.grid);
      std::optional<GridArrays<T>> lower, upper;
      if (interp_bits) {
        lower.emplace(plan.lower);
        upper.emplace(plan.upper);
      }
      auto lower_view = lower ? std::optional(lower->view()) : std::nullopt;
      auto upper_view = upper ? std::optional(upper->view()) : std::nullopt;
      kernels::cpu::fake_quant_backward<T>(upstream.data<T>(), saved.data<T>(), plan.layout, grid.view(),
                                           lower_view ? &*lower_view : nullptr, upper_view ? &*upper_view : nullptr,
                                           grad_x ? dx.data<T>() : nullptr, sums);
    });
    Tensor dbits, dstep;
    if (grad_bits) {
      double total = 0.0;
      for (int64_t c = 0; live_bits && c < channels; ++c) {
        if (interp_bits) {
          total += level[c];
        } else {
          total += plan.grid.scale[c] * (plan.high_derivative * above[c] + plan.low_derivative * below[c]);
          if (!plan.learned) total += plan.grid.scale_derivative[c] * step_sum[c];
        }
      }
      dbits = full(bits_shape, total * plan.bits_weight, DType::f32);
    }
    if (grad_step) {
      for (double& value : step_sum) value *= plan.grad_scale;
      dstep = from_vector(step_sum, step_shape).to(step_dtype);
    }
    std::vector<Tensor> grads = {dx, dbits};
    if (step.defined()) grads.push_back(dstep);
    return grads;
  });
  return out;
}

// The plan shared by both ops: layout, bits, surrogate, and the grids at n (and k, k + 1 for interp).
template <typename MakeGrids>
Plan make_plan(const char* op, const Tensor& x, const Tensor& bits, std::optional<int64_t> axis,
               const FakeQuantizeOptions& options, MakeGrids&& make_grids) {
  const double b = bits_value(bits, op);
  Plan plan;
  plan.op = op;
  plan.layout = layout_of(x, axis);
  plan.surrogate = options.surrogate;
  const int64_t n = integer_bits(b, options.bits_min, options.bits_max);
  plan.grid = make_grids(n);
  const bool inside = b >= options.bits_min && b <= options.bits_max && options.bits_min < options.bits_max;
  plan.bits_weight = inside ? 1.0 : 0.0;
  std::tie(plan.low_derivative, plan.high_derivative) = bound_derivatives(n, options.is_signed);
  if (options.surrogate == Surrogate::interp && inside) {
    const double clamped = std::clamp(b, options.bits_min, options.bits_max);
    double k = std::floor(clamped);
    if (k >= options.bits_max) k -= 1.0;
    plan.lower = make_grids(static_cast<int64_t>(k));
    plan.upper = make_grids(static_cast<int64_t>(k) + 1);
  }
  return plan;
}

}  // namespace

FakeQuantizeOptions fake_quantize_options(const QuantizerSpec& spec) {
  FakeQuantizeOptions options;
  if (spec.granularity == Granularity::per_channel) options.channel_axis = spec.channel_axis;
  options.symmetric = spec.symmetric;
  options.is_signed = spec.is_signed;
  options.surrogate = spec.surrogate;
  options.bits_min = spec.bits_min;
  options.bits_max = spec.bits_max;
  return options;
}

int64_t integer_bits(double b, double bits_min, double bits_max) {
  return static_cast<int64_t>(std::round(std::clamp(b, bits_min, bits_max)));
}

double grid_low(double bits, bool symmetric, bool is_signed) {
  if (!is_signed) return 0.0;
  const double half = std::exp2(bits - 1.0);
  return symmetric ? -(half - 1.0) : -half;
}

double grid_high(double bits, bool symmetric, bool is_signed) {
  return is_signed ? std::exp2(bits - 1.0) - 1.0 : std::exp2(bits) - 1.0;
}

double grid_levels(double bits, bool symmetric, bool is_signed) {
  return symmetric && is_signed ? std::exp2(bits - 1.0) - 1.0 : std::exp2(bits) - 1.0;
}

namespace {

// Zero point and zero-point-relative bounds of channel c, at scale s (torch's calculate_qparams).
void place_zero_point(ChannelGrids& grids, double min_negative, bool symmetric, bool is_signed) {
  const double q_min = grid_low(grids.bits, symmetric, is_signed), q_max = grid_high(grids.bits, symmetric, is_signed);
  double z = 0.0;
  if (!symmetric) z = std::clamp(q_min - std::nearbyint(min_negative / grids.scale.back()), q_min, q_max);
  grids.zero_point.push_back(z);
  grids.low.push_back(q_min - z);
  grids.high.push_back(q_max - z);
}

}  // namespace

ChannelGrids observed_grids(const std::vector<double>& range_min, const std::vector<double>& range_max, int64_t bits,
                            bool symmetric, bool is_signed) {
  ChannelGrids grids;
  grids.bits = bits;
  const double levels = grid_levels(static_cast<double>(bits), symmetric, is_signed);
  const double levels_derivative = kLn2 * (levels + 1.0);
  for (size_t c = 0; c < range_min.size(); ++c) {
    const double min_negative = std::min(range_min[c], 0.0), max_positive = std::max(range_max[c], 0.0);
    double range = max_positive - min_negative;
    if (symmetric) range = is_signed ? std::max(-min_negative, max_positive) : max_positive;
    const double scale = range / levels;
    const bool guarded = !(scale >= kScaleEpsilon);
    grids.scale.push_back(guarded ? kScaleEpsilon : scale);
    grids.scale_derivative.push_back(guarded ? 0.0 : -scale * levels_derivative / levels);
    place_zero_point(grids, min_negative, symmetric, is_signed);
  }
  return grids;
}

ChannelGrids learned_grids(const std::vector<double>& step, const std::vector<double>& range_min, int64_t bits,
                           bool symmetric, bool is_signed) {
  ChannelGrids grids;
  grids.bits = bits;
  for (size_t c = 0; c < step.size(); ++c) {
    grids.scale.push_back(std::max(step[c], kScaleEpsilon));
    grids.scale_derivative.push_back(0.0);
    place_zero_point(grids, symmetric ? 0.0 : std::min(range_min[c], 0.0), symmetric, is_signed);
  }
  return grids;
}

double lsq_initial_step(double mean_abs, int64_t bits, bool symmetric, bool is_signed) {
  const double positive_levels = grid_levels(static_cast<double>(bits), symmetric, is_signed);
  return std::max(2.0 * mean_abs / std::sqrt(positive_levels), kScaleEpsilon);
}

double lsq_gradient_scale(int64_t numel_per_step, int64_t bits, bool symmetric, bool is_signed) {
  const double positive_levels = grid_levels(static_cast<double>(bits), symmetric, is_signed);
  return 1.0 / std::sqrt(static_cast<double>(numel_per_step) * positive_levels);
}

std::optional<int64_t> channel_axis_of(const Tensor& x, const FakeQuantizeOptions& options, const char* op) {
  if (!options.channel_axis) return std::nullopt;
  const int64_t axis = *options.channel_axis, rank = x.dim();
  QATD_CHECK(axis >= -rank && axis < rank, "{}: channel axis {} is out of range for an input of shape {} (rank {})",
             op, axis, shape_str(x.shape()), rank);
  return axis < 0 ? axis + rank : axis;
}

int64_t channel_count(const Tensor& x, std::optional<int64_t> axis) { return axis ? x.size(*axis) : 1; }

Tensor fake_quantize_observed(const Tensor& x, const Tensor& bits, const Tensor& range_min, const Tensor& range_max,
                              const FakeQuantizeOptions& options) {
  const char* op = "fake_quantize_observed";
  check_options(options, op);
  check_input(x, op);
  const std::optional<int64_t> axis = channel_axis_of(x, options, op);
  const int64_t channels = channel_count(x, axis);
  const std::vector<double> low = channel_values(range_min, channels, axis, "range_min", op);
  const std::vector<double> high = channel_values(range_max, channels, axis, "range_max", op);
  for (int64_t c = 0; c < channels; ++c) {
    QATD_CHECK(std::isfinite(low[c]) && std::isfinite(high[c]) && low[c] <= high[c],
               "{}: channel {} has the range [{}, {}] (an observer that has seen no data?)", op, c, low[c], high[c]);
  }
  Plan plan = make_plan(op, x, bits, axis, options, [&](int64_t n) {
    return observed_grids(low, high, n, options.symmetric, options.is_signed);
  });
  return fake_quantize_op(x, bits, Tensor(), plan);
}

Tensor fake_quantize_learned(const Tensor& x, const Tensor& bits, const Tensor& step, const Tensor& range_min,
                             double grad_scale, const FakeQuantizeOptions& options) {
  const char* op = "fake_quantize_learned";
  check_options(options, op);
  check_input(x, op);
  QATD_CHECK(grad_scale > 0.0 && std::isfinite(grad_scale), "{}: the gradient scale must be positive, got {}", op,
             grad_scale);
  const std::optional<int64_t> axis = channel_axis_of(x, options, op);
  const int64_t channels = channel_count(x, axis);
  const std::vector<double> steps = channel_values(step, channels, axis, "the learned step", op);
  std::vector<double> low;
  if (!options.symmetric) {
    low = channel_values(range_min, channels, axis, "range_min", op);
    for (int64_t c = 0; c < channels; ++c) {
      QATD_CHECK(std::isfinite(low[c]), "{}: channel {} has the minimum {} (an observer that has seen no data?)", op,
                 c, low[c]);
    }
  }
  Plan plan = make_plan(op, x, bits, axis, options, [&](int64_t n) {
    return learned_grids(steps, low, n, options.symmetric, options.is_signed);
  });
  plan.learned = true;
  plan.grad_scale = grad_scale;
  return fake_quantize_op(x, bits, step, plan);
}

ChannelRange channel_min_max(const Tensor& x, std::optional<int64_t> axis) {
  Tensor input = x.detach().contiguous();
  const QuantLayout layout = layout_of(input, axis);
  ChannelRange range{std::vector<double>(layout.channels), std::vector<double>(layout.channels)};
  dispatch_floating(input.dtype(), "channel_min_max", [&]<typename T>() {
    kernels::cpu::channel_min_max<T>(input.data<T>(), layout, range.min.data(), range.max.data());
  });
  return range;
}

ChannelRange channel_percentile(const Tensor& x, std::optional<int64_t> axis, double percentile, bool absolute) {
  Tensor input = x.detach().contiguous();
  const QuantLayout layout = layout_of(input, axis);
  ChannelRange range{std::vector<double>(layout.channels), std::vector<double>(layout.channels)};
  dispatch_floating(input.dtype(), "channel_percentile", [&]<typename T>() {
    kernels::cpu::channel_quantile<T>(input.data<T>(), layout, percentile / 100.0, absolute, range.min.data(),
                                      range.max.data());
  });
  if (absolute) {
    for (size_t c = 0; c < range.max.size(); ++c) range.min[c] = -range.max[c];
  }
  return range;
}

std::vector<double> channel_mean_abs(const Tensor& x, std::optional<int64_t> axis) {
  Tensor input = x.detach().contiguous();
  const QuantLayout layout = layout_of(input, axis);
  std::vector<double> mean(layout.channels);
  dispatch_floating(input.dtype(), "channel_mean_abs",
                    [&]<typename T>() { kernels::cpu::channel_mean_abs<T>(input.data<T>(), layout, mean.data()); });
  return mean;
}

Tensor quantize_integers(const Tensor& x, std::optional<int64_t> axis, const ChannelGrids& grids) {
  Tensor input = x.detach().contiguous();
  const QuantLayout layout = layout_of(input, axis);
  QATD_CHECK(static_cast<int64_t>(grids.scale.size()) == layout.channels,
             "quantize_integers: the grid has {} channels, the input {} has {}", grids.scale.size(),
             shape_str(x.shape()), layout.channels);
  Tensor q = empty(x.shape(), DType::i64);
  dispatch_floating(input.dtype(), "quantize_integers", [&]<typename T>() {
    GridArrays<T> grid(grids);
    std::vector<T> zero_point(grids.zero_point.begin(), grids.zero_point.end());
    kernels::cpu::quantize_to_integers<T>(input.data<T>(), layout, grid.view(), zero_point.data(), q.data<int64_t>());
  });
  return q;
}

}  // namespace qatd::quant

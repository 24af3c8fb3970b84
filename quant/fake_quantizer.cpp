#include "quant/fake_quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/autograd/grad_mode.h"
#include "engine/error.h"
#include "quant/fake_quantize.h"

namespace qatd::quant {

namespace {

constexpr const char* kName = "FakeQuantizer";

bool tracks_range(const QuantizerSpec& spec) {
  return spec.scale_source != ScaleSource::learned || !spec.symmetric;
}

bool is_learned(const QuantizerSpec& spec) { return spec.scale_source == ScaleSource::learned; }

// The state a forward on x would use: the tracked range after this call's observation and the
// step after its first-call initialisation, one value per channel.
struct SiteState {
  std::vector<double> min, max, step;
  bool range_changed = false;
  bool step_changed = false;
};

std::vector<double> values_or(const Tensor& tensor, int64_t channels, double fill) {
  if (!tensor.defined()) return std::vector<double>(channels, fill);
  return tensor.to(DType::f64).to_vector<double>();
}

SiteState next_state(const FakeQuantizer& quantizer, const Tensor& x, std::optional<int64_t> axis, int64_t bits) {
  const QuantizerSpec& spec = quantizer.spec;
  const int64_t channels = channel_count(x, axis);
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  SiteState state;
  if (tracks_range(spec)) {
    state.min = values_or(quantizer.running_min, channels, kInfinity);
    state.max = values_or(quantizer.running_max, channels, -kInfinity);
    const bool observed = state.min[0] <= state.max[0];
    if (quantizer.is_training() || !observed) {
      state.range_changed = true;
      if (spec.scale_source == ScaleSource::min_max || spec.scale_source == ScaleSource::learned) {
        ChannelRange range = channel_min_max(x, axis);
        for (int64_t c = 0; c < channels; ++c) {
          state.min[c] = std::min(state.min[c], range.min[c]);
          state.max[c] = std::max(state.max[c], range.max[c]);
        }
      } else {
        ChannelRange range = spec.scale_source == ScaleSource::percentile
                                 ? channel_percentile(x, axis, spec.percentile, spec.symmetric && spec.is_signed)
                                 : channel_min_max(x, axis);
        const double weight = spec.averaging_constant;
        for (int64_t c = 0; c < channels; ++c) {
          state.min[c] = observed ? state.min[c] + weight * (range.min[c] - state.min[c]) : range.min[c];
          state.max[c] = observed ? state.max[c] + weight * (range.max[c] - state.max[c]) : range.max[c];
        }
      }
    }
  }
  if (is_learned(spec)) {
    state.step = values_or(quantizer.step, channels, 0.0);
    const bool initialised = std::any_of(state.step.begin(), state.step.end(), [](double s) { return s != 0.0; });
    if (!initialised) {
      state.step_changed = true;
      std::vector<double> mean = channel_mean_abs(x, axis);
      for (int64_t c = 0; c < channels; ++c) {
        state.step[c] = lsq_initial_step(mean[c], bits, spec.symmetric, spec.is_signed);
      }
    }
  }
  // The forward reads the state back from its f32 buffers: the grid must come from those values.
  for (std::vector<double>* values : {&state.min, &state.max, &state.step}) {
    for (double& value : *values) value = static_cast<float>(value);
  }
  return state;
}

void write_values(Tensor& target, const std::vector<double>& values) {
  NoGradGuard no_grad;
  target.copy_(from_vector(values, target.shape()));
}

ChannelGrids grids_of(const QuantizerSpec& spec, const SiteState& state, int64_t bits) {
  if (is_learned(spec)) return learned_grids(state.step, state.min, bits, spec.symmetric, spec.is_signed);
  return observed_grids(state.min, state.max, bits, spec.symmetric, spec.is_signed);
}

double checked_bits(const Tensor& bits) {
  QATD_CHECK(bits.defined(), "{}: the bits tensor is undefined", kName);
  QATD_CHECK(bits.numel() == 1 && bits.dtype() == DType::f32,
             "{}: bits must be a one-element f32 tensor, got shape {} of {}", kName, shape_str(bits.shape()),
             dtype_name(bits.dtype()));
  const double b = bits.item();
  QATD_CHECK(std::isfinite(b), "{}: the bit variable is {}", kName, b);
  return b;
}

}  // namespace

int64_t grid_min(int64_t bits, bool is_signed) { return is_signed ? -(int64_t(1) << (bits - 1)) : 0; }

int64_t grid_max(int64_t bits, bool is_signed) {
  return is_signed ? (int64_t(1) << (bits - 1)) - 1 : (int64_t(1) << bits) - 1;
}

int64_t integer_bits(double b, const QuantizerSpec& spec) { return integer_bits(b, spec.bits_min, spec.bits_max); }

FakeQuantizer::FakeQuantizer(QuantizerSpec spec_in, Tensor bits_in) : spec(std::move(spec_in)), bits(std::move(bits_in)) {
  validate(spec, kName);
  QATD_CHECK(!(spec.symmetric && spec.is_signed) || spec.bits_min >= 2.0,
             "{}: a signed symmetric grid needs bits_min >= 2 (1 bit has no level but 0), got {}", kName,
             spec.bits_min);
  checked_bits(bits);
  if (is_learned(spec)) register_parameter("step", step);
  if (tracks_range(spec)) {
    register_buffer("running_min", running_min);
    register_buffer("running_max", running_max);
  }
  if (spec.granularity == Granularity::per_tensor) allocate_state(1);
}

void FakeQuantizer::allocate_state(int64_t channels) {
  const bool per_channel = spec.granularity == Granularity::per_channel;
  QATD_CHECK(channels >= 1 && (per_channel || channels == 1),
             "{}: allocate_state({}) on a {} quantizer (per-tensor state has one value)", kName, channels,
             to_string(spec.granularity));
  const Shape shape = per_channel ? Shape{channels} : Shape{1};
  auto allocate = [&](Tensor& slot, double fill, const char* what) {
    if (slot.defined()) {
      QATD_CHECK(slot.shape() == shape, "{}: {} has shape {}, but the input has {} channel(s) (expected {})", kName,
                 what, shape_str(slot.shape()), channels, shape_str(shape));
      return;
    }
    slot = full(shape, fill);
  };
  if (tracks_range(spec)) {
    allocate(running_min, std::numeric_limits<double>::infinity(), "running_min");
    allocate(running_max, -std::numeric_limits<double>::infinity(), "running_max");
  }
  if (is_learned(spec)) {
    const bool fresh = !step.defined();
    allocate(step, 0.0, "the learned step");
    if (fresh) step.set_requires_grad(true);
  }
}

Tensor FakeQuantizer::forward(const Tensor& x) {
  if (!enabled_) return x;
  QATD_CHECK(x.defined(), "{}: the input is undefined", kName);
  const FakeQuantizeOptions options = fake_quantize_options(spec);
  const std::optional<int64_t> axis = channel_axis_of(x, options, kName);
  QATD_CHECK(x.numel() > 0, "{}: the input {} is empty", kName, shape_str(x.shape()));
  const int64_t n = integer_bits(checked_bits(bits), spec);
  allocate_state(channel_count(x, axis));
  const SiteState state = next_state(*this, x, axis, n);
  if (state.range_changed) {
    write_values(running_min, state.min);
    write_values(running_max, state.max);
  }
  if (state.step_changed) write_values(step, state.step);
  if (is_learned(spec)) {
    const double grad_scale =
        lsq_gradient_scale(x.numel() / channel_count(x, axis), n, spec.symmetric, spec.is_signed);
    return fake_quantize_learned(x, bits, step, running_min, grad_scale, options);
  }
  return fake_quantize_observed(x, bits, running_min, running_max, options);
}

QuantGrid FakeQuantizer::grid(const Tensor& x) const {
  QATD_CHECK(x.defined(), "{}: grid of an undefined input", kName);
  QATD_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, "{}: the input must be f32 or f64, got {}", kName,
             dtype_name(x.dtype()));
  QATD_CHECK(x.numel() > 0, "{}: the input {} is empty", kName, shape_str(x.shape()));
  const std::optional<int64_t> axis = channel_axis_of(x, fake_quantize_options(spec), kName);
  const int64_t channels = channel_count(x, axis);
  for (const Tensor* slot : {&step, &running_min, &running_max}) {
    QATD_CHECK(!slot->defined() || slot->numel() == channels,
               "{}: the state has {} value(s), but the input {} has {} channel(s)", kName, slot->numel(),
               shape_str(x.shape()), channels);
  }
  const int64_t n = integer_bits(checked_bits(bits), spec);
  const ChannelGrids grids = grids_of(spec, next_state(*this, x, axis, n), n);
  const Shape shape = axis ? Shape{channels} : Shape{1};
  QuantGrid grid;
  grid.bits = n;
  grid.scale = from_vector(grids.scale, shape).to(x.dtype());
  if (!spec.symmetric) grid.zero_point = from_vector(grids.zero_point, shape).to(x.dtype());
  return grid;
}

Tensor FakeQuantizer::quantize_to_integers(const Tensor& x, const QuantGrid& grid) const {
  QATD_CHECK(x.defined() && grid.scale.defined(), "{}: quantize_to_integers needs an input and a grid scale", kName);
  QATD_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, "{}: the input must be f32 or f64, got {}", kName,
             dtype_name(x.dtype()));
  const std::optional<int64_t> axis = channel_axis_of(x, fake_quantize_options(spec), kName);
  const int64_t channels = channel_count(x, axis);
  QATD_CHECK(grid.scale.numel() == channels && (spec.symmetric || grid.zero_point.numel() == channels),
             "{}: the grid holds {} scale(s) and {} zero point(s); the input {} has {} channel(s){}", kName,
             grid.scale.numel(), grid.zero_point.defined() ? grid.zero_point.numel() : 0, shape_str(x.shape()),
             channels, spec.symmetric ? "" : " (an asymmetric grid needs one zero point per channel)");
  QATD_CHECK(grid.bits >= 1 && grid.bits <= 16, "{}: the grid has {} bits", kName, grid.bits);
  ChannelGrids grids;
  grids.bits = grid.bits;
  grids.scale = grid.scale.to(x.dtype()).to(DType::f64).to_vector<double>();
  grids.zero_point =
      spec.symmetric ? std::vector<double>(channels, 0.0) : grid.zero_point.to(DType::f64).to_vector<double>();
  const double q_min = grid_low(static_cast<double>(grid.bits), spec.symmetric, spec.is_signed);
  const double q_max = grid_high(static_cast<double>(grid.bits), spec.symmetric, spec.is_signed);
  for (int64_t c = 0; c < channels; ++c) {
    grids.low.push_back(q_min - grids.zero_point[c]);
    grids.high.push_back(q_max - grids.zero_point[c]);
  }
  return quantize_integers(x, axis, grids);
}

}  // namespace qatd::quant

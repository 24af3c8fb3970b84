#pragma once
// How one quantization site quantizes: granularity, symmetry, sign, where its scale comes from,
// how the bitwidth receives a gradient, and its bit range. Config files name these with the
// strings the parse functions accept.
#include <cstdint>
#include <string>

namespace qatd::quant {

enum class Granularity { per_tensor, per_channel };

// Where the scale comes from. The observers track the range of what passes through (no
// gradient); `learned` is an LSQ step size trained with its gradient scaling.
enum class ScaleSource { min_max, moving_average, percentile, learned };

// The gradient the bitwidth b receives (the forward always quantizes at round(clamp(b))):
//   ste:    round(b) with a straight-through estimator; b enters the scale (observer sources) or
//           the clipping bounds (learned), as in Brevitas;
//   interp: quantize at floor(b) and ceil(b) and interpolate by the fraction of b (BitPruning).
enum class Surrogate { ste, interp };

struct QuantizerSpec {
  Granularity granularity = Granularity::per_tensor;
  int64_t channel_axis = 0;          // per_channel: the axis holding the channels (0: output channels of weights)
  bool symmetric = true;             // false: asymmetric with an integer zero point
  bool is_signed = true;             // integer grid [-2^(n-1), 2^(n-1) - 1], else [0, 2^n - 1]
  ScaleSource scale_source = ScaleSource::min_max;
  double averaging_constant = 0.01;  // moving_average: weight of the newest batch's range
  double percentile = 99.99;         // percentile: the |x| (or x) percentile taken as the range
  Surrogate surrogate = Surrogate::ste;
  double bits_init = 8.0;
  double bits_min = 2.0;
  double bits_max = 8.0;
};

Granularity parse_granularity(const std::string& text);      // per_tensor | per_channel
ScaleSource parse_scale_source(const std::string& text);     // min_max | moving_average | percentile | learned
Surrogate parse_surrogate(const std::string& text);          // ste | interp
std::string to_string(Granularity granularity);
std::string to_string(ScaleSource source);
std::string to_string(Surrogate surrogate);
// Throws naming `where` when the spec is inconsistent (bits_min > bits_max, bits_min < 1, a
// percentile outside (0, 100], an averaging constant outside (0, 1], ...).
void validate(const QuantizerSpec& spec, const std::string& where);

}  // namespace qatd::quant

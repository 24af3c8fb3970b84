#pragma once
// Fake quantization (quantize, then dequantize) with a learnable bitwidth, as a graph op and as
// a module holding one site's state. The bitwidth is a float variable b owned by the
// BitController; the forward quantizes at n = round(clamp(b, bits_min, bits_max)), and b gets a
// real gradient through the spec's surrogate (quantizer_spec.h), so task and distillation losses
// can raise a bitwidth as well as the bit penalty lowering it. The ops, their gradients and every
// grid convention are in quant/fake_quantize.h and docs/quantization.md.
//
// Integer grids: signed [-2^(n-1), 2^(n-1) - 1] (symmetric grids use the narrow range
// [-(2^(n-1) - 1), 2^(n-1) - 1], so they are symmetric about 0), unsigned [0, 2^n - 1].
//   symmetric:   q = clamp(round(x / s), q_min, q_max), x_hat = q s
//   asymmetric:  q = clamp(round(x / s) + z, q_min, q_max), x_hat = (q - z) s, z an integer (zero is
//                exactly representable)
// Observer sources give s (and z) from the tracked range at the current n; `learned` trains s
// (LSQ, with its gradient scale 1 / sqrt(numel * q_max)). The input gradient is straight-through
// inside the clipping range and zero outside it.
//
// State. Observers keep running_min / running_max (one value, or one per channel): min_max takes
// the running extremes, moving_average and percentile an exponential average with weight
// averaging_constant for the newest batch (the first batch sets them; averaging_constant = 1
// recomputes the percentile on every call, as weights want). They update in training mode, and on
// the first call in any mode (an eval-only site calibrates on first sight); in eval mode they are
// frozen. `learned` sets step = 2 mean|x| / sqrt(q_max) on the first call (a step of all zeros means
// "not yet initialised"); asymmetric learned grids also track running_min / running_max as min_max
// does, for the zero point. Per-tensor state exists from construction; per-channel state is
// allocated by the first forward or by allocate_state (before loading a checkpoint or building an
// optimizer).
#include <cstdint>
#include <optional>
#include <string>

#include "engine/nn/module.h"
#include "quant/quantizer_spec.h"

namespace qatd::quant {

// The quantization grid of one call: scale (1 value, or one per channel along spec.channel_axis)
// and zero point (asymmetric only; integers stored as floats), for n bits.
struct QuantGrid {
  Tensor scale;
  Tensor zero_point;
  int64_t bits = 8;
};

// The integer grid bounds of n bits: the full range (signed symmetric grids use
// [grid_min + 1, grid_max]).
int64_t grid_min(int64_t bits, bool is_signed);
int64_t grid_max(int64_t bits, bool is_signed);
// round(clamp(b, bits_min, bits_max)) as the forward uses it.
int64_t integer_bits(double b, const QuantizerSpec& spec);

class FakeQuantizer : public nn::UnaryModule {
 public:
  // `bits`: the site's bit variable, a one-element f32 leaf shared with the BitController.
  FakeQuantizer(QuantizerSpec spec, Tensor bits);
  std::string type_name() const override { return "FakeQuantizer"; }

  // Observes x (observer sources, in training mode or before the first call), then returns its
  // fake-quantized value; x unchanged when disabled.
  Tensor forward(const Tensor& x) override;

  // The grid the next forward on `x` would use (observers updated only by forward): scale and
  // zero point in x's dtype, exactly the values the forward multiplies with.
  QuantGrid grid(const Tensor& x) const;
  // The integer values of x on `grid` (for export): q, int64, x's shape.
  Tensor quantize_to_integers(const Tensor& x, const QuantGrid& grid) const;

  // Allocates per-channel state for `channels` channels (observers unobserved, step uninitialised);
  // throws if state of another size exists. Per-tensor quantizers take channels = 1.
  void allocate_state(int64_t channels);

  void set_enabled(bool enabled) { enabled_ = enabled; }
  bool enabled() const { return enabled_; }

  const QuantizerSpec spec;
  Tensor bits;             // shared with the controller; not a parameter of this module
  Tensor step;             // learned source: the LSQ step size (parameter "step")
  Tensor running_min;      // observer sources: buffers "running_min", "running_max"
  Tensor running_max;

 private:
  bool enabled_ = true;
};

}  // namespace qatd::quant

#pragma once
// The learned bitwidths: one float bit variable b_i per quantization site, each a one-element f32
// leaf that requires grad, shared with the site's FakeQuantizer (which quantizes at
// round(clamp(b_i, bits_min_i, bits_max_i)) and passes a real gradient back to b_i).
//
// Training loop, per step t:
//   controller.set_step(t);            // the schedule's bit ceiling and penalty scale for this step
//   loss = task + distillation + bit_penalty(..., lambda * controller.penalty_scale());
//   loss.backward(); optimizer.step();  // the optimizer holds controller.parameters()
//   controller.clamp_();                // back into [bits_min_i, min(bits_max_i, ceiling)], in place
// clamp_ writes the existing tensors (no new ones), so the optimizer keeps its state for them.
// For evaluation, freeze() rounds every b_i to its integer and stops its gradient; unfreeze()
// resumes training from the rounded values.
//
// Saved state, as JSON: {"<site>": {"bits": b, "min": bits_min, "max": bits_max}, ...}, or as
// named tensors "<prefix><site>" (shape [1], f32) with that JSON as metadata, for
// engine/io/checkpoint.h. Loading checks that the sites and their ranges match this controller,
// naming every unknown, missing or mismatched site.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "engine/tensor.h"

namespace qatd::quant {

// An optional annealing schedule, driven by the step given to BitController::set_step.
//  - Bit ceiling: from start_step, over `steps` steps, an upper bound on every b_i falls linearly
//    from ceiling_start to ceiling_end, then stays at ceiling_end (before start_step it is
//    ceiling_start). clamp_() clamps b_i to [bits_min_i, max(bits_min_i, min(bits_max_i, ceiling))].
//    Like a falling temperature, it forces the model down to a bit budget progressively while the
//    losses still decide where the remaining bits go. steps = 0 disables it.
//  - Penalty warm-up: penalty_scale() rises linearly from 0 at start_step to 1 at
//    start_step + penalty_warmup_steps (1 throughout when 0); the trainer multiplies lambda by it,
//    so the bit penalty only bites once the student has adapted to quantization at its initial
//    bitwidths.
struct BitSchedule {
  int64_t start_step = 0;
  int64_t steps = 0;
  double ceiling_start = 16.0;
  double ceiling_end = 16.0;
  int64_t penalty_warmup_steps = 0;

  // +infinity when the ceiling part is disabled.
  double ceiling(int64_t step) const;
  double penalty_scale(int64_t step) const;
};

// Throws naming `where` when steps or warm-up are negative or a ceiling lies outside [1, 16].
void validate(const BitSchedule& schedule, const std::string& where);

// The state of a controller ready for engine/io/checkpoint.h (tensors + JSON metadata).
struct BitState {
  io::NamedTensors tensors;
  nlohmann::json metadata;
};

class BitController {
 public:
  BitController() = default;
  BitController(BitController&&) = default;
  BitController& operator=(BitController&&) = default;
  // Copies would share the b_i tensors, which is never what a caller means.
  BitController(const BitController&) = delete;
  BitController& operator=(const BitController&) = delete;

  // Adds a site with b = bits_init (requires grad unless the controller is frozen); returns its
  // index. Throws on a duplicate name or a range that is not 1 <= min <= init <= max <= 16.
  size_t add_site(const std::string& name, double bits_init, double bits_min, double bits_max);

  size_t size() const { return sites_.size(); }
  bool empty() const { return sites_.empty(); }
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  // Throws naming the nearest known site when `name` is absent.
  size_t index(const std::string& name) const;

  // The bit variable itself (the tensor handed to the site's FakeQuantizer).
  const Tensor& bits(size_t index) const;
  const Tensor& bits(const std::string& name) const { return bits(index(name)); }
  double value(size_t index) const;  // the current float b
  double bits_min(size_t index) const;
  double bits_max(size_t index) const;
  // The upper bound clamp_ applies now: min(bits_max, ceiling), never below bits_min.
  double effective_max(size_t index) const;

  // All b_i as one [S] tensor in site order, differentiable (for the bit penalty).
  Tensor stacked() const;
  // The b_i tensors, for an optimizer parameter group.
  std::vector<Tensor> parameters() const;

  // round(clamp(b, bits_min, bits_max)), as the forward uses it.
  int64_t integer_bits(size_t index) const;
  std::map<std::string, int64_t> integer_bits() const;

  // Clamps every b_i in place to [bits_min, effective_max] (under NoGradGuard, bumping versions).
  void clamp_();
  // Rounds every b_i to its integer bits, turns requires_grad off and drops its gradient.
  void freeze();
  // Turns requires_grad back on (values stay rounded).
  void unfreeze();
  bool frozen() const { return frozen_; }

  void set_schedule(std::optional<BitSchedule> schedule);
  const std::optional<BitSchedule>& schedule() const { return schedule_; }
  void set_step(int64_t step);
  int64_t step() const { return step_; }
  // The schedule's ceiling at the current step (+infinity without one).
  double bits_ceiling() const;
  // The schedule's penalty scale at the current step (1 without one).
  double penalty_scale() const;

  nlohmann::json to_json() const;
  // Copies the saved b values into the existing tensors. `source` names the document in errors.
  void load_json(const nlohmann::json& document, const std::string& source = "bit state");
  void save_json_file(const std::string& path) const;
  void load_json_file(const std::string& path);

  // Tensors "<prefix><site>" (detached aliases of the live b_i) and to_json() as metadata.
  BitState state_dict(const std::string& prefix = "bits.") const;
  // Takes the tensors named "<prefix>..." (others are ignored: a checkpoint holds more), checks
  // them against the metadata and this controller, then copies them in.
  void load_state_dict(const BitState& state, const std::string& prefix = "bits.");

 private:
  struct Site {
    Tensor bits;
    double bits_min;
    double bits_max;
  };
  const Site& site(size_t index) const;
  // Checks the sites of a saved document against this controller and returns the saved b values
  // in site order; throws naming every unknown, missing or mismatched site.
  std::vector<double> read_document(const nlohmann::json& document, const std::string& source) const;
  void assign(const std::vector<double>& values);

  std::vector<Site> sites_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> index_;
  std::optional<BitSchedule> schedule_;
  int64_t step_ = 0;
  bool frozen_ = false;
};

}  // namespace qatd::quant

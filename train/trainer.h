#pragma once
// The distillation trainer: `qatd train`'s loop. One step t (0-based; logged as step t + 1):
//
//   bits.set_step(t)                      the BitSchedule's ceiling and penalty warm-up
//   zero grads
//   for each of the grad_accumulation micro-batches:
//     teacher forward (no_grad, captures the KD sites)
//     student forward (fake quant, captures the KD sites before output fake quant)
//     losses: L_kd_i per KD site, once; the bit penalty on them; output KD; the task loss; L_total
//     backward of L_total / grad_accumulation
//   a non-finite loss term or gradient: the step is skipped (no update) and reported by name; after
//     train.nan_max_skips skipped steps the run stops
//   clip the weights' and biases/norms' gradients together (optim.clip_norm), the bits' separately
//     (optim.bits_clip_norm)
//   optimizer step (groups: weights, biases_norms = 1-D parameters, bits; LSQ steps, when the plan
//     learns them, in a fourth group with the weights' lr and no weight decay; with optim.layer_decay
//     < 1 the first two are split by trunk depth, docs/training.md)
//   bits.clamp_(); lr scheduler step
//
// The image path is SAM 2's single-image path with the batch's prompts (train/data: clicks or a box,
// optionally a mask prompt): forward_image, image_features, forward_sam_heads with multimask output
// for a single click and one mask otherwise, as SAM 2 trains. The task loss supervises the
// high-resolution masks (S x S, the ground truth's size); output KD compares the low-resolution mask
// logits and IoUs. Without KD (train.from_scratch) the teacher does not run.
// The model modules of both networks stay in eval mode (SAM 2's image path has no dropout or batch
// norm; drop_path is off in eval), so the teacher and the student run the same graph; the student's
// quantizers run in training mode (observers update).
//
// Layerwise KD and bits: quant::bit_penalty takes one L_kd_i per bit site, so each configured KD
// site's loss is attached to exactly one bit site: the weight or output site of the same module, or
// else the first bit site inside it, or else the bit site of the nearest enclosing module, or else
// the first bit site. Bit sites no KD site attaches to carry L_kd_i = 0. sum_i L_kd_i is therefore
// exactly the sum of the configured KD losses, and L_bit_i = L_kd_i + lambda b_i / importance_i.
//
// Run directory: config.toml (the resolved config), metrics.csv, TensorBoard events, and
// checkpoints/step_N.safetensors with checkpoints/last (training_checkpoint.h). Resuming restores
// the student, bits, quantizer state, optimizer, scheduler, RNG, data position and anomaly counters
// and continues bit-identically; the resumed config must equal the checkpoint's except for the
// logging, checkpointing and anomaly keys and train.stop_after.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "train/train_config.h"

namespace qatd::sam2 {
class SAM2Base;
}
namespace qatd::quant {
class QuantizedModel;
}

namespace qatd::train {

struct TrainerOptions {
  std::string run_dir;
  std::string resume;           // a checkpoint, checkpoints directory or run directory; empty: a fresh run
  std::FILE* console = stdout;  // progress bar, summaries, warnings; null: silent
  // Test hook: the 1-based steps whose task loss is replaced by NaN (as a diverging batch would).
  std::set<int64_t> poison_steps;
};

// One finished step (values averaged over the micro-batches).
struct StepRecord {
  int64_t step = 0;  // 1-based
  double lr = 0.0;   // the weights group's lr of this step
  double loss_total = 0.0, loss_task = 0.0, loss_kd_output = 0.0, loss_kd_layer = 0.0, loss_bit = 0.0;
  std::vector<double> bits;  // after the update, in site order
  bool skipped = false;
  std::string nonfinite;  // the term or parameter that was not finite, when skipped
};

// Wall-clock seconds of one step's phases, summed over its micro-batches (tools/bench/bench_train_step).
// optimizer: zero_grad, the non-finite gradient check, clipping, the update, the bit clamp and the lr
// scheduler; total: the whole step, logging included.
struct StepTimings {
  double data = 0.0, teacher_forward = 0.0, student_forward = 0.0, loss = 0.0, backward = 0.0, optimizer = 0.0;
  double total = 0.0;
};

struct TrainResult {
  int64_t last_step = 0;      // the step the run ended after
  int64_t skipped_steps = 0;  // over the whole run, resumed parts included
  int64_t skipped_samples = 0;  // samples replaced because their file failed to load, this session
  bool stopped_on_nonfinite = false;
  std::vector<std::string> warnings;
  std::string last_checkpoint;
  std::vector<StepRecord> records;  // this session's steps
};

class Trainer {
 public:
  // Builds the teacher and student, the plan, the optimizer and the run directory (or restores
  // them from options.resume). Throws with a clear message on any configuration error.
  Trainer(TrainConfig config, TrainerOptions options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Steps until train.last_step(), a stop on non-finite values, and writes the final checkpoint.
  TrainResult run();
  // One step (no checkpoint); for tests, the run loop and benchmarks (timings: null or filled in).
  StepRecord step(StepTimings* timings = nullptr);
  // Writes checkpoints/step_N.safetensors and checkpoints/last; returns the path.
  std::string save_checkpoint();

  int64_t completed_steps() const;
  const TrainConfig& config() const;
  sam2::SAM2Base& teacher();
  sam2::SAM2Base& student();
  quant::QuantizedModel& quantized();
  std::vector<std::string> bit_sites() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace qatd::train

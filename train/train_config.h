#pragma once
// The trainer's configuration: everything one TOML file holds, with Hydra-style `key=value`
// overrides. The config a run uses is
//
//   defaults  <-  the file  <-  the overrides, in order
//
// merged as TOML tables (tables merge key by key; arrays and scalars replace), then read into
// TrainConfig by one strict reader: an unknown key (from the file or an override) is an error
// naming its dotted path and the closest valid key, a value of the wrong type names the key, the
// expected type and the value, and every range is checked. to_toml() writes the resolved config
// back (run directory, checkpoints); it reads back equal.
//
// Every key with its default (docs/training.md explains each):
//
//   seed = 0                             # model init, data order, every RNG of the run
//
//   [model]
//   config = "sam2.1_hiera_t"            # a preset name or a model config file (.yaml/.toml/.json)
//   checkpoint = ""                      # student weights; "" keeps the model's initialization
//   # teacher_checkpoint = "..."         # absent: the student's checkpoint
//
//   [quant]                              # the quantization plan (quant/quantization_plan.h)
//   [[quant.rules]]                      #   with [quant.defaults] and [quant.anneal] when given;
//   pattern = "**"                       #   bits_init/min/max and annealing live here
//   types = ["Linear", "Conv2d"]
//   weights = true
//   granularity = "per_channel"
//
//   [importance]
//   strategy = "uniform"                 # uniform | file
//   file = ""                            # CSV or JSON (quant/importance.h); strategy = "file" only
//   normalization = "mean"               # none | mean
//
//   [loss]
//   bit_penalty = 0.01                   # lambda: L_bit_i = L_kd_i + lambda * b_i / importance_i
//   lambda_output = 0.5                  # output loss = lambda_output * L_kd_output + (1 - lambda_output) * L_task
//   [loss.kd_output]
//   weight = 1.0                         # mask logits (sigmoid with temperature)
//   temperature = 1.0
//   iou_weight = 1.0                     # IoU predictions (MSE)
//   [loss.task]
//   type = "sam2"                        # sam2 | bce
//   focal = 20.0
//   dice = 1.0
//   iou = 1.0
//   object_score = 1.0
//   focal_alpha = 0.25
//   focal_gamma = 2.0
//   # [[loss.kd_layer]]                  # none by default; one table per KD site:
//   # site = "image_encoder.trunk.blocks.11"
//   # type = "mse"                       # mse | kl
//   # temperature = 1.0                  # kl only
//   # normalize = false                  # divide by the teacher activation's squared norm
//   # weight = 1.0
//
//   [optim]
//   type = "adamw"                       # adamw | adam | sgd
//   betas = [0.9, 0.999]
//   eps = 1e-08
//   momentum = 0.9                       # sgd only
//   clip_norm = 1.0                      # weights and biases/norms together; 0 disables
//   bits_clip_norm = 1.0                 # the bit variables, separately; 0 disables
//   layer_decay = 1.0                    # layer-wise lr decay per block from the top; 1 disables
//   vision_lr_scale = 1.0                # the image encoder's lr relative to the rest (SAM 2's vision_lr)
//   [optim.weights]
//   lr = 1e-05
//   weight_decay = 0.01
//   [optim.biases_norms]
//   lr = 1e-05
//   weight_decay = 0.0
//   [optim.bits]
//   lr = 0.01
//   weight_decay = 0.0
//
//   [schedule]
//   type = "cosine"                      # cosine | constant | step
//   warmup_steps = 0                     # linear warm-up from 0
//   min_lr_factor = 0.0                  # cosine: the final lr as a fraction of lr
//   step_size = 1000                     # step: steps between decays
//   gamma = 0.1                          # step: the decay factor
//
//   [train]
//   steps = 1000                         # schedules span these
//   stop_after = 0                       # end after this step as if interrupted; 0: never
//   batch_size = 4
//   grad_accumulation = 1
//   log_every = 10
//   checkpoint_every = 500               # 0: only at the end
//   nan_max_skips = 10                   # stop after this many skipped non-finite steps
//   stuck_bits_steps = 200               # warn when a site's bits sit at a bound this long; 0 disables
//   from_scratch = false                 # train the model alone on the task loss: no teacher, no plan
//                                        #   (needs loss.lambda_output = 0 and no loss.kd_layer)
//   correction_clicks = 0                # SAM 2's iterative correction clicks after the first prompt
//   correction_from_target = 0.1         # chance that a correction click comes from the mask, not the error
//
//   [data]                               # docs/data.md
//   source = "synthetic"                 # synthetic (procedural shapes) | sa1b | folder | sav | pseudo
//   count = 64                           # synthetic: training images (validation ones are extra)
//   image_size = 1024                    # the model's input side; every image is resized to it
//   seed = 0                             # the split, epoch orders, objects, augmentation and prompts
//   images = ""                          # sa1b: sa_*.jpg + sa_*.json; folder, pseudo: images; sav: frames
//   masks = ""                           # folder: PNG instance masks; sav: the *_manual.json folder
//   validation_count = 8                 # held-out images for qatd eval, chosen by seed
//   eval_objects = 3                     # objects per validation image, the largest first
//   objects_per_image = 1                # training objects (prompts) per image; SAM 2 samples up to 3
//   shuffle = true
//   workers = 2                          # loader threads; 0 loads in the training thread
//   prefetch = 2                         # batches made ahead
//   hflip = 0.5                          # probability of a horizontal flip
//   scale_jitter = 0.0                   # zoom s ~ U(1, 1 + scale_jitter) into a window of 1/s
//   points_per_mask = 1                  # positive clicks of a point prompt
//   box_probability = 0.5                # a batch prompts with boxes, else with points
//   box_noise = 0.1                      # box corner jitter: U(-1, 1) * min(box_noise * side,
//   box_noise_max = 20.0                 #   box_noise_max) pixels, as SAM 2's sample_box_points
//   mask_probability = 0.0               # a batch also gets a (corrupted) mask prompt
//   mask_boundary_shift = 2              # its boundary moves up to this many mask-grid pixels
//   pseudo_points = 16                   # pseudo: a grid of pseudo_points^2 clicks for the teacher
//   pseudo_min_iou = 0.8                 # pseudo: keep teacher masks predicting at least this IoU
//
//   [log]
//   tensorboard = true
//   progress = true
//
// Overrides: `train.steps=100`, `loss.bit_penalty=0.5`, `seed=3`, `optim.bits.lr=0.01`,
// `quant.defaults.bits_min=3`, `quant.rules.0.bits_init=6`, `optim.betas=[0.9, 0.99]`,
// `loss.kd_layer=[{site = "image_encoder", weight = 2.0}]`, `model.config=sam2.1_hiera_s`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quant/importance.h"
#include "quant/quantization_plan.h"
#include "train/plan_toml.h"

namespace qatd::train {

struct ModelSettings {
  std::string config = "sam2.1_hiera_t";
  std::string checkpoint;
  std::optional<std::string> teacher_checkpoint;

  const std::string& teacher_checkpoint_or_student() const {
    return teacher_checkpoint ? *teacher_checkpoint : checkpoint;
  }
  bool operator==(const ModelSettings&) const = default;
};

enum class ImportanceStrategy { uniform, file };

struct ImportanceSettings {
  ImportanceStrategy strategy = ImportanceStrategy::uniform;
  std::string file;
  quant::ImportanceNormalization normalization = quant::ImportanceNormalization::mean;
  bool operator==(const ImportanceSettings&) const = default;
};

enum class KdLossType { mse, kl };

// One layerwise KD site: a module name present in teacher and student.
struct KdLayerSite {
  std::string site;
  KdLossType type = KdLossType::mse;
  double temperature = 1.0;
  bool normalize = false;
  double weight = 1.0;
  bool operator==(const KdLayerSite&) const = default;
};

struct KdOutputSettings {
  double weight = 1.0;
  double temperature = 1.0;
  double iou_weight = 1.0;
  bool operator==(const KdOutputSettings&) const = default;
};

enum class TaskLossType { sam2, bce };

// The supervised mask loss as SAM 2 trains it (sam2/training/loss_fns.py MultiStepMultiMasksAndIous).
struct TaskLossSettings {
  TaskLossType type = TaskLossType::sam2;
  double focal = 20.0;
  double dice = 1.0;
  double iou = 1.0;
  double object_score = 1.0;
  double focal_alpha = 0.25;
  double focal_gamma = 2.0;
  bool operator==(const TaskLossSettings&) const = default;
};

struct LossSettings {
  double bit_penalty = 0.01;
  double lambda_output = 0.5;
  std::vector<KdLayerSite> kd_layer;
  KdOutputSettings kd_output;
  TaskLossSettings task;
  bool operator==(const LossSettings&) const = default;
};

enum class OptimizerType { adamw, adam, sgd };

struct ParamGroupSettings {
  double lr = 1e-5;
  double weight_decay = 0.0;
  bool operator==(const ParamGroupSettings&) const = default;
};

struct OptimizerSettings {
  OptimizerType type = OptimizerType::adamw;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double momentum = 0.9;
  double clip_norm = 1.0;
  double bits_clip_norm = 1.0;
  double layer_decay = 1.0;
  double vision_lr_scale = 1.0;
  ParamGroupSettings weights{1e-5, 0.01};
  ParamGroupSettings biases_norms{1e-5, 0.0};
  ParamGroupSettings bits{0.01, 0.0};
  bool operator==(const OptimizerSettings&) const = default;
};

enum class ScheduleType { cosine, constant, step };

struct ScheduleSettings {
  ScheduleType type = ScheduleType::cosine;
  int64_t warmup_steps = 0;
  double min_lr_factor = 0.0;
  int64_t step_size = 1000;
  double gamma = 0.1;
  bool operator==(const ScheduleSettings&) const = default;
};

struct LoopSettings {
  int64_t steps = 1000;
  int64_t stop_after = 0;
  int64_t batch_size = 4;
  int64_t grad_accumulation = 1;
  int64_t log_every = 10;
  int64_t checkpoint_every = 500;
  int64_t nan_max_skips = 10;
  int64_t stuck_bits_steps = 200;
  bool from_scratch = false;
  int64_t correction_clicks = 0;
  double correction_from_target = 0.1;

  // The step the run ends at: stop_after when it ends early, else steps.
  int64_t last_step() const { return stop_after > 0 && stop_after < steps ? stop_after : steps; }
  bool operator==(const LoopSettings&) const = default;
};

enum class DataSource { synthetic, sa1b, folder, sav, pseudo };

struct DataSettings {
  DataSource source = DataSource::synthetic;
  int64_t count = 64;
  int64_t image_size = 1024;
  int64_t seed = 0;
  std::string images;
  std::string masks;
  int64_t validation_count = 8;
  int64_t eval_objects = 3;
  int64_t objects_per_image = 1;
  bool shuffle = true;
  int64_t workers = 2;
  int64_t prefetch = 2;
  double hflip = 0.5;
  double scale_jitter = 0.0;
  int64_t points_per_mask = 1;
  double box_probability = 0.5;
  double box_noise = 0.1;
  double box_noise_max = 20.0;
  double mask_probability = 0.0;
  int64_t mask_boundary_shift = 2;
  int64_t pseudo_points = 16;
  double pseudo_min_iou = 0.8;
  bool operator==(const DataSettings&) const = default;
};

struct LogSettings {
  bool tensorboard = true;
  bool progress = true;
  bool operator==(const LogSettings&) const = default;
};

struct TrainConfig {
  int64_t seed = 0;
  ModelSettings model;
  quant::QuantizationPlan quant = default_quantization_plan();
  ImportanceSettings importance;
  LossSettings loss;
  OptimizerSettings optim;
  ScheduleSettings schedule;
  LoopSettings train;
  DataSettings data;
  LogSettings log;

  // Overrides are `key=value` arguments applied in order; `source` names the text in messages.
  static TrainConfig from_file(const std::string& path, const std::vector<std::string>& overrides = {});
  static TrainConfig from_text(std::string_view text, const std::vector<std::string>& overrides = {},
                               const std::string& source = "<toml text>");

  // The whole config as TOML, every key written (the quant plan as it was given); from_text reads
  // it back equal.
  std::string to_toml() const;

  // Compares the plans by content (rules, defaults, schedule), not by their source name.
  bool operator==(const TrainConfig& other) const;
};

std::string to_string(ImportanceStrategy strategy);
std::string to_string(KdLossType type);
std::string to_string(TaskLossType type);
std::string to_string(OptimizerType type);
std::string to_string(ScheduleType type);
std::string to_string(DataSource source);

}  // namespace qatd::train

#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include "engine/autograd/grad_mode.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/indexing.h"
#include "engine/ops/linalg.h"
#include "engine/optim/optim.h"
#include "engine/random.h"
#include "models/sam2/build_sam.h"
#include "models/sam2/sam2_base.h"
#include "quant/importance.h"
#include "train/correction_clicks.h"
#include "train/distillation_losses.h"
#include "train/distillation_pair.h"
#include "train/mask_losses.h"
#include "train/param_groups.h"
#include "train/metrics_csv.h"
#include "train/progress.h"
#include "train/data/batch_loader.h"
#include "train/data/data_sources.h"
#include "train/data/seed_mix.h"
#include "train/tensorboard_writer.h"
#include "train/total_loss.h"
#include "train/training_checkpoint.h"

namespace qatd::train {

namespace fs = std::filesystem;

namespace {

// The schedule's lr factor at `step` (0-based), relative to each group's base lr.
double lr_factor(const ScheduleSettings& schedule, int64_t total_steps, int64_t step) {
  const int64_t warmup = schedule.warmup_steps;
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(warmup);
  switch (schedule.type) {
    case ScheduleType::constant:
      return 1.0;
    case ScheduleType::step:
      return std::pow(schedule.gamma, static_cast<double>((step - warmup) / schedule.step_size));
    case ScheduleType::cosine: {
      if (step >= total_steps || total_steps <= warmup) return schedule.min_lr_factor;
      double progress = static_cast<double>(step - warmup) / static_cast<double>(total_steps - warmup);
      return schedule.min_lr_factor + (1.0 - schedule.min_lr_factor) * (1.0 + std::cos(M_PI * progress)) / 2.0;
    }
  }
  return 1.0;
}

// Which bit site each KD site's loss attaches to (see trainer.h).
std::vector<size_t> attach_kd_sites(const std::vector<std::string>& kd_sites, const quant::QuantizedModel& quantized) {
  const auto& sites = quantized.sites();
  std::vector<size_t> attached;
  for (const std::string& kd : kd_sites) {
    std::optional<size_t> choice;
    for (size_t i = 0; i < sites.size() && !choice; ++i) {
      if (sites[i].module_name == kd) choice = i;
    }
    for (size_t i = 0; i < sites.size() && !choice; ++i) {
      if (sites[i].module_name.starts_with(kd + ".")) choice = i;
    }
    size_t longest = 0;
    for (size_t i = 0; i < sites.size() && !choice; ++i) {
      const std::string& module = sites[i].module_name;
      if (kd.starts_with(module + ".") && module.size() > longest) longest = module.size();
    }
    for (size_t i = 0; i < sites.size() && !choice && longest > 0; ++i) {
      if (sites[i].module_name.size() == longest && kd.starts_with(sites[i].module_name + ".")) choice = i;
    }
    attached.push_back(choice.value_or(0));
  }
  return attached;
}

// Each object's image features: the image encoder runs once per image, and the objects of an image
// share its features (SAM 2's trainer indexes the backbone features by img_ids the same way).
sam2::ImageFeatures features_per_object(const sam2::ImageFeatures& features, const std::vector<int64_t>& images) {
  bool identity = static_cast<int64_t>(images.size()) == features.image_embed.size(0);
  for (size_t n = 0; n < images.size() && identity; ++n) identity = images[n] == static_cast<int64_t>(n);
  if (identity) return features;
  Tensor index = from_vector(images, {static_cast<int64_t>(images.size())});
  sam2::ImageFeatures selected{index_select(features.image_embed, 0, index), {}};
  for (const Tensor& level : features.high_res_feats) selected.high_res_feats.push_back(index_select(level, 0, index));
  return selected;
}

// SAM 2's training choice: multimask output for a single click, one mask for more clicks or a box.
// `features` receives the objects' image features, for the correction steps.
sam2::SamOutputs forward_image_path(nn::Module& module, const data::Batch& batch, sam2::ImageFeatures& features) {
  auto& model = static_cast<sam2::SAM2Base&>(module);
  sam2::BackboneOutput backbone = model.forward_image(batch.images);
  features = features_per_object(model.image_features(backbone), batch.object_images);
  const bool multimask = batch.point_labels.size(1) <= 1;
  return model.forward_sam_heads(features.image_embed, sam2::PointInputs{batch.point_coords, batch.point_labels},
                                 batch.mask_inputs, features.high_res_feats, multimask);
}

bool finite(double value) { return std::isfinite(value); }

// The random stream of the correction clicks, one per step and micro-batch, so that a resumed run
// samples the same clicks.
constexpr uint64_t kCorrectionStream = 0xc0c1;

// Adds the wall time since the previous lap to one phase of a StepTimings; does nothing without one.
class PhaseClock {
 public:
  explicit PhaseClock(StepTimings* timings) : timings_(timings), start_(Clock::now()), last_(start_) {}
  void lap(double StepTimings::*phase) {
    if (!timings_) return;
    Clock::time_point now = Clock::now();
    timings_->*phase += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }
  void finish() {
    if (timings_) timings_->total = std::chrono::duration<double>(Clock::now() - start_).count();
  }

 private:
  using Clock = std::chrono::steady_clock;
  StepTimings* timings_;
  Clock::time_point start_, last_;
};

// The config with the keys a resumed run may change reset, for comparing with the checkpoint's.
TrainConfig comparable(TrainConfig config) {
  config.train.stop_after = 0;
  config.train.log_every = 1;
  config.train.checkpoint_every = 0;
  config.train.nan_max_skips = 1;
  config.train.stuck_bits_steps = 0;
  config.log = LogSettings{};
  return config;
}

}  // namespace

struct Trainer::State {
  TrainConfig config;
  TrainerOptions options;
  fs::path run_dir;
  std::unique_ptr<sam2::SAM2Base> teacher;
  std::unique_ptr<sam2::SAM2Base> student;
  std::unique_ptr<DistillationPair> pair;
  std::vector<KdSite> kd_sites;
  Tensor kd_to_bits;  // [S_bits, S_kd] 0/1: attaches each KD loss to one bit site
  quant::Importance importance;
  Tensor importance_tensor;
  std::vector<ParamGroup> groups;
  std::optional<size_t> bits_group;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<optim::LambdaLR> scheduler;
  std::unique_ptr<data::SegmentationDataset> dataset;
  std::unique_ptr<data::BatchLoader> loader;
  size_t reported_failures = 0;
  std::optional<MetricsCsv> metrics;
  std::optional<TensorBoardWriter> tensorboard;
  int64_t step = 0;
  int64_t skipped = 0;
  std::vector<int64_t> stuck_counts;
  std::vector<std::string> warnings;

  quant::QuantizedModel& quantized() { return pair->quantized(); }
  std::vector<double> bit_values() {
    std::vector<double> values;
    for (size_t i = 0; i < quantized().bits().size(); ++i) values.push_back(quantized().bits().value(i));
    return values;
  }
  void warn(const std::string& message) {
    warnings.push_back(message);
    if (options.console) std::fprintf(options.console, "\nwarning: %s\n", message.c_str());
  }
};

Trainer::Trainer(TrainConfig config, TrainerOptions options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.config = std::move(config);
  s.options = std::move(options);
  const TrainConfig& c = s.config;
  QATD_CHECK(!s.options.run_dir.empty(), "qatd train: a run directory is required");
  s.run_dir = s.options.run_dir;

  std::optional<TrainingCheckpoint> checkpoint;
  if (!s.options.resume.empty()) {
    checkpoint = load_training_checkpoint(resolve_checkpoint(s.options.resume));
    TrainConfig saved = TrainConfig::from_text(checkpoint->metadata.at("config").get<std::string>(), {},
                                               checkpoint->path + " (config)");
    QATD_CHECK(comparable(saved) == comparable(c),
               "--resume {}: the config differs from the checkpoint's in more than train.stop_after, the logging, "
               "checkpointing and anomaly keys; resume with the checkpoint's config:\n{}",
               checkpoint->path, saved.to_toml());
  }

  // Teacher and student: the same architecture; with no checkpoint, the same seeded initialization.
  Generator init(static_cast<uint64_t>(c.seed));
  s.teacher = sam2::build_sam2(c.model.config, c.model.teacher_checkpoint_or_student(), &init);
  if (c.model.checkpoint.empty() && c.model.teacher_checkpoint_or_student().empty()) {
    s.student = sam2::build_sam2(c.model.config, "", &init);
    s.student->load_official_state(s.teacher->official_state());
  } else {
    s.student = sam2::build_sam2(c.model.config, c.model.checkpoint, &init);
  }
  s.student->eval();
  // SAM 2 trains in train mode, where a single-mask output is the first mask token's; eval mode swaps in
  // the most stable multimask output (dynamic_multimask_via_stability), an inference heuristic that would
  // hand box prompts' gradients to the click tokens. The models otherwise stay in eval mode (no dropout
  // or drop path), so the distillation pair stays deterministic; the teacher's outputs follow the same
  // rule so that output KD compares the same token.
  for (sam2::SAM2Base* model : {s.teacher.get(), s.student.get()}) {
    model->sam_mask_decoder->dynamic_multimask_via_stability_enabled = false;
  }
  std::vector<std::string> kd_names;
  for (const KdLayerSite& site : c.loss.kd_layer) {
    kd_names.push_back(site.site);
    SiteKdOptions kd;
    kd.divergence = site.type == KdLossType::kl ? SiteDivergence::kl : SiteDivergence::mse;
    kd.weight = site.weight;
    kd.normalize_by_teacher = site.normalize;
    kd.temperature = site.temperature;
    s.kd_sites.push_back({site.site, kd});
  }
  s.pair = std::make_unique<DistillationPair>(*s.teacher, *s.student,
                                              c.train.from_scratch ? quant::QuantizationPlan{} : c.quant, kd_names);
  s.quantized().train(true);
  const quant::BitController& bits = s.quantized().bits();
  const std::vector<std::string>& bit_names = bits.names();
  if (!bits.empty()) {
    std::vector<float> attach(bit_names.size() * kd_names.size(), 0.0f);
    std::vector<size_t> attached = attach_kd_sites(kd_names, s.quantized());
    for (size_t k = 0; k < attached.size(); ++k) attach[attached[k] * kd_names.size() + k] = 1.0f;
    s.kd_to_bits = from_vector(attach, {static_cast<int64_t>(bit_names.size()), static_cast<int64_t>(kd_names.size())});
    s.importance = c.importance.strategy == ImportanceStrategy::file
                       ? quant::validate_importance(quant::read_importance(c.importance.file), bit_names,
                                                    c.importance.file)
                       : quant::uniform_importance(bit_names);
    s.importance_tensor = s.importance.to_tensor();
  }
  s.stuck_counts.assign(bits.size(), 0);

  std::vector<std::pair<std::string, Tensor>> bit_params;
  for (size_t i = 0; i < bits.size(); ++i) bit_params.emplace_back(kBitsPrefix + bit_names[i], bits.bits(i));
  ParamGroups groups = build_param_groups(*s.student, bit_params, s.quantized().parameters(), c.optim);
  s.groups = std::move(groups.groups);
  s.bits_group = groups.bits_group;
  QATD_CHECK(!s.groups.empty(), "qatd train: the student has no trainable parameters");
  s.optimizer = make_optimizer(c.optim, s.groups);
  const ScheduleSettings schedule = c.schedule;
  const int64_t total = c.train.steps;
  s.scheduler = std::make_unique<optim::LambdaLR>(
      *s.optimizer, [schedule, total](int64_t step) { return lr_factor(schedule, total, step); });

  QATD_CHECK(c.data.image_size == s.student->image_size, "data.image_size = {} but the model {} takes {}x{} images",
             c.data.image_size, c.model.config, s.student->image_size, s.student->image_size);
  s.dataset = std::make_unique<data::SegmentationDataset>(data::make_image_source(c), c.data, data::Split::train,
                                                          data::mask_prompt_size(*s.student));
  s.loader = std::make_unique<data::BatchLoader>(*s.dataset, c.train.batch_size, c.data.workers, c.data.prefetch);
  manual_seed(static_cast<uint64_t>(c.seed));

  if (checkpoint) {
    const nlohmann::json& meta = checkpoint->metadata;
    io::NamedTensors model_state = checkpoint->model_state(), optimizer_state = checkpoint->optimizer_state();
    try {
      s.student->load_official_state(model_state);
      s.quantized().bits().load_state_dict({checkpoint->tensors, meta.at("bits")}, kBitsPrefix);
      s.quantized().load_quantizer_state(checkpoint->tensors, kQuantizerPrefix);
      s.optimizer->load_state_dict({optimizer_state, meta.at("optimizer")}, kOptimizerPrefix);
      s.scheduler->load_state_dict(meta.at("scheduler"));
      default_generator().set_state(meta.at("rng").get<std::string>());
      s.loader->set_position({meta.at("data").at("epoch").get<int64_t>(), meta.at("data").at("index").get<int64_t>()});
      s.step = meta.at("step").get<int64_t>();
      s.skipped = meta.at("skipped_steps").get<int64_t>();
      s.stuck_counts = meta.at("stuck_bits_counts").get<std::vector<int64_t>>();
    } catch (const nlohmann::json::exception& error) {
      fail("--resume: checkpoint {} lacks training state: {}", checkpoint->path, error.what());
    } catch (const Error& error) {
      fail("--resume: checkpoint {} does not fit this run: {}", checkpoint->path, error.what());
    }
    QATD_CHECK(s.stuck_counts.size() == bits.size(), "--resume: checkpoint {} has {} stuck-bit counters for {} sites",
               checkpoint->path, s.stuck_counts.size(), bits.size());
  }

  // The run directory.
  fs::create_directories(s.run_dir / "checkpoints");
  io::write_file_atomically((s.run_dir / "config.toml").string(), [&](std::ostream& out) { out << c.to_toml(); });
  std::vector<std::string> columns = metrics_columns(bit_names);
  fs::path metrics_path = s.run_dir / "metrics.csv";
  if (checkpoint) {
    fs::path source = fs::path(checkpoint->path).parent_path().parent_path() / "metrics.csv";
    if (!fs::exists(metrics_path) && fs::exists(source)) fs::copy_file(source, metrics_path);
    s.metrics.emplace(fs::exists(metrics_path) ? MetricsCsv::resume(metrics_path, columns, s.step)
                                               : MetricsCsv::create(metrics_path, columns));
  } else {
    s.metrics.emplace(MetricsCsv::create(metrics_path, columns));
  }
  if (c.log.tensorboard) {
    TensorBoardOptions tb;
    if (checkpoint) tb.resumed_step = s.step;
    s.tensorboard.emplace(s.run_dir, tb);
  }
}

Trainer::~Trainer() = default;

int64_t Trainer::completed_steps() const { return state_->step; }
const TrainConfig& Trainer::config() const { return state_->config; }
sam2::SAM2Base& Trainer::teacher() { return *state_->teacher; }
sam2::SAM2Base& Trainer::student() { return *state_->student; }
quant::QuantizedModel& Trainer::quantized() { return state_->quantized(); }
std::vector<std::string> Trainer::bit_sites() const { return state_->pair->quantized().bits().names(); }

StepRecord Trainer::step(StepTimings* timings) {
  if (timings) *timings = StepTimings{};
  PhaseClock clock(timings);
  State& s = *state_;
  const TrainConfig& c = s.config;
  quant::BitController& bits = s.quantized().bits();
  const int64_t t = s.step;
  StepRecord record;
  record.step = t + 1;
  record.lr = s.optimizer->lr(0);
  bits.set_step(t);
  s.optimizer->zero_grad();
  clock.lap(&StepTimings::optimizer);

  const int64_t micro_batches = c.train.grad_accumulation;
  const double lambda_output = c.loss.lambda_output;
  std::map<std::string, double> logged;  // TensorBoard components, averaged over micro-batches
  std::vector<double> kd_sum(s.kd_sites.size(), 0.0);
  for (int64_t micro = 0; micro < micro_batches && !record.skipped; ++micro) {
    data::Batch batch = s.loader->next();
    clock.lap(&StepTimings::data);
    // Training from scratch (no output or layerwise KD) has no use for the teacher's forward.
    sam2::SamOutputs teacher;
    sam2::ImageFeatures teacher_features, student_features;
    if (lambda_output != 0.0 || !s.kd_sites.empty()) {
      teacher = s.pair->run_teacher(
          [&](nn::Module& model) { return forward_image_path(model, batch, teacher_features); });
    }
    clock.lap(&StepTimings::teacher_forward);
    sam2::SamOutputs student = s.pair->run_student(
        [&](nn::Module& model) { return forward_image_path(model, batch, student_features); });
    KdActivations activations = s.pair->kd_activations();
    // After the KD activations, which must come from the first prediction alone.
    std::vector<sam2::SamOutputs> corrections;
    if (c.train.correction_clicks > 0 && lambda_output != 1.0) {
      Generator generator(data::mix(data::mix(static_cast<uint64_t>(c.seed), kCorrectionStream),
                                    static_cast<uint64_t>(t * micro_batches + micro)));
      corrections = correction_steps(*s.student, student_features,
                                     sam2::PointInputs{batch.point_coords, batch.point_labels}, student, batch.masks,
                                     {c.train.correction_clicks, c.train.correction_from_target}, generator)
                        .steps;
    }
    clock.lap(&StepTimings::student_forward);

    Tensor kd_per_site;
    LayerwiseKd layerwise;
    if (!s.kd_sites.empty()) {
      NamedActivations student_named, teacher_named;
      for (size_t k = 0; k < activations.sites.size(); ++k) {
        student_named.emplace_back(activations.sites[k], activations.student[k]);
        teacher_named.emplace_back(activations.sites[k], activations.teacher[k]);
      }
      layerwise = layerwise_kd_loss(student_named, teacher_named, s.kd_sites);
    }
    if (bits.empty()) {
      kd_per_site = s.kd_sites.empty() ? zeros({1}) : layerwise.per_site;
    } else if (s.kd_sites.empty()) {
      kd_per_site = zeros({static_cast<int64_t>(bits.size())});
    } else {
      kd_per_site = matmul(s.kd_to_bits, layerwise.per_site);
    }

    MaskLoss task;
    if (lambda_output != 1.0) {
      MaskLossOptions options;
      options.weight_mask = c.loss.task.focal;
      options.weight_dice = c.loss.task.dice;
      options.weight_iou = c.loss.task.iou;
      options.weight_class = c.loss.task.object_score;
      options.mask_term = c.loss.task.type == TaskLossType::bce ? MaskTerm::bce : MaskTerm::focal;
      options.focal_alpha = c.loss.task.focal_alpha;
      options.focal_gamma = c.loss.task.focal_gamma;
      FrameMaskPredictions frame{{{student.high_res_multimasks, student.ious, student.object_score_logits}},
                                 batch.masks};
      for (const sam2::SamOutputs& step : corrections) {
        frame.steps.push_back({step.high_res_multimasks, step.ious, step.object_score_logits});
      }
      task = sam2_mask_loss(std::vector<FrameMaskPredictions>{frame}, options);
    }
    OutputKd output;
    if (lambda_output != 0.0) {
      OutputKdOptions options;
      options.temperature = c.loss.kd_output.temperature;
      options.mask_weight = c.loss.kd_output.weight;
      options.iou_weight = c.loss.kd_output.iou_weight;
      output = output_kd_loss(student.low_res_multimasks, teacher.low_res_multimasks, student.ious, teacher.ious,
                              options);
    }
    if (s.options.poison_steps.count(t + 1)) {
      Tensor& poisoned = task.total.defined() ? task.total : output.total;
      poisoned = mul(poisoned, std::numeric_limits<double>::quiet_NaN());
    }
    TotalLossOptions total_options;
    total_options.output_kd_mix = lambda_output;
    total_options.bit_penalty.lambda = c.loss.bit_penalty * bits.penalty_scale();
    total_options.bit_penalty.normalization = c.importance.normalization;
    LossComponents losses = total_loss({task.total, output.total, kd_per_site, bits.empty() ? Tensor() : bits.stacked(),
                                        s.importance_tensor},
                                       total_options);

    const std::vector<std::pair<const char*, Tensor*>> terms = {
        {"loss_task", &losses.loss_task},           {"loss_kd_output", &losses.loss_kd_output},
        {"loss_kd_layer", &losses.loss_kd_layer},   {"loss_bit", &losses.loss_bit},
        {"loss_total", &losses.loss_total}};
    std::map<std::string, double> values;
    for (const auto& [name, tensor] : terms) {
      values[name] = tensor->item();
      if (!finite(values[name]) && record.nonfinite.empty()) record.nonfinite = name;
    }
    record.loss_total += values["loss_total"] / micro_batches;
    record.loss_task += values["loss_task"] / micro_batches;
    record.loss_kd_output += values["loss_kd_output"] / micro_batches;
    record.loss_kd_layer += values["loss_kd_layer"] / micro_batches;
    record.loss_bit += values["loss_bit"] / micro_batches;
    if (task.total.defined()) {
      logged["loss_task/mask"] += task.mask.item() / micro_batches;
      logged["loss_task/dice"] += task.dice.item() / micro_batches;
      logged["loss_task/iou"] += task.iou.item() / micro_batches;
      logged["loss_task/object_score"] += task.object.item() / micro_batches;
    }
    if (output.total.defined()) {
      logged["loss_kd_output/mask"] += output.mask.item() / micro_batches;
      logged["loss_kd_output/iou"] += output.iou.item() / micro_batches;
    }
    if (!s.kd_sites.empty()) {
      std::vector<double> per_site = layerwise.per_site.detach().to_vector<double>();
      for (size_t k = 0; k < per_site.size(); ++k) kd_sum[k] += per_site[k] / micro_batches;
    }
    clock.lap(&StepTimings::loss);
    if (!record.nonfinite.empty()) {
      record.skipped = true;
      break;
    }
    (micro_batches == 1 ? losses.loss_total : mul(losses.loss_total, 1.0 / micro_batches)).backward();
    clock.lap(&StepTimings::backward);
  }

  const std::vector<std::string>& failures = s.loader->failures();
  for (; s.reported_failures < failures.size(); ++s.reported_failures) {
    s.warn(fmt::format("step {}: a sample was skipped and replaced: {}", t + 1, failures[s.reported_failures]));
  }

  // Gradients: a non-finite one names its parameter; then clipping, the update and the bit clamp.
  if (!record.skipped) {
    for (const ParamGroup& group : s.groups) {
      for (const auto& [name, tensor] : group.params) {
        Tensor grad = tensor.grad();
        if (!grad.defined()) continue;
        if (!finite(optim::total_grad_norm({tensor}))) {
          record.skipped = true;
          record.nonfinite = "gradient of " + name;
          break;
        }
      }
      if (record.skipped) break;
    }
  }
  if (record.skipped) {
    s.optimizer->zero_grad();
    ++s.skipped;
    if (s.options.console) {
      std::fprintf(s.options.console, "\nstep %lld: %s is not finite; step skipped (%lld of at most %lld)\n",
                   static_cast<long long>(t + 1), record.nonfinite.c_str(), static_cast<long long>(s.skipped),
                   static_cast<long long>(c.train.nan_max_skips));
    }
  } else {
    std::vector<Tensor> model_params, bit_params;
    for (size_t g = 0; g < s.groups.size(); ++g) {
      for (const auto& [name, tensor] : s.groups[g].params) {
        (s.bits_group && g == *s.bits_group ? bit_params : model_params).push_back(tensor);
      }
    }
    if (c.optim.clip_norm > 0.0) optim::clip_grad_norm_(model_params, c.optim.clip_norm);
    if (c.optim.bits_clip_norm > 0.0 && !bit_params.empty()) optim::clip_grad_norm_(bit_params, c.optim.bits_clip_norm);
    s.optimizer->step();
    bits.clamp_();
  }
  s.scheduler->step();
  clock.lap(&StepTimings::optimizer);
  s.step = t + 1;
  record.bits = s.bit_values();

  // Bits stuck at a bound.
  for (size_t i = 0; i < bits.size(); ++i) {
    double value = bits.value(i);
    bool at_bound = value <= bits.bits_min(i) + 1e-6 || value >= bits.effective_max(i) - 1e-6;
    s.stuck_counts[i] = at_bound ? s.stuck_counts[i] + 1 : 0;
    if (c.train.stuck_bits_steps > 0 && s.stuck_counts[i] == c.train.stuck_bits_steps) {
      s.warn(fmt::format("step {}: the bits of '{}' have sat at a bound ({:.3f}, range [{}, {}]) for {} steps", t + 1,
                         bits.names()[i], value, bits.bits_min(i), bits.effective_max(i), c.train.stuck_bits_steps));
    }
  }

  // Logging.
  const bool log_row = record.step % c.train.log_every == 0 || record.step == c.train.last_step();
  if (log_row) {
    std::map<std::string, double> row = {{"lr", record.lr},
                                         {"loss_total", record.loss_total},
                                         {"loss_task", record.loss_task},
                                         {"loss_kd_output", record.loss_kd_output},
                                         {"loss_kd_layer", record.loss_kd_layer},
                                         {"loss_bit", record.loss_bit}};
    double mean = 0.0;
    for (size_t i = 0; i < record.bits.size(); ++i) {
      row["bits:" + bits.names()[i]] = record.bits[i];
      mean += record.bits[i] / static_cast<double>(record.bits.size());
    }
    row["bits_mean"] = record.bits.empty() ? 0.0 : mean;
    s.metrics->write_row(record.step, row);
    if (s.tensorboard) {
      TensorBoardWriter& tb = *s.tensorboard;
      for (const char* name : {"loss_total", "loss_task", "loss_kd_output", "loss_kd_layer", "loss_bit", "bits_mean"}) {
        tb.add_scalar(name, row[name], record.step);
      }
      for (const auto& [name, value] : logged) tb.add_scalar(name, value, record.step);
      for (size_t g = 0; g < s.groups.size(); ++g) tb.add_scalar("lr/" + s.groups[g].name, s.optimizer->lr(g), record.step);
      for (size_t k = 0; k < s.kd_sites.size(); ++k) tb.add_scalar("loss_kd/" + s.kd_sites[k].name, kd_sum[k], record.step);
      const double lambda = c.loss.bit_penalty * bits.penalty_scale();
      const quant::Importance normalized = bits.empty() ? quant::Importance{} : quant::normalize(s.importance, c.importance.normalization);
      for (size_t i = 0; i < record.bits.size(); ++i) {
        tb.add_scalar("bits/" + bits.names()[i], record.bits[i], record.step);
        tb.add_scalar("penalty/" + bits.names()[i], lambda * record.bits[i] / normalized.values[i], record.step);
        tb.add_scalar("importance/" + bits.names()[i], normalized.values[i], record.step);
      }
      if (!record.bits.empty()) tb.add_histogram("bits", record.bits, record.step);
      tb.add_scalar("anomalies/skipped_steps", static_cast<double>(s.skipped), record.step);
      tb.flush();
    }
  }
  clock.finish();
  return record;
}

std::string Trainer::save_checkpoint() {
  State& s = *state_;
  const std::string name = "step_" + std::to_string(s.step) + ".safetensors";
  const fs::path dir = s.run_dir / "checkpoints";
  io::NamedTensors tensors = s.student->official_state();
  quant::BitState bit_state = s.quantized().bits().state_dict(kBitsPrefix);
  for (auto& entry : bit_state.tensors) tensors.push_back(entry);
  for (auto& entry : s.quantized().quantizer_state(kQuantizerPrefix)) tensors.push_back(entry);
  optim::OptimizerState optimizer_state = s.optimizer->state_dict(kOptimizerPrefix);
  for (auto& entry : optimizer_state.tensors) tensors.push_back(entry);
  const data::DataPosition& position = s.loader->position();
  nlohmann::json metadata = {
      {"step", s.step},
      {"bits", bit_state.metadata},
      {"optimizer", optimizer_state.metadata},
      {"scheduler", s.scheduler->state_dict()},
      {"rng", default_generator().state()},
      {"data", {{"epoch", position.epoch}, {"index", position.index}}},
      {"skipped_steps", s.skipped},
      {"stuck_bits_counts", s.stuck_counts},
      {"config", s.config.to_toml()},
  };
  save_training_checkpoint((dir / name).string(), tensors, metadata);
  write_last_checkpoint_pointer(dir.string(), name);
  return (dir / name).string();
}

TrainResult Trainer::run() {
  State& s = *state_;
  const TrainConfig& c = s.config;
  const int64_t last = c.train.last_step();
  TrainResult result;
  std::optional<ProgressBar> progress;
  if (c.log.progress && s.options.console) {
    ProgressOptions options;
    options.total_steps = c.train.steps;
    options.images_per_step = c.train.batch_size * c.train.grad_accumulation;
    options.line_every = c.train.log_every;
    options.out = s.options.console;
    progress.emplace(options, s.step);
  }
  const int64_t summary_every = std::max<int64_t>(1, 10 * c.train.log_every);
  while (s.step < last) {
    StepRecord record = step();
    result.records.push_back(record);
    NamedValues losses = {{"loss_total", record.loss_total}, {"loss_task", record.loss_task},
                          {"loss_kd_layer", record.loss_kd_layer}, {"loss_bit", record.loss_bit}};
    if (progress) {
      progress->update(record.step, losses);
      if (record.step % summary_every == 0 || record.step == last) {
        NamedValues all = losses;
        all.insert(all.begin() + 2, {"loss_kd_output", record.loss_kd_output});
        progress->summary(record.step, record.bits, all);
      }
    }
    if (s.skipped >= c.train.nan_max_skips) {
      result.stopped_on_nonfinite = true;
      std::string message = fmt::format("stopping after step {}: {} steps were skipped for non-finite values "
                                        "(train.nan_max_skips = {}); the last: {}",
                                        record.step, s.skipped, c.train.nan_max_skips, record.nonfinite);
      s.warn(message);
      break;
    }
    if (c.train.checkpoint_every > 0 && s.step % c.train.checkpoint_every == 0 && s.step < last) {
      result.last_checkpoint = save_checkpoint();
    }
  }
  if (progress) progress->finish();
  if (!result.stopped_on_nonfinite) result.last_checkpoint = save_checkpoint();
  result.last_step = s.step;
  result.skipped_steps = s.skipped;
  result.skipped_samples = s.loader->skipped();
  result.warnings = s.warnings;
  return result;
}

}  // namespace qatd::train

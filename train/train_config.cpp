// The trainer's configuration: the schema of every key, the strict reader and the TOML writer.
#include "train/train_config.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <toml++/toml.h>

#include "engine/error.h"
#include "engine/suggest.h"
#include "train/config_overrides.h"

namespace qatd::train {

namespace {

using Kind = KeyKind;

const std::vector<std::string> kImportanceStrategies = {"uniform", "file"};
const std::vector<std::string> kKdLossTypes = {"mse", "kl"};
const std::vector<std::string> kTaskLossTypes = {"sam2", "bce"};
const std::vector<std::string> kOptimizerTypes = {"adamw", "adam", "sgd"};
const std::vector<std::string> kScheduleTypes = {"cosine", "constant", "step"};
const std::vector<std::string> kDataSources = {"synthetic", "sa1b", "folder", "sav", "pseudo"};

// The QuantizerSpec settings a [quant] rule or [quant.defaults] may set. This mirrors the keys
// quant/quantization_plan.cpp reads (a test checks that the plan reader accepts each of them), so
// that an override of a quant key is checked, and suggested, like any other.
const std::vector<std::pair<std::string, Kind>> kQuantSettings = {
    {"granularity", Kind::string},       {"channel_axis", Kind::integer}, {"symmetric", Kind::boolean},
    {"signed", Kind::boolean},           {"scale_source", Kind::string},  {"averaging_constant", Kind::number},
    {"percentile", Kind::number},        {"surrogate", Kind::string},     {"bits_init", Kind::number},
    {"bits_min", Kind::number},          {"bits_max", Kind::number}};

ConfigSchema make_schema() {
  std::vector<std::pair<std::string, Kind>> entries = {
      {"seed", Kind::integer},
      {"model", Kind::table},
      {"model.config", Kind::string},
      {"model.checkpoint", Kind::string},
      {"model.teacher_checkpoint", Kind::string},
      {"quant", Kind::table},
      {"quant.defaults", Kind::table},
      {"quant.anneal", Kind::table},
      {"quant.anneal.start_step", Kind::integer},
      {"quant.anneal.steps", Kind::integer},
      {"quant.anneal.ceiling_start", Kind::number},
      {"quant.anneal.ceiling_end", Kind::number},
      {"quant.anneal.penalty_warmup_steps", Kind::integer},
      {"quant.rules", Kind::table_array},
      {"quant.rules.*.pattern", Kind::string},
      {"quant.rules.*.types", Kind::strings},
      {"quant.rules.*.weights", Kind::boolean},
      {"quant.rules.*.outputs", Kind::boolean},
      {"importance", Kind::table},
      {"importance.strategy", Kind::string},
      {"importance.file", Kind::string},
      {"importance.normalization", Kind::string},
      {"loss", Kind::table},
      {"loss.bit_penalty", Kind::number},
      {"loss.lambda_output", Kind::number},
      {"loss.kd_layer", Kind::table_array},
      {"loss.kd_layer.*.site", Kind::string},
      {"loss.kd_layer.*.type", Kind::string},
      {"loss.kd_layer.*.temperature", Kind::number},
      {"loss.kd_layer.*.normalize", Kind::boolean},
      {"loss.kd_layer.*.weight", Kind::number},
      {"loss.kd_output", Kind::table},
      {"loss.kd_output.weight", Kind::number},
      {"loss.kd_output.temperature", Kind::number},
      {"loss.kd_output.iou_weight", Kind::number},
      {"loss.task", Kind::table},
      {"loss.task.type", Kind::string},
      {"loss.task.focal", Kind::number},
      {"loss.task.dice", Kind::number},
      {"loss.task.iou", Kind::number},
      {"loss.task.object_score", Kind::number},
      {"loss.task.focal_alpha", Kind::number},
      {"loss.task.focal_gamma", Kind::number},
      {"optim", Kind::table},
      {"optim.type", Kind::string},
      {"optim.betas", Kind::numbers},
      {"optim.eps", Kind::number},
      {"optim.momentum", Kind::number},
      {"optim.clip_norm", Kind::number},
      {"optim.bits_clip_norm", Kind::number},
      {"optim.layer_decay", Kind::number},
      {"optim.vision_lr_scale", Kind::number},
      {"schedule", Kind::table},
      {"schedule.type", Kind::string},
      {"schedule.warmup_steps", Kind::integer},
      {"schedule.min_lr_factor", Kind::number},
      {"schedule.step_size", Kind::integer},
      {"schedule.gamma", Kind::number},
      {"train", Kind::table},
      {"train.from_scratch", Kind::boolean},
      {"train.correction_clicks", Kind::integer},
      {"train.correction_from_target", Kind::number},
      {"data", Kind::table},
      {"data.source", Kind::string},
      {"data.count", Kind::integer},
      {"data.image_size", Kind::integer},
      {"data.seed", Kind::integer},
      {"data.images", Kind::string},
      {"data.masks", Kind::string},
      {"data.validation_count", Kind::integer},
      {"data.eval_objects", Kind::integer},
      {"data.objects_per_image", Kind::integer},
      {"data.shuffle", Kind::boolean},
      {"data.workers", Kind::integer},
      {"data.prefetch", Kind::integer},
      {"data.hflip", Kind::number},
      {"data.scale_jitter", Kind::number},
      {"data.points_per_mask", Kind::integer},
      {"data.box_probability", Kind::number},
      {"data.box_noise", Kind::number},
      {"data.box_noise_max", Kind::number},
      {"data.mask_probability", Kind::number},
      {"data.mask_boundary_shift", Kind::integer},
      {"data.pseudo_points", Kind::integer},
      {"data.pseudo_min_iou", Kind::number},
      {"log", Kind::table},
      {"log.tensorboard", Kind::boolean},
      {"log.progress", Kind::boolean},
  };
  for (const auto& [name, kind] : kQuantSettings) {
    entries.emplace_back("quant.defaults." + name, kind);
    entries.emplace_back("quant.rules.*." + name, kind);
  }
  for (const char* group : {"weights", "biases_norms", "bits"}) {
    entries.emplace_back(fmt::format("optim.{}", group), Kind::table);
    entries.emplace_back(fmt::format("optim.{}.lr", group), Kind::number);
    entries.emplace_back(fmt::format("optim.{}.weight_decay", group), Kind::number);
  }
  for (const char* key : {"steps", "stop_after", "batch_size", "grad_accumulation", "log_every", "checkpoint_every",
                          "nan_max_skips", "stuck_bits_steps"}) {
    entries.emplace_back(fmt::format("train.{}", key), Kind::integer);
  }
  return ConfigSchema(std::move(entries));
}

const ConfigSchema& schema() {
  static const ConfigSchema instance = make_schema();
  return instance;
}

toml::table parse_toml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    fail("{}: TOML error at line {}, column {}: {}", source, error.source().begin.line, error.source().begin.column,
         error.description());
  }
}

// ------------------------------------------------------------------------------------------------
// Reading the merged table into the struct.

class Reader {
 public:
  Reader(const toml::table& root, std::string source, std::map<std::string, std::string> overridden)
      : root_(root), source_(std::move(source)), overridden_(std::move(overridden)) {}

  const toml::node* find(const std::string& path) const {
    const toml::node* node = &root_;
    for (const std::string& part : split_path(path)) {
      if (const toml::table* table = node->as_table()) {
        node = table->get(part);
      } else if (const toml::array* array = node->as_array()) {
        node = array->get(std::stoul(part));
      } else {
        return nullptr;
      }
      if (node == nullptr) return nullptr;
    }
    return node;
  }

  // Where the value at `path` came from: the override that set it (or a table above it), or the file.
  std::string origin(const std::string& path) const {
    std::string prefix = path;
    while (true) {
      auto found = overridden_.find(prefix);
      if (found != overridden_.end()) return fmt::format("{}: override '{}'", source_, found->second);
      size_t dot = prefix.rfind('.');
      if (dot == std::string::npos) return source_;
      prefix.resize(dot);
    }
  }

  [[noreturn]] void type_error(const std::string& path, const toml::node& node, const std::string& expected) const {
    fail("{}: '{}' must be {}, got {} {}", origin(path), path, expected, type_name(node), describe_value(node));
  }

  // Keeps `out` (the default) when the key is absent.
  void read(const std::string& path, int64_t& out) const {
    if (const toml::node* node = find(path)) {
      auto value = node->value_exact<int64_t>();
      if (!value) type_error(path, *node, "an integer");
      out = *value;
    }
  }
  void read(const std::string& path, double& out) const {
    if (const toml::node* node = find(path)) {
      if (auto integer = node->value_exact<int64_t>()) {
        out = static_cast<double>(*integer);
      } else if (auto number = node->value_exact<double>()) {
        out = *number;
      } else {
        type_error(path, *node, "a number");
      }
    }
  }
  void read(const std::string& path, bool& out) const {
    if (const toml::node* node = find(path)) {
      auto value = node->value_exact<bool>();
      if (!value) type_error(path, *node, "true or false");
      out = *value;
    }
  }
  void read(const std::string& path, std::string& out) const {
    if (const toml::node* node = find(path)) {
      auto value = node->value_exact<std::string>();
      if (!value) type_error(path, *node, "a string");
      out = *value;
    }
  }
  void read(const std::string& path, std::vector<double>& out, size_t size) const {
    const toml::node* node = find(path);
    if (node == nullptr) return;
    const toml::array* array = node->as_array();
    std::string expected = fmt::format("an array of {} numbers", size);
    if (array == nullptr || array->size() != size) type_error(path, *node, expected);
    out.clear();
    for (const toml::node& item : *array) {
      if (auto integer = item.value_exact<int64_t>()) {
        out.push_back(static_cast<double>(*integer));
      } else if (auto number = item.value_exact<double>()) {
        out.push_back(*number);
      } else {
        type_error(path, *node, expected);
      }
    }
  }
  // A string naming an enum value: the enum's values are 0, 1, ... in the order of `names`.
  template <typename Enum>
  void read_choice(const std::string& path, Enum& out, const std::vector<std::string>& names) const {
    std::string text = names[static_cast<size_t>(out)];
    read(path, text);
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == text) {
        out = static_cast<Enum>(i);
        return;
      }
    }
    fail("{}: '{}' must be one of {}, got {} (did you mean '{}'?)", origin(path), path, fmt::join(names, " | "),
         toml_string(text), nearest_name(text, names));
  }

  // A range or consistency check on the value at `path`.
  void require(bool condition, const std::string& path, std::string_view requirement) const {
    if (condition) return;
    const toml::node* node = find(path);
    fail("{}: '{}' {}{}", origin(path), path, requirement, node == nullptr ? "" : ", got " + describe_value(*node));
  }

  // The overrides of `prefix` and the keys below it, for the plan reader's source name.
  std::vector<std::string> overrides_under(const std::string& prefix) const {
    std::vector<std::string> texts;
    for (const auto& [key, text] : overridden_) {
      if (key == prefix || key.rfind(prefix + ".", 0) == 0) texts.push_back("'" + text + "'");
    }
    return texts;
  }

  const std::string& source() const { return source_; }

 private:
  const toml::table& root_;
  std::string source_;
  std::map<std::string, std::string> overridden_;
};

quant::QuantizationPlan read_plan(const Reader& reader) {
  const toml::node* quant = reader.find("quant");
  QATD_CHECK(quant != nullptr, "{}: no quantization plan ([quant] with [[quant.rules]])", reader.source());
  toml::table wrapper;
  wrapper.insert("quant", *quant->as_table());
  std::ostringstream text;
  text << wrapper;
  std::string source = reader.source();
  std::vector<std::string> overrides = reader.overrides_under("quant");
  if (!overrides.empty()) source = fmt::format("{} with override {}", source, fmt::join(overrides, ", "));
  return quant::QuantizationPlan::from_toml_text(text.str(), source);
}

void read_loss(const Reader& r, LossSettings& loss) {
  r.read("loss.bit_penalty", loss.bit_penalty);
  r.require(loss.bit_penalty >= 0.0, "loss.bit_penalty", "must be >= 0");
  r.read("loss.lambda_output", loss.lambda_output);
  r.require(loss.lambda_output >= 0.0 && loss.lambda_output <= 1.0, "loss.lambda_output", "must lie in [0, 1]");

  if (const toml::node* sites = r.find("loss.kd_layer")) {
    std::set<std::string> seen;
    for (size_t i = 0; i < sites->as_array()->size(); ++i) {
      std::string prefix = fmt::format("loss.kd_layer.{}.", i);
      KdLayerSite site;
      r.require(r.find(prefix + "site") != nullptr, prefix + "site", "is required (the module name of the KD site)");
      r.read(prefix + "site", site.site);
      r.require(!site.site.empty(), prefix + "site", "must not be empty");
      r.require(seen.insert(site.site).second, prefix + "site", "names a site listed before");
      r.read_choice(prefix + "type", site.type, kKdLossTypes);
      r.read(prefix + "temperature", site.temperature);
      r.require(site.temperature > 0.0, prefix + "temperature", "must be > 0");
      r.read(prefix + "normalize", site.normalize);
      r.read(prefix + "weight", site.weight);
      r.require(site.weight >= 0.0, prefix + "weight", "must be >= 0");
      loss.kd_layer.push_back(std::move(site));
    }
  }

  r.read("loss.kd_output.weight", loss.kd_output.weight);
  r.require(loss.kd_output.weight >= 0.0, "loss.kd_output.weight", "must be >= 0");
  r.read("loss.kd_output.temperature", loss.kd_output.temperature);
  r.require(loss.kd_output.temperature > 0.0, "loss.kd_output.temperature", "must be > 0");
  r.read("loss.kd_output.iou_weight", loss.kd_output.iou_weight);
  r.require(loss.kd_output.iou_weight >= 0.0, "loss.kd_output.iou_weight", "must be >= 0");

  TaskLossSettings& task = loss.task;
  r.read_choice("loss.task.type", task.type, kTaskLossTypes);
  for (auto [key, value] :
       {std::pair{"focal", &task.focal}, std::pair{"dice", &task.dice}, std::pair{"iou", &task.iou},
        std::pair{"object_score", &task.object_score}, std::pair{"focal_gamma", &task.focal_gamma}}) {
    r.read(fmt::format("loss.task.{}", key), *value);
    r.require(*value >= 0.0, fmt::format("loss.task.{}", key), "must be >= 0");
  }
  r.read("loss.task.focal_alpha", task.focal_alpha);
  // SAM 2's sigmoid_focal_loss turns the alpha weighting off for alpha < 0.
  r.require(task.focal_alpha <= 1.0, "loss.task.focal_alpha", "must be <= 1 (negative: no alpha weighting)");
}

void read_optimizer(const Reader& r, OptimizerSettings& optim) {
  r.read_choice("optim.type", optim.type, kOptimizerTypes);
  std::vector<double> betas = {optim.beta1, optim.beta2};
  r.read("optim.betas", betas, 2);
  optim.beta1 = betas[0];
  optim.beta2 = betas[1];
  r.require(optim.beta1 >= 0.0 && optim.beta1 < 1.0 && optim.beta2 >= 0.0 && optim.beta2 < 1.0, "optim.betas",
            "must lie in [0, 1)");
  r.read("optim.eps", optim.eps);
  r.require(optim.eps > 0.0, "optim.eps", "must be > 0");
  r.read("optim.momentum", optim.momentum);
  r.require(optim.momentum >= 0.0 && optim.momentum < 1.0, "optim.momentum", "must lie in [0, 1)");
  r.read("optim.clip_norm", optim.clip_norm);
  r.require(optim.clip_norm >= 0.0, "optim.clip_norm", "must be >= 0 (0 disables clipping)");
  r.read("optim.bits_clip_norm", optim.bits_clip_norm);
  r.require(optim.bits_clip_norm >= 0.0, "optim.bits_clip_norm", "must be >= 0 (0 disables clipping)");
  r.read("optim.layer_decay", optim.layer_decay);
  r.require(optim.layer_decay > 0.0 && optim.layer_decay <= 1.0, "optim.layer_decay", "must lie in (0, 1]");
  r.read("optim.vision_lr_scale", optim.vision_lr_scale);
  r.require(optim.vision_lr_scale > 0.0, "optim.vision_lr_scale", "must be > 0");
  for (auto [name, group] : {std::pair{"weights", &optim.weights}, std::pair{"biases_norms", &optim.biases_norms},
                             std::pair{"bits", &optim.bits}}) {
    std::string prefix = fmt::format("optim.{}.", name);
    r.read(prefix + "lr", group->lr);
    r.require(group->lr >= 0.0, prefix + "lr", "must be >= 0");
    r.read(prefix + "weight_decay", group->weight_decay);
    r.require(group->weight_decay >= 0.0, prefix + "weight_decay", "must be >= 0");
  }
}

void read_loop(const Reader& r, LoopSettings& loop) {
  r.read("train.steps", loop.steps);
  r.require(loop.steps >= 1, "train.steps", "must be >= 1");
  r.read("train.stop_after", loop.stop_after);
  r.require(loop.stop_after >= 0, "train.stop_after", "must be >= 0 (0: run all train.steps)");
  r.read("train.batch_size", loop.batch_size);
  r.require(loop.batch_size >= 1, "train.batch_size", "must be >= 1");
  r.read("train.grad_accumulation", loop.grad_accumulation);
  r.require(loop.grad_accumulation >= 1, "train.grad_accumulation", "must be >= 1");
  r.read("train.log_every", loop.log_every);
  r.require(loop.log_every >= 1, "train.log_every", "must be >= 1");
  r.read("train.checkpoint_every", loop.checkpoint_every);
  r.require(loop.checkpoint_every >= 0, "train.checkpoint_every", "must be >= 0 (0: only at the end)");
  r.read("train.nan_max_skips", loop.nan_max_skips);
  r.require(loop.nan_max_skips >= 0, "train.nan_max_skips", "must be >= 0");
  r.read("train.stuck_bits_steps", loop.stuck_bits_steps);
  r.require(loop.stuck_bits_steps >= 0, "train.stuck_bits_steps", "must be >= 0 (0 disables the warning)");
  r.read("train.from_scratch", loop.from_scratch);
  r.read("train.correction_clicks", loop.correction_clicks);
  r.require(loop.correction_clicks >= 0, "train.correction_clicks", "must be >= 0");
  r.read("train.correction_from_target", loop.correction_from_target);
  r.require(loop.correction_from_target >= 0.0 && loop.correction_from_target <= 1.0, "train.correction_from_target",
            "must be in [0, 1]");
}

void read_data(const Reader& r, DataSettings& data) {
  r.read_choice("data.source", data.source, kDataSources);
  for (auto [key, value, minimum] :
       {std::tuple{"count", &data.count, 1}, std::tuple{"image_size", &data.image_size, 16},
        std::tuple{"validation_count", &data.validation_count, 0}, std::tuple{"eval_objects", &data.eval_objects, 1},
        std::tuple{"objects_per_image", &data.objects_per_image, 1},
        std::tuple{"workers", &data.workers, 0}, std::tuple{"prefetch", &data.prefetch, 1},
        std::tuple{"points_per_mask", &data.points_per_mask, 1},
        std::tuple{"mask_boundary_shift", &data.mask_boundary_shift, 0},
        std::tuple{"pseudo_points", &data.pseudo_points, 1}}) {
    std::string path = fmt::format("data.{}", key);
    r.read(path, *value);
    r.require(*value >= minimum, path, fmt::format("must be >= {}", minimum));
  }
  r.read("data.seed", data.seed);
  r.read("data.images", data.images);
  r.read("data.masks", data.masks);
  r.read("data.shuffle", data.shuffle);
  for (auto [key, value] : {std::pair{"hflip", &data.hflip}, std::pair{"box_probability", &data.box_probability},
                            std::pair{"mask_probability", &data.mask_probability},
                            std::pair{"pseudo_min_iou", &data.pseudo_min_iou}}) {
    std::string path = fmt::format("data.{}", key);
    r.read(path, *value);
    r.require(*value >= 0.0 && *value <= 1.0, path, "must lie in [0, 1]");
  }
  for (auto [key, value] : {std::pair{"scale_jitter", &data.scale_jitter}, std::pair{"box_noise", &data.box_noise},
                            std::pair{"box_noise_max", &data.box_noise_max}}) {
    std::string path = fmt::format("data.{}", key);
    r.read(path, *value);
    r.require(*value >= 0.0, path, "must be >= 0");
  }
  // A path given to a source that does not read it would be silently ignored.
  const bool needs_images = data.source != DataSource::synthetic;
  const bool needs_masks = data.source == DataSource::folder || data.source == DataSource::sav;
  const std::string source = fmt::format("data.source = \"{}\"", to_string(data.source));
  r.require(!needs_images || !data.images.empty(), "data.images", "is required with " + source);
  r.require(needs_images || data.images.empty(), "data.images", "is not read with " + source);
  r.require(!needs_masks || !data.masks.empty(), "data.masks", "is required with " + source);
  r.require(needs_masks || data.masks.empty(), "data.masks", "is not read with " + source);
}

TrainConfig read_config(const Reader& r) {
  TrainConfig config;
  r.read("seed", config.seed);

  r.read("model.config", config.model.config);
  r.require(!config.model.config.empty(), "model.config", "must name a preset or a model config file");
  r.read("model.checkpoint", config.model.checkpoint);
  if (r.find("model.teacher_checkpoint") != nullptr) {
    std::string teacher;
    r.read("model.teacher_checkpoint", teacher);
    config.model.teacher_checkpoint = teacher;
  }

  config.quant = read_plan(r);

  ImportanceSettings& importance = config.importance;
  r.read_choice("importance.strategy", importance.strategy, kImportanceStrategies);
  r.read("importance.file", importance.file);
  bool from_file = importance.strategy == ImportanceStrategy::file;
  r.require(!from_file || !importance.file.empty(), "importance.file",
            "is required with importance.strategy = \"file\"");
  r.require(from_file || importance.file.empty(), "importance.file",
            "is only read with importance.strategy = \"file\" (set that too)");
  std::string normalization = quant::to_string(importance.normalization);
  r.read("importance.normalization", normalization);
  try {
    importance.normalization = quant::parse_importance_normalization(normalization);
  } catch (const Error& error) {
    fail("{}: 'importance.normalization': {}", r.origin("importance.normalization"), error.what());
  }

  read_loss(r, config.loss);
  read_optimizer(r, config.optim);

  ScheduleSettings& schedule = config.schedule;
  r.read_choice("schedule.type", schedule.type, kScheduleTypes);
  r.read("schedule.warmup_steps", schedule.warmup_steps);
  r.read("schedule.min_lr_factor", schedule.min_lr_factor);
  r.require(schedule.min_lr_factor >= 0.0 && schedule.min_lr_factor <= 1.0, "schedule.min_lr_factor",
            "must lie in [0, 1]");
  r.read("schedule.step_size", schedule.step_size);
  r.require(schedule.step_size >= 1, "schedule.step_size", "must be >= 1");
  r.read("schedule.gamma", schedule.gamma);
  r.require(schedule.gamma > 0.0 && schedule.gamma <= 1.0, "schedule.gamma", "must lie in (0, 1]");

  read_loop(r, config.train);
  r.require(schedule.warmup_steps >= 0 && schedule.warmup_steps <= config.train.steps, "schedule.warmup_steps",
            fmt::format("must lie in [0, train.steps = {}]", config.train.steps));
  read_data(r, config.data);
  // Without a teacher there is nothing to distill: a KD setting would be silently ignored.
  r.require(!config.train.from_scratch || config.loss.lambda_output == 0.0, "loss.lambda_output",
            "must be 0 with train.from_scratch = true (no teacher to distill from)");
  r.require(!config.train.from_scratch || config.loss.kd_layer.empty(), "loss.kd_layer",
            "must be empty with train.from_scratch = true (no teacher to distill from)");
  r.read("log.tensorboard", config.log.tensorboard);
  r.read("log.progress", config.log.progress);
  return config;
}

const toml::table& default_table() {
  static const toml::table table = parse_toml(TrainConfig{}.to_toml(), "<defaults>");
  return table;
}

}  // namespace

bool TrainConfig::operator==(const TrainConfig& other) const {
  return seed == other.seed && model == other.model && same_plan(quant, other.quant) &&
         importance == other.importance && loss == other.loss && optim == other.optim && schedule == other.schedule &&
         train == other.train && data == other.data && log == other.log;
}

TrainConfig TrainConfig::from_text(std::string_view text, const std::vector<std::string>& overrides,
                                   const std::string& source) {
  toml::table file = parse_toml(text, source);
  check_known_keys(file, schema(), source);
  toml::table root = default_table();
  merge_into(root, file);
  std::map<std::string, std::string> overridden;
  for (const std::string& argument : overrides) {
    Override parsed = parse_override(argument);
    apply_override(root, parsed, schema());
    overridden[parsed.key] = parsed.text;
  }
  return read_config(Reader(root, source, std::move(overridden)));
}

TrainConfig TrainConfig::from_file(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream stream(path);
  QATD_CHECK(stream.good(), "cannot open train config '{}'", path);
  std::stringstream text;
  text << stream.rdbuf();
  return from_text(text.str(), overrides, path);
}

std::string TrainConfig::to_toml() const {
  TomlWriter w;
  w.comment("qatd train configuration, resolved (defaults, file, overrides)");
  w.integer("seed", seed);

  w.section("model");
  w.string("config", model.config);
  w.string("checkpoint", model.checkpoint);
  if (model.teacher_checkpoint) w.string("teacher_checkpoint", *model.teacher_checkpoint);

  write_plan(w, quant);

  w.section("importance");
  w.string("strategy", to_string(importance.strategy));
  w.string("file", importance.file);
  w.string("normalization", quant::to_string(importance.normalization));

  w.section("loss");
  w.number("bit_penalty", loss.bit_penalty);
  w.number("lambda_output", loss.lambda_output);
  w.section("loss.kd_output");
  w.number("weight", loss.kd_output.weight);
  w.number("temperature", loss.kd_output.temperature);
  w.number("iou_weight", loss.kd_output.iou_weight);
  w.section("loss.task");
  w.string("type", to_string(loss.task.type));
  w.number("focal", loss.task.focal);
  w.number("dice", loss.task.dice);
  w.number("iou", loss.task.iou);
  w.number("object_score", loss.task.object_score);
  w.number("focal_alpha", loss.task.focal_alpha);
  w.number("focal_gamma", loss.task.focal_gamma);
  for (const KdLayerSite& site : loss.kd_layer) {
    w.array_section("loss.kd_layer");
    w.string("site", site.site);
    w.string("type", to_string(site.type));
    w.number("temperature", site.temperature);
    w.boolean("normalize", site.normalize);
    w.number("weight", site.weight);
  }

  w.section("optim");
  w.string("type", to_string(optim.type));
  w.numbers("betas", {optim.beta1, optim.beta2});
  w.number("eps", optim.eps);
  w.number("momentum", optim.momentum);
  w.number("clip_norm", optim.clip_norm);
  w.number("bits_clip_norm", optim.bits_clip_norm);
  w.number("layer_decay", optim.layer_decay);
  w.number("vision_lr_scale", optim.vision_lr_scale);
  for (auto [name, group] : {std::pair{"weights", &optim.weights}, std::pair{"biases_norms", &optim.biases_norms},
                             std::pair{"bits", &optim.bits}}) {
    w.section(fmt::format("optim.{}", name));
    w.number("lr", group->lr);
    w.number("weight_decay", group->weight_decay);
  }

  w.section("schedule");
  w.string("type", to_string(schedule.type));
  w.integer("warmup_steps", schedule.warmup_steps);
  w.number("min_lr_factor", schedule.min_lr_factor);
  w.integer("step_size", schedule.step_size);
  w.number("gamma", schedule.gamma);

  w.section("train");
  w.integer("steps", train.steps);
  w.integer("stop_after", train.stop_after);
  w.integer("batch_size", train.batch_size);
  w.integer("grad_accumulation", train.grad_accumulation);
  w.integer("log_every", train.log_every);
  w.integer("checkpoint_every", train.checkpoint_every);
  w.integer("nan_max_skips", train.nan_max_skips);
  w.integer("stuck_bits_steps", train.stuck_bits_steps);
  w.boolean("from_scratch", train.from_scratch);
  w.integer("correction_clicks", train.correction_clicks);
  w.number("correction_from_target", train.correction_from_target);

  w.section("data");
  w.string("source", to_string(data.source));
  w.integer("count", data.count);
  w.integer("image_size", data.image_size);
  w.integer("seed", data.seed);
  w.string("images", data.images);
  w.string("masks", data.masks);
  w.integer("validation_count", data.validation_count);
  w.integer("eval_objects", data.eval_objects);
  w.integer("objects_per_image", data.objects_per_image);
  w.boolean("shuffle", data.shuffle);
  w.integer("workers", data.workers);
  w.integer("prefetch", data.prefetch);
  w.number("hflip", data.hflip);
  w.number("scale_jitter", data.scale_jitter);
  w.integer("points_per_mask", data.points_per_mask);
  w.number("box_probability", data.box_probability);
  w.number("box_noise", data.box_noise);
  w.number("box_noise_max", data.box_noise_max);
  w.number("mask_probability", data.mask_probability);
  w.integer("mask_boundary_shift", data.mask_boundary_shift);
  w.integer("pseudo_points", data.pseudo_points);
  w.number("pseudo_min_iou", data.pseudo_min_iou);

  w.section("log");
  w.boolean("tensorboard", log.tensorboard);
  w.boolean("progress", log.progress);
  return w.text();
}

std::string to_string(ImportanceStrategy strategy) { return kImportanceStrategies[static_cast<size_t>(strategy)]; }
std::string to_string(KdLossType type) { return kKdLossTypes[static_cast<size_t>(type)]; }
std::string to_string(TaskLossType type) { return kTaskLossTypes[static_cast<size_t>(type)]; }
std::string to_string(OptimizerType type) { return kOptimizerTypes[static_cast<size_t>(type)]; }
std::string to_string(ScheduleType type) { return kScheduleTypes[static_cast<size_t>(type)]; }
std::string to_string(DataSource source) { return kDataSources[static_cast<size_t>(source)]; }

}  // namespace qatd::train

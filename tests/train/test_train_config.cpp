// The trainer's configuration: defaults, a full file, every kind of override, the errors an unknown
// key, a wrong type or a bad override give, the pinned keys, and the TOML round trip.
#include <catch2/catch.hpp>

#include <fstream>

#include "engine/error.h"
#include "tests/test_support.h"
#include "train/config_overrides.h"
#include "train/train_config.h"

namespace qatd::train {
namespace {

using Catch::Matchers::Contains;

TrainConfig parse(std::string_view text, const std::vector<std::string>& overrides = {}) {
  return TrainConfig::from_text(text, overrides, "test.toml");
}

TrainConfig with_overrides(const std::vector<std::string>& overrides) { return parse("", overrides); }

// Every key set away from its default; the rule sets every quantizer setting, so the plan reader
// is shown to accept each quant key the schema lists.
const char* const kFullConfig = R"(
seed = 7

[model]
config = "sam2.1_hiera_s"
checkpoint = "student.pt"
teacher_checkpoint = "teacher.pt"

[quant.defaults]
surrogate = "interp"
bits_min = 3

[quant.anneal]
start_step = 10
steps = 100
ceiling_start = 8
ceiling_end = 4
penalty_warmup_steps = 20

[[quant.rules]]
pattern = "image_encoder.**"
types = ["Linear"]
weights = true
granularity = "per_channel"
channel_axis = 0
symmetric = true
signed = true
scale_source = "moving_average"
averaging_constant = 0.05
percentile = 99.9
surrogate = "ste"
bits_init = 6
bits_min = 2
bits_max = 8

[[quant.rules]]
pattern = "**"
types = "Conv2d"
outputs = true
signed = false

[importance]
strategy = "file"
file = "importance.csv"
normalization = "none"

[loss]
bit_penalty = 0.25
lambda_output = 0.75

[[loss.kd_layer]]
site = "image_encoder.trunk.blocks.11"

[[loss.kd_layer]]
site = "sam_mask_decoder.iou_prediction_head"
type = "kl"
temperature = 2.0
normalize = true
weight = 0.5

[loss.kd_output]
weight = 2.0
temperature = 3.0
iou_weight = 0.5

[loss.task]
type = "bce"
focal = 10.0
dice = 2.0
iou = 0.5
object_score = 0.0
focal_alpha = -1.0
focal_gamma = 1.5

[optim]
type = "sgd"
betas = [0.8, 0.99]
eps = 1e-6
momentum = 0.5
clip_norm = 0.0
bits_clip_norm = 0.1
layer_decay = 0.9
weights = { lr = 1e-4, weight_decay = 0.05 }
biases_norms = { lr = 2e-4, weight_decay = 0.0 }
bits = { lr = 0.05, weight_decay = 0.001 }

[schedule]
type = "step"
warmup_steps = 50
min_lr_factor = 0.1
step_size = 200
gamma = 0.5

[train]
steps = 500
stop_after = 100
batch_size = 2
grad_accumulation = 4
log_every = 5
checkpoint_every = 0
nan_max_skips = 3
stuck_bits_steps = 0

[data]
source = "folder"
images = "data/images"
masks = "data/masks"
points_per_mask = 3
shuffle = false
box_probability = 0.25
workers = 0
count = 8
image_size = 512
seed = 11

[log]
tensorboard = false
progress = false
)";

TEST_CASE("train config: defaults", "[train][config]") {
  TrainConfig config = parse("");
  CHECK(config == TrainConfig{});
  CHECK(config.seed == 0);
  CHECK(config.model.config == "sam2.1_hiera_t");
  CHECK(config.model.checkpoint.empty());
  CHECK_FALSE(config.model.teacher_checkpoint.has_value());
  CHECK(config.model.teacher_checkpoint_or_student() == config.model.checkpoint);
  CHECK(same_plan(config.quant, default_quantization_plan()));
  REQUIRE(config.quant.rules.size() == 1);
  CHECK(config.quant.rules[0].types == std::vector<std::string>{"Linear", "Conv2d"});
  CHECK(config.importance.strategy == ImportanceStrategy::uniform);
  CHECK(config.importance.normalization == quant::ImportanceNormalization::mean);
  CHECK(config.loss.bit_penalty == 0.01);
  CHECK(config.loss.kd_layer.empty());
  CHECK(config.loss.task.type == TaskLossType::sam2);
  CHECK(config.loss.task.focal == 20.0);
  CHECK(config.loss.task.dice == 1.0);
  CHECK(config.optim.type == OptimizerType::adamw);
  CHECK(config.optim.weights.weight_decay == 0.01);
  CHECK(config.optim.bits.lr == 0.01);
  CHECK(config.schedule.type == ScheduleType::cosine);
  CHECK(config.train.steps == 1000);
  CHECK(config.train.stop_after == 0);
  CHECK(config.train.last_step() == 1000);
  CHECK(config.data.source == DataSource::synthetic);
  CHECK(config.log.tensorboard);
}

TEST_CASE("train config: a full file", "[train][config]") {
  TrainConfig config = parse(kFullConfig);
  CHECK(config.seed == 7);
  CHECK(config.model.config == "sam2.1_hiera_s");
  CHECK(config.model.teacher_checkpoint_or_student() == "teacher.pt");
  REQUIRE(config.quant.rules.size() == 2);
  CHECK(config.quant.defaults.surrogate == quant::Surrogate::interp);
  CHECK(config.quant.defaults.bits_min == 3.0);
  REQUIRE(config.quant.schedule.has_value());
  CHECK(config.quant.schedule->ceiling_end == 4.0);
  CHECK(config.quant.rules[0].settings.bits_init == 6.0);
  CHECK(config.quant.rules[0].settings.scale_source == quant::ScaleSource::moving_average);
  CHECK(config.quant.rules[1].types == std::vector<std::string>{"Conv2d"});
  CHECK(config.quant.rules[1].settings.is_signed == false);
  CHECK(config.importance.strategy == ImportanceStrategy::file);
  CHECK(config.importance.file == "importance.csv");
  CHECK(config.importance.normalization == quant::ImportanceNormalization::none);
  CHECK(config.loss.bit_penalty == 0.25);
  CHECK(config.loss.lambda_output == 0.75);
  REQUIRE(config.loss.kd_layer.size() == 2);
  CHECK(config.loss.kd_layer[0] == KdLayerSite{"image_encoder.trunk.blocks.11"});
  CHECK(config.loss.kd_layer[1] == KdLayerSite{"sam_mask_decoder.iou_prediction_head", KdLossType::kl, 2.0, true, 0.5});
  CHECK(config.loss.kd_output == KdOutputSettings{2.0, 3.0, 0.5});
  CHECK(config.loss.task == TaskLossSettings{TaskLossType::bce, 10.0, 2.0, 0.5, 0.0, -1.0, 1.5});
  CHECK(config.optim.type == OptimizerType::sgd);
  CHECK(config.optim.beta1 == 0.8);
  CHECK(config.optim.beta2 == 0.99);
  CHECK(config.optim.eps == 1e-6);
  CHECK(config.optim.clip_norm == 0.0);
  CHECK(config.optim.bits_clip_norm == 0.1);
  CHECK(config.optim.layer_decay == 0.9);
  CHECK(config.optim.weights == ParamGroupSettings{1e-4, 0.05});
  CHECK(config.optim.biases_norms == ParamGroupSettings{2e-4, 0.0});
  CHECK(config.optim.bits == ParamGroupSettings{0.05, 0.001});
  CHECK(config.schedule == ScheduleSettings{ScheduleType::step, 50, 0.1, 200, 0.5});
  CHECK(config.train == LoopSettings{500, 100, 2, 4, 5, 0, 3, 0});
  CHECK(config.train.last_step() == 100);
  DataSettings data;
  data.source = DataSource::folder;
  data.count = 8;
  data.image_size = 512;
  data.seed = 11;
  data.images = "data/images";
  data.masks = "data/masks";
  data.points_per_mask = 3;
  data.shuffle = false;
  data.box_probability = 0.25;
  data.workers = 0;
  CHECK(config.data == data);
  CHECK(config.log == LogSettings{false, false});
}

TEST_CASE("train config: from_file", "[train][config]") {
  std::string path = testing::temporary_path("train_config_full.toml");
  std::ofstream(path) << kFullConfig;
  CHECK(TrainConfig::from_file(path) == parse(kFullConfig));
  CHECK(TrainConfig::from_file(path, {"train.steps=90"}).train.steps == 90);
  REQUIRE_THROWS_WITH(TrainConfig::from_file(path + ".missing"), Contains("cannot open train config"));
}

TEST_CASE("train config: the pinned keys", "[train][config]") {
  TrainConfig config = with_overrides({"train.steps=100", "seed=3", "loss.bit_penalty=0.5", "train.stop_after=40"});
  CHECK(config.train.steps == 100);
  CHECK(config.seed == 3);
  CHECK(config.loss.bit_penalty == 0.5);
  CHECK(config.train.stop_after == 40);
  CHECK(config.train.last_step() == 40);
  CHECK(parse("seed = 4\n[train]\nsteps = 12\nstop_after = 6\n[loss]\nbit_penalty = 2\n") ==
        with_overrides({"seed=4", "train.steps=12", "train.stop_after=6", "loss.bit_penalty=2"}));
}

TEST_CASE("train config: overrides of each kind", "[train][config]") {
  SECTION("numbers, over the file's value, the last one winning") {
    TrainConfig config = parse(kFullConfig, {"train.steps=300", "optim.eps=1e-7", "train.steps=200"});
    CHECK(config.train.steps == 200);
    CHECK(config.optim.eps == 1e-7);
    CHECK(with_overrides({"loss.bit_penalty=2"}).loss.bit_penalty == 2.0);  // an integer for a float key
  }
  SECTION("booleans") {
    TrainConfig config = with_overrides({"log.tensorboard=false", "data.shuffle=false"});
    CHECK_FALSE(config.log.tensorboard);
    CHECK_FALSE(config.data.shuffle);
  }
  SECTION("strings, bare or quoted; a string key keeps number-like text") {
    TrainConfig config = with_overrides({"model.config=sam2.1_hiera_b+", "model.checkpoint=\"runs/a b.pt\"",
                                         "model.teacher_checkpoint=2024", "optim.type=adam"});
    CHECK(config.model.config == "sam2.1_hiera_b+");
    CHECK(config.model.checkpoint == "runs/a b.pt");
    CHECK(config.model.teacher_checkpoint == std::optional<std::string>("2024"));
    CHECK(config.optim.type == OptimizerType::adam);
    CHECK(with_overrides({"model.checkpoint="}).model.checkpoint.empty());
  }
  SECTION("nested keys, the quant plan included") {
    TrainConfig config = with_overrides({"optim.bits.lr=0.02", "quant.defaults.bits_min=3",
                                         "quant.rules.0.bits_init=6", "quant.anneal.steps=100",
                                         "loss.kd_output.temperature=2"});
    CHECK(config.optim.bits.lr == 0.02);
    CHECK(config.quant.defaults.bits_min == 3.0);
    CHECK(config.quant.rules[0].settings.bits_init == 6.0);
    REQUIRE(config.quant.schedule.has_value());
    CHECK(config.quant.schedule->steps == 100);
    CHECK(config.loss.kd_output.temperature == 2.0);
    CHECK(parse(kFullConfig, {"loss.kd_layer.1.weight=4"}).loss.kd_layer[1].weight == 4.0);
  }
  SECTION("arrays and tables") {
    TrainConfig config = with_overrides({"optim.betas=[0.5, 0.6]", "quant.rules.0.types=[\"Linear\"]",
                                         "loss.kd_layer=[{site = \"a\"}, {site = \"b\", type = \"kl\"}]",
                                         "optim.weights={lr = 0.5}"});
    CHECK(config.optim.beta1 == 0.5);
    CHECK(config.optim.beta2 == 0.6);
    CHECK(config.quant.rules[0].types == std::vector<std::string>{"Linear"});
    REQUIRE(config.loss.kd_layer.size() == 2);
    CHECK(config.loss.kd_layer[1].type == KdLossType::kl);
    CHECK(config.optim.weights == ParamGroupSettings{0.5, 0.01});  // an inline table keeps the keys it omits
    TrainConfig rules = parse(kFullConfig, {"quant.rules=[{pattern = \"**\", weights = true}]",
                                            "loss.kd_layer.0={site = \"c\", weight = 3}"});
    REQUIRE(rules.quant.rules.size() == 1);
    CHECK(rules.quant.rules[0].types.empty());
    CHECK(rules.loss.kd_layer[0] == KdLayerSite{"c", KdLossType::mse, 1.0, false, 3.0});
  }
}

TEST_CASE("train config: unknown keys name the closest valid one", "[train][config]") {
  REQUIRE_THROWS_WITH(parse("[train]\nstep = 3\n"),
                      Contains("test.toml: unknown key 'train.step'") && Contains("did you mean 'train.steps'"));
  REQUIRE_THROWS_WITH(parse("[trian]\nsteps = 3\n"), Contains("unknown key 'trian'") && Contains("'train'"));
  REQUIRE_THROWS_WITH(parse("[[loss.kd_layer]]\nsit = \"a\"\n"),
                      Contains("'loss.kd_layer.0.sit'") && Contains("did you mean 'loss.kd_layer.0.site'"));
  REQUIRE_THROWS_WITH(parse("[[quant.rules]]\npattern = \"**\"\nweights = true\nbits_initt = 4\n"),
                      Contains("'quant.rules.0.bits_initt'") && Contains("'quant.rules.0.bits_init'"));
  REQUIRE_THROWS_WITH(parse("[optim.bits]\nlearning_rat = 1\n"),
                      Contains("valid keys in [optim.bits]: lr, weight_decay"));

  REQUIRE_THROWS_WITH(with_overrides({"train.step=3"}),
                      Contains("override 'train.step=3': unknown key 'train.step'") &&
                          Contains("did you mean 'train.steps'"));
  REQUIRE_THROWS_WITH(with_overrides({"loss.bitpenalty=1"}), Contains("did you mean 'loss.bit_penalty'"));
  REQUIRE_THROWS_WITH(with_overrides({"trian.steps=3"}), Contains("did you mean 'train.steps'"));
  REQUIRE_THROWS_WITH(with_overrides({"sed=3"}), Contains("did you mean 'seed'"));
  REQUIRE_THROWS_WITH(with_overrides({"quant.defaults.bit_min=3"}), Contains("did you mean 'quant.defaults.bits_min'"));
  REQUIRE_THROWS_WITH(with_overrides({"optim.weights={lrr = 1}"}),
                      Contains("override 'optim.weights={lrr = 1}'") && Contains("did you mean 'optim.weights.lr'"));
}

TEST_CASE("train config: type and range errors name the key, the type and the value", "[train][config]") {
  REQUIRE_THROWS_WITH(parse("[train]\nsteps = \"abc\"\n"),
                      Contains("test.toml: 'train.steps' must be an integer, got string \"abc\""));
  REQUIRE_THROWS_WITH(with_overrides({"train.steps=abc"}),
                      Contains("override 'train.steps=abc'") && Contains("'train.steps' must be an integer") &&
                          Contains("\"abc\""));
  REQUIRE_THROWS_WITH(with_overrides({"train.steps=2.5"}), Contains("must be an integer, got float 2.5"));
  REQUIRE_THROWS_WITH(with_overrides({"log.tensorboard=1"}),
                      Contains("'log.tensorboard' must be true or false, got integer 1"));
  REQUIRE_THROWS_WITH(with_overrides({"loss.bit_penalty=high"}), Contains("'loss.bit_penalty' must be a number"));
  REQUIRE_THROWS_WITH(with_overrides({"optim.betas=[0.9]"}), Contains("'optim.betas' must be an array of 2 numbers"));
  REQUIRE_THROWS_WITH(with_overrides({"optim.type=adamx"}),
                      Contains("'optim.type' must be one of adamw | adam | sgd, got \"adamx\"") &&
                          Contains("(did you mean 'adamw'?)"));
  REQUIRE_THROWS_WITH(with_overrides({"optim.bits=3"}), Contains("'optim.bits' must be a table, got integer 3"));
  REQUIRE_THROWS_WITH(parse("train = 3\n"), Contains("'train' must be a table"));
  REQUIRE_THROWS_WITH(with_overrides({"train.steps.x=3"}),
                      Contains("'train.steps' is an integer, so it has no key 'x'"));
  REQUIRE_THROWS_WITH(with_overrides({"optim.betas=[0.9,"}), Contains("is not a valid TOML value"));
  REQUIRE_THROWS_WITH(with_overrides({"quant.defaults.bits_min=two"}),
                      Contains("override 'quant.defaults.bits_min=two'") && Contains("bits_min"));

  REQUIRE_THROWS_WITH(with_overrides({"train.steps=0"}), Contains("'train.steps' must be >= 1, got 0"));
  REQUIRE_THROWS_WITH(with_overrides({"loss.lambda_output=1.5"}), Contains("'loss.lambda_output' must lie in [0, 1]"));
  REQUIRE_THROWS_WITH(with_overrides({"schedule.warmup_steps=2000"}), Contains("train.steps = 1000"));
  REQUIRE_THROWS_WITH(with_overrides({"importance.strategy=file"}), Contains("'importance.file' is required"));
  REQUIRE_THROWS_WITH(with_overrides({"importance.file=x.csv"}), Contains("importance.strategy = \"file\""));
  REQUIRE_THROWS_WITH(with_overrides({"data.source=folder"}), Contains("'data.images' is required"));
  REQUIRE_THROWS_WITH(parse("[[loss.kd_layer]]\nweight = 1\n"), Contains("'loss.kd_layer.0.site' is required"));
  REQUIRE_THROWS_WITH(with_overrides({"loss.kd_layer=[{site = \"a\"}, {site = \"a\"}]"}),
                      Contains("'loss.kd_layer.1.site' names a site listed before"));
  REQUIRE_THROWS_WITH(parse("[train\n"), Contains("test.toml: TOML error at line 1"));
}

TEST_CASE("train config: array elements that do not exist", "[train][config]") {
  REQUIRE_THROWS_WITH(with_overrides({"quant.rules.3.bits_init=4"}),
                      Contains("'quant.rules' has 1 element(s), so there is no element 3"));
  REQUIRE_THROWS_WITH(with_overrides({"loss.kd_layer.0.weight=2"}), Contains("'loss.kd_layer' has 0 element(s)"));
  REQUIRE_THROWS_WITH(with_overrides({"quant.rules.bits_init=4"}), Contains("address an element by index"));
}

TEST_CASE("train config: bad override syntax", "[train][config]") {
  REQUIRE_THROWS_WITH(with_overrides({"train.steps"}), Contains("override 'train.steps' is not key=value"));
  REQUIRE_THROWS_WITH(with_overrides({"=3"}), Contains("override '=3' has no key"));
  REQUIRE_THROWS_WITH(with_overrides({"train.steps==3"}), Contains("has '==' (write 'train.steps=3'"));
  REQUIRE_THROWS_WITH(with_overrides({"train..steps=3"}), Contains("'train..steps' is not a valid key"));
  REQUIRE_THROWS_WITH(with_overrides({"+train.steps=3"}), Contains("is not a valid key"));
  REQUIRE_THROWS_AS(with_overrides({"train.steps=1\nseed = 3"}), Error);
}

TEST_CASE("train config: to_toml round-trips", "[train][config]") {
  TrainConfig defaults;
  TrainConfig full = parse(kFullConfig);
  TrainConfig overridden =
      parse(kFullConfig, {"optim.eps=3.0000000000000004e-9", "loss.bit_penalty=0.1", "model.checkpoint=\"a\\\"b\\n\"",
                          "quant.rules.1.bits_max=7"});
  for (const TrainConfig* config : {&defaults, &full, &overridden}) {
    std::string text = config->to_toml();
    TrainConfig again = parse(text);
    CHECK(again == *config);
    CHECK(again.to_toml() == text);
  }
  CHECK(overridden.model.checkpoint == "a\"b\n");
  CHECK_FALSE(full == defaults);
  CHECK(full.to_toml().find("teacher_checkpoint = \"teacher.pt\"") != std::string::npos);
}

TEST_CASE("train config: override values and paths", "[train][config]") {
  CHECK(path_pattern("loss.kd_layer.3.site") == "loss.kd_layer.*.site");
  CHECK(toml_number(1.0) == "1.0");
  CHECK(toml_number(1e-5) == "1e-05");
  CHECK(toml_number(0.1) == "0.1");
  CHECK(toml_string("a\"\\\x01") == "\"a\\\"\\\\\\u0001\"");
  Override parsed = parse_override("optim.bits.lr=0.5=x");
  CHECK(parsed.key == "optim.bits.lr");
  CHECK(parsed.value == "0.5=x");
}

}  // namespace
}  // namespace qatd::train

// Trainer options beyond the main loop tests: gradient accumulation over micro-batches gives the
// gradients of one larger batch, and bits held at a bound raise the stuck-bits warning.
#include <cmath>
#include <map>

#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "models/sam2/sam2_base.h"
#include "quant/quantization_plan.h"
#include "tests/train/trainer_test_support.h"

namespace qatd::train {
namespace {

// Every gradient the student's step produced (parameters of the model, then the bits), flattened.
std::vector<double> student_gradients(Trainer& trainer) {
  std::vector<double> values;
  auto append = [&](const Tensor& tensor) {
    REQUIRE(tensor.grad().defined());
    std::vector<double> gradient = tensor.grad().to(DType::f64).to_vector<double>();
    values.insert(values.end(), gradient.begin(), gradient.end());
  };
  for (const auto& [name, parameter] : trainer.student().named_parameters()) {
    if (parameter.grad().defined()) append(parameter);
  }
  for (const Tensor& bits : trainer.quantized().bits().parameters()) append(bits);
  return values;
}

}  // namespace

TEST_CASE("trainer: two micro-batches of 1 accumulate the gradients of one batch of 2", "[train][trainer]") {
  // No clipping, so that the gradients are compared as backward left them.
  const std::vector<std::string> common = {"optim.clip_norm=0", "optim.bits_clip_norm=0", "train.steps=1",
                                           "train.checkpoint_every=0", "data.box_probability=0"};
  std::vector<std::string> one_batch = common, accumulated = common;
  one_batch.insert(one_batch.end(), {"train.batch_size=2", "train.grad_accumulation=1"});
  accumulated.insert(accumulated.end(), {"train.batch_size=1", "train.grad_accumulation=2"});
  Trainer whole(micro_config(one_batch), options_for(fresh_dir("trainer_accumulation_whole")));
  Trainer split(micro_config(accumulated), options_for(fresh_dir("trainer_accumulation_split")));
  StepRecord whole_step = whole.step();
  StepRecord split_step = split.step();
  REQUIRE_FALSE(whole_step.skipped);
  REQUIRE_FALSE(split_step.skipped);

  // The losses are means over the batch, so the mean of the two micro-batch losses is the batch loss.
  const double loss_error = std::abs(whole_step.loss_total - split_step.loss_total) / std::abs(whole_step.loss_total);
  std::printf("accumulation: loss_total %.9g (one batch) vs %.9g (two micro-batches), relative error %.3e "
              "(tolerance 1e-5)\n",
              whole_step.loss_total, split_step.loss_total, loss_error);
  CHECK(loss_error <= 1e-5);

  const std::vector<double> expected = student_gradients(whole), ours = student_gradients(split);
  REQUIRE(expected.size() == ours.size());
  double difference = 0.0, norm = 0.0;
  for (size_t i = 0; i < expected.size(); ++i) {
    difference += (ours[i] - expected[i]) * (ours[i] - expected[i]);
    norm += expected[i] * expected[i];
  }
  const double gradient_error = std::sqrt(difference / norm);
  std::printf("accumulation: %zu gradient values, relative error %.3e (tolerance 1e-4)\n", expected.size(),
              gradient_error);
  CHECK(gradient_error <= 1e-4);
}

TEST_CASE("trainer: a box prompt trains the first mask token, as SAM 2's train mode does", "[train][trainer]") {
  // The random micro model's masks are unstable, so eval mode's dynamic multimask choice would answer
  // a box with a click token and train that instead; training must leave the tokens 1-3 alone.
  Trainer trainer(micro_config({"data.box_probability=1", "loss.lambda_output=0.5"}),
                  options_for(fresh_dir("trainer_box_token")));
  REQUIRE_FALSE(trainer.step().skipped);
  std::map<std::string, double> norms;
  for (const auto& [name, parameter] : trainer.student().named_parameters()) {
    if (!name.starts_with("sam_mask_decoder.output_hypernetworks_mlps.")) continue;
    const std::string token = name.substr(std::string("sam_mask_decoder.output_hypernetworks_mlps.").size(), 1);
    const Tensor gradient = parameter.grad();
    norms[token] += gradient.defined() ? sum(mul(gradient, gradient)).item() : 0.0;
  }
  REQUIRE(norms.size() == 4);
  CHECK(norms["0"] > 0.0);
  CHECK(norms["1"] == 0.0);
  CHECK(norms["2"] == 0.0);
  CHECK(norms["3"] == 0.0);
}

TEST_CASE("trainer: bits held at a bound for stuck_bits_steps steps raise a warning naming the site",
          "[train][trainer]") {
  // Starting at the minimum with a strong penalty, every site stays at 2 bits.
  Trainer trainer(micro_config({"quant.rules.0.bits_init=2", "loss.bit_penalty=50", "train.steps=3",
                                "train.stuck_bits_steps=2", "train.checkpoint_every=0"}),
                  options_for(fresh_dir("trainer_stuck_bits")));
  TrainResult result = trainer.run();
  REQUIRE(result.last_step == 3);
  const std::vector<std::string> sites = trainer.bit_sites();
  size_t warned = 0;
  for (const std::string& warning : result.warnings) {
    if (warning.find("have sat at a bound") == std::string::npos) continue;
    CHECK(warning.find("step 2:") != std::string::npos);
    ++warned;
  }
  INFO("warnings: " << result.warnings.size());
  CHECK(warned == sites.size());
  CHECK(result.warnings.front().find(sites.front()) != std::string::npos);
}

}  // namespace qatd::train

namespace qatd::train {
namespace {

// The named parameters of the student and their values before a step.
struct Snapshot {
  std::map<std::string, Tensor> parameters;
  std::map<std::string, std::vector<double>> before;
};

Snapshot snapshot(Trainer& trainer, const std::vector<std::string>& names) {
  Snapshot taken;
  for (const auto& [name, parameter] : trainer.student().named_parameters()) taken.parameters[name] = parameter;
  for (const std::string& name : names) {
    REQUIRE(taken.parameters.count(name));
    taken.before[name] = taken.parameters[name].to(DType::f64).to_vector<double>();
  }
  return taken;
}

// Plain SGD without momentum, weight decay or clipping moves each parameter by -lr * gradient, so the
// lr a parameter got is -sum(delta * g) / sum(g * g); each must be 0.01 times its expected scale.
void check_lrs(Snapshot& taken, const std::vector<std::string>& names, const std::vector<double>& expected_scale,
               const char* what) {
  for (size_t i = 0; i < names.size(); ++i) {
    const std::vector<double> after = taken.parameters[names[i]].to(DType::f64).to_vector<double>();
    const std::vector<double> gradient = taken.parameters[names[i]].grad().to(DType::f64).to_vector<double>();
    double moved = 0.0, squared = 0.0;
    for (size_t j = 0; j < after.size(); ++j) {
      moved -= (after[j] - taken.before[names[i]][j]) * gradient[j];
      squared += gradient[j] * gradient[j];
    }
    REQUIRE(squared > 0.0);
    const double lr = moved / squared, expected = 0.01 * expected_scale[i];
    const double error = std::abs(lr - expected) / expected;
    std::printf("%s: %-58s lr %.6g, expected %.6g, relative error %.2e (tolerance 1e-3)\n", what, names[i].c_str(),
                lr, expected, error);
    CHECK(error <= 1e-3);
  }
}

}  // namespace

TEST_CASE("trainer: layer-wise lr decay scales each trunk block's lr by decay^(blocks - k)", "[train][trainer]") {
  Trainer trainer(micro_config({"optim.type=sgd", "optim.momentum=0", "optim.weights.weight_decay=0",
                                "optim.clip_norm=0", "optim.bits_clip_norm=0", "optim.layer_decay=0.5",
                                "optim.weights.lr=0.01", "schedule.type=constant", "train.steps=1",
                                "train.checkpoint_every=0"}),
                  options_for(fresh_dir("trainer_layer_decay")));
  const std::vector<std::string> names = {"image_encoder.trunk.patch_embed.proj.weight",
                                          "image_encoder.trunk.blocks.0.mlp.layers.0.weight",
                                          "image_encoder.trunk.blocks.5.mlp.layers.0.weight",
                                          "sam_mask_decoder.transformer.layers.0.mlp.layers.0.weight"};
  Snapshot taken = snapshot(trainer, names);
  int64_t blocks = 0;
  while (taken.parameters.count("image_encoder.trunk.blocks." + std::to_string(blocks) + ".mlp.layers.0.weight")) ++blocks;
  REQUIRE(blocks == 6);
  REQUIRE_FALSE(trainer.step().skipped);
  const std::vector<double> expected_scale = {std::pow(0.5, blocks + 1), std::pow(0.5, blocks), 0.5, 1.0};
  check_lrs(taken, names, expected_scale, "layer decay");
}

TEST_CASE("trainer: optim.vision_lr_scale scales the image encoder's lr, with layer decay on top",
          "[train][trainer]") {
  Trainer trainer(micro_config({"optim.type=sgd", "optim.momentum=0", "optim.weights.weight_decay=0",
                                "optim.clip_norm=0", "optim.bits_clip_norm=0", "optim.layer_decay=0.5",
                                "optim.vision_lr_scale=0.25", "optim.weights.lr=0.01", "schedule.type=constant",
                                "train.steps=1", "train.checkpoint_every=0"}),
                  options_for(fresh_dir("trainer_vision_lr")));
  const std::vector<std::string> names = {"image_encoder.trunk.blocks.5.mlp.layers.0.weight",
                                          "image_encoder.neck.convs.0.conv.weight",
                                          "sam_mask_decoder.transformer.layers.0.mlp.layers.0.weight"};
  Snapshot taken = snapshot(trainer, names);
  REQUIRE_FALSE(trainer.step().skipped);
  check_lrs(taken, names, {0.5 * 0.25, 0.25, 1.0}, "vision lr");
}


}  // namespace qatd::train

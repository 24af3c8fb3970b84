// SAM 2's iterative correction clicks on the micro model: each click lies in the error region of the
// step before it and is labelled by it, the clicks accumulate, the mask prompt carries the gradient
// back to the earlier steps, and the trainer sums every step into the task loss.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/engine.h"
#include "models/sam2/build_sam.h"
#include "tests/train/trainer_test_support.h"
#include "train/correction_clicks.h"

namespace qatd::train {
namespace {

struct FirstPrediction {
  std::unique_ptr<sam2::SAM2Base> model;
  sam2::ImageFeatures features;
  sam2::PointInputs prompt;
  sam2::SamOutputs outputs;
  Tensor targets;
};

// Two 128 x 128 random images, one rectangle object each, one click inside it.
FirstPrediction first_prediction() {
  FirstPrediction first;
  first.model = sam2::build_sam2(micro_config_128(), testing::fixture_path("sam2_micro_a/model.safetensors"));
  first.model->eval();
  Generator generator(3);
  Tensor images = randn({2, 3, 128, 128}, DType::f32, &generator);
  std::vector<float> targets(2 * 128 * 128, 0.0f);
  for (int64_t y = 20; y < 70; ++y) {
    for (int64_t x = 30; x < 100; ++x) targets[static_cast<size_t>(y * 128 + x)] = 1.0f;
  }
  for (int64_t y = 60; y < 120; ++y) {
    for (int64_t x = 10; x < 50; ++x) targets[static_cast<size_t>(128 * 128 + y * 128 + x)] = 1.0f;
  }
  first.targets = from_vector(targets, {2, 128, 128});
  first.prompt = {from_vector(std::vector<float>{60.0f, 40.0f, 30.0f, 90.0f}, {2, 1, 2}),
                  from_vector(std::vector<int32_t>{1, 1}, {2, 1})};
  first.features = first.model->image_features(first.model->forward_image(images));
  first.outputs = first.model->forward_sam_heads(first.features.image_embed, first.prompt, Tensor(),
                                                 first.features.high_res_feats, true);
  return first;
}

float pixel(const Tensor& image, int64_t n, const Tensor& coords, int64_t point) {
  const int64_t x = static_cast<int64_t>(coords.select(0, n).select(0, point).select(0, 0).item());
  const int64_t y = static_cast<int64_t>(coords.select(0, n).select(0, point).select(0, 1).item());
  return static_cast<float>(image.select(0, n).select(0, y).select(0, x).item());
}

}  // namespace

TEST_CASE(
    "correction clicks: each click is in the previous step's error and "
    "labelled by it",
    "[train][corrections]") {
  FirstPrediction first = first_prediction();
  Generator generator(5);
  CorrectionRun run =
      correction_steps(*first.model, first.features, first.prompt, first.outputs, first.targets, {3, 0.0}, generator);
  REQUIRE(run.steps.size() == 3);
  REQUIRE(run.points.point_coords.shape() == Shape{2, 4, 2});
  REQUIRE(run.points.point_labels.shape() == Shape{2, 4});
  CHECK(run.points.point_coords.narrow(1, 0, 1).to_vector<float>() == first.prompt.point_coords.to_vector<float>());
  for (size_t k = 0; k < run.steps.size(); ++k) {
    // After a correction the prompt has two or more points: single-mask output.
    CHECK(run.steps[k].high_res_multimasks.shape() == Shape{2, 1, 128, 128});
    const Tensor& before = k == 0 ? first.outputs.high_res_masks : run.steps[k - 1].high_res_masks;
    Tensor predicted = gt(before.squeeze(1), 0.0).to(DType::f32);
    for (int64_t n = 0; n < 2; ++n) {
      const int64_t point = static_cast<int64_t>(k) + 1;
      const auto label = static_cast<int32_t>(run.points.point_labels.select(0, n).select(0, point).item());
      const float inside = pixel(first.targets, n, run.points.point_coords, point);
      const float predicted_inside = pixel(predicted, n, run.points.point_coords, point);
      INFO("step " << k + 1 << " object " << n << " label " << label);
      // A positive click on a missed object pixel, a negative one on a false positive.
      CHECK(label == (inside > 0.5f ? 1 : 0));
      CHECK(predicted_inside != inside);
    }
  }
}

TEST_CASE(
    "correction clicks: from the target, every click is positive and "
    "inside the object",
    "[train][corrections]") {
  FirstPrediction first = first_prediction();
  Generator generator(6);
  CorrectionRun run =
      correction_steps(*first.model, first.features, first.prompt, first.outputs, first.targets, {4, 1.0}, generator);
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t point = 1; point < 5; ++point) {
      CHECK(run.points.point_labels.select(0, n).select(0, point).item() == 1);
      CHECK(pixel(first.targets, n, run.points.point_coords, point) == 1.0f);
    }
  }
}

TEST_CASE(
    "correction clicks: the previous mask prompt is not detached; bad "
    "arguments are named",
    "[train][corrections]") {
  FirstPrediction first = first_prediction();
  first.outputs.low_res_masks.retain_grad();
  Generator generator(7);
  CorrectionRun run =
      correction_steps(*first.model, first.features, first.prompt, first.outputs, first.targets, {2, 0.1}, generator);
  sum(run.steps.back().high_res_multimasks).backward();
  Tensor gradient = first.outputs.low_res_masks.grad();
  REQUIRE(gradient.defined());
  CHECK(sum(abs(gradient)).item() > 0.0);

  CHECK_THROWS_WITH(
      correction_steps(*first.model, first.features, first.prompt, first.outputs, first.targets, {-1, 0.1}, generator),
      Catch::Contains("count must be >= 0"));
  CHECK_THROWS_WITH(correction_steps(*first.model, first.features, first.prompt, first.outputs,
                                     first.targets.narrow(0, 0, 1), {1, 0.1}, generator),
                    Catch::Contains("must be (B, S, S) for 2 prompts"));
}

TEST_CASE(
    "trainer: correction clicks add their steps to the task loss and "
    "resume identically",
    "[train][trainer][corrections]") {
  const std::vector<std::string> corrections = {"train.correction_clicks=2", "data.box_probability=0.5"};
  StepRecord without = Trainer(micro_config({"data.box_probability=0.5"}), options_for(fresh_dir("corr_none"))).step();
  StepRecord with = Trainer(micro_config(corrections), options_for(fresh_dir("corr_two"))).step();
  // Same batch and weights: the first step's terms are shared, the corrections add theirs.
  CHECK(with.loss_task > without.loss_task);

  const std::string full = fresh_dir("corr_full");
  TrainResult expected = Trainer(micro_config(corrections), options_for(full)).run();
  std::vector<std::string> interrupted = corrections;
  interrupted.push_back("train.stop_after=2");
  const std::string split = fresh_dir("corr_split");
  Trainer(micro_config(interrupted), options_for(split)).run();
  TrainerOptions resume = options_for(split);
  resume.resume = split;
  TrainResult second = Trainer(micro_config(corrections), resume).run();
  REQUIRE(second.records.size() == 2);
  CHECK(second.records.back().loss_total == expected.records.back().loss_total);
}

TEST_CASE("trainer: several objects per image, with output KD and correction clicks", "[train][trainer][corrections]") {
  // Objects of one image share its features; output KD compares the teacher and student per object.
  StepRecord record =
      Trainer(micro_config({"data.objects_per_image=3", "train.correction_clicks=1", "loss.lambda_output=0.5"}),
              options_for(fresh_dir("corr_objects")))
          .step();
  CHECK_FALSE(record.skipped);
  CHECK(std::isfinite(record.loss_total));
  CHECK(record.loss_task > 0.0);
  CHECK(record.loss_kd_output > 0.0);
}

}  // namespace qatd::train

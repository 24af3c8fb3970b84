// The training loop end to end on the SAM 2 micro model (tests/fixtures/sam2_micro_a, run at 128 x 128
// with batch 2 so the whole file stays fast): a forward/backward smoke test, falling losses and moving
// bits, the bit penalty's pull, bit-identical resume, non-finite steps skipped and counted, damaged
// checkpoints rejected by name, and `qatd train` through the binary.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "models/sam2/sam2_base.h"
#include "quant/quantization_plan.h"
#include "tests/quant/qatd_cli.h"
#include "tests/test_support.h"
#include "tests/train/trainer_test_support.h"
#include "train/metrics_csv.h"
#include "train/trainer.h"
#include "train/training_checkpoint.h"

namespace qatd::train {
namespace {

double mean(const std::vector<double>& values) {
  double sum = 0.0;
  for (double value : values) sum += value;
  return sum / static_cast<double>(values.size());
}

}  // namespace

TEST_CASE("trainer: one batch forward and backward on the micro model", "[train][trainer]") {
  Trainer trainer(micro_config(), options_for(fresh_dir("trainer_smoke")));
  REQUIRE(trainer.bit_sites().size() > 10);
  StepRecord record = trainer.step();
  CHECK_FALSE(record.skipped);
  CHECK(std::isfinite(record.loss_total));
  CHECK(record.loss_task > 0.0);
  CHECK(record.loss_kd_layer > 0.0);  // the student's fake quant moves blocks.0 away from the teacher
  CHECK(record.loss_bit > 0.0);
  CHECK(record.bits != std::vector<double>(record.bits.size(), 6.0));  // the bits moved
  // Teacher and student start from the same weights; the teacher got no gradients.
  for (const auto& [name, parameter] : trainer.teacher().named_parameters()) CHECK_FALSE(parameter.grad().defined());
}

TEST_CASE("trainer: the loss falls and the bits change; resume continues bit-identically", "[train][trainer]") {
  const std::string full = fresh_dir("trainer_full");
  TrainResult result = Trainer(micro_config(), options_for(full)).run();
  REQUIRE(result.records.size() == 4);
  CHECK(result.records.back().loss_total < result.records.front().loss_total);
  CHECK(result.records.back().bits != result.records.front().bits);
  CHECK(fs::exists(full + "/checkpoints/step_2.safetensors"));
  CHECK(testing::read_file_text(full + "/checkpoints/last") == "step_4.safetensors\n");

  // Interrupted after step 2 (schedules still span 4 steps), then resumed.
  const std::string split = fresh_dir("trainer_split");
  TrainResult first = Trainer(micro_config({"train.stop_after=2"}), options_for(split)).run();
  CHECK(first.last_step == 2);
  TrainerOptions resume = options_for(split);
  resume.resume = split;
  TrainResult second = Trainer(micro_config(), resume).run();
  REQUIRE(second.records.size() == 2);
  CHECK(second.records.front().step == 3);

  MetricsTable expected = read_metrics_csv(full + "/metrics.csv");
  MetricsTable resumed = read_metrics_csv(split + "/metrics.csv");
  REQUIRE(expected.columns == resumed.columns);
  REQUIRE(expected.rows.size() == 4);
  REQUIRE(resumed.rows.size() == 4);
  for (size_t row = 0; row < 4; ++row) {
    for (size_t column = 0; column < expected.columns.size(); ++column) {
      INFO("row " << row + 1 << " column " << expected.columns[column]);
      CHECK(resumed.rows[row][column] == expected.rows[row][column]);  // bit-identical, not approximately
    }
  }

  SECTION("a corrupt or truncated checkpoint is rejected by name; the previous one stays intact") {
    const std::string good = split + "/checkpoints/step_2.safetensors";
    const std::string latest = split + "/checkpoints/step_4.safetensors";
    std::string bytes = testing::read_file_text(latest);
    std::string flipped = bytes;
    flipped[flipped.size() - 100] ^= 0x10;
    std::ofstream(latest, std::ios::binary) << flipped;
    CHECK_THROWS_WITH(load_training_checkpoint(latest),
                      Catch::Contains(latest) && Catch::Contains("corrupt") && Catch::Contains("CRC-32C"));
    TrainerOptions from_corrupt = options_for(split);
    from_corrupt.resume = split;  // checkpoints/last names the damaged step_4
    CHECK_THROWS_WITH(Trainer(micro_config(), from_corrupt), Catch::Contains(latest));
    std::ofstream(latest, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
    CHECK_THROWS_WITH(load_training_checkpoint(latest), Catch::Contains(latest) && Catch::Contains("truncated"));
    TrainingCheckpoint previous = load_training_checkpoint(good);
    CHECK(previous.metadata.at("step") == 2);
    CHECK(previous.metadata.at("bits").size() == second.records.back().bits.size());
  }
}

TEST_CASE("trainer: a large bit penalty lowers the bits, none leaves them", "[train][trainer]") {
  TrainResult strong = Trainer(micro_config({"loss.bit_penalty=50", "train.steps=3", "train.checkpoint_every=0"}),
                               options_for(fresh_dir("trainer_penalty_strong")))
                           .run();
  TrainResult none = Trainer(micro_config({"loss.bit_penalty=0", "train.steps=3", "train.checkpoint_every=0"}),
                             options_for(fresh_dir("trainer_penalty_none")))
                         .run();
  const double strong_bits = mean(strong.records.back().bits), none_bits = mean(none.records.back().bits);
  INFO("mean bits after 3 steps: lambda 50 " << strong_bits << ", lambda 0 " << none_bits);
  CHECK(strong_bits < 6.0 - 0.1);
  CHECK(strong_bits < none_bits);
  CHECK(none_bits > 2.0 + 3.0);  // far from bits_min
}

TEST_CASE("trainer: non-finite steps are skipped, reported by term, and stop the run after nan_max_skips",
          "[train][trainer]") {
  TrainerOptions options = options_for(fresh_dir("trainer_nan"));
  options.poison_steps = {1, 3};
  Trainer trainer(micro_config({"train.nan_max_skips=2", "train.steps=5"}), options);
  const std::vector<double> initial_bits(trainer.bit_sites().size(), 6.0);
  TrainResult result = trainer.run();
  REQUIRE(result.records.size() == 3);
  CHECK(result.records[0].skipped);
  CHECK(result.records[0].nonfinite == "loss_task");
  CHECK(result.records[0].bits == initial_bits);  // no update in a skipped step
  CHECK_FALSE(result.records[1].skipped);
  CHECK(result.records[2].skipped);
  CHECK(result.stopped_on_nonfinite);
  CHECK(result.skipped_steps == 2);
  REQUIRE_FALSE(result.warnings.empty());
  CHECK_THAT(result.warnings.back(), Catch::Contains("nan_max_skips"));
}

TEST_CASE("qatd train: metrics.csv, TensorBoard events and checkpoints through the binary", "[train][trainer][cli]") {
  const std::string binary = testing::qatd_binary();
  const std::string dir = fresh_dir("trainer_cli");
  const std::string config = testing::temporary_path("trainer_cli.toml");
  std::ofstream(config) << config_text();
  testing::CommandResult result =
      testing::run_qatd(binary, {"train", "--config", config, "--run-dir", dir, "train.steps=2", "log.progress=true"});
  INFO(result.output);
  REQUIRE(result.status == 0);
  CHECK_THAT(result.output, Catch::Contains("finished after step 2"));
  CHECK_THAT(result.output, Catch::Contains("bits min"));
  CHECK(read_metrics_csv(dir + "/metrics.csv").rows.size() == 2);
  bool events = false;
  for (const auto& entry : fs::directory_iterator(dir)) {
    events = events || entry.path().filename().string().starts_with("events.out.tfevents.");
  }
  CHECK(events);
  CHECK(testing::read_file_text(dir + "/checkpoints/last") == "step_2.safetensors\n");
  CHECK(fs::exists(dir + "/config.toml"));

  testing::CommandResult unknown =
      testing::run_qatd(binary, {"train", "--config", config, "--run-dir", dir, "train.stpes=2"});
  CHECK(unknown.status != 0);
  CHECK_THAT(unknown.output, Catch::Contains("train.steps"));
}

}  // namespace qatd::train

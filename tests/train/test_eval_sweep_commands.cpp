// qatd eval and qatd sweep end to end on the SAM 2 micro model (a few training steps each).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/io/image.h"
#include "tests/quant/qatd_cli.h"
#include "tests/train/trainer_test_support.h"

namespace qatd::train {
namespace {

// The trainer test config with tiny data and the evaluation settings, as a file for the binary.
std::string write_config(const std::string& name) {
  std::string text = config_text();
  const std::string data = "[data]\ncount = 6\nimage_size = 128\nbox_probability = 0.0\n";
  REQUIRE(text.find(data) != std::string::npos);
  text.replace(text.find(data), data.size(),
               "[data]\ncount = 4\nimage_size = 128\nvalidation_count = 2\neval_objects = 1\nworkers = 1\n");
  std::string path = testing::temporary_path(name);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("qatd eval: JSON with the pinned fields, and the HTML report with charts and overlays", "[train][eval][cli]") {
  const std::string binary = testing::qatd_binary();
  const std::string config = write_config("eval_command.toml");
  const std::string run = fresh_dir("eval_command_run");
  testing::CommandResult trained = testing::run_qatd(binary, {"train", "--config", config, "--run-dir", run, "train.steps=2"});
  INFO(trained.output);
  REQUIRE(trained.status == 0);

  const std::string json = run + "/eval.json", report = run + "/report.html";
  testing::CommandResult evaluated =
      testing::run_qatd(binary, {"eval", "--checkpoint", run, "--json", json, "--report", report, "--overlays", "1"});
  INFO(evaluated.output);
  REQUIRE(evaluated.status == 0);
  CHECK_THAT(evaluated.output, Catch::Contains("quantized student") && Catch::Contains("teacher"));
  std::ifstream in(json);
  nlohmann::json document = nlohmann::json::parse(in);
  for (const char* key : {"miou_gt", "miou_teacher", "miou_vs_teacher", "iou_pred_mae"}) {
    CHECK(document.at(key).get<double>() >= 0.0);
    CHECK(document.at(key).get<double>() <= 1.0);
  }
  CHECK(document.at("avg_weight_bits").get<double>() < 32.0);
  CHECK(document.at("model_bytes").get<int64_t>() < document.at("teacher_bytes").get<int64_t>());
  CHECK(document.at("bits").size() > 10);
  CHECK(document.at("step").get<int64_t>() == 2);
  const std::string html = testing::read_file_text(report);
  CHECK_THAT(html, Catch::Contains("<svg") && Catch::Contains("overlay_0.png"));
  CHECK(io::read_image(run + "/report_files/overlay_0.png").shape() == Shape{128, 384, 3});

  testing::CommandResult no_config = testing::run_qatd(
      binary, {"eval", "--checkpoint", testing::fixture_path("sam2_micro_a/model.safetensors"), "--json", json});
  CHECK(no_config.status != 0);
  CHECK_THAT(no_config.output, Catch::Contains("is a model checkpoint, not a training checkpoint: give --config"));
}

TEST_CASE("qatd sweep: two penalties and a uniform baseline give sweep.csv, tradeoff.svg and tradeoff.png",
          "[train][eval][cli]") {
  const std::string binary = testing::qatd_binary();
  const std::string config = write_config("sweep_command.toml");
  const std::string dir = fresh_dir("sweep_command");
  testing::CommandResult swept = testing::run_qatd(
      binary, {"sweep", "--config", config, "--run-dir", dir, "--penalties", "0,0.5", "--uniform-bits", "4",
               "train.steps=2"});
  INFO(swept.output);
  REQUIRE(swept.status == 0);
  std::ifstream csv(dir + "/sweep.csv");
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  REQUIRE(lines.size() == 4);
  CHECK_THAT(lines[0], Catch::StartsWith("run,kind,penalty,uniform_bits,steps,") && Catch::Contains("miou_gt") &&
                           Catch::Contains("avg_weight_bits") && Catch::Contains("model_bytes"));
  CHECK_THAT(lines[1], Catch::StartsWith("penalty_0,learned,0,,2,"));
  CHECK_THAT(lines[2], Catch::StartsWith("penalty_0.5,learned,0.5,,2,"));
  CHECK_THAT(lines[3], Catch::StartsWith("uniform_4bit,uniform,,4,2,"));
  CHECK_THAT(testing::read_file_text(dir + "/tradeoff.svg"), Catch::Contains("<svg") && Catch::Contains("uniform bits"));
  CHECK(io::read_image(dir + "/tradeoff.png").shape() == Shape{520, 1200, 3});

  // The uniform run's bits are all 4.
  std::ifstream in(dir + "/uniform_4bit/eval.json");
  nlohmann::json uniform = nlohmann::json::parse(in);
  for (const auto& [site, bits] : uniform.at("bits").items()) CHECK(bits.get<int64_t>() == 4);

  testing::CommandResult again = testing::run_qatd(
      binary, {"sweep", "--config", config, "--run-dir", dir, "--penalties", "0", "train.steps=2"});
  CHECK(again.status == 0);
  CHECK_THAT(again.output, Catch::Contains("eval.json exists; reusing it"));
  testing::CommandResult bad = testing::run_qatd(binary, {"sweep", "--config", config, "--run-dir", dir,
                                                          "--penalties", "0,abc"});
  CHECK(bad.status != 0);
  CHECK_THAT(bad.output, Catch::Contains("--penalties: 'abc' is not a number"));
}

}  // namespace qatd::train

#pragma once
// The trainer tests' shared set-up: the SAM 2 micro model at 128 x 128 (its Hiera interpolates the
// position embedding), a small plan and synthetic data, so that a step takes about a second.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace qatd::train {

namespace fs = std::filesystem;

inline std::string micro_config_128() {
  static const std::string path = [] {
    std::ifstream in(testing::fixture_path("sam2_micro_a/meta.json"));
    nlohmann::json meta = nlohmann::json::parse(in);
    meta["model"]["image_size"] = 128;
    std::string out = testing::temporary_path("trainer_micro128.json");
    std::ofstream(out) << meta.dump();
    return out;
  }();
  return path;
}

inline std::string config_text() {
  return "seed = 1\n[model]\nconfig = \"" + micro_config_128() + "\"\ncheckpoint = \"" +
         testing::fixture_path("sam2_micro_a/model.safetensors") + R"("
[[quant.rules]]
pattern = "image_encoder.**"
types = ["Linear", "Conv2d"]
weights = true
bits_init = 6
bits_min = 2
bits_max = 8

[[loss.kd_layer]]
site = "image_encoder.trunk.blocks.0"

[optim.weights]
lr = 1e-4
[optim.bits]
lr = 0.05

[train]
steps = 4
batch_size = 2
log_every = 1
checkpoint_every = 2

[data]
count = 6
image_size = 128
box_probability = 0.0

[log]
progress = false
)";
}

inline TrainConfig micro_config(const std::vector<std::string>& overrides = {}) {
  return TrainConfig::from_text(config_text(), overrides, "trainer test config");
}

inline std::string fresh_dir(const std::string& name) {
  std::string dir = testing::temporary_path(name);
  fs::remove_all(dir);
  return dir;
}

inline TrainerOptions options_for(const std::string& dir) {
  TrainerOptions options;
  options.run_dir = dir;
  options.console = nullptr;
  return options;
}

}  // namespace qatd::train

// qatd train: quantization-aware distillation of SAM 2 (train/trainer.h) from one TOML config with
// Hydra-style key=value overrides.
#include <cstdio>
#include <filesystem>

#include "engine/error.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace qatd::cli {

namespace {

constexpr const char* kHelp = R"(usage: qatd train --config FILE.toml --run-dir DIR [--resume DIR] [--from-scratch] [key=value ...]

Distills the full-precision SAM 2 teacher into a fake-quantized student with learned per-site
bitwidths. One TOML file holds everything (docs/training.md lists every key); any key can be
overridden as a dotted key=value argument, e.g. train.steps=100 loss.bit_penalty=0.5 seed=3
(an unknown key is an error naming the closest valid one).

DIR receives config.toml (the resolved config), metrics.csv (one row per logged step), TensorBoard
event files, and checkpoints/step_N.safetensors with checkpoints/last naming the newest.
--resume DIR continues from a run directory (its checkpoints/last), a checkpoints directory or a
checkpoint file, exactly where it stopped; the config must match the checkpoint's except for
train.stop_after and the logging, checkpointing and anomaly keys.

--from-scratch trains the model alone on SAM 2's supervised mask loss, with no teacher and no
quantization (train.from_scratch=true loss.lambda_output=0): how configs/teacher.toml makes the
teacher that `qatd demo` distills.

)";

}  // namespace

int run_train(const std::vector<std::string>& words) {
  Arguments arguments("train", words,
                      {{"config", "FILE", "the training config (TOML)"},
                       {"run-dir", "DIR", "where metrics, events and checkpoints go"},
                       {"resume", "DIR", "continue from this run directory, checkpoints directory or checkpoint"},
                       {"from-scratch", "", "train the model alone, without teacher or quantization"},
                       {"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("%s%s", kHelp, arguments.usage().c_str());
    return 0;
  }
  for (const char* required : {"config", "run-dir"}) {
    QATD_CHECK(arguments.has(required), "qatd train: --{} is required (see qatd train --help)", required);
  }
  for (const std::string& word : arguments.positional()) {
    QATD_CHECK(word.find('=') != std::string::npos,
               "qatd train: '{}' is not an option or a key=value override (see qatd train --help)", word);
  }
  std::vector<std::string> overrides = arguments.positional();
  if (arguments.has("from-scratch")) overrides.insert(overrides.end(), {"train.from_scratch=true", "loss.lambda_output=0"});
  train::TrainConfig config = train::TrainConfig::from_file(arguments.text("config", ""), overrides);
  train::TrainerOptions options;
  options.run_dir = arguments.text("run-dir", "");
  options.resume = arguments.text("resume", "");
  train::Trainer trainer(config, options);
  const auto& bits = trainer.quantized().bits();
  std::printf("qatd train: %s, %zu quantized sites, %zu KD sites, %lld steps (batch %lld)%s -> %s\n",
              config.model.config.c_str(), bits.size(), config.loss.kd_layer.size(),
              static_cast<long long>(config.train.steps), static_cast<long long>(config.train.batch_size),
              options.resume.empty() ? "" : (", resuming after step " + std::to_string(trainer.completed_steps())).c_str(),
              options.run_dir.c_str());
  std::fflush(stdout);
  train::TrainResult result = trainer.run();
  std::printf("qatd train: %s after step %lld (%lld skipped); checkpoint %s\n",
              result.stopped_on_nonfinite ? "stopped on non-finite values" : "finished",
              static_cast<long long>(result.last_step), static_cast<long long>(result.skipped_steps),
              result.last_checkpoint.empty() ? "(none)" : result.last_checkpoint.c_str());
  return result.stopped_on_nonfinite ? 1 : 0;
}

}  // namespace qatd::cli

// Times the distillation trainer's step (train/trainer.h) for one model, image size and batch:
// the frozen teacher under no_grad, the fake-quantized student (the default plan: every Linear and
// Conv2d weight per channel, learned bits starting at 8), the losses (SAM 2 mask loss, output KD, one
// layerwise MSE site, the bit penalty), backward and the optimizer (AdamW, clipping, bit clamp,
// cosine schedule), on seeded synthetic data, with random (seeded) weights or those of --checkpoint
// (the teacher's and the student's). Prints one JSON line
// with the median of each phase over the timed steps and the process's peak resident memory. One
// configuration per process, so that peak memory belongs to it; tools/bench/compare_train_step.py
// runs the same step written with the official sam2 code and torch.ao eager QAT.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "models/sam2/sam2_config.h"
#include "train/trainer.h"

using namespace qatd;

namespace {

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string preset = "sam2.1_hiera_t", kd_site = "image_encoder.trunk.blocks.11", checkpoint;
  int64_t size = 512, batch = 4, warmup = 1, steps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--preset") preset = value;
    else if (key == "--size") size = std::stoll(value);
    else if (key == "--batch") batch = std::stoll(value);
    else if (key == "--warmup") warmup = std::stoll(value);
    else if (key == "--steps") steps = std::stoll(value);
    else if (key == "--kd-site") kd_site = value;  // "none": no layerwise KD
    else if (key == "--checkpoint") checkpoint = value;  // teacher and student weights; default: seeded random
    else {
      std::fprintf(stderr,
                   "usage: %s [--preset P] [--size S] [--batch B] [--warmup W] [--steps N] [--kd-site NAME|none] "
                   "[--checkpoint FILE]\n",
                   argv[0]);
      return 2;
    }
  }
  if (steps < 1 || warmup < 0) {
    std::fprintf(stderr, "--steps must be >= 1 and --warmup >= 0\n");
    return 2;
  }

  // The preset at another image size can only reach the trainer as a model config file.
  std::filesystem::path run_dir = std::filesystem::temp_directory_path() /
                                  ("qatd_bench_train_step_" + std::to_string(static_cast<long long>(getpid())));
  std::filesystem::create_directories(run_dir);
  sam2::SAM2Config model_config = sam2::preset_config(preset);
  model_config.image_size = size;
  std::filesystem::path model_file = run_dir / "model.json";
  std::ofstream(model_file) << nlohmann::json{{"model", sam2::to_json(model_config)}}.dump(2);

  std::string toml = "seed = 0\n[model]\nconfig = \"" + model_file.string() + "\"\ncheckpoint = \"" + checkpoint +
                     "\"\n";
  if (kd_site != "none") toml += "[[loss.kd_layer]]\nsite = \"" + kd_site + "\"\n";
  toml += "[train]\nsteps = 1000\nbatch_size = " + std::to_string(batch) +
          "\nlog_every = 1000\ncheckpoint_every = 0\n"
          "[data]\nimage_size = " + std::to_string(size) + "\n[log]\ntensorboard = false\nprogress = false\n";
  train::TrainerOptions options;
  options.run_dir = (run_dir / "run").string();
  options.console = nullptr;

  int exit_code = 0;
  {
    auto build_start = std::chrono::steady_clock::now();
    train::Trainer trainer(train::TrainConfig::from_text(toml, {}, "bench_train_step"), options);
    double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
    const double rss_after_build = peak_rss_mb();

    std::vector<train::StepTimings> timed;
    nlohmann::json first_losses;
    double loss_last = 0.0;
    for (int64_t i = 0; i < warmup + steps; ++i) {
      train::StepTimings timings;
      train::StepRecord record = trainer.step(&timings);
      if (record.skipped) {
        std::fprintf(stderr, "step %lld skipped: %s is not finite\n", static_cast<long long>(record.step),
                     record.nonfinite.c_str());
        exit_code = 1;
      }
      if (i == 0) {
        first_losses = {{"total", record.loss_total},         {"task", record.loss_task},
                        {"kd_output", record.loss_kd_output}, {"kd_layer", record.loss_kd_layer},
                        {"bit", record.loss_bit}};
      }
      loss_last = record.loss_total;
      if (i >= warmup) timed.push_back(timings);
    }
    auto phase_ms = [&](double train::StepTimings::*phase) {
      std::vector<double> values;
      for (const train::StepTimings& t : timed) values.push_back(1e3 * (t.*phase));
      return median(values);
    };
    nlohmann::json phases = {{"data", phase_ms(&train::StepTimings::data)},
                             {"teacher_forward", phase_ms(&train::StepTimings::teacher_forward)},
                             {"student_forward", phase_ms(&train::StepTimings::student_forward)},
                             {"loss", phase_ms(&train::StepTimings::loss)},
                             {"backward", phase_ms(&train::StepTimings::backward)},
                             {"optimizer", phase_ms(&train::StepTimings::optimizer)},
                             {"total", phase_ms(&train::StepTimings::total)}};
    std::vector<double> totals;
    for (const train::StepTimings& t : timed) totals.push_back(1e3 * t.total);
    nlohmann::json result = {{"impl", "qatd"},
                             {"preset", preset},
                             {"size", size},
                             {"batch", batch},
                             {"threads", num_threads()},
                             {"warmup", warmup},
                             {"steps", steps},
                             {"kd_site", kd_site},
                             {"checkpoint", checkpoint},
                             {"quantized_sites", trainer.bit_sites().size()},
                             {"build_s", build_s},
                             {"median_ms", phases},
                             {"step_totals_ms", totals},
                             {"losses_first_step", first_losses},
                             {"loss_total_last", loss_last},
                             {"peak_rss_after_build_mb", rss_after_build},
                             {"peak_rss_mb", peak_rss_mb()}};
    std::printf("%s\n", result.dump().c_str());
  }
  std::filesystem::remove_all(run_dir);
  return exit_code;
}

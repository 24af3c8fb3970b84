// qatd demo: the built-in default job. Distills the bundled teacher (configs/teacher/, a small SAM 2
// trained from scratch by this engine on procedural shapes: configs/teacher.toml) into a
// mixed-precision student with learned bits (configs/demo.toml), evaluates both on held-out images
// and prints the summary: bits per site, mIoU of student and teacher, compression.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"
#include "tools/qatd/evaluation_summary.h"
#include "train/evaluation.h"
#include "train/report/evaluation_report.h"
#include "train/trainer.h"

namespace qatd::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kHelp = R"(usage: qatd demo [--run-dir DIR] [--threads N] [key=value ...]

Distills the bundled SAM 2-style teacher (configs/teacher/model.safetensors, trained from scratch by
qatd on procedural shapes with configs/teacher.toml) into a student with learned per-site bits
(configs/demo.toml), then evaluates the quantized student, the float student and the teacher on
held-out images with centre-click and box prompts. DIR (default runs/demo) receives the training
run, eval.json and report.html. key=value arguments override the config (e.g. train.steps=50).

)";

// The repository holding configs/demo.toml: the working directory, or the source tree qatd was
// built from.
fs::path repository_root() {
  for (const fs::path& candidate : {fs::current_path(), fs::path(QATD_SOURCE_DIR)}) {
    if (fs::exists(candidate / "configs" / "demo.toml")) return candidate;
  }
  fail("qatd demo: configs/demo.toml was found neither under {} nor under {}", fs::current_path().string(),
       QATD_SOURCE_DIR);
}

}  // namespace

int run_demo(const std::vector<std::string>& words) {
  Arguments arguments("demo", words,
                      {{"run-dir", "DIR", "where the run, eval.json and report.html go (default runs/demo)"},
                       {"threads", "N", "CPU threads (default: all)"},
                       {"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("%s%s", kHelp, arguments.usage().c_str());
    return 0;
  }
  if (arguments.has("threads")) set_num_threads(static_cast<int>(arguments.integer("threads", 1)));
  const fs::path root = repository_root();
  std::vector<std::string> overrides = {"model.config=" + (root / "configs/teacher/model.json").string(),
                                        "model.checkpoint=" + (root / "configs/teacher/model.safetensors").string()};
  for (const std::string& word : arguments.positional()) {
    QATD_CHECK(word.find('=') != std::string::npos,
               "qatd demo: '{}' is not an option or a key=value override (see qatd demo --help)", word);
    overrides.push_back(word);
  }
  const train::TrainConfig config = train::TrainConfig::from_file((root / "configs/demo.toml").string(), overrides);
  const fs::path run_dir = arguments.text("run-dir", "runs/demo");
  const auto start = std::chrono::steady_clock::now();

  train::TrainerOptions options;
  options.run_dir = run_dir.string();
  if (fs::exists(run_dir / "checkpoints" / "last")) options.resume = run_dir.string();
  std::printf("qatd demo: distilling the bundled teacher into a mixed-precision student, %lld steps of %lld "
              "images at %lldx%lld, %d threads -> %s\n",
              static_cast<long long>(config.train.steps), static_cast<long long>(config.train.batch_size),
              static_cast<long long>(config.data.image_size), static_cast<long long>(config.data.image_size),
              num_threads(), run_dir.string().c_str());
  std::fflush(stdout);
  train::TrainResult trained;
  {
    train::Trainer trainer(config, options);
    trained = trainer.run();
  }
  QATD_CHECK(!trained.stopped_on_nonfinite, "qatd demo: training stopped on non-finite values (see {})",
             (run_dir / "metrics.csv").string());

  std::printf("\nqatd demo: evaluating on %lld held-out images\n", static_cast<long long>(config.data.validation_count));
  train::CheckpointEvaluation evaluation = train::evaluate_checkpoint(config, trained.last_checkpoint);
  const train::EvaluationResult& result = evaluation.result;
  io::write_file_atomically((run_dir / "eval.json").string(),
                            [&](std::ostream& out) { out << evaluation.document.dump(2) << "\n"; });
  train::report::write_evaluation_report((run_dir / "report.html").string(), result, trained.last_checkpoint);
  print_evaluation_summary(stdout, result);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("qatd demo: done in %.0f s; %s holds eval.json and report.html\n", seconds, run_dir.string().c_str());
  return 0;
}

}  // namespace qatd::cli

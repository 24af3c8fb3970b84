// qatd eval: accuracy against compression of a trained student (train/evaluation.h), as JSON and an
// optional HTML or Markdown report.
#include <cstdio>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"
#include "tools/qatd/evaluation_summary.h"
#include "train/evaluation.h"
#include "train/report/evaluation_report.h"
#include "train/training_checkpoint.h"

namespace qatd::cli {

namespace {

constexpr const char* kHelp = R"(usage: qatd eval --checkpoint CKPT [--config FILE] [--data DIR] --json OUT.json [--report OUT.html] [key=value ...]

Evaluates the student of CKPT (a training checkpoint, a checkpoints directory or a run directory;
or a model checkpoint together with --config) with its integer bits frozen, the same student
without quantization, and the teacher, on the validation split of the config's data
(data.validation_count images, data.eval_objects objects each, a centre click and a box per
object). The config is the checkpoint's own unless --config is given; --data DIR replaces
data.images, and key=value arguments override any key (e.g. data.validation_count=50).

OUT.json holds miou_gt, miou_teacher, miou_vs_teacher, miou_float_student, iou_pred_mae (all
prompts; per prompt under "prompts"), avg_weight_bits, avg_act_bits, model_bytes, export_bytes,
teacher_bytes, compression and bits (site -> integer bits). A train.from_scratch config has no
teacher: its scores are null and has_teacher is false. --report writes HTML (or Markdown for a .md
path) with bar charts of the bits and overlay pictures.

)";

}  // namespace

int run_eval(const std::vector<std::string>& words) {
  Arguments arguments("eval", words,
                      {{"checkpoint", "CKPT", "training checkpoint, checkpoints directory or run directory"},
                       {"config", "FILE", "the config (default: the checkpoint's)"},
                       {"data", "DIR", "evaluate on this folder (sets data.images)"},
                       {"json", "FILE", "where the results go"},
                       {"report", "FILE", "an HTML (or .md) report"},
                       {"overlays", "N", "overlay pictures in the report (default 4)"},
                       {"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("%s%s", kHelp, arguments.usage().c_str());
    return 0;
  }
  for (const char* required : {"checkpoint", "json"}) {
    QATD_CHECK(arguments.has(required), "qatd eval: --{} is required (see qatd eval --help)", required);
  }
  std::vector<std::string> overrides = arguments.positional();
  for (const std::string& word : overrides) {
    QATD_CHECK(word.find('=') != std::string::npos,
               "qatd eval: '{}' is not an option or a key=value override (see qatd eval --help)", word);
  }
  if (arguments.has("data")) overrides.push_back("data.images=" + arguments.text("data", ""));
  std::string checkpoint = arguments.text("checkpoint", "");
  const bool training = train::is_training_checkpoint(checkpoint) || !std::filesystem::is_regular_file(checkpoint);
  if (training) checkpoint = train::resolve_checkpoint(checkpoint);
  train::TrainConfig config;
  if (arguments.has("config")) {
    config = train::TrainConfig::from_file(arguments.text("config", ""), overrides);
  } else {
    QATD_CHECK(train::is_training_checkpoint(checkpoint),
               "qatd eval: {} is a model checkpoint, not a training checkpoint: give --config too", checkpoint);
    train::TrainingCheckpoint saved = train::load_training_checkpoint(checkpoint);
    config = train::TrainConfig::from_text(saved.metadata.at("config").get<std::string>(), overrides,
                                           checkpoint + " (config)");
  }
  train::EvaluationOptions options;
  options.overlays = arguments.integer("overlays", 4);
  train::CheckpointEvaluation evaluation = train::evaluate_checkpoint(config, checkpoint, options);
  const train::EvaluationResult& result = evaluation.result;
  const std::string json_path = arguments.text("json", "");
  io::write_file_atomically(json_path, [&](std::ostream& out) { out << evaluation.document.dump(2) << "\n"; });
  print_evaluation_summary(stdout, result);
  std::printf("wrote %s\n", json_path.c_str());
  if (arguments.has("report")) {
    train::report::write_evaluation_report(arguments.text("report", ""), result, checkpoint);
    std::printf("wrote %s\n", arguments.text("report", "").c_str());
  }
  return 0;
}

}  // namespace qatd::cli

// qatd sweep: one student per bit penalty lambda (and one uniform-bit baseline per bit count, with the
// same budget of steps), each trained (train/trainer.h) and evaluated (train/evaluation.h); the rows
// go to DIR/sweep.csv and the trade-off curves to DIR/tradeoff.svg and DIR/tradeoff.png.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/image.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"
#include "tools/qatd/evaluation_summary.h"
#include "train/evaluation.h"
#include "train/report/chart.h"
#include "train/trainer.h"
#include "train/training_checkpoint.h"

namespace qatd::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kHelp = R"(usage: qatd sweep --config FILE --run-dir DIR --penalties 0,1e-4,1e-3,1e-2 [--uniform-bits 8,6,4] [key=value ...]

Trains and evaluates one student per bit penalty (loss.bit_penalty = lambda, bits learned), and
one baseline per --uniform-bits value (every site of the plan fixed at that many bits, no
penalty), all with the config's train.steps. Run k goes to DIR/penalty_<lambda> or
DIR/uniform_<n>bit (train run directory plus eval.json); a run whose eval.json exists is reused,
so an interrupted sweep continues where it stopped.

DIR/sweep.csv has one row per run: run, kind (learned | uniform), penalty, uniform_bits, steps and
the fields of qatd eval's JSON; DIR/tradeoff.svg and DIR/tradeoff.png plot mIoU against ground
truth over average weight bits and over model bytes, with the teacher as a reference line.

)";

struct SweepRun {
  std::string name;
  bool uniform = false;
  double penalty = 0.0;
  int64_t uniform_bits = 0;
  nlohmann::json eval;
};

std::vector<double> parse_list(const std::string& option, const std::string& text) {
  std::vector<double> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    try {
      size_t used = 0;
      double value = std::stod(item, &used);
      QATD_CHECK(used == item.size() && std::isfinite(value), "");
      values.push_back(value);
    } catch (const std::exception&) {
      fail("qatd sweep: --{}: '{}' is not a number (expected a comma-separated list such as 0,1e-3,1e-2)", option,
           item);
    }
  }
  QATD_CHECK(!values.empty(), "qatd sweep: --{} is empty", option);
  return values;
}

// Every site of the plan at exactly `bits`: bits_init = bits_min = bits_max, no annealing.
train::TrainConfig uniform_variant(train::TrainConfig config, int64_t bits) {
  const double value = static_cast<double>(bits);
  for (quant::SpecOverrides* settings : [&] {
         std::vector<quant::SpecOverrides*> all = {&config.quant.defaults};
         for (quant::PlanRule& rule : config.quant.rules) all.push_back(&rule.settings);
         return all;
       }()) {
    settings->bits_init = settings->bits_min = settings->bits_max = value;
  }
  config.quant.schedule.reset();
  config.loss.bit_penalty = 0.0;
  return config;
}

nlohmann::json train_and_evaluate(const train::TrainConfig& config, const fs::path& directory) {
  const fs::path eval_path = directory / "eval.json";
  if (fs::exists(eval_path)) {
    std::printf("qatd sweep: %s exists; reusing it\n", eval_path.string().c_str());
    std::ifstream in(eval_path);
    return nlohmann::json::parse(in);
  }
  train::TrainerOptions options;
  options.run_dir = directory.string();
  if (fs::exists(directory / "checkpoints" / "last")) options.resume = directory.string();
  train::TrainResult trained;
  {
    train::Trainer trainer(config, options);
    trained = trainer.run();
  }
  QATD_CHECK(!trained.stopped_on_nonfinite, "qatd sweep: the run in {} stopped on non-finite values",
             directory.string());
  train::EvaluationOptions evaluation_options;
  evaluation_options.overlays = 0;
  train::CheckpointEvaluation evaluation = train::evaluate_checkpoint(config, trained.last_checkpoint, evaluation_options);
  print_evaluation_summary(stdout, evaluation.result);
  const nlohmann::json& document = evaluation.document;
  io::write_file_atomically(eval_path.string(), [&](std::ostream& out) { out << document.dump(2) << "\n"; });
  return document;
}

const std::vector<std::string> kEvalColumns = {"miou_gt",        "miou_teacher",  "miou_vs_teacher", "miou_float_student",
                                               "iou_pred_mae",   "avg_weight_bits", "avg_act_bits",  "model_bytes",
                                               "export_bytes",   "teacher_bytes", "compression"};

void write_csv(const fs::path& path, const std::vector<SweepRun>& runs) {
  io::write_file_atomically(path.string(), [&](std::ostream& out) {
    out << "run,kind,penalty,uniform_bits,steps,miou_gt_point,miou_gt_box";
    for (const std::string& column : kEvalColumns) out << "," << column;
    out << "\n";
    for (const SweepRun& run : runs) {
      out << run.name << "," << (run.uniform ? "uniform" : "learned") << ","
          << (run.uniform ? "" : fmt::format("{}", run.penalty)) << ","
          << (run.uniform ? std::to_string(run.uniform_bits) : "") << "," << run.eval.at("step").get<int64_t>() << ","
          << run.eval.at("prompts").at("point").at("miou_gt").get<double>() << ","
          << run.eval.at("prompts").at("box").at("miou_gt").get<double>();
      for (const std::string& column : kEvalColumns) out << "," << run.eval.at(column).dump();
      out << "\n";
    }
  });
}

std::vector<train::report::Panel> tradeoff_panels(const std::vector<SweepRun>& runs) {
  std::vector<train::report::Panel> panels;
  for (const auto& [x_key, x_label, title] :
       {std::tuple{"avg_weight_bits", "average weight bits", "accuracy over average weight bits"},
        std::tuple{"model_bytes", "model bytes (packed integers)", "accuracy over model bytes"}}) {
    train::report::Panel panel;
    panel.title = title;
    panel.x_label = x_label;
    panel.y_label = "mIoU (ground truth)";
    train::report::Series learned{"learned bits", {}, {}, {}, true}, uniform{"uniform bits", {}, {}, {}, true},
        teacher{"teacher (float32)", {}, {}, {}, true};
    double smallest = 1e300, largest = -1e300;
    for (const SweepRun& run : runs) {
      const double x = run.eval.at(x_key).get<double>(), y = run.eval.at("miou_gt").get<double>();
      train::report::Series& series = run.uniform ? uniform : learned;
      series.x.push_back(x);
      series.y.push_back(y);
      series.tags.push_back(run.uniform ? fmt::format("{} bit", run.uniform_bits) : fmt::format("λ={}", run.penalty));
      smallest = std::min(smallest, x);
      largest = std::max(largest, x);
    }
    const double teacher_miou = runs.front().eval.at("miou_teacher").get<double>();
    teacher.x = {smallest, largest};
    teacher.y = {teacher_miou, teacher_miou};
    for (train::report::Series* series : {&learned, &uniform, &teacher}) {
      if (!series->x.empty()) panel.series.push_back(*series);
    }
    panels.push_back(panel);
  }
  return panels;
}

std::string penalty_name(double penalty) { return fmt::format("penalty_{}", penalty); }

}  // namespace

int run_sweep(const std::vector<std::string>& words) {
  Arguments arguments("sweep", words,
                      {{"config", "FILE", "the training config (TOML)"},
                       {"run-dir", "DIR", "where the runs, sweep.csv and the pictures go"},
                       {"penalties", "LIST", "comma-separated bit penalties lambda, e.g. 0,1e-3,1e-2"},
                       {"uniform-bits", "LIST", "comma-separated uniform bit counts for baselines, e.g. 8,4"},
                       {"help", "", "show this help"}});
  if (arguments.has("help")) {
    std::printf("%s%s", kHelp, arguments.usage().c_str());
    return 0;
  }
  for (const char* required : {"config", "run-dir", "penalties"}) {
    QATD_CHECK(arguments.has(required), "qatd sweep: --{} is required (see qatd sweep --help)", required);
  }
  for (const std::string& word : arguments.positional()) {
    QATD_CHECK(word.find('=') != std::string::npos,
               "qatd sweep: '{}' is not an option or a key=value override (see qatd sweep --help)", word);
  }
  const train::TrainConfig base = train::TrainConfig::from_file(arguments.text("config", ""), arguments.positional());
  QATD_CHECK(!base.train.from_scratch, "qatd sweep: train.from_scratch trains no quantized student; nothing to sweep");
  std::vector<double> penalties = parse_list("penalties", arguments.text("penalties", ""));
  for (double penalty : penalties) QATD_CHECK(penalty >= 0.0, "qatd sweep: --penalties: {} is negative", penalty);
  std::vector<int64_t> uniform_bits;
  if (arguments.has("uniform-bits")) {
    for (double bits : parse_list("uniform-bits", arguments.text("uniform-bits", ""))) {
      QATD_CHECK(bits == std::round(bits) && bits >= 2 && bits <= 16,
                 "qatd sweep: --uniform-bits: {} is not a whole number of bits in [2, 16]", bits);
      uniform_bits.push_back(static_cast<int64_t>(bits));
    }
  }
  const fs::path directory = arguments.text("run-dir", "");
  fs::create_directories(directory);

  std::vector<SweepRun> runs;
  for (double penalty : penalties) {
    SweepRun run{penalty_name(penalty), false, penalty, 0, {}};
    std::printf("qatd sweep: run %zu of %zu: %s\n", runs.size() + 1, penalties.size() + uniform_bits.size(),
                run.name.c_str());
    std::fflush(stdout);
    train::TrainConfig config = base;
    config.loss.bit_penalty = penalty;
    run.eval = train_and_evaluate(config, directory / run.name);
    runs.push_back(run);
  }
  for (int64_t bits : uniform_bits) {
    SweepRun run{fmt::format("uniform_{}bit", bits), true, 0.0, bits, {}};
    std::printf("qatd sweep: run %zu of %zu: %s\n", runs.size() + 1, penalties.size() + uniform_bits.size(),
                run.name.c_str());
    std::fflush(stdout);
    run.eval = train_and_evaluate(uniform_variant(base, bits), directory / run.name);
    runs.push_back(run);
  }

  write_csv(directory / "sweep.csv", runs);
  std::vector<train::report::Panel> panels = tradeoff_panels(runs);
  const std::string svg = train::report::chart_svg(panels, 1200, 520);
  io::write_file_atomically((directory / "tradeoff.svg").string(), [&](std::ostream& out) { out << svg; });
  io::write_png((directory / "tradeoff.png").string(), train::report::chart_raster(panels, 1200, 520));
  std::printf("\n%-20s %8s %8s %10s %9s %12s\n", "run", "mIoU gt", "vs teach", "avg bits", "act bits", "model bytes");
  for (const SweepRun& run : runs) {
    std::printf("%-20s %8.4f %8.4f %10.3f %9.2f %12lld\n", run.name.c_str(), run.eval.at("miou_gt").get<double>(),
                run.eval.at("miou_vs_teacher").get<double>(), run.eval.at("avg_weight_bits").get<double>(),
                run.eval.at("avg_act_bits").get<double>(),
                static_cast<long long>(run.eval.at("model_bytes").get<int64_t>()));
  }
  std::printf("wrote %s, tradeoff.svg and tradeoff.png\n", (directory / "sweep.csv").string().c_str());
  return 0;
}

}  // namespace qatd::cli

// qatd: quantization-aware distillation of SAM 2, one binary with subcommands.
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/suggest.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"

namespace {

struct Command {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>&)> run;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"demo", "distill the bundled SAM 2-style teacher into a mixed-precision student and evaluate it (the "
       "built-in default job)", qatd::cli::run_demo},
      {"info", "print the build configuration, threads and visible CUDA devices", qatd::cli::run_info},
      {"predict", "segment an image with SAM 2 from point and box prompts", qatd::cli::run_predict},
      {"track", "track objects through a folder of video frames with SAM 2", qatd::cli::run_track},
      {"parity", "compare SAM 2 on the engine with the official implementation's reference outputs",
       qatd::cli::run_parity},
      {"init", "write a randomly initialized SAM 2 checkpoint with official key names", qatd::cli::run_init},
      {"convert", "rewrite a SAM 2 checkpoint (.pt or HuggingFace safetensors) as official safetensors",
       qatd::cli::run_convert},
      {"export", "write a SAM 2 checkpoint with its quantized weights as integers (safetensors)",
       qatd::cli::run_export},
      {"importance", "estimate per-site importance of a quantization plan (uniform, Fisher, Hutchinson)",
       qatd::cli::run_importance},
      {"train", "distill SAM 2 into a quantized student with learned bitwidths (TOML config, key=value overrides)",
       qatd::cli::run_train},
      {"eval", "accuracy against compression of a trained student, its float self and its teacher (JSON, report)",
       qatd::cli::run_eval},
      {"sweep", "train and evaluate one student per bit penalty (and uniform-bit baselines); trade-off curves",
       qatd::cli::run_sweep},
  };
  return table;
}

void print_usage() {
  std::printf("qatd %s: quantization-aware distillation of SAM 2 in C++\n\n", QATD_VERSION);
  std::printf("usage: qatd <command> [options]   (qatd <command> --help for a command's options)\n\ncommands:\n");
  for (const Command& command : commands()) std::printf("  %-10s %s\n", command.name.c_str(), command.summary.c_str());
  std::printf("  %-10s %s\n", "version", "print the version");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
    print_usage();
    return words.empty() ? 2 : 0;
  }
  if (words[0] == "version" || words[0] == "--version") {
    std::printf("qatd %s\n", QATD_VERSION);
    return 0;
  }
  try {
    for (const Command& command : commands()) {
      if (command.name == words[0]) return command.run({words.begin() + 1, words.end()});
    }
    std::vector<std::string> names;
    for (const Command& command : commands()) names.push_back(command.name);
    auto suggestion = qatd::likely_typo_of(words[0], names);
    std::fprintf(stderr, "qatd: unknown command '%s'%s; run qatd --help\n", words[0].c_str(),
                 suggestion ? (" (did you mean '" + *suggestion + "'?)").c_str() : "");
    return 2;
  } catch (const qatd::Error& error) {
    std::fprintf(stderr, "qatd: error: %s\n", error.what());
    return 1;
  }
}

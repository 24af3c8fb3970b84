// qatd convert: any SAM 2 checkpoint qatd reads, written as safetensors with official key names.
#include <cstdio>

#include "engine/engine.h"
#include "models/sam2/checkpoint.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"

namespace qatd::cli {

int run_convert(const std::vector<std::string>& words) {
  Arguments arguments("convert", words, {{"help", "", "show this help"}});
  if (arguments.has("help") || arguments.positional().size() != 2) {
    std::printf(
        "usage: qatd convert IN OUT.safetensors\n\nReads an official .pt checkpoint, or safetensors with official or\n"
        "HuggingFace transformers names, and writes safetensors with the official names.\n");
    return arguments.has("help") ? 0 : 2;
  }
  const std::string& input = arguments.positional()[0];
  const std::string& output = arguments.positional()[1];
  sam2::CheckpointOrigin origin;
  io::NamedTensors state = sam2::load_checkpoint_state(input, &origin);
  io::save_safetensors(output, state, {{"qatd.converted_from", input}});
  std::printf("read %s (%s): %zu tensors; wrote %s\n", input.c_str(), sam2::describe(origin).c_str(), state.size(),
              output.c_str());
  return 0;
}

}  // namespace qatd::cli

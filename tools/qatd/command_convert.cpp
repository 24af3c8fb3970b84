// qatd convert: any SAM 2 checkpoint qatd reads, written as safetensors with official key names.
#include <cstdio>
#include <filesystem>
#include <optional>

#include "engine/engine.h"
#include "models/sam2/checkpoint.h"
#include "tools/qatd/arguments.h"
#include "tools/qatd/commands.h"
#include "train/training_checkpoint.h"

namespace qatd::cli {

int run_convert(const std::vector<std::string>& words) {
  Arguments arguments("convert", words,
                      {{"dtype", "NAME", "store the floating tensors as f32, f16 or bf16 (default: as read)"},
                       {"help", "", "show this help"}});
  if (arguments.has("help") || arguments.positional().size() != 2) {
    std::printf(
        "usage: qatd convert IN OUT.safetensors [--dtype f32|f16|bf16]\n\nReads an official .pt checkpoint, "
        "safetensors with official or\n"
        "HuggingFace transformers names, or a qatd training checkpoint (a file, checkpoints directory or run\n"
        "directory: the student's weights), and writes safetensors with the official names. qatd loads any of\n"
        "these dtypes into float32.\n\n%s",
        arguments.usage().c_str());
    return arguments.has("help") ? 0 : 2;
  }
  std::optional<DType> dtype;
  if (arguments.has("dtype")) {
    const std::string name = arguments.text("dtype", "");
    QATD_CHECK(name == "f32" || name == "f16" || name == "bf16",
               "qatd convert: --dtype must be f32, f16 or bf16, got '{}'", name);
    dtype = dtype_from_name(name);
  }
  std::string input = arguments.positional()[0];
  const std::string& output = arguments.positional()[1];
  if (std::filesystem::is_directory(input)) input = train::resolve_checkpoint(input);
  io::NamedTensors state;
  std::string origin_text = "qatd training checkpoint";
  if (train::is_training_checkpoint(input)) {
    state = train::load_training_checkpoint(input).model_state();
  } else {
    sam2::CheckpointOrigin origin;
    state = sam2::load_checkpoint_state(input, &origin);
    origin_text = sam2::describe(origin);
  }
  if (dtype) {
    for (auto& [name, tensor] : state) {
      if (is_floating(tensor.dtype())) tensor = tensor.to(*dtype);
    }
  }
  io::save_safetensors(output, state, {{"qatd.converted_from", input}});
  std::printf("read %s (%s): %zu tensors; wrote %s\n", input.c_str(), origin_text.c_str(), state.size(), output.c_str());
  return 0;
}

}  // namespace qatd::cli

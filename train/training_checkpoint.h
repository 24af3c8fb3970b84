#pragma once
// Training checkpoints: checkpoints/step_N.safetensors in the run directory, written atomically
// (temporary file, fsync, rename: engine/io/safetensors.h), in the qatd checkpoint format
// (engine/io/checkpoint.h) that `qatd export` reads. The trainer puts the student's official state
// dict, "bits.<site>", "quant.<site>.<tensor>" and "optimizer.state.*" tensors in it, and in the
// metadata document the step, the bit controller's JSON ("bits"), the optimizer groups, the
// scheduler, RNG and data position, and the config TOML.
//
// Every tensor's bytes carry a CRC-32C, stored in the metadata under "crc32c" ({name: crc}), so a
// flipped byte anywhere in the data is caught on load; a truncated file or a damaged header fails
// to parse. Either way the error names the file, and nothing else is touched. `checkpoints/last`
// is a one-line text file naming the newest checkpoint, replaced atomically after it is written.
#include <string>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"

namespace qatd::train {

// The prefixes of the tensors that are not the student's official state dict.
inline constexpr const char* kBitsPrefix = "bits.";
inline constexpr const char* kQuantizerPrefix = "quant.";
inline constexpr const char* kOptimizerPrefix = "optimizer.";

struct TrainingCheckpoint {
  std::string path;
  io::NamedTensors tensors;
  nlohmann::json metadata;

  // The student's official state dict (every tensor without one of the prefixes above).
  io::NamedTensors model_state() const;
  // The optimizer's tensors.
  io::NamedTensors optimizer_state() const;
};

// Whether `path` is a safetensors file written by save_training_checkpoint (it has the checksums),
// as opposed to a plain model checkpoint. Reads only the header.
bool is_training_checkpoint(const std::string& path);

// The CRC-32C of a tensor's bytes in row-major order.
uint32_t tensor_crc32c(const Tensor& tensor);

// Writes `path` atomically with the CRCs added to `metadata`.
void save_training_checkpoint(const std::string& path, const io::NamedTensors& tensors, nlohmann::json metadata);
// Reads and verifies a checkpoint; throws naming the file (and the tensor) when it is truncated,
// damaged, not a qatd checkpoint, or fails a CRC.
TrainingCheckpoint load_training_checkpoint(const std::string& path);

// Replaces <checkpoints_dir>/last atomically with `file_name` (a name inside that directory).
void write_last_checkpoint_pointer(const std::string& checkpoints_dir, const std::string& file_name);
// The checkpoint `where` means: a checkpoint file itself, a checkpoints directory, or a run
// directory (through checkpoints/last). Throws naming what is missing.
std::string resolve_checkpoint(const std::string& where);

}  // namespace qatd::train

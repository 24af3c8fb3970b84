#pragma once
// SAM 2 checkpoints in the formats they are published in, loaded as a state dict with the
// official key names (those of sam2/modeling, and of keys/sam2.1_hiera_*_state_dict.tsv):
// - the official release files (sam2.1_hiera_*.pt): torch.save({"model": state_dict});
// - safetensors with the official names (what `qatd convert` writes);
// - safetensors (or torch.save files) from HuggingFace transformers' Sam2Model /
//   Sam2VideoModel, renamed back as models/sam2/hf_keys.h describes.
// The container is recognized by its first bytes and the naming by the keys; file extensions
// are not consulted. Which keys a given model config needs is checked when loading into it.
#include <string>

#include "engine/io/safetensors.h"
#include "models/sam2/hf_keys.h"

namespace qatd::sam2 {

enum class CheckpointContainer { torch_zip, safetensors };

struct CheckpointOrigin {
  CheckpointContainer container = CheckpointContainer::torch_zip;
  KeyNaming naming = KeyNaming::official;
};

// "PyTorch checkpoint (torch.save zip) with official SAM 2 keys", and so on.
std::string describe(const CheckpointOrigin& origin);

// From the first bytes: a zip signature, or a safetensors header (little-endian length, '{').
// Throws naming the file when it is neither (or is the legacy pre-1.6 torch.save format).
CheckpointContainer detect_checkpoint_container(const std::string& path);

// The state dict under official names, tensors in the file's order (for torch files, views of
// the archive; for safetensors, of the mapping). `origin`, when given, receives what was found.
io::NamedTensors load_checkpoint_state(const std::string& path, CheckpointOrigin* origin = nullptr);

}  // namespace qatd::sam2

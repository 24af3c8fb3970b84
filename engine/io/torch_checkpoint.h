#pragma once
// PyTorch checkpoints written by torch.save (PyTorch 1.6 and later): a zip archive holding
// <prefix>/data.pkl, the pickled object, and <prefix>/data/<key>, the raw bytes of each
// storage, plus <prefix>/byteorder and <prefix>/version. Read natively, without Python:
// the pickle runs on the restricted machine of engine/io/torch_pickle.h, so a file can hold
// tensors and plain values but can never make the loader run anything.
#include <string>

#include "engine/io/safetensors.h"
#include "engine/io/torch_pickle.h"

namespace qatd::io {

// The object torch.save stored, with tensors as views of the storages (no copy when the
// archive stores them uncompressed and aligned, as torch.save does). Throws naming the file
// for anything malformed: not a zip, truncated, no data.pkl, a forbidden global, an unknown
// opcode, a missing or short storage, a big-endian file, the pre-1.6 legacy format.
TorchValue load_torch_pickle(const std::string& path);

// A state dict: checkpoint[key] when the top level is a dict holding `key` (the official
// SAM 2 files are {"model": state_dict}), else the top-level dict itself. Every entry must map
// a string to a tensor; the order is the file's.
NamedTensors load_torch_state_dict(const std::string& path, const std::string& key = "model");

// The same selection applied to an already loaded value; `source` names it in errors.
NamedTensors torch_state_dict(const TorchValue& checkpoint, const std::string& key, const std::string& source);

}  // namespace qatd::io

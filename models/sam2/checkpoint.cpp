#include "models/sam2/checkpoint.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/io/torch_checkpoint.h"
#include "engine/io/zip_reader.h"

namespace qatd::sam2 {

std::string describe(const CheckpointOrigin& origin) {
  return fmt::format(
      "{} with {} keys",
      origin.container == CheckpointContainer::torch_zip ? "PyTorch checkpoint (torch.save zip)" : "safetensors file",
      origin.naming == KeyNaming::official ? "official SAM 2" : "HuggingFace transformers");
}

CheckpointContainer detect_checkpoint_container(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  QATD_CHECK(stream.good(), "sam2 checkpoint {}: cannot open: {}", path, std::strerror(errno));
  if (io::has_zip_signature(path)) return CheckpointContainer::torch_zip;
  unsigned char head[9] = {};
  stream.read(reinterpret_cast<char*>(head), sizeof head);
  size_t got = static_cast<size_t>(stream.gcount());
  // The legacy torch.save format starts with a pickle; its loader explains that it is refused.
  if (got >= 1 && head[0] == 0x80) io::load_torch_pickle(path);
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | head[i];
  std::error_code error;
  uint64_t size = std::filesystem::file_size(path, error);
  QATD_CHECK(got == sizeof head && !error && header_length >= 2 && header_length <= size - 8 && head[8] == '{',
             "sam2 checkpoint {}: neither a PyTorch checkpoint (zip) nor a safetensors file", path);
  return CheckpointContainer::safetensors;
}

io::NamedTensors load_checkpoint_state(const std::string& path, CheckpointOrigin* origin) {
  CheckpointOrigin found;
  found.container = detect_checkpoint_container(path);
  io::NamedTensors state = found.container == CheckpointContainer::torch_zip ? io::load_torch_state_dict(path, "model")
                                                                             : io::load_safetensors(path);
  found.naming = detect_key_naming(state, path);
  if (found.naming == KeyNaming::huggingface) state = official_state_from_hf(state, path);
  if (origin) *origin = found;
  return state;
}

}  // namespace qatd::sam2

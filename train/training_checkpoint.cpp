#include "train/training_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/dtype.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "train/crc32c.h"

namespace qatd::train {

namespace fs = std::filesystem;

namespace {
constexpr const char* kCrcKey = "crc32c";
constexpr const char* kLastFile = "last";
}  // namespace

uint32_t tensor_crc32c(const Tensor& tensor) {
  Tensor contiguous = tensor.contiguous();
  const size_t bytes = static_cast<size_t>(contiguous.numel()) * dtype_size(contiguous.dtype());
  return crc32c({static_cast<const char*>(contiguous.raw_data()), bytes});
}

void save_training_checkpoint(const std::string& path, const io::NamedTensors& tensors, nlohmann::json metadata) {
  nlohmann::json crcs = nlohmann::json::object();
  for (const auto& [name, tensor] : tensors) crcs[name] = tensor_crc32c(tensor);
  metadata[kCrcKey] = std::move(crcs);
  io::save_checkpoint(path, tensors, metadata);
}

io::NamedTensors TrainingCheckpoint::model_state() const {
  io::NamedTensors state;
  for (const auto& [name, tensor] : tensors) {
    if (!name.starts_with(kBitsPrefix) && !name.starts_with(kQuantizerPrefix) && !name.starts_with(kOptimizerPrefix)) {
      state.emplace_back(name, tensor);
    }
  }
  return state;
}

io::NamedTensors TrainingCheckpoint::optimizer_state() const {
  io::NamedTensors state;
  for (const auto& [name, tensor] : tensors) {
    if (name.starts_with(kOptimizerPrefix)) state.emplace_back(name, tensor);
  }
  return state;
}

bool is_training_checkpoint(const std::string& path) {
  if (!fs::is_regular_file(path)) return false;
  try {
    io::SafetensorsFile file = io::SafetensorsFile::open(path);
    auto found = file.metadata().find("qatd");
    return found != file.metadata().end() && nlohmann::json::parse(found->second).contains(kCrcKey);
  } catch (const std::exception&) {
    return false;
  }
}

TrainingCheckpoint load_training_checkpoint(const std::string& path) {
  QATD_CHECK(fs::is_regular_file(path), "checkpoint {} does not exist", path);
  TrainingCheckpoint checkpoint;
  checkpoint.path = path;
  try {
    io::Checkpoint loaded = io::load_checkpoint(path);
    checkpoint.tensors = std::move(loaded.tensors);
    checkpoint.metadata = std::move(loaded.metadata);
  } catch (const Error& error) {
    fail("checkpoint {} is damaged or truncated and cannot be read: {}", path, error.what());
  }
  QATD_CHECK(checkpoint.metadata.is_object() && checkpoint.metadata.contains(kCrcKey) &&
                 checkpoint.metadata.at(kCrcKey).is_object(),
             "checkpoint {} carries no tensor checksums ('{}' metadata); it was not written by qatd train", path,
             kCrcKey);
  const nlohmann::json& crcs = checkpoint.metadata.at(kCrcKey);
  for (const auto& [name, tensor] : checkpoint.tensors) {
    QATD_CHECK(crcs.contains(name), "checkpoint {} is corrupt: tensor '{}' has no checksum", path, name);
    uint32_t stored = crcs.at(name).get<uint32_t>();
    uint32_t computed = tensor_crc32c(tensor);
    QATD_CHECK(stored == computed,
               "checkpoint {} is corrupt: tensor '{}' fails its CRC-32C check (stored {:08x}, computed {:08x})", path,
               name, stored, computed);
  }
  QATD_CHECK(crcs.size() == checkpoint.tensors.size(),
             "checkpoint {} is corrupt: it lists {} checksums for {} tensors", path, crcs.size(),
             checkpoint.tensors.size());
  return checkpoint;
}

void write_last_checkpoint_pointer(const std::string& checkpoints_dir, const std::string& file_name) {
  io::write_file_atomically((fs::path(checkpoints_dir) / kLastFile).string(),
                            [&](std::ostream& stream) { stream << file_name << "\n"; });
}

std::string resolve_checkpoint(const std::string& where) {
  fs::path path(where);
  if (fs::is_regular_file(path)) return path.string();
  QATD_CHECK(fs::is_directory(path), "checkpoint {}: no such file, checkpoints directory or run directory", where);
  fs::path checkpoints = fs::is_regular_file(path / kLastFile) ? path : path / "checkpoints";
  fs::path last = checkpoints / kLastFile;
  QATD_CHECK(fs::is_regular_file(last), "checkpoint {}: {} does not exist (no checkpoint was written there)", where,
             last.string());
  std::ifstream stream(last);
  std::string name;
  std::getline(stream, name);
  QATD_CHECK(!name.empty(), "checkpoint {}: {} is empty", where, last.string());
  return (checkpoints / name).string();
}

}  // namespace qatd::train

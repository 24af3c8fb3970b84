#include "engine/io/checkpoint.h"

namespace qatd::io {

namespace {
constexpr const char* kMetadataKey = "qatd";
constexpr const char* kFormatKey = "format";
constexpr const char* kFormat = "qatd-checkpoint-1";
}  // namespace

const Tensor& Checkpoint::at(const std::string& name) const {
  for (const auto& [key, tensor] : tensors) {
    if (key == name) return tensor;
  }
  fail("checkpoint has no tensor named '{}'", name);
}

void save_checkpoint(const std::string& path, const NamedTensors& tensors, const nlohmann::json& metadata) {
  save_safetensors(path, tensors, {{kFormatKey, kFormat}, {kMetadataKey, metadata.dump()}});
}

Checkpoint load_checkpoint(const std::string& path) {
  std::map<std::string, std::string> metadata;
  Checkpoint checkpoint;
  checkpoint.tensors = load_safetensors(path, &metadata);
  auto format = metadata.find(kFormatKey);
  QATD_CHECK(format != metadata.end() && format->second == kFormat,
             "checkpoint {}: not a qatd checkpoint (no '{}' = '{}' in its metadata)", path, kFormatKey, kFormat);
  auto document = metadata.find(kMetadataKey);
  QATD_CHECK(document != metadata.end(), "checkpoint {}: the '{}' metadata entry is missing", path, kMetadataKey);
  try {
    checkpoint.metadata = nlohmann::json::parse(document->second);
  } catch (const nlohmann::json::exception& error) {
    fail("checkpoint {}: its metadata is not valid JSON: {}", path, error.what());
  }
  return checkpoint;
}

}  // namespace qatd::io

#pragma once
// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then the
// raw data. Files are memory-mapped; tensors are views into the mapping (copy-on-write).
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace qatd::io {

class SafetensorsFile {
 public:
  // Maps `path` and validates the whole header; throws naming the file and the problem.
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // in file order
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  DType dtype(const std::string& name) const;
  const Shape& shape(const std::string& name) const;
  // The tensor, sharing the mapping (copied only when its bytes are misaligned for the dtype).
  Tensor get(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  struct Entry {
    DType dtype;
    Shape shape;
    size_t begin;  // byte offsets in the file
    size_t end;
  };
  const Entry& entry(const std::string& name) const;

  std::string path_;
  std::shared_ptr<Storage> mapping_;
  std::map<std::string, Entry> entries_;
  std::vector<std::string> order_;
  std::map<std::string, std::string> metadata_;
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The entries whose names start with `prefix`, with the prefix removed ("image_encoder.trunk."
// selects the trunk's state from a whole-model state dict).
NamedTensors select_prefix(const NamedTensors& tensors, const std::string& prefix);

// Every tensor of the file, in file order.
NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);
// Writes atomically; names must be unique. Tensors are stored contiguous, in their own dtype.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace qatd::io

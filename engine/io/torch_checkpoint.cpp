#include "engine/io/torch_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/io/zip_reader.h"

namespace qatd::io {

namespace {

// The first bytes of the legacy (pre-1.6) format: a pickled magic number, 0x1950a86a20f9469cfc6c.
bool has_legacy_magic(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  unsigned char head[4] = {};
  ssize_t got = ::read(fd, head, sizeof head);
  ::close(fd);
  return got == 4 && head[0] == 0x80 && head[2] == 0x8a && head[3] == 0x0a;
}

// The top-level folder that torch.save puts every record under (the file's stem when it was
// saved, "archive" for buffers): the part before the first '/' of the first entry's name.
std::string record_prefix(const ZipArchive& archive) {
  QATD_CHECK(!archive.entries().empty(), "torch checkpoint {}: the zip archive is empty", archive.path());
  const std::string& first = archive.entries().front().name;
  size_t slash = first.find('/');
  QATD_CHECK(slash != std::string::npos && slash > 0,
             "torch checkpoint {}: entry '{}' is not under a top-level folder, as torch.save writes", archive.path(),
             first);
  return first.substr(0, slash + 1);
}

void check_byte_order(const ZipArchive& archive, const std::string& prefix) {
  // Files written before PyTorch 1.13 have no byteorder record; they were little-endian, as
  // every platform PyTorch ships for is.
  if (archive.find(prefix + "byteorder") == nullptr) return;
  std::string order = archive.read_text(prefix + "byteorder");
  QATD_CHECK(order == "little", "torch checkpoint {}: byteorder is '{}'; only little-endian checkpoints can be read",
             archive.path(), order);
}

}  // namespace

TorchValue load_torch_pickle(const std::string& path) {
  if (!has_zip_signature(path)) {
    QATD_CHECK(!has_legacy_magic(path),
               "torch checkpoint {}: this is the legacy torch.save format (PyTorch before 1.6), which is not "
               "supported; load and save it again with a current PyTorch",
               path);
    int fd = ::open(path.c_str(), O_RDONLY);
    QATD_CHECK(fd >= 0, "torch checkpoint {}: cannot open: {}", path, std::strerror(errno));
    ::close(fd);
    fail("torch checkpoint {}: not a zip archive, so not a torch.save checkpoint", path);
  }
  ZipArchive archive = ZipArchive::open(path);
  std::string prefix = record_prefix(archive);
  std::string pickle_name = prefix + "data.pkl";
  if (archive.find(pickle_name) == nullptr) {
    bool torchscript = archive.find(prefix + "constants.pkl") != nullptr;
    fail("torch checkpoint {}: the archive has no '{}'{}", path, pickle_name,
         torchscript ? " (it is a TorchScript archive, which is not supported)" : ": not a torch.save checkpoint");
  }
  check_byte_order(archive, prefix);

  TorchStorageLoader load_storage = [&](const std::string& key, DType dtype, int64_t numel) {
    std::string name = prefix + "data/" + key;
    QATD_CHECK(archive.find(name) != nullptr,
               "torch checkpoint {}: storage '{}' is missing from the archive (no entry '{}')", path, key, name);
    std::shared_ptr<Storage> bytes = archive.read(name);
    size_t expected = static_cast<size_t>(numel) * dtype_size(dtype);
    QATD_CHECK(bytes->nbytes() == expected,
               "torch checkpoint {}: storage '{}' holds {} bytes, but {} {} elements need {}", path, key,
               bytes->nbytes(), numel, dtype, expected);
    // torch.save aligns storages to 64 bytes since PyTorch 2.1; older files may not be.
    if (reinterpret_cast<uintptr_t>(bytes->data()) % dtype_size(dtype) == 0) return bytes;
    std::shared_ptr<Storage> copy = Storage::allocate(expected);
    std::memcpy(copy->data(), bytes->data(), expected);
    return copy;
  };
  std::shared_ptr<Storage> program = archive.read(pickle_name);
  return unpickle_torch(program->data(), program->nbytes(), load_storage, path + ": " + pickle_name);
}

NamedTensors torch_state_dict(const TorchValue& checkpoint, const std::string& key, const std::string& source) {
  QATD_CHECK(checkpoint.is(TorchValue::Kind::dict), "torch checkpoint {}: holds a {}, not a dict of tensors", source,
             checkpoint.type_name());
  // A dict under `key` is the state; a tensor under it means the top level is the state itself.
  const TorchValue* selected = key.empty() ? nullptr : checkpoint.find(key);
  if (selected && !selected->is(TorchValue::Kind::dict)) selected = nullptr;
  const TorchValue& state = selected ? *selected : checkpoint;
  std::string where = selected ? fmt::format("checkpoint['{}']", key) : std::string("the top-level dict");
  QATD_CHECK(state.is(TorchValue::Kind::dict), "torch checkpoint {}: {} is a {}, not a state dict", source, where,
             state.type_name());
  NamedTensors tensors;
  tensors.reserve(state.entries().size());
  for (const auto& [name, value] : state.entries()) {
    QATD_CHECK(name.is(TorchValue::Kind::string), "torch checkpoint {}: {} has a key of type {}, not str", source,
               where, name.type_name());
    QATD_CHECK(value.is(TorchValue::Kind::tensor), "torch checkpoint {}: {}['{}'] is of type {}, not a tensor", source,
               where, name.as_string(), value.type_name());
    tensors.emplace_back(name.as_string(), value.as_tensor());
  }
  return tensors;
}

NamedTensors load_torch_state_dict(const std::string& path, const std::string& key) {
  return torch_state_dict(load_torch_pickle(path), key, path);
}

}  // namespace qatd::io

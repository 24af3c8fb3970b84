#include "engine/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"

namespace qatd::io {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100 * 1024 * 1024;  // the reference implementation's limit

std::shared_ptr<Storage> map_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  QATD_CHECK(fd >= 0, "safetensors: cannot open {}: {}", path, std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int saved = errno;
    ::close(fd);
    fail("safetensors: cannot stat {}: {}", path, std::strerror(saved));
  }
  size_t size = static_cast<size_t>(info.st_size);
  if (size == 0) {
    ::close(fd);
    fail("safetensors: {} is empty", path);
  }
  // Private and writable: writes to loaded tensors stay in memory and never reach the file.
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int saved = errno;
  ::close(fd);
  QATD_CHECK(data != MAP_FAILED, "safetensors: cannot map {}: {}", path, std::strerror(saved));
  return Storage::wrap(data, size, [data, size] { ::munmap(data, size); });
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile file;
  file.path_ = path;
  file.mapping_ = map_file(path);
  const auto* bytes = static_cast<const unsigned char*>(file.mapping_->data());
  size_t size = file.mapping_->nbytes();
  QATD_CHECK(size >= 8, "safetensors: {} is {} bytes long, shorter than the 8-byte header length", path, size);
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | bytes[i];
  QATD_CHECK(header_length <= kMaxHeaderBytes && header_length <= size - 8,
             "safetensors: {}: header length {} exceeds the file size {} (truncated or not a safetensors file)", path,
             header_length, size);
  const char* header_begin = reinterpret_cast<const char*>(bytes + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_begin, header_begin + header_length);
  } catch (const nlohmann::json::exception& error) {
    fail("safetensors: {}: the header is not valid JSON: {}", path, error.what());
  }
  QATD_CHECK(header.is_object(), "safetensors: {}: the header is not a JSON object", path);
  size_t data_begin = 8 + header_length;
  size_t data_size = size - data_begin;

  std::vector<std::pair<size_t, std::string>> by_offset;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      QATD_CHECK(value.is_object(), "safetensors: {}: __metadata__ must be an object of strings", path);
      for (const auto& [key, text] : value.items()) {
        QATD_CHECK(text.is_string(), "safetensors: {}: metadata value of '{}' is not a string", path, key);
        file.metadata_[key] = text.get<std::string>();
      }
      continue;
    }
    auto describe = [&](const std::string& problem) {
      return fmt::format("safetensors: {}: tensor '{}': {}", path, name, problem);
    };
    QATD_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") &&
                   value.contains("data_offsets"),
               "{}", describe("needs dtype, shape and data_offsets"));
    Entry entry{};
    try {
      entry.dtype = dtype_from_name(value["dtype"].get<std::string>());
      entry.shape = value["shape"].get<Shape>();
      auto offsets = value["data_offsets"].get<std::vector<uint64_t>>();
      QATD_CHECK(offsets.size() == 2, "{}", describe("data_offsets must hold two numbers"));
      entry.begin = offsets[0];
      entry.end = offsets[1];
    } catch (const nlohmann::json::exception& error) {
      fail("{}", describe(fmt::format("malformed entry ({})", error.what())));
    } catch (const Error& error) {
      fail("{}", describe(error.what()));
    }
    for (int64_t dim : entry.shape) QATD_CHECK(dim >= 0, "{}", describe("negative dimension in shape"));
    QATD_CHECK(entry.begin <= entry.end && entry.end <= data_size,
               "{}", describe(fmt::format("data_offsets [{}, {}] are outside the {}-byte data section", entry.begin,
                                          entry.end, data_size)));
    size_t expected = static_cast<size_t>(numel_of(entry.shape)) * dtype_size(entry.dtype);
    QATD_CHECK(entry.end - entry.begin == expected,
               "{}", describe(fmt::format("holds {} bytes, but {} {} needs {}", entry.end - entry.begin,
                                          shape_str(entry.shape), entry.dtype, expected)));
    entry.begin += data_begin;
    entry.end += data_begin;
    by_offset.emplace_back(entry.begin, name);
    file.entries_.emplace(name, std::move(entry));
  }
  std::sort(by_offset.begin(), by_offset.end());
  for (size_t i = 0; i < by_offset.size(); ++i) {
    file.order_.push_back(by_offset[i].second);
    if (i > 0) {
      const Entry& previous = file.entries_.at(by_offset[i - 1].second);
      QATD_CHECK(previous.end <= by_offset[i].first, "safetensors: {}: tensors '{}' and '{}' overlap", path,
                 by_offset[i - 1].second, by_offset[i].second);
    }
  }
  return file;
}

std::vector<std::string> SafetensorsFile::names() const { return order_; }

const SafetensorsFile::Entry& SafetensorsFile::entry(const std::string& name) const {
  auto found = entries_.find(name);
  QATD_CHECK(found != entries_.end(), "safetensors: {} has no tensor named '{}'", path_, name);
  return found->second;
}

DType SafetensorsFile::dtype(const std::string& name) const { return entry(name).dtype; }
const Shape& SafetensorsFile::shape(const std::string& name) const { return entry(name).shape; }

Tensor SafetensorsFile::get(const std::string& name) const {
  const Entry& e = entry(name);
  size_t element = dtype_size(e.dtype);
  if (e.begin % element == 0) {
    return make_view(mapping_, e.dtype, e.shape, contiguous_strides(e.shape), static_cast<int64_t>(e.begin / element));
  }
  Tensor copy = empty(e.shape, e.dtype);
  std::memcpy(copy.raw_data(), static_cast<const char*>(mapping_->data()) + e.begin, e.end - e.begin);
  return copy;
}

NamedTensors select_prefix(const NamedTensors& tensors, const std::string& prefix) {
  NamedTensors selected;
  for (const auto& [name, tensor] : tensors) {
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0) {
      selected.emplace_back(name.substr(prefix.size()), tensor);
    }
  }
  return selected;
}

NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  SafetensorsFile file = SafetensorsFile::open(path);
  NamedTensors tensors;
  for (const std::string& name : file.names()) tensors.emplace_back(name, file.get(name));
  if (metadata) *metadata = file.metadata();
  return tensors;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::set<std::string> seen;
  for (const auto& [name, tensor] : tensors) {
    QATD_CHECK(!name.empty() && name != "__metadata__", "save_safetensors: invalid tensor name '{}'", name);
    QATD_CHECK(seen.insert(name).second, "save_safetensors: tensor name '{}' appears twice", name);
    QATD_CHECK(tensor.defined(), "save_safetensors: tensor '{}' is undefined", name);
  }
  // Larger elements first keeps every tensor aligned to its element size.
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    size_t size_a = dtype_size(tensors[a].second.dtype()), size_b = dtype_size(tensors[b].second.dtype());
    if (size_a != size_b) return size_a > size_b;
    return tensors[a].first < tensors[b].first;
  });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> dense;
  size_t offset = 0;
  for (size_t index : order) {
    const auto& [name, tensor] = tensors[index];
    Tensor contiguous = tensor.contiguous();
    size_t bytes = static_cast<size_t>(contiguous.numel()) * dtype_size(contiguous.dtype());
    header[name] = {{"dtype", safetensors_dtype_name(contiguous.dtype())},
                    {"shape", contiguous.shape()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    dense.push_back(contiguous);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  write_file_atomically(path, [&](std::ostream& stream) {
    uint64_t length = text.size();
    unsigned char prefix[8];
    for (int i = 0; i < 8; ++i) prefix[i] = static_cast<unsigned char>(length >> (8 * i));
    stream.write(reinterpret_cast<const char*>(prefix), 8);
    stream.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const Tensor& tensor : dense) {
      stream.write(static_cast<const char*>(tensor.raw_data()),
                   static_cast<std::streamsize>(static_cast<size_t>(tensor.numel()) * dtype_size(tensor.dtype())));
    }
  });
}

}  // namespace qatd::io

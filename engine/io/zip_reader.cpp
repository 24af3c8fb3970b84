#include "engine/io/zip_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "engine/error.h"

namespace qatd::io {

namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr size_t kEndRecordSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EndRecordSize = 56;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kMaxCommentSize = 0xFFFF;
// Deflate cannot expand data by more than about 1032:1; a larger claim is a forged header
// (a zip bomb) and must not make us allocate the claimed size.
constexpr uint64_t kMaxDeflateRatio = 1032;

// Little-endian reads from a byte range whose bounds the caller has checked.
uint64_t read_le(const unsigned char* bytes, int count) {
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

std::shared_ptr<Storage> map_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  QATD_CHECK(fd >= 0, "zip: cannot open {}: {}", path, std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int saved = errno;
    ::close(fd);
    fail("zip: cannot stat {}: {}", path, std::strerror(saved));
  }
  size_t size = static_cast<size_t>(info.st_size);
  if (size < kEndRecordSize) {
    ::close(fd);
    fail("zip: {} is {} bytes long, too short for a zip archive (truncated?)", path, size);
  }
  // Private and writable, as for safetensors: tensors viewing stored entries may be written
  // in memory without the file changing.
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int saved = errno;
  ::close(fd);
  QATD_CHECK(data != MAP_FAILED, "zip: cannot map {}: {}", path, std::strerror(saved));
  return Storage::wrap(data, size, [data, size] { ::munmap(data, size); });
}

// Where the central directory lies, from the end record (and its zip64 version).
struct Directory {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t count = 0;
  uint64_t end = 0;  // first byte after the directory that belongs to the end records
};

Directory find_directory(const std::string& path, const unsigned char* bytes, size_t size) {
  // The end record is the last 22 bytes plus a comment of up to 64 KiB; its comment length
  // must reach exactly to the end of the file, which rules out signatures inside the comment.
  size_t lowest = size > kEndRecordSize + kMaxCommentSize ? size - kEndRecordSize - kMaxCommentSize : 0;
  size_t position = size - kEndRecordSize;
  bool found = false;
  for (;; --position) {
    const unsigned char* record = bytes + position;
    if (read_le(record, 4) == kEndSignature && position + kEndRecordSize + read_le(record + 20, 2) == size) {
      found = true;
      break;
    }
    if (position == lowest) break;
  }
  QATD_CHECK(found, "zip: {}: no end-of-central-directory record (the file is truncated or not a zip archive)", path);
  const unsigned char* record = bytes + position;
  uint64_t disk = read_le(record + 4, 2), directory_disk = read_le(record + 6, 2);
  uint64_t count_on_disk = read_le(record + 8, 2);
  Directory directory{read_le(record + 16, 4), read_le(record + 12, 4), read_le(record + 10, 2), position};
  bool zip64 = directory.count == 0xFFFF || directory.size == 0xFFFFFFFF || directory.offset == 0xFFFFFFFF;
  if (zip64) {
    QATD_CHECK(
        position >= kZip64LocatorSize && read_le(bytes + position - kZip64LocatorSize, 4) == kZip64LocatorSignature,
        "zip: {}: the end record asks for zip64 but no zip64 locator precedes it", path);
    const unsigned char* locator = bytes + position - kZip64LocatorSize;
    uint64_t end_offset = read_le(locator + 8, 8);
    QATD_CHECK(read_le(locator + 4, 4) == 0 && read_le(locator + 16, 4) <= 1,
               "zip: {}: multi-disk archives are not supported", path);
    QATD_CHECK(
        end_offset <= position - kZip64LocatorSize && position - kZip64LocatorSize - end_offset >= kZip64EndRecordSize,
        "zip: {}: zip64 end record offset {} is outside the file", path, end_offset);
    const unsigned char* end = bytes + end_offset;
    QATD_CHECK(read_le(end, 4) == kZip64EndSignature, "zip: {}: no zip64 end record at offset {}", path, end_offset);
    disk = read_le(end + 16, 4);
    directory_disk = read_le(end + 20, 4);
    count_on_disk = read_le(end + 24, 8);
    directory.count = read_le(end + 32, 8);
    directory.size = read_le(end + 40, 8);
    directory.offset = read_le(end + 48, 8);
    directory.end = end_offset;
  }
  QATD_CHECK(disk == 0 && directory_disk == 0 && count_on_disk == directory.count,
             "zip: {}: multi-disk archives are not supported", path);
  QATD_CHECK(directory.offset <= directory.end && directory.size <= directory.end - directory.offset,
             "zip: {}: the central directory (offset {}, {} bytes) lies outside the file before its end "
             "record at {} (truncated archive?)",
             path, directory.offset, directory.size, directory.end);
  QATD_CHECK(directory.count <= directory.size / kCentralHeaderSize,
             "zip: {}: the end record claims {} entries, more than a {}-byte central directory can hold", path,
             directory.count, directory.size);
  return directory;
}

// Replaces the 32-bit fields that hold 0xFFFFFFFF by the values of the zip64 extra field.
void apply_zip64_extra(const std::string& path, ZipArchive::Entry& entry, uint64_t& header_offset,
                       const unsigned char* extra, size_t extra_size) {
  bool needs_size = entry.size == 0xFFFFFFFF, needs_compressed = entry.compressed_size == 0xFFFFFFFF;
  bool needs_offset = header_offset == 0xFFFFFFFF;
  if (!needs_size && !needs_compressed && !needs_offset) return;
  size_t position = 0;
  while (position + 4 <= extra_size) {
    uint64_t id = read_le(extra + position, 2), length = read_le(extra + position + 2, 2);
    QATD_CHECK(position + 4 + length <= extra_size, "zip: {}: entry '{}': malformed extra field", path, entry.name);
    if (id == kZip64ExtraId) {
      const unsigned char* field = extra + position + 4;
      size_t used = 0;
      auto next = [&]() {
        QATD_CHECK(used + 8 <= length, "zip: {}: entry '{}': zip64 extra field is too short", path, entry.name);
        uint64_t value = read_le(field + used, 8);
        used += 8;
        return value;
      };
      // The fields appear in this order, each only when its 32-bit slot overflowed.
      if (needs_size) entry.size = next();
      if (needs_compressed) entry.compressed_size = next();
      if (needs_offset) header_offset = next();
      return;
    }
    position += 4 + length;
  }
  fail("zip: {}: entry '{}' needs a zip64 extra field but has none", path, entry.name);
}

}  // namespace

bool has_zip_signature(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  unsigned char head[4] = {};
  ssize_t got = ::read(fd, head, sizeof head);
  ::close(fd);
  if (got != 4) return false;
  uint64_t signature = read_le(head, 4);
  return signature == kLocalHeaderSignature || signature == kEndSignature;
}

ZipArchive ZipArchive::open(const std::string& path) {
  ZipArchive archive;
  archive.path_ = path;
  archive.mapping_ = map_file(path);
  const auto* bytes = static_cast<const unsigned char*>(archive.mapping_->data());
  size_t size = archive.mapping_->nbytes();
  Directory directory = find_directory(path, bytes, size);

  archive.entries_.reserve(directory.count);
  uint64_t position = directory.offset;
  uint64_t directory_end = directory.offset + directory.size;
  for (uint64_t index = 0; index < directory.count; ++index) {
    QATD_CHECK(
        directory_end - position >= kCentralHeaderSize && read_le(bytes + position, 4) == kCentralHeaderSignature,
        "zip: {}: central directory entry {} at offset {} is malformed", path, index, position);
    const unsigned char* header = bytes + position;
    uint64_t name_length = read_le(header + 28, 2), extra_length = read_le(header + 30, 2);
    uint64_t comment_length = read_le(header + 32, 2);
    uint64_t record_size = kCentralHeaderSize + name_length + extra_length + comment_length;
    QATD_CHECK(directory_end - position >= record_size,
               "zip: {}: central directory entry {} runs past the directory's end", path, index);
    Entry entry;
    entry.name.assign(reinterpret_cast<const char*>(header + kCentralHeaderSize), name_length);
    entry.flags = static_cast<uint16_t>(read_le(header + 8, 2));
    entry.method = static_cast<uint16_t>(read_le(header + 10, 2));
    entry.crc32 = static_cast<uint32_t>(read_le(header + 16, 4));
    entry.compressed_size = read_le(header + 20, 4);
    entry.size = read_le(header + 24, 4);
    uint64_t header_offset = read_le(header + 42, 4);
    apply_zip64_extra(path, entry, header_offset, header + kCentralHeaderSize + name_length, extra_length);
    position += record_size;

    // The data follows the local header, whose name and extra field may differ in length
    // from the central directory's; the sizes come from the central directory only, since
    // writers that stream (PyTorch's does) leave them zero in the local header.
    auto describe = [&](const std::string& problem) {
      return fmt::format("zip: {}: entry '{}': {}", path, entry.name, problem);
    };
    QATD_CHECK(header_offset < directory.offset && directory.offset - header_offset >= kLocalHeaderSize &&
                   read_le(bytes + header_offset, 4) == kLocalHeaderSignature,
               "{}",
               describe(fmt::format("no local header at offset {} (truncated or corrupt archive)", header_offset)));
    const unsigned char* local = bytes + header_offset;
    uint64_t local_name_length = read_le(local + 26, 2), local_extra_length = read_le(local + 28, 2);
    entry.data_offset = header_offset + kLocalHeaderSize + local_name_length + local_extra_length;
    QATD_CHECK(
        local_name_length == name_length && std::memcmp(local + kLocalHeaderSize, entry.name.data(), name_length) == 0,
        "{}", describe("the local header names a different entry"));
    QATD_CHECK(entry.data_offset <= directory.offset && entry.compressed_size <= directory.offset - entry.data_offset,
               "{}",
               describe(fmt::format("its {} bytes at offset {} run past the entries' end at {} (truncated "
                                    "archive?)",
                                    entry.compressed_size, entry.data_offset, directory.offset)));
    QATD_CHECK(archive.index_.emplace(entry.name, archive.entries_.size()).second, "{}",
               describe("the name appears twice"));
    archive.entries_.push_back(std::move(entry));
  }
  return archive;
}

const ZipArchive::Entry* ZipArchive::find(const std::string& name) const {
  auto found = index_.find(name);
  return found == index_.end() ? nullptr : &entries_[found->second];
}

const ZipArchive::Entry& ZipArchive::entry(const std::string& name) const {
  const Entry* found = find(name);
  QATD_CHECK(found != nullptr, "zip: {} has no entry named '{}'", path_, name);
  return *found;
}

std::shared_ptr<Storage> ZipArchive::read(const std::string& name) const {
  const Entry& e = entry(name);
  auto describe = [&](const std::string& problem) {
    return fmt::format("zip: {}: entry '{}': {}", path_, e.name, problem);
  };
  QATD_CHECK((e.flags & 1) == 0, "{}", describe("is encrypted, which is not supported"));
  auto* source = static_cast<unsigned char*>(mapping_->data()) + e.data_offset;
  std::shared_ptr<Storage> result;
  if (e.method == 0) {
    QATD_CHECK(e.size == e.compressed_size, "{}",
               describe(fmt::format("stored with {} bytes but declares {} uncompressed", e.compressed_size, e.size)));
    auto mapping = mapping_;
    result = Storage::wrap(source, e.size, [mapping] {});
  } else if (e.method == 8) {
    QATD_CHECK(e.size <= e.compressed_size * kMaxDeflateRatio + 64, "{}",
               describe(fmt::format("claims {} bytes inflated from {}, beyond what deflate can produce", e.size,
                                    e.compressed_size)));
    result = Storage::allocate(e.size);
    z_stream stream{};
    QATD_CHECK(inflateInit2(&stream, -MAX_WBITS) == Z_OK, "{}", describe("cannot initialize zlib"));
    // zlib counts in 32-bit units, so large entries are fed in pieces. Each Z_OK made
    // progress; Z_BUF_ERROR means none is possible (input ended early or output is full).
    constexpr uint64_t kPiece = 1u << 30;
    uint64_t consumed = 0, produced = 0;
    unsigned char no_output = 0;  // zlib rejects a null output pointer, even for zero bytes
    auto* output = e.size > 0 ? static_cast<unsigned char*>(result->data()) : &no_output;
    int status = Z_OK;
    while (status == Z_OK) {
      uint64_t input_piece = std::min(kPiece, e.compressed_size - consumed);
      uint64_t output_piece = std::min(kPiece, e.size - produced);
      stream.next_in = source + consumed;
      stream.avail_in = static_cast<uInt>(input_piece);
      stream.next_out = output + produced;
      stream.avail_out = static_cast<uInt>(output_piece);
      status = inflate(&stream, Z_NO_FLUSH);
      consumed += input_piece - stream.avail_in;
      produced += output_piece - stream.avail_out;
    }
    inflateEnd(&stream);
    QATD_CHECK(status == Z_STREAM_END && produced == e.size, "{}",
               describe(fmt::format("the deflate stream is corrupt or does not inflate to the declared {} "
                                    "bytes (zlib status {}, {} bytes produced)",
                                    e.size, status, produced)));
  } else {
    fail("{}", describe(fmt::format("compression method {} is not supported (only stored and deflated)", e.method)));
  }
  // torch.save with compute_crc32 off writes 0 as every entry's CRC: 0 means "not recorded".
  if (e.crc32 == 0) return result;
  // crc32_z takes size_t lengths, so one call covers the whole entry.
  uint32_t crc = static_cast<uint32_t>(
      crc32_z(crc32_z(0, nullptr, 0), static_cast<const Bytef*>(result->data()), static_cast<size_t>(e.size)));
  QATD_CHECK(
      crc == e.crc32, "{}",
      describe(fmt::format("CRC-32 mismatch (stored {:08x}, computed {:08x}): the archive is corrupt", e.crc32, crc)));
  return result;
}

std::string ZipArchive::read_text(const std::string& name) const {
  std::shared_ptr<Storage> bytes = read(name);
  return std::string(static_cast<const char*>(bytes->data()), bytes->nbytes());
}

}  // namespace qatd::io

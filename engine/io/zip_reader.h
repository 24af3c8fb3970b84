#pragma once
// Reading zip archives (PKWARE APPNOTE 6.3): the central directory with its zip64 extensions,
// and entries that are stored or deflated. torch.save writes its checkpoints in this format.
// The file is memory-mapped; stored entries are handed out without copying.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/storage.h"

namespace qatd::io {

// True when the file starts with a zip signature (a local file header, or the end record of
// an empty archive). Reads four bytes; false for files that cannot be read.
bool has_zip_signature(const std::string& path);

class ZipArchive {
 public:
  struct Entry {
    std::string name;
    uint16_t flags = 0;   // general purpose bits; bit 0 is encryption
    uint16_t method = 0;  // 0 stored, 8 deflated
    uint32_t crc32 = 0;
    uint64_t compressed_size = 0;
    uint64_t size = 0;         // uncompressed
    uint64_t data_offset = 0;  // of the entry's (compressed) bytes in the file
  };

  // Maps `path` and validates the end records, the central directory and every local header
  // against the file's size; throws naming the file (and the entry) and the problem.
  static ZipArchive open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<Entry>& entries() const { return entries_; }  // in central-directory order
  const Entry* find(const std::string& name) const;               // nullptr when absent

  // The entry's uncompressed bytes, checked against its CRC-32. Stored entries share the
  // mapping (copy-on-write: writes never reach the file); deflated ones are inflated.
  std::shared_ptr<Storage> read(const std::string& name) const;
  std::string read_text(const std::string& name) const;

 private:
  const Entry& entry(const std::string& name) const;

  std::string path_;
  std::shared_ptr<Storage> mapping_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace qatd::io

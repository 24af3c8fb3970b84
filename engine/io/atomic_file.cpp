#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/error.h"

namespace qatd::io {

namespace {

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
  QATD_CHECK(fs::is_directory(directory), "cannot write {}: directory {} does not exist", path, directory.string());
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  try {
    {
      std::ofstream stream(temporary, std::ios::binary | std::ios::trunc);
      QATD_CHECK(stream.good(), "cannot write {}: {}", temporary, std::strerror(errno));
      write(stream);
      stream.flush();
      QATD_CHECK(stream.good(), "writing {} failed (disk full?): {}", temporary, std::strerror(errno));
    }
    fsync_path(temporary, false);
    std::error_code error;
    fs::rename(temporary, target, error);
    QATD_CHECK(!error, "cannot rename {} to {}: {}", temporary, path, error.message());
    fsync_path(directory.string(), true);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
}

}  // namespace qatd::io

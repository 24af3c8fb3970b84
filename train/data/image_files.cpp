#include "train/data/image_files.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <system_error>

#include "engine/error.h"

namespace qatd::train::data {

namespace fs = std::filesystem;

namespace {

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

void check_directory(const fs::path& root) {
  std::error_code error;
  QATD_CHECK(fs::is_directory(root, error), "{}: {}", root.string(),
             fs::exists(root, error) ? "not a directory" : "the folder does not exist");
}

// The regular files under `root` that `keep` accepts, relative to `root`, sorted.
std::vector<fs::path> collect(const fs::path& root, bool recursive, const std::function<bool(const fs::path&)>& keep) {
  check_directory(root);
  std::vector<fs::path> found;
  std::error_code error;
  auto consider = [&](const fs::directory_entry& entry) {
    std::error_code status_error;
    if (entry.is_regular_file(status_error) && keep(entry.path()))
      found.push_back(entry.path().lexically_relative(root));
  };
  if (recursive) {
    fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink, error), end;
    for (; !error && it != end; it.increment(error)) consider(*it);
  } else {
    fs::directory_iterator it(root, error), end;
    for (; !error && it != end; it.increment(error)) consider(*it);
  }
  QATD_CHECK(!error, "{}: cannot list the folder: {}", root.string(), error.message());
  std::sort(found.begin(), found.end(),
            [](const fs::path& a, const fs::path& b) { return a.generic_string() < b.generic_string(); });
  return found;
}

}  // namespace

bool is_image_file(const fs::path& path) {
  std::string extension = lowercase(path.extension().string());
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

std::vector<fs::path> list_image_files(const fs::path& root, bool recursive) {
  return collect(root, recursive, is_image_file);
}

std::vector<fs::path> list_files_with_extension(const fs::path& root, const std::string& extension) {
  std::string wanted = lowercase(extension);
  return collect(root, true, [&](const fs::path& path) { return lowercase(path.extension().string()) == wanted; });
}

}  // namespace qatd::train::data

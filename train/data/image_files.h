#pragma once
// Finding the image files of a dataset folder: the extensions the image reader takes (.jpg, .jpeg, .png in
// any case) and sorted listings, so that item numbers are the same on every machine and file system.
#include <filesystem>
#include <string>
#include <vector>

namespace qatd::train::data {

bool is_image_file(const std::filesystem::path& path);

// The image files under `root` (recursively, following directory links, or only its own entries), as
// paths relative to `root`, sorted by their generic form ("a/b.jpg") byte by byte. Throws naming `root`
// when it is not a readable directory.
std::vector<std::filesystem::path> list_image_files(const std::filesystem::path& root, bool recursive);

// The regular files under `root` (recursively) whose extension is `extension` (e.g. ".png", any case), relative
// and sorted the same way.
std::vector<std::filesystem::path> list_files_with_extension(const std::filesystem::path& root,
                                                             const std::string& extension);

}  // namespace qatd::train::data

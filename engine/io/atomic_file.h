#pragma once
// Writes a file so that readers see either the old content or the whole new content, never
// a torn one: a temporary file beside the target, fsync, rename, fsync of the directory.
#include <functional>
#include <ostream>
#include <string>

namespace qatd::io {

// Calls write(stream) on a temporary file, then atomically replaces `path` with it. If write
// throws or the disk fills, `path` keeps its previous content and the temporary is removed.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace qatd::io

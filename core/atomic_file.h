// Writing a file so that it appears complete or not at all: the bytes go to a temporary file
// beside it, which is renamed over the target only once everything was written. A crash or a
// failed write never leaves a partial file in place of a good one.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace minidl {

/// Calls write(stream) on a temporary file next to `path`, then renames it to `path`. On any
/// failure the temporary file is removed and an Error names `who` and the file. Temporary files
/// of `path` left by a writer that was killed are removed first (one writer per file).
void write_file_atomically(const std::string& path, const char* who, const std::function<void(std::ostream&)>& write);

}  // namespace minidl

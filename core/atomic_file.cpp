#include "atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "error.h"

namespace minidl {

namespace {

// Temporary files of `path` that an earlier, killed writer left ("run.safetensors.tmp.<pid>").
void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind(prefix, 0) == 0) fs::remove(it->path(), ec);
}

}  // namespace

void write_file_atomically(const std::string& path, const char* who, const std::function<void(std::ostream&)>& write) {
  remove_stale_temporaries(path);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    MINIDL_CHECK(out, who, ": cannot create ", tmp, ": ", std::strerror(errno));
    write(out);
    out.flush();
    if (!out) {
      const int err = errno;
      std::remove(tmp.c_str());
      MINIDL_FAIL(who, ": ", path, ": write failed (", std::strerror(err), "); the previous file is untouched");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    MINIDL_FAIL(who, ": cannot rename ", tmp, " to ", path, ": ", std::strerror(err));
  }
}

}  // namespace minidl

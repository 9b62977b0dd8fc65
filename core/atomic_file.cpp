#include "atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "error.h"

namespace minidl {

void write_file_atomically(const std::string& path, const char* who, const std::function<void(std::ostream&)>& write) {
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

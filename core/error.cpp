#include "error.h"

#include <cstring>

namespace minidl::detail {

void fail(const char* file, int line, const std::string& message) {
  // Keep the path relative to the project so messages read the same on every machine.
  const char* rel = file;
  for (const char* top : {"/core/", "/autograd/", "/layers/", "/models/", "/optim/", "/data/"}) {
    if (const char* p = std::strstr(file, top)) { rel = p + 1; break; }
  }
  throw Error(message + " [" + rel + ":" + std::to_string(line) + "]");
}

}  // namespace minidl::detail

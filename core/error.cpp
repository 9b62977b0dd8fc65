#include "error.h"

#include <cstdlib>
#include <cstring>

namespace minidl::detail {

namespace {

// Users read the message; where in the source it was raised is for whoever debugs minidl: shown
// in a debug build (no NDEBUG) or with MINIDL_ERROR_LOCATION=1.
bool show_location() {
#ifndef NDEBUG
  return true;
#else
  static const bool on = [] {
    const char* v = std::getenv("MINIDL_ERROR_LOCATION");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
#endif
}

}  // namespace

void fail(const char* file, int line, const std::string& message) {
  if (!show_location()) throw Error(message);
  // The build maps the source directory away (-fmacro-prefix-map); this keeps other builds' paths
  // relative to the project as well.
  const char* rel = file;
  for (const char* top : {"/core/", "/autograd/", "/layers/", "/models/", "/optim/", "/data/", "/examples/", "/bench/"}) {
    if (const char* p = std::strstr(file, top)) {
      rel = p + 1;
      break;
    }
  }
  throw Error(message + " [" + rel + ":" + std::to_string(line) + "]");
}

}  // namespace minidl::detail
